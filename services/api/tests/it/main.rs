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

#[tokio::test]
async fn the_api_describes_itself_offline() {
    let env = TestEnv::start().await;
    let url = serve(&env, "all").await;
    let res = reqwest::get(format!("{url}/openapi.json")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let doc: serde_json::Value = res.json().await.unwrap();
    // Both groups, and the SPA's GET of the stream-key reset, deprecated in favour of POST.
    let reset = &doc["paths"]["/channel/streamKey/reset"];
    assert_eq!(reset["get"]["deprecated"], true, "{reset}");
    assert!(reset["post"].is_object() && reset["post"]["deprecated"].is_null());
    assert!(doc["paths"]["/channels"].is_object());
    assert!(doc["paths"]["/metrics/{channelResourceId}/streamSessions"].is_object());

    // The docs page and its assets come from the binary, not a CDN.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client.get(format!("{url}/docs")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/docs/");
    let page = client.get(format!("{url}/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page loads nothing from elsewhere: {html}"
    );
    let init = client
        .get(format!("{url}/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
    let bundle = client
        .get(format!("{url}/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    assert!(bundle.bytes().await.unwrap().len() > 100_000);

    // Only `/status` when no group is mounted.
    let url = serve(&env, "other").await;
    assert_eq!(status(format!("{url}/openapi.json")).await, 404);
}
