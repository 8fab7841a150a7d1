//! Concurrent deliveries of one session are coalesced: with DynamoDB made slow (a proxy that
//! holds every request 100 ms), a burst of deliveries of one session, duplicates included, is
//! stored in a few writes rather than one read and one write each; every delivery is answered
//! only after its event is stored (each event id answered `stored` exactly once, the rest
//! `duplicate`), and the store matches the session model.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use ugc_event_ingest::bench_support::sample_events;
use ugc_testkit::TestEnv;

use crate::helpers::*;

const DELAY: Duration = Duration::from_millis(100);

/// Forwards HTTP/1.1 requests to `upstream` after `DELAY`, counting them.
async fn slow_counting_proxy(upstream: SocketAddr, count: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let mut reader = BufReader::new(client_read);
                loop {
                    let mut head = Vec::new();
                    let mut length = 0usize;
                    loop {
                        let start = head.len();
                        match reader.read_until(b'\n', &mut head).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let line = String::from_utf8_lossy(&head[start..]).to_ascii_lowercase();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(DELAY).await;
                    head.extend_from_slice(&body);
                    if server_write.write_all(&head).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_a_session_share_writes() {
    let env = TestEnv::start().await;
    let upstream: SocketAddr = ugc_testkit::dynamodb_endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let proxy = slow_counting_proxy(upstream, calls.clone()).await;
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&env.sdk)
            .endpoint_url(proxy)
            .build(),
    );
    let config = config_for(&env);
    let app = Arc::new(TestApp::spawn_with(env, config, dynamo).await);
    let channel = app.owned_channel().await;
    let events = sample_events(channel.as_str(), 1);

    // The first event alone: the owner is looked up and cached, the session created.
    let (status, body) = app.deliver(&events[0]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("stored")));

    // The rest at once, four of them twice.
    let mut burst: Vec<Value> = events[1..].to_vec();
    burst.extend(events[1..5].iter().cloned());
    let before = calls.load(Ordering::SeqCst);
    let mut tasks = tokio::task::JoinSet::new();
    for event in burst.clone() {
        let app = app.clone();
        tasks.spawn(async move {
            let (status, body) = app.deliver(&event).await;
            (event["id"].as_str().unwrap().to_owned(), status, body)
        });
    }
    let mut stored: HashMap<String, usize> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (id, status, body) = joined.unwrap();
        assert_eq!(status, 200, "{body}");
        match body["status"].as_str() {
            Some("stored") => *stored.entry(id).or_default() += 1,
            Some("duplicate") => {
                stored.entry(id).or_default();
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    let during = calls.load(Ordering::SeqCst) - before;
    assert_eq!(stored.len(), events.len() - 1);
    assert!(
        stored.values().all(|n| *n == 1),
        "each event stored exactly once: {stored:?}"
    );
    // Unbatched, each delivery costs at least a read and a write (24 calls here).
    assert!(
        during <= burst.len() / 2,
        "{during} DynamoDB calls for {} deliveries of one session",
        burst.len()
    );
    app.assert_store_matches(&events).await;
    // A redelivery after the burst is a duplicate.
    let (status, body) = app.deliver(&events[3]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
}
