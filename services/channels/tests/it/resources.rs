//! First-login provisioning and stream-key resets.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{assert_error, status_json, TestApp};

async fn ivs_channel_names(app: &TestApp) -> Vec<String> {
    let ivs = aws_sdk_ivs::Client::new(&app.env.sdk);
    let out = ivs.list_channels().send().await.unwrap();
    out.channels()
        .iter()
        .filter_map(|c| c.name().map(str::to_owned))
        .collect()
}

async fn chat_room_names(app: &TestApp) -> Vec<String> {
    let chat = aws_sdk_ivschat::Client::new(&app.env.sdk);
    let out = chat.list_rooms().send().await.unwrap();
    out.rooms()
        .iter()
        .filter_map(|r| r.name().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn resources_are_created_once_and_then_reported_as_existing() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("creator").await;
    let (status, body) = status_json(
        app.send_json(
            Method::POST,
            "/channel/resources/create",
            Some(&user.access_token),
            &json!({"email": user.email}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({}));
    assert_eq!(ivs_channel_names(&app).await, ["creators-channel"]);
    assert_eq!(chat_room_names(&app).await, ["creators-room"]);
    let ivs = aws_sdk_ivs::Client::new(&app.env.sdk);
    let listed = ivs.list_channels().send().await.unwrap();
    let arn = listed.channels()[0].arn().unwrap();
    let channel = ivs.get_channel().arn(arn).send().await.unwrap();
    let channel = channel.channel().unwrap();
    assert_eq!(channel.r#type().unwrap().as_str(), "BASIC");
    assert_eq!(channel.tags().unwrap().get("project").unwrap(), "ugc-test");
}

#[tokio::test]
async fn concurrent_first_logins_create_exactly_one_channel() {
    let app = Arc::new(TestApp::spawn().await);
    let user = app.register("racer").await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let app = Arc::clone(&app);
            let token = user.access_token.clone();
            let email = user.email.clone();
            tokio::spawn(async move {
                app.send_json(
                    Method::POST,
                    "/channel/resources/create",
                    Some(&token),
                    &json!({"username": "racer", "email": email}),
                )
                .await
                .status()
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let status = task.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}"
        );
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1);
    assert_eq!(ivs_channel_names(&app).await, ["racers-channel"]);
    assert_eq!(chat_room_names(&app).await, ["racers-room"]);
    let channel = app.own_channel(&user).await;
    assert!(channel["channelResourceId"].is_string());
}

#[tokio::test]
async fn resources_need_an_email_and_a_profile() {
    let app = TestApp::spawn().await;
    let user = app.register("noemail").await;
    assert_error(
        app.send_json(
            Method::POST,
            "/channel/resources/create",
            Some(&user.access_token),
            &json!({"username": "noemail"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    )
    .await;
    // A Cognito user without a profile row.
    let stranger = app
        .env
        .sign_up_user("stranger", ugc_testkit::PASSWORD, "stranger@example.com")
        .await;
    assert_error(
        app.send_json(
            Method::POST,
            "/channel/resources/create",
            Some(&stranger.access_token),
            &json!({"email": stranger.email}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
    assert!(ivs_channel_names(&app).await.is_empty());
}

#[tokio::test]
async fn stream_key_reset_replaces_the_key_and_stops_the_stream() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("keyholder").await;
    let before = app.own_channel(&user).await;
    let resource_id = before["channelResourceId"].as_str().unwrap();
    ugc_emulator::events::broadcast(
        app.shared(),
        resource_id,
        ugc_emulator::ivs::BroadcastAction::Start,
    )
    .unwrap();
    let mut last = before["streamKeyValue"].as_str().unwrap().to_owned();
    for method in [Method::GET, Method::POST] {
        let (status, body) = status_json(
            app.request(method, "/channel/streamKey/reset", Some(&user.access_token))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let key = body["streamKeyValue"].as_str().unwrap().to_owned();
        assert!(key.starts_with("sk_"));
        assert_ne!(key, last);
        assert_eq!(app.own_channel(&user).await["streamKeyValue"], key);
        last = key;
    }
    let broadcasts = app.shared().ivs.broadcasts(resource_id);
    assert!(
        broadcasts.last().unwrap().end.is_some(),
        "the stream was stopped"
    );
    // Before resources exist there is no key to reset.
    let fresh = app.register("nokeyyet").await;
    assert_error(
        app.get("/channel/streamKey/reset", Some(&fresh.access_token))
            .await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
}
