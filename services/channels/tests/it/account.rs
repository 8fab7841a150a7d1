//! Registration, password reset and account deletion.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ugc_testkit::PASSWORD;
use ugc_web::rate_limit::{Budget, RateLimitConfig};
use ugc_web::Action;

use crate::common::{assert_error, status_json, Options, TestApp};

fn registration(username: &str, email: &str) -> Value {
    json!({"username": username, "email": email, "password": PASSWORD,
           "confirmPassword": PASSWORD, "avatar": "bear", "color": "blue"})
}

async fn register(app: &TestApp, body: &Value) -> reqwest::Response {
    app.send_json(Method::POST, "/channel/register", None, body)
        .await
}

#[tokio::test]
async fn registration_creates_an_unconfirmed_account_with_a_profile() {
    let app = TestApp::spawn().await;
    let res = register(&app, &registration("jdoe", "john@doe.com")).await;
    let (status, body) = status_json(res).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body, json!({"userConfirmed": false}));
    let record = app
        .state
        .channels
        .get_by_username("jdoe")
        .await
        .unwrap()
        .expect("profile row");
    assert_eq!(record.email.as_deref(), Some("john@doe.com"));
    assert_eq!(record.avatar.as_deref(), Some("bear"));
    assert_eq!(record.color.as_deref(), Some("blue"));
    // Cognito sent the confirmation code.
    assert!(app
        .shared()
        .cognito
        .outbox()
        .iter()
        .any(|m| m.to == "john@doe.com"));
}

#[tokio::test]
async fn registration_validates_in_upstream_order() {
    let app = TestApp::spawn_with(
        Options::default().var("SIGN_UP_ALLOWED_DOMAINS", r#"["doe.com","bar.foo"]"#),
    )
    .await;
    let mut missing = registration("jdoe", "john@doe.com");
    missing.as_object_mut().unwrap().remove("username");
    assert_error(
        register(&app, &missing).await,
        StatusCode::BAD_REQUEST,
        "UnexpectedException",
    )
    .await;
    for (username, email, code) in [
        ("jdoe", "john@notdoe.com", "AccountRegistrationException"),
        ("settings", "john@doe.com", "ReservedUsernameException"),
        ("Settings", "john@doe.com", "ReservedUsernameException"),
        ("joe", "john@doe.com", "AccountRegistrationException"),
        (
            "alexanderhamilton1234",
            "john@doe.com",
            "AccountRegistrationException",
        ),
        ("j doe!", "john@doe.com", "AccountRegistrationException"),
        ("jdoe", "not-an-address", "AccountRegistrationException"),
    ] {
        assert_error(
            register(&app, &registration(username, email)).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    let mut bad_avatar = registration("jdoe", "john@doe.com");
    bad_avatar["avatar"] = json!("unicorn");
    assert_error(
        register(&app, &bad_avatar).await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    )
    .await;
    // Nothing was created by the refused attempts.
    assert!(app
        .state
        .channels
        .get_by_email("john@doe.com")
        .await
        .unwrap()
        .is_none());
    let res = register(&app, &registration("jdoe", "john@bar.foo")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn taken_email_username_and_weak_passwords_are_refused() {
    let app = TestApp::spawn().await;
    assert_eq!(
        register(&app, &registration("alice", "alice@example.com"))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_error(
        register(&app, &registration("alice2", "alice@example.com")).await,
        StatusCode::BAD_REQUEST,
        "EmailExistsException",
    )
    .await;
    // Usernames are unique in any casing.
    let body = assert_error(
        register(&app, &registration("ALICE", "other@example.com")).await,
        StatusCode::BAD_REQUEST,
        "UsernameExistsException",
    )
    .await;
    assert!(body["message"].is_string());
    let mut weak = registration("bobby", "bob@example.com");
    weak["password"] = json!("short");
    let body = assert_error(
        register(&app, &weak).await,
        StatusCode::BAD_REQUEST,
        "InvalidPasswordException",
    )
    .await;
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    // The refused sign-up left nothing behind: the name registers fine afterwards.
    assert_eq!(
        register(&app, &registration("bobby", "bob@example.com"))
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn sign_up_is_rate_limited_per_ip() {
    let mut limits = RateLimitConfig::unlimited();
    limits.set(
        Action::SignUp,
        Budget::Limited {
            burst: 2,
            period: std::time::Duration::from_secs(600),
        },
    );
    let app = TestApp::spawn_with(Options {
        rate_limits: limits,
        ..Options::default()
    })
    .await;
    for name in ["user1", "user2"] {
        let res = register(&app, &registration(name, &format!("{name}@example.com"))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = register(&app, &registration("user3", "user3@example.com")).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsException",
    )
    .await;
}

#[tokio::test]
async fn password_reset_never_reveals_whether_an_account_exists() {
    let app = TestApp::spawn().await;
    let user = app.register("resetme").await;
    let before = app.shared().cognito.outbox().len();
    for body in [
        json!({}),
        json!({"email": "nobody@example.com"}),
        json!({"email": "not an address"}),
        json!({"email": user.email}),
    ] {
        let (status, json_body) = status_json(
            app.send_json(Method::POST, "/channel/password/reset", None, &body)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_body, json!({}));
    }
    // Only the real address got a reset code.
    let outbox = app.shared().cognito.outbox();
    assert_eq!(outbox.len(), before + 1);
    assert_eq!(outbox.last().unwrap().to, user.email);
}

#[tokio::test]
async fn deleting_an_account_removes_everything_it_owns() {
    use aws_sdk_ivs::Client as Ivs;
    use aws_sdk_ivschat::Client as Chat;

    let app = TestApp::spawn().await;
    let user = app.user_with_channel("leaver").await;
    let other = app.user_with_channel("stayer").await;
    let channel = app.own_channel(&user).await;
    let resource_id = channel["channelResourceId"].as_str().unwrap().to_owned();
    // Live, with an uploaded avatar.
    ugc_emulator::events::broadcast(
        app.shared(),
        &resource_id,
        ugc_emulator::ivs::BroadcastAction::Start,
    )
    .unwrap();
    let asset_id = app
        .state
        .channels
        .get(&user.sub)
        .await
        .unwrap()
        .unwrap()
        .channel_asset_id
        .unwrap();
    app.shared()
        .s3
        .put_object(
            crate::common::BUCKET,
            &format!("{asset_id}/avatar"),
            ugc_emulator::s3::NewObject {
                content_type: Some("image/png".to_owned()),
                metadata: Default::default(),
                body: "png".into(),
            },
            ugc_emulator::s3::CreatedBy::Put,
        )
        .unwrap();

    let res = app
        .request(Method::DELETE, "/channel", Some(&user.access_token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let ivs = Ivs::new(&app.env.sdk);
    let channels = ivs.list_channels().send().await.unwrap();
    let names: Vec<_> = channels
        .channels()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    assert_eq!(names, ["stayers-channel"]);
    let chat = Chat::new(&app.env.sdk);
    let rooms = chat.list_rooms().send().await.unwrap();
    let rooms: Vec<_> = rooms.rooms().iter().filter_map(|r| r.name()).collect();
    assert_eq!(rooms, ["stayers-room"]);
    assert!(app.state.channels.get(&user.sub).await.unwrap().is_none());
    assert!(app.state.channels.get(&other.sub).await.unwrap().is_some());
    let listed = app
        .shared()
        .s3
        .list_objects(crate::common::BUCKET, &asset_id, None)
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    let cognito_user = app
        .env
        .cognito()
        .admin_get_user()
        .user_pool_id(&app.env.user_pool_id)
        .username(&user.username)
        .send()
        .await;
    assert!(cognito_user.is_err(), "Cognito user still exists");
    // The name is free again.
    assert_eq!(
        register(&app, &registration("leaver", "leaver2@example.com"))
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn account_deletion_can_be_retried() {
    let app = TestApp::spawn().await;
    let user = app.user_with_channel("twice").await;
    for _ in 0..2 {
        let res = app
            .request(Method::DELETE, "/channel/", Some(&user.access_token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
}
