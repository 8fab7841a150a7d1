use std::net::SocketAddr;
use std::time::Duration;

use crate::spawn_default;

#[tokio::test]
async fn status_answers_ok_as_plain_text() {
    let app = spawn_default();
    let res = app.client.get(app.url("/status")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(res.text().await.unwrap(), "OK");
}

#[tokio::test]
async fn head_status_has_headers_and_no_body() {
    let app = spawn_default();
    let res = app.client.head(app.url("/status")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(res.text().await.unwrap(), "");
}

#[tokio::test]
async fn request_id_is_echoed_when_sane_and_generated_otherwise() {
    let app = spawn_default();
    let res = app
        .client
        .get(app.url("/status"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");
    let res = app
        .client
        .get(app.url("/status"))
        .header("x-request-id", "not sane!")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, "not sane!");
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

#[tokio::test]
async fn healthcheck_passes_against_a_running_app_and_fails_without_one() {
    let app = spawn_default();
    let addr: SocketAddr = ([127, 0, 0, 1], app.port).into();
    let result = tokio::task::spawn_blocking(move || {
        ugc_web::healthcheck::check(addr, Duration::from_secs(3))
    })
    .await
    .unwrap();
    assert_eq!(result, Ok(()));

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead: SocketAddr = closed.local_addr().unwrap();
    drop(closed);
    let result = tokio::task::spawn_blocking(move || {
        ugc_web::healthcheck::check(dead, Duration::from_secs(1))
    })
    .await
    .unwrap();
    assert!(result.is_err());
}

#[tokio::test]
async fn healthcheck_fails_on_a_non_200_status() {
    // An app whose /status is shadowed is not what we want; instead use a raw server that
    // answers 503.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await;
        let _ = socket
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
            .await;
    });
    let result = tokio::task::spawn_blocking(move || {
        ugc_web::healthcheck::check(addr, Duration::from_secs(3))
    })
    .await
    .unwrap();
    assert!(result.unwrap_err().contains("503"));
}

#[tokio::test]
async fn json_responses_carry_the_utf8_charset_like_upstream() {
    let app = crate::spawn_app(
        &ugc_web::CommonConfig::for_tests(),
        |cfg: &mut actix_web::web::ServiceConfig| {
            cfg.route(
                "/thing",
                actix_web::web::get().to(|| async {
                    actix_web::HttpResponse::Ok().json(serde_json::json!({"a": "é"}))
                }),
            );
        },
    );
    let res = app.client.get(app.url("/thing")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    // Error bodies too.
    let res = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
}
