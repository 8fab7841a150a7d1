//! The shared-secret header: anything but the exact secret → 401, nothing read or stored.

use serde_json::{json, Value};
use ugc_event_ingest::SecretSource;
use ugc_testkit::TestEnv;

use crate::helpers::*;

#[tokio::test]
async fn missing_or_wrong_secret_is_401_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    let event = state_event(&channel, &stream, "Session Created", "2024-05-01T10:00:00Z");

    let wrong: [Option<&str>; 6] = [
        None,
        Some(""),
        Some("ingest-secret-for-tests-012345678"),
        Some("ingest-secret-for-tests-0123456789x"),
        Some("INGEST-SECRET-FOR-TESTS-0123456789"),
        Some("Bearer ingest-secret-for-tests-0123456789"),
    ];
    for path in ["/streamEvents", "/"] {
        for value in wrong {
            let mut req = app
                .http
                .post(format!("{}{path}", app.address))
                .body(event.to_string());
            if let Some(value) = value {
                req = req.header(HEADER, value);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{path} with {value:?}");
            assert_eq!(
                res.json::<Value>().await.unwrap(),
                json!({"__type": "UnauthorizedException"})
            );
        }
        // The secret in another header does not count.
        let res = app
            .http
            .post(format!("{}{path}", app.address))
            .header("x-api-key", SECRET)
            .body(event.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    // Unauthenticated garbage and huge bodies are refused before being read.
    let res = app
        .http
        .post(format!("{}/streamEvents", app.address))
        .body(vec![b'x'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(app.session(&channel, &stream).await.is_none());

    // The right secret on both paths.
    let res = app
        .http
        .post(format!("{}/", app.address))
        .header(HEADER, SECRET)
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "stored");
    assert!(app.session(&channel, &stream).await.is_some());
}

#[tokio::test]
async fn secret_from_secrets_manager() {
    let env = TestEnv::start().await;
    let arn = env
        .emulator
        .secrets
        .put("ugc/ingest-secret", "from-secrets-manager");
    let mut config = config_for(&env);
    config.secret = SecretSource::SecretsManager(arn);
    let dynamo = env.dynamo.clone();
    let app = TestApp::spawn_with(env, config, dynamo).await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    let event = state_event(&channel, &stream, "Session Created", "2024-05-01T10:00:00Z");

    let send = |secret: &'static str| {
        app.http
            .post(format!("{}/streamEvents", app.address))
            .header(HEADER, secret)
            .body(event.to_string())
            .send()
    };
    assert_eq!(send(SECRET).await.unwrap().status(), 401);
    assert_eq!(send("from-secrets-manager").await.unwrap().status(), 200);
    assert!(app.session(&channel, &stream).await.is_some());
}

#[tokio::test]
async fn unreadable_secret_is_503_so_eventbridge_retries() {
    let env = TestEnv::start().await;
    let mut config = config_for(&env);
    config.secret = SecretSource::SecretsManager("ugc/no-such-secret".into());
    let dynamo = env.dynamo.clone();
    let app = TestApp::spawn_with(env, config, dynamo).await;
    let channel = random_channel_arn();
    let event = state_event(
        &channel,
        &random_stream_id(),
        "Session Created",
        "2024-05-01T10:00:00Z",
    );
    let res = app.post(event.to_string()).await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"__type": "ServiceUnavailableException"})
    );
    // Still no answer without the header at all.
    let res = app
        .http
        .post(format!("{}/streamEvents", app.address))
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(app.status_ok().await);
}
