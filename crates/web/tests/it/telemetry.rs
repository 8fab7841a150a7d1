use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse, HttpServer};
use ugc_web::config::LogFormat;
use ugc_web::CommonConfig;

use crate::spawn_default;

#[derive(Default)]
struct Received {
    posts: Vec<(String, String, Vec<u8>)>,
}

/// Installs the global subscriber, so this is the only test that calls `telemetry::init`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_are_exported_over_otlp_http() {
    let received = Arc::new(Mutex::new(Received::default()));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sink = received.clone();
    let collector = HttpServer::new(move || {
        let sink = sink.clone();
        actix_web::App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let sink = sink.clone();
            async move {
                let content_type = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                sink.lock().unwrap().posts.push((
                    req.path().to_owned(),
                    content_type,
                    body.to_vec(),
                ));
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(collector);

    let mut common = CommonConfig::for_tests();
    common.otlp_endpoint = Some(format!("http://127.0.0.1:{port}/"));
    common.log_format = LogFormat::Json;
    common.service_name = Some("channels".to_owned());
    let guard = ugc_web::telemetry::init(&common).expect("telemetry installs");
    assert!(
        ugc_web::telemetry::init(&common).is_err(),
        "a second install is an error, not a panic"
    );

    let app = spawn_default();
    let res = app
        .client
        .get(app.url("/status?token=secret"))
        .header("authorization", "Bearer do-not-export")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The span ends when the response future completes; give the worker a moment.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    guard.shutdown().await;

    let received = received.lock().unwrap();
    let (_, content_type, body) = received
        .posts
        .iter()
        .find(|p| p.0 == "/v1/traces")
        .expect("the collector received the spans");
    assert_eq!(content_type, "application/x-protobuf");
    // The metrics go through the same exporter setup, flushed on shutdown.
    let (_, content_type, metrics) = received
        .posts
        .iter()
        .find(|p| p.0 == "/v1/metrics")
        .expect("the collector received the metrics");
    assert_eq!(content_type, "application/x-protobuf");
    let has = |needle: &[u8]| metrics.windows(needle.len()).any(|w| w == needle);
    assert!(
        has(b"http.server.request.duration"),
        "RED histogram exported"
    );
    assert!(has(b"/status"), "by route pattern");
    assert!(has(b"process.memory.rss"), "RSS exported");
    let contains = |needle: &[u8]| {
        received
            .posts
            .iter()
            .any(|p| p.2.windows(needle.len()).any(|w| w == needle))
    };
    assert!(contains(b"GET /status"), "span named after the route");
    assert!(contains(b"ugc-channels"), "service name in the resource");
    assert!(!contains(b"secret"), "no query string exported");
    assert!(
        !contains(b"do-not-export"),
        "no Authorization header exported"
    );
    assert!(!body.is_empty());
}
