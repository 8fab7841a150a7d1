//! The link to DynamoDB is cut mid-run: deliveries get 503 + Retry-After (EventBridge retries),
//! the service stays up, and once the link is back and the failed deliveries are retried nothing
//! acknowledged is lost and the store matches the events sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use ugc_event_ingest::bench_support::sample_events;
use ugc_testkit::TestEnv;

use crate::chaos_proxy::ChaosProxy;
use crate::helpers::*;

async fn deliver_all(app: &Arc<TestApp>, events: &[Value]) -> Vec<(Value, u16, bool)> {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in events.chunks(events.len().div_ceil(16).max(1)) {
        let app = app.clone();
        let chunk = chunk.to_vec();
        tasks.spawn(async move {
            let mut out = Vec::new();
            for event in chunk {
                let res = app.post(event.to_string()).await;
                let status = res.status().as_u16();
                let retry_after = res.headers().contains_key("retry-after");
                out.push((event, status, retry_after));
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_answers_503_and_loses_nothing() {
    let env = TestEnv::start().await;
    let upstream: SocketAddr = ugc_testkit::dynamodb_endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = ChaosProxy::start(upstream).await;
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&env.sdk)
            .endpoint_url(proxy.url())
            .build(),
    );
    let mut config = config_for(&env);
    config.ingest_timeout = Duration::from_millis(1500);
    let app = Arc::new(TestApp::spawn_with(env, config, dynamo).await);

    let mut events = Vec::new();
    for _ in 0..2 {
        let channel = app.owned_channel().await;
        events.extend(sample_events(channel.as_str(), 3));
    }
    let third = events.len() / 3;
    let (before, rest) = events.split_at(third);
    let (during, after) = rest.split_at(third);

    for (event, status, _) in deliver_all(&app, before).await {
        assert_eq!(status, 200, "{event}");
    }

    proxy.cut();
    let answers = deliver_all(&app, during).await;
    let mut failed = Vec::new();
    for (event, status, retry_after) in answers {
        match status {
            200 => {}
            503 | 429 => {
                assert!(retry_after, "Retry-After on {status}");
                failed.push(event);
            }
            other => panic!("unexpected {other} during the outage"),
        }
    }
    assert!(!failed.is_empty(), "the outage was noticed");
    assert!(
        app.status_ok().await,
        "still serving /status during the outage"
    );

    proxy.restore();
    // EventBridge retries what failed; new events keep coming.
    for event in &failed {
        let (status, _) = app.deliver_retrying(event).await;
        assert_eq!(status, 200);
    }
    for (event, status, _) in deliver_all(&app, after).await {
        if status != 200 {
            assert_eq!(app.deliver_retrying(&event).await.0, 200);
        }
    }
    eprintln!(
        "faults: {} events, {} answered 503/429 during the outage and were retried",
        events.len(),
        failed.len()
    );
    app.assert_store_matches(&events).await;
    assert!(app.status_ok().await);
}
