//! The local platform started in-process, as the end-to-end tests start it: ports 0, emulator
//! state in memory, tables under a unique prefix in the run's DynamoDB Local.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use serde_json::{json, Value};
use ugc_local::client::{Client, Platform};
use ugc_local::LocalConfig;

mod config_docs;

async fn start() -> ugc_local::Running {
    let config = LocalConfig::for_tests(ugc_testkit::dynamodb_endpoint());
    ugc_local::start(config).await.expect("the platform starts")
}

#[tokio::test]
async fn starts_wired_and_answers_on_every_port() {
    let running = start().await;
    let http = reqwest::Client::new();

    for base in [&running.api_url, &running.ingest_url] {
        let status = http.get(format!("{base}/status")).send().await.unwrap();
        assert_eq!(status.status(), 200, "{base}/status");
    }
    let outbox = http.get(running.outbox_url()).send().await.unwrap();
    assert_eq!(outbox.status(), 200);

    // The banner data: the pool the services verify against, the SPA settings.
    assert!(
        running.pool_id.starts_with("us-east-1_"),
        "{}",
        running.pool_id
    );
    assert!(!running.client_id.is_empty());
    assert_eq!(
        running.issuer(),
        format!("{}/{}", running.emulator_url, running.pool_id)
    );
    assert!(
        running.chat_ws_url.starts_with("ws://127.0.0.1:") && running.chat_ws_url.ends_with("/ws")
    );
    let env = running.spa_env();
    let get = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("REACT_APP_API_BASE_URL"), running.api_url);
    assert_eq!(get("REACT_APP_COGNITO_USER_POOL_ID"), running.pool_id);
    assert_eq!(
        get("REACT_APP_COGNITO_USER_POOL_CLIENT_ID"),
        running.client_id
    );
    assert_eq!(get("REACT_APP_REGION"), "us-east-1");
    assert_eq!(get("REACT_APP_CHANNEL_TYPE"), "BASIC");
    for name in [
        "REACT_APP_STAGE",
        "REACT_APP_ENABLE_AMAZON_PRODUCT_STREAM_ACTION",
    ] {
        assert!(!get(name).is_empty(), "{name}");
    }
    let banner = running.banner();
    for needle in [
        &running.api_url,
        &running.chat_ws_url,
        &running.outbox_url(),
        &running.broadcast_url(),
    ] {
        assert!(
            banner.contains(needle.as_str()),
            "banner lacks {needle}:\n{banner}"
        );
    }

    // Combined layout: channels and metrics routes on the API port (metrics needs a token).
    let directory = http
        .get(format!("{}/channels?isLive=true", running.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(directory.status(), 200);
    let metrics = http
        .get(format!("{}/metrics/abc/streamSessions", running.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 401);
    // event-ingest takes only authenticated deliveries.
    let ingest = http
        .post(format!("{}/streamEvents", running.ingest_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(ingest.status(), 401);

    running.shutdown().await;
}

#[tokio::test]
async fn a_user_registers_confirms_streams_and_goes_live() {
    let running = start().await;
    let client = Client::new(Platform::of(&running)).unwrap();
    let options = ugc_local::seed::SeedOptions {
        count: 2,
        offline: 1,
        prefix: "itest".to_owned(),
    };
    let users = ugc_local::seed::run(&client, &options)
        .await
        .expect("seeding");
    assert_eq!(users.len(), 2);
    assert!(!users[0].live && users[1].live);

    // The live one reaches the directory through event-ingest (EventBridge push, secret header).
    let mut live: Vec<Value> = Vec::new();
    for _ in 0..100 {
        let directory = client
            .api(reqwest::Method::GET, "/channels?isLive=true", None, None)
            .await
            .unwrap();
        live = directory["channels"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // The offline user's start/stop events may still be in flight: wait for the final state.
        if live
            .iter()
            .map(|c| c["username"].as_str())
            .eq([Some("itest002")])
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let names: Vec<&str> = live.iter().filter_map(|c| c["username"].as_str()).collect();
    assert_eq!(names, ["itest002"], "{live:?}");

    // `stream` stops it by username.
    let stopped = ugc_local::stream::run(&client, "itest002", "stop")
        .await
        .unwrap();
    assert!(!stopped.live);
    assert!(stopped
        .channel
        .starts_with("arn:aws:ivs:us-east-1:123456789012:channel/"));

    // The broadcast shows in the metrics `make run` prints: IVS events stored by event-ingest,
    // with their lag, and the API's requests by route pattern.
    let summary = ugc_web::metrics::summary();
    assert!(
        summary.ingest.get("stored").copied().unwrap_or(0) > 0,
        "{summary}"
    );
    assert!(summary.ingest_lag.0 > 0, "{summary}");
    let requests = |service: &str, route: &str| {
        summary
            .routes
            .get(&(service.to_owned(), route.to_owned()))
            .map_or(0, |r| r.requests)
    };
    assert!(requests("event-ingest", "/streamEvents") > 0, "{summary}");
    assert!(requests("api", "/channels") > 0, "{summary}");
    let text = summary.to_string();
    assert!(
        text.contains("metrics api: ") && text.contains("metrics event-ingest: "),
        "{text}"
    );

    running.shutdown().await;
}

#[tokio::test]
async fn make_stream_publishes_real_video_the_directory_and_player_follow() {
    let running = start().await;
    assert!(running.rtmp_url.starts_with("rtmp://127.0.0.1:"));
    let client = Client::new(Platform::of(&running)).unwrap();
    let options = ugc_local::seed::SeedOptions {
        count: 1,
        offline: 1,
        prefix: "rtmp".to_owned(),
    };
    let users = ugc_local::seed::run(&client, &options)
        .await
        .expect("seeding");
    assert!(!users[0].live);
    // The seeded past session's events carry whole-second times: let them land, and start the real
    // broadcast in a later second so event-ingest orders it after them.
    for _ in 0..100 {
        if running.emulator.events.pending_deliveries() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let publish_client = Client::new(Platform::of(&running)).unwrap();
    let publishing = tokio::spawn(async move {
        ugc_local::stream::publish(&publish_client, "rtmp001", async {
            let _ = stopped.await;
        })
        .await
    });

    // The real connection's Stream Start reaches the directory; the channel page's playbackUrl
    // serves a live playlist once the first segment is complete.
    let mut page = Value::Null;
    for _ in 0..100 {
        page = client
            .api(reqwest::Method::GET, "/channels/rtmp001", None, None)
            .await
            .unwrap();
        if page["isLive"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let events: Vec<String> = running
        .emulator
        .events
        .list()
        .iter()
        .map(|e| format!("{} {}", e["time"], e["detail"]["event_name"]))
        .collect();
    let directory = client
        .api(reqwest::Method::GET, "/channels?isLive=true", None, None)
        .await
        .unwrap();
    assert_eq!(page["isLive"], true, "{page} {events:?} {directory}");
    let playback = page["playbackUrl"].as_str().unwrap().to_owned();
    assert!(playback.starts_with(&running.emulator_url), "{playback}");
    let mut playlist = String::new();
    for _ in 0..100 {
        let response = reqwest::get(&playback).await.unwrap();
        if response.status() == 200 {
            playlist = response.text().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(playlist.contains("#EXTINF"), "{playlist}");

    // Stopping the publisher ends the stream: the directory drops it.
    stop.send(()).unwrap();
    publishing.await.unwrap().unwrap();
    let mut live = true;
    for _ in 0..100 {
        let directory = client
            .api(reqwest::Method::GET, "/channels?isLive=true", None, None)
            .await
            .unwrap();
        live = directory["channels"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["username"] == "rtmp001"));
        if !live {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!live, "the ended stream leaves the directory");
    running.shutdown().await;
}
