//! The metrics cache of ended sessions (docs/contract.md §3.2 `metrics`, §8.2 item 9): one key
//! `P<period>-S<ms>-E<ms>`, reused while the resolution stays, replaced (the whole map) once the
//! session's age crosses 3 h, 15 d or 63 d and the period changes.

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use ugc_domain::metrics::MetricsWindow;

use crate::helpers::{now, unique_id, TestApp};

fn sentinel(period: u32) -> Value {
    json!([{
        "alignedStartTime": "2020-01-01T00:00:00.000Z",
        "data": [7.0],
        "label": "KeyframeInterval",
        "period": period,
        "statistics": {"average": 7.0},
    }])
}

/// Stores `sentinel` under the key the window had at `then`, requests the session, and returns
/// the response's metrics and the keys stored afterwards.
async fn request_with_cache(
    app: &TestApp,
    alice: &ugc_testkit::TestUser,
    start: OffsetDateTime,
    then: OffsetDateTime,
) -> (String, Value, Vec<String>) {
    let id = unique_id();
    let arn = app.arn(&id);
    let end = start + Duration::minutes(2);
    let stream = app
        .session(&arn, "st-cached", &alice.sub, start, Some(end), &[])
        .await;
    let old = MetricsWindow::compute(start, Some(end), then, false);
    app.streams
        .store_metrics(&arn, &stream, &old.cache_key(), &sentinel(old.period))
        .await
        .unwrap();
    let (status, body) = app
        .get(
            &format!("/metrics/{id}/streamSessions/st-cached"),
            Some(alice),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let stored = app
        .streams
        .get_session(&arn, &stream)
        .await
        .unwrap()
        .unwrap();
    (
        old.cache_key(),
        body["metrics"].clone(),
        stored.metrics.keys().cloned().collect(),
    )
}

#[tokio::test]
async fn cache_is_reused_within_a_period_and_replaced_across_each_boundary() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let boundaries = [
        (Duration::hours(3), 5, 60),
        (Duration::days(15), 60, 300),
        (Duration::days(63), 300, 3600),
    ];
    for (boundary, before, after) in boundaries {
        // Younger than the boundary: the key written at the same period is served as is.
        let start = now() - boundary + Duration::minutes(30);
        let (key, metrics, keys) = request_with_cache(&app, &alice, start, now()).await;
        assert!(key.starts_with(&format!("P{before}-")), "{key}");
        assert_eq!(metrics, sentinel(before), "{key}");
        assert_eq!(keys, std::slice::from_ref(&key));

        // Older than the boundary: the key written while younger (finer period) is stale; the
        // metrics come from CloudWatch and the map holds only the new key.
        let start = now() - boundary - Duration::minutes(30);
        let then = start + boundary - Duration::minutes(10);
        let (old_key, metrics, keys) = request_with_cache(&app, &alice, start, then).await;
        assert!(old_key.starts_with(&format!("P{before}-")), "{old_key}");
        assert_ne!(metrics, sentinel(before));
        let end = start + Duration::minutes(2);
        let new_key = MetricsWindow::compute(start, Some(end), now(), false).cache_key();
        assert!(new_key.starts_with(&format!("P{after}-")), "{new_key}");
        assert_eq!(
            keys,
            std::slice::from_ref(&new_key),
            "{old_key} → {new_key}"
        );

        // And once written, the new key is reused.
        let (key, metrics, keys) = request_with_cache(&app, &alice, start, now()).await;
        assert_eq!(key, new_key);
        assert_eq!(metrics, sentinel(after));
        assert_eq!(keys, [new_key]);
    }
}
