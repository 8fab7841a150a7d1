//! Stream actions (timed metadata).

use reqwest::{Method, StatusCode};
use serde_json::json;
use ugc_emulator::ivs::BroadcastAction;

use crate::common::{assert_error, status_json, TestApp};

async fn send(app: &TestApp, token: &str, body: serde_json::Value) -> reqwest::Response {
    app.send_json(Method::POST, "/channel/actions/send", Some(token), &body)
        .await
}

#[tokio::test]
async fn actions_reach_the_live_stream_and_are_refused_offline() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("broadcaster").await;
    let resource_id = app.own_channel(&user).await["channelResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        send(&app, &user.access_token, json!({"metadata": "N4XyAA=="})).await,
        StatusCode::CONFLICT,
        "ChannelNotBroadcastingException",
    )
    .await;
    ugc_emulator::events::broadcast(app.shared(), &resource_id, BroadcastAction::Start).unwrap();
    let (status, body) =
        status_json(send(&app, &user.access_token, json!({"metadata": "N4XyAA=="})).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({}));
    let received = app.shared().ivs.metadata(&resource_id);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].payload, "N4XyAA==");
    // The emulator's readout endpoint shows the same.
    let readout: serde_json::Value = reqwest::get(format!(
        "{}/_emulator/ivs/metadata/{resource_id}",
        app.env.emulator_endpoint
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(readout.to_string().contains("N4XyAA=="), "{readout}");
}

#[tokio::test]
async fn bursts_beyond_ivs_limits_are_retried_or_answered_429() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("burster").await;
    let resource_id = app.own_channel(&user).await["channelResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    ugc_emulator::events::broadcast(app.shared(), &resource_id, BroadcastAction::Start).unwrap();
    let mut statuses = Vec::new();
    for i in 0..12 {
        let res = send(
            &app,
            &user.access_token,
            json!({"metadata": format!("m{i}")}),
        )
        .await;
        statuses.push(res.status());
    }
    // Never a 500: every send either reached IVS (after backoff) or was answered 429.
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let delivered = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(app.shared().ivs.metadata(&resource_id).len(), delivered);
    assert!(delivered >= 5);
}

#[tokio::test]
async fn metadata_is_validated() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("validmeta").await;
    let token = &user.access_token;
    for body in [json!({}), json!({"metadata": ""})] {
        assert_error(
            send(&app, token, body).await,
            StatusCode::BAD_REQUEST,
            "UnexpectedException",
        )
        .await;
    }
    let body = assert_error(
        send(&app, token, json!({"metadata": "x".repeat(1025)})).await,
        StatusCode::BAD_REQUEST,
        "TimedMetadataValidationException",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("1024"));
    assert_error(
        send(&app, token, json!({"metadata": 5})).await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    )
    .await;
    let fresh = app.register("nochan").await;
    assert_error(
        send(&app, &fresh.access_token, json!({"metadata": "abc"})).await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
}

#[tokio::test]
async fn stream_actions_are_rate_limited_per_user() {
    use ugc_web::rate_limit::{Budget, RateLimitConfig};
    let mut limits = RateLimitConfig::unlimited();
    limits.set(
        ugc_web::Action::StreamAction,
        Budget::Limited {
            burst: 2,
            period: std::time::Duration::from_secs(600),
        },
    );
    let app = TestApp::spawn_with(crate::common::Options {
        rate_limits: limits,
        ..Default::default()
    })
    .await;
    let user = app.user_with_channel("limited").await;
    let resource_id = app.own_channel(&user).await["channelResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    ugc_emulator::events::broadcast(app.shared(), &resource_id, BroadcastAction::Start).unwrap();
    for _ in 0..2 {
        assert_eq!(
            send(&app, &user.access_token, json!({"metadata": "a"}))
                .await
                .status(),
            StatusCode::OK
        );
    }
    assert_error(
        send(&app, &user.access_token, json!({"metadata": "a"})).await,
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsException",
    )
    .await;
}
