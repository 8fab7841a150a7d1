use actix_web::{web, HttpResponse};
use ugc_web::metrics::{self, IngestOutcome};
use ugc_web::CommonConfig;

use crate::spawn_app;

#[tokio::test]
async fn requests_show_up_in_the_counters_by_route_pattern() {
    let mut common = CommonConfig::for_tests();
    // A service label of its own: other tests of this binary record into the same process.
    common.service_name = Some("metrics-test".to_owned());
    let app = spawn_app(&common, |cfg: &mut web::ServiceConfig| {
        cfg.route(
            "/things/{id}",
            web::get().to(|| async { HttpResponse::Ok().finish() }),
        )
        .service(
            ugc_web::routing::resource("/items/{id}")
                .route(web::get().to(|| async { HttpResponse::Ok().finish() })),
        )
        .route(
            "/broken",
            web::get().to(|| async { HttpResponse::ServiceUnavailable().finish() }),
        );
    });
    for path in [
        "/things/1",
        "/things/2",
        "/items/7",
        "/broken",
        "/unknown/path",
    ] {
        app.client.get(app.url(path)).send().await.unwrap();
    }
    let route = |summary: &metrics::Summary, pattern: &str| {
        summary
            .routes
            .get(&("metrics-test".to_owned(), pattern.to_owned()))
            .cloned()
            .unwrap_or_default()
    };
    let summary = metrics::summary();
    let things = route(&summary, "/things/{id}");
    assert_eq!(
        things.requests, 2,
        "raw paths are folded into their pattern"
    );
    assert_eq!(things.server_errors, 0);
    assert!(things.latency_quantile(0.99).is_some());
    // A resource that carries its pattern (`routing::resource`) is labelled the same way.
    assert_eq!(route(&summary, "/items/{id}").requests, 1);
    let broken = route(&summary, "/broken");
    assert_eq!((broken.requests, broken.server_errors), (1, 1));
    let unmatched = route(&summary, "unmatched");
    assert_eq!((unmatched.requests, unmatched.client_errors), (1, 1));
    assert!(summary.rss_bytes.is_some_and(|rss| rss > 0));
    let line = summary.to_string();
    assert!(
        line.contains("metrics metrics-test: 5 req, 1 4xx, 1 5xx"),
        "{line}"
    );

    // The other counters of the facade.
    let before = metrics::summary();
    metrics::ingest_outcome(IngestOutcome::Duplicate);
    metrics::cache_lookup("test_cache", true);
    metrics::cache_lookup("test_cache", false);
    let after = metrics::summary();
    let count = |s: &metrics::Summary| s.ingest.get("duplicate").copied().unwrap_or(0);
    assert_eq!(count(&after), count(&before) + 1);
    assert_eq!(
        after
            .cache
            .get(&("test_cache".to_owned(), "hit".to_owned())),
        Some(&1)
    );
}
