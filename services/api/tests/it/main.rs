//! The combined container's route selection, served over HTTP (docs/contract.md §2.1).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use ugc_api::{Api, ApiConfig};
use ugc_testkit::TestEnv;
use ugc_web::env::Vars;
use ugc_web::Application;

/// Serves the api with `SERVICE_NAME=service` against the test environment; returns its URL.
async fn serve(env: &TestEnv, service: &str) -> String {
    let vars = Vars::from_pairs([
        ("SERVICE_NAME", service.to_owned()),
        ("CHANNELS_TABLE_NAME", env.tables.channels.clone()),
        ("STREAM_TABLE_NAME", env.tables.streams.clone()),
        ("USER_POOL_ID", env.user_pool_id.clone()),
        ("USER_POOL_CLIENT_ID", env.client_id.clone()),
        ("COGNITO_ISSUER", env.auth.issuer.clone()),
        ("COGNITO_JWKS_URL", env.auth.jwks_url.clone()),
        ("REGION", env.region.clone()),
        ("ACCOUNT_ID", env.account_id.clone()),
        ("CHANNEL_ASSETS_BUCKET_NAME", "assets".to_owned()),
        ("IVS_CHANNEL_TYPE", "BASIC".to_owned()),
        (
            "PAGINATION_TOKEN_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]);
    let mut common = env.common_config();
    common.service_name = Some(service.to_owned());
    let config = ApiConfig::from_parts(&common, &vars).unwrap();
    let api = Api::new(config, &env.sdk, env.dynamo.clone())
        .await
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build(listener, api.configure(), &common).unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}

async fn status(url: String) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn service_name_selects_the_route_groups() {
    let env = TestEnv::start().await;
    // (SERVICE_NAME, GET /channels?isLive=true, GET /metrics/<id>/streamSessions without a token)
    for (service, channels, metrics) in [
        ("all", 200, 401),
        ("channels", 200, 404),
        ("metrics", 404, 401),
        ("other", 404, 404),
    ] {
        let url = serve(&env, service).await;
        assert_eq!(status(format!("{url}/status")).await, 200, "{service}");
        assert_eq!(
            status(format!("{url}/channels?isLive=true")).await,
            channels,
            "{service} /channels"
        );
        assert_eq!(
            status(format!("{url}/metrics/abc/streamSessions")).await,
            metrics,
            "{service} /metrics"
        );
    }
}
