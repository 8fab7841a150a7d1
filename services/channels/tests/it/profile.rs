//! `GET /channel`, renames and preferences.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{assert_error, status_json, TestApp};

#[tokio::test]
async fn own_channel_is_404_until_resources_exist_then_has_the_spa_fields() {
    let app = TestApp::spawn().await;
    let user = app.register("streamer").await;
    assert_error(
        app.get("/channel", Some(&user.access_token)).await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
    let res = app
        .send_json(
            Method::POST,
            "/channel/resources/create",
            Some(&user.access_token),
            &json!({"username": "streamer", "email": user.email}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    for path in ["/channel", "/channel/"] {
        let (status, body) = status_json(app.get(path, Some(&user.access_token)).await).await;
        assert_eq!(status, StatusCode::OK);
        let resource_id = body["channelResourceId"].as_str().unwrap();
        assert!(!resource_id.is_empty());
        assert_eq!(body["username"], "streamer");
        assert_eq!(body["avatar"], "bear");
        assert_eq!(body["color"], "blue");
        assert_eq!(body["trackingId"], resource_id.to_lowercase());
        let ingest = body["ingestEndpoint"].as_str().unwrap();
        assert_eq!(
            body["ingestServerUrl"],
            format!("rtmps://{ingest}:443/app/")
        );
        assert!(body["streamKeyValue"].as_str().unwrap().starts_with("sk_"));
        assert!(body["playbackUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://"));
        assert_eq!(body["channelAssetUrls"], json!({}));
        for private in ["email", "channelArn", "chatRoomArn", "streamKeyArn"] {
            assert!(body.get(private).is_none(), "{private} leaked");
        }
    }
}

#[tokio::test]
async fn required_auth_routes_answer_401() {
    let app = TestApp::spawn().await;
    for token in [None, Some("invalidToken")] {
        assert_error(
            app.get("/channel", token).await,
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
        )
        .await;
        assert_error(
            app.send_json(
                Method::PUT,
                "/channel/username/update",
                token,
                &json!({"newUsername": "whatever"}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
        )
        .await;
    }
    // `Bearer <jwt>` works as well as the raw token.
    let user = app.user_with_channel("bearer").await;
    let res = app
        .get("/channel", Some(&format!("Bearer {}", user.access_token)))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn rename(app: &TestApp, token: &str, body: serde_json::Value) -> reqwest::Response {
    app.send_json(Method::PUT, "/channel/username/update", Some(token), &body)
        .await
}

#[tokio::test]
async fn rename_validates_like_registration() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("renamer").await;
    let token = &user.access_token;
    assert_error(
        rename(&app, token, json!({})).await,
        StatusCode::BAD_REQUEST,
        "UnexpectedException",
    )
    .await;
    assert_error(
        rename(&app, token, json!({"newUsername": "settings"})).await,
        StatusCode::BAD_REQUEST,
        "ReservedUsernameException",
    )
    .await;
    for bad in ["joe", "alexanderhamilton1234", "white space"] {
        let body = assert_error(
            rename(&app, token, json!({"newUsername": bad})).await,
            StatusCode::BAD_REQUEST,
            "ChangeUsernameException",
        )
        .await;
        assert!(body["message"].is_string());
    }
    assert_eq!(app.own_channel(&user).await["username"], "renamer");
}

#[tokio::test]
async fn rename_changes_profile_and_sign_in_name_and_keeps_names_unique() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("original").await;
    let _other = app.user_with_channel("taken").await;
    let token = &user.access_token;
    for taken in ["taken", "TAKEN"] {
        assert_error(
            rename(&app, token, json!({"newUsername": taken})).await,
            StatusCode::BAD_REQUEST,
            "AliasExistsException",
        )
        .await;
    }
    let (status, body) =
        status_json(rename(&app, token, json!({"newUsername": "Renamed"})).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"username": "Renamed"}));
    assert_eq!(app.own_channel(&user).await["username"], "Renamed");
    // The new name is the sign-in alias, and the profile no longer holds the old one (Cognito
    // keeps the sign-up name as the account's username, as upstream).
    let again = app.env.sign_in("Renamed", ugc_testkit::PASSWORD).await;
    assert_eq!(again.sub, user.sub);
    let old = ugc_domain::Username::parse("original").unwrap();
    assert!(app
        .state
        .channels
        .username_owner(&old)
        .await
        .unwrap()
        .is_none());
    // A change of case only is allowed.
    let res = rename(&app, token, json!({"newUsername": "renamed"})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn preferences(app: &TestApp, token: &str, body: &serde_json::Value) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        "/channel/preferences/update",
        Some(token),
        body,
    )
    .await
}

#[tokio::test]
async fn preferences_set_names_and_echo_the_body() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("prefs").await;
    let token = &user.access_token;
    let body = json!({"color": {"name": "salmon"}, "avatar": {"name": "tiger"}});
    let (status, echoed) = status_json(preferences(&app, token, &body).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed, body);
    let channel = app.own_channel(&user).await;
    assert_eq!(channel["color"], "salmon");
    assert_eq!(channel["avatar"], "tiger");
}

#[tokio::test]
async fn asset_preferences_keep_the_newest_upload() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("uploader").await;
    let token = &user.access_token;
    let newer = json!({"banner": {"previewUrl": "https://cdn.example/new.png",
                                  "uploadDateTime": "Thu, 02 Feb 2023 21:02:58 GMT"}});
    let (status, echoed) = status_json(preferences(&app, token, &newer).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed, newer);
    let older = json!({"banner": {"previewUrl": "https://cdn.example/old.png",
                                  "uploadDateTime": "Wed, 01 Feb 2023 21:02:58 GMT"}});
    let (status, echoed) = status_json(preferences(&app, token, &older).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed, older);
    let avatar = json!({"avatar": {"name": "custom", "previewUrl": "https://cdn.example/a.png",
                                   "uploadDateTime": "2023-02-03T10:00:00.000Z"}});
    assert_eq!(
        preferences(&app, token, &avatar).await.status(),
        StatusCode::OK
    );
    let channel = app.own_channel(&user).await;
    assert_eq!(
        channel["channelAssetUrls"],
        json!({"banner": "https://cdn.example/new.png", "avatar": "https://cdn.example/a.png"})
    );
    assert_eq!(channel["avatar"], "custom");
}

#[tokio::test]
async fn preferences_refuse_anything_but_color_avatar_banner() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("strict").await;
    let token = &user.access_token;
    for body in [
        json!({}),
        json!({"username": {"name": "hijack"}}),
        json!({"color": {"name": "chartreuse"}}),
        json!({"avatar": {"name": "unicorn"}}),
        json!({"color": "blue"}),
        json!({"color": {"name": 1}}),
        json!({"color": {"name": "blue", "extra": true}}),
        json!({"banner": {"uploadDateTime": "Thu, 02 Feb 2023 21:02:58 GMT"}}),
        json!({"banner": {"previewUrl": "https://cdn.example/x.png"}}),
        json!({"banner": {"previewUrl": "javascript:alert(1)", "uploadDateTime": "Thu, 02 Feb 2023 21:02:58 GMT"}}),
        json!({"banner": {"previewUrl": "https://cdn.example/x.png", "uploadDateTime": "someday"}}),
    ] {
        assert_error(
            preferences(&app, token, &body).await,
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        )
        .await;
    }
    let channel = app.own_channel(&user).await;
    assert_eq!(channel["username"], "strict");
    assert_eq!(channel["color"], "blue");
}
