use actix_web::{web, HttpResponse};
use ugc_web::{CommonConfig, CorsConfig};

use crate::{spawn_app, TestApp};

fn app(origins: &[&str]) -> TestApp {
    let mut common = CommonConfig::for_tests();
    let origins: Vec<String> = origins.iter().map(|s| (*s).to_owned()).collect();
    common.cors = CorsConfig::from_origins(&origins);
    spawn_app(&common, |cfg: &mut web::ServiceConfig| {
        cfg.route("/channel", web::get().to(HttpResponse::Ok));
    })
}

fn vary(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn allow_origin(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn preflight(
    app: &TestApp,
    origin: Option<&str>,
    method: Option<&str>,
    headers: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/channel"));
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    if let Some(method) = method {
        req = req.header("access-control-request-method", method);
    }
    if let Some(headers) = headers {
        req = req.header("access-control-request-headers", headers);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn disabled_cors_sends_no_allow_origin_and_404s_preflights() {
    for origins in [&[][..]] {
        let app = app(origins);
        let res = app
            .client
            .get(app.url("/channel"))
            .header("origin", "https://a.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(allow_origin(&res), None);
        assert_eq!(vary(&res), ["Origin"]);

        let res = preflight(&app, Some("https://a.example"), Some("GET"), None).await;
        assert_eq!(res.status(), 404);
        assert_eq!(allow_origin(&res), None);
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap()["__type"],
            "NotFoundException"
        );
    }
}

#[tokio::test]
async fn wildcard_allows_every_response() {
    let app = app(&["https://a.example", "*"]);
    for origin in [Some("https://anything.example"), None] {
        let mut req = app.client.get(app.url("/channel"));
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        let res = req.send().await.unwrap();
        assert_eq!(allow_origin(&res).as_deref(), Some("*"));
        assert_eq!(vary(&res), ["Origin"]);
    }
    // Error responses carry the headers too.
    let res = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(allow_origin(&res).as_deref(), Some("*"));
}

#[tokio::test]
async fn list_echoes_only_exact_matches() {
    let app = app(&["https://a.example", "http://localhost:3000"]);
    let cases = [
        (Some("https://a.example"), Some("https://a.example")),
        (Some("http://localhost:3000"), Some("http://localhost:3000")),
        (Some("https://a.example/"), None),
        (Some("https://A.example"), None),
        (Some("https://evil.example"), None),
        (None, None),
    ];
    for (origin, expected) in cases {
        let mut req = app.client.get(app.url("/channel"));
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "the response is served either way");
        assert_eq!(allow_origin(&res).as_deref(), expected, "origin {origin:?}");
        assert_eq!(vary(&res), ["Origin"]);
    }
}

#[tokio::test]
async fn preflight_answers_204_with_methods_and_echoed_headers() {
    let app = app(&["https://a.example"]);
    let res = preflight(
        &app,
        Some("https://a.example"),
        Some("PUT"),
        Some("authorization,content-type"),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(allow_origin(&res).as_deref(), Some("https://a.example"));
    assert_eq!(
        res.headers()["access-control-allow-methods"],
        "GET,HEAD,PUT,PATCH,POST,DELETE"
    );
    assert_eq!(
        res.headers()["access-control-allow-headers"],
        "authorization,content-type"
    );
    assert_eq!(vary(&res), ["Origin, Access-Control-Request-Headers"]);
    assert!(res
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    assert!(res.headers().get("access-control-max-age").is_none());
    assert_eq!(res.text().await.unwrap(), "");

    // No requested headers: none echoed. Disallowed origin: no allow-origin, still 204.
    let res = preflight(&app, Some("https://evil.example"), Some("GET"), None).await;
    assert_eq!(res.status(), 204);
    assert_eq!(allow_origin(&res), None);
    assert!(res.headers().get("access-control-allow-headers").is_none());

    // Any path, even one with no route.
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/not/a/route"))
        .header("origin", "https://a.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn incomplete_preflight_is_400_invalid_preflight_request() {
    let app = app(&["*"]);
    for (origin, method) in [
        (None, Some("GET")),
        (Some("https://a.example"), None),
        (None, None),
    ] {
        let res = preflight(&app, origin, method, None).await;
        assert_eq!(res.status(), 400);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        assert_eq!(res.text().await.unwrap(), "Invalid Preflight Request");
    }
}
