//! `GET /metrics/:channelResourceId/streamSessions/:streamSessionId` (docs/contract.md §8.2, §14.14 with the
//! deviations): a live broadcast of the emulator, an ended session, CloudWatch outages.

use std::net::TcpListener;

use serde_json::Value;
use time::Duration;
use ugc_aws::StreamMetricsClient;
use ugc_domain::metrics::MetricsWindow;
use ugc_domain::session::{EventKind, IvsEvent};
use ugc_domain::{format_iso_millis, parse_iso, StreamId};
use ugc_emulator::ivs::BroadcastAction;
use ugc_metrics::AppState;
use ugc_testkit::TestEnv;

use crate::helpers::{config, now, type_of, unique_id, TestApp};

fn labels(body: &Value) -> Vec<&str> {
    body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect()
}

fn event_names(body: &Value) -> Vec<&str> {
    body["truncatedEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn live_broadcast_has_metrics_from_cloudwatch_and_ingest_configuration() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let ivs = aws_sdk_ivs::Client::new(&app.env.sdk);
    let channel = ivs
        .create_channel()
        .name("alice")
        .send()
        .await
        .unwrap()
        .channel
        .unwrap();
    let arn = ugc_domain::ChannelArn::parse(channel.arn().unwrap()).unwrap();
    let resource_id = arn.resource_id().as_str().to_owned();

    // The emulator's EventBridge events, applied as event-ingest would.
    let outcome =
        ugc_emulator::events::broadcast(&app.env.emulator, arn.as_str(), BroadcastAction::Start)
            .unwrap();
    let stream_id = StreamId::parse(outcome.change.stream_id.as_deref().unwrap()).unwrap();
    let mut start = None;
    for envelope in &outcome.envelopes {
        let event = IvsEvent::from_json(envelope).unwrap();
        if event.kind == EventKind::SessionCreated {
            start = Some(event.time);
        }
        app.streams
            .apply_event(&arn, &stream_id, &alice.sub, &event)
            .await
            .unwrap();
    }
    let start = start.expect("a Session Created event");
    // Some 5-second buckets of data.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;

    let path = format!(
        "/metrics/{resource_id}/streamSessions/{}",
        stream_id.as_str()
    );
    let (status, body) = app.get(&path, Some(&alice)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["isLive"], true);
    assert_eq!(body["isHealthy"], true);
    assert_eq!(body["channel"], serde_json::json!({"type": "BASIC"}));
    assert_eq!(body["streamId"], stream_id.as_str());
    assert_eq!(body["startTime"], format_iso_millis(start));
    assert!(body.get("endTime").is_none());
    // Newest first while live.
    assert_eq!(event_names(&body), ["Stream Start", "Session Created"]);
    let ingest = &body["ingestConfiguration"];
    assert!(
        ingest["video"]["videoWidth"].as_i64().unwrap() > 0,
        "{body}"
    );
    assert!(!ingest["audio"]["codec"].as_str().unwrap().is_empty());
    let stored = app
        .streams
        .get_session(&arn, &stream_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.ingest_configuration.as_ref(), Some(ingest));

    let mut got = labels(&body);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "ConcurrentViews",
            "IngestFramerate",
            "IngestVideoBitrate",
            "KeyframeInterval"
        ]
    );
    let aligned = format_iso_millis(MetricsWindow::compute(start, None, start, true).aligned_start);
    for metric in body["metrics"].as_array().unwrap() {
        assert_eq!(metric["period"], 5);
        assert_eq!(metric["alignedStartTime"], aligned.as_str());
    }
    let views = body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["label"] == "ConcurrentViews")
        .unwrap();
    assert!(!views["data"].as_array().unwrap().is_empty(), "{views}");
    assert!(views["statistics"]["average"].as_f64().unwrap() > 0.0);
    // Live sessions are never cached.
    assert!(stored.metrics.is_empty());

    // Stopped: events oldest first, the real end, still not cached (CloudWatch is settling).
    let outcome =
        ugc_emulator::events::broadcast(&app.env.emulator, arn.as_str(), BroadcastAction::Stop)
            .unwrap();
    for envelope in &outcome.envelopes {
        let event = IvsEvent::from_json(envelope).unwrap();
        app.streams
            .apply_event(&arn, &stream_id, &alice.sub, &event)
            .await
            .unwrap();
    }
    let (status, body) = app.get(&path, Some(&alice)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["isLive"], false);
    let names = event_names(&body);
    assert_eq!(names.first(), Some(&"Session Created"));
    assert_eq!(names.last(), Some(&"Session Ended"));
    assert!(parse_iso(body["endTime"].as_str().unwrap()).is_some());
    assert!(app
        .streams
        .get_session(&arn, &stream_id)
        .await
        .unwrap()
        .unwrap()
        .metrics
        .is_empty());
}

#[tokio::test]
async fn ended_session_reports_its_real_times_and_caches_its_metrics() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let id = unique_id();
    let arn = app.arn(&id);
    // Live for 5 hours (longer than the 3-hour window), ended a day ago.
    let end = now() - Duration::days(1);
    let start = end - Duration::hours(5);
    let stream = app
        .session(
            &arn,
            "st-ended",
            &alice.sub,
            start,
            Some(end),
            &[(EventKind::StarvationStart, start + Duration::hours(1))],
        )
        .await;

    let path = format!("/metrics/{id}/streamSessions/st-ended");
    let (status, body) = app.get(&path, Some(&alice)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["startTime"], format_iso_millis(start));
    assert_eq!(body["endTime"], format_iso_millis(end));
    assert_eq!(body["isLive"], false);
    assert_eq!(body["isHealthy"], false);
    assert_eq!(
        event_names(&body),
        [
            "Session Created",
            "Stream Start",
            "Starvation Start",
            "Stream End",
            "Session Ended"
        ]
    );
    assert_eq!(
        body["truncatedEvents"][0],
        serde_json::json!({
            "eventTime": format_iso_millis(start),
            "name": "Session Created",
            "type": "IVS Stream State Change",
        })
    );
    // The emulator knows no broadcast then: no data, so no charts, and no ingest configuration.
    assert_eq!(body["metrics"], serde_json::json!([]));
    assert!(body.get("ingestConfiguration").is_none());

    let key = MetricsWindow::compute(start, Some(end), now(), false).cache_key();
    assert!(key.starts_with("P60-"), "{key}");
    let stored = app
        .streams
        .get_session(&arn, &stream)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.metrics.keys().collect::<Vec<_>>(), [&key]);
}

async fn closed_port_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn cloudwatch_unreachable_is_503_but_a_cached_session_is_served() {
    let env = TestEnv::start().await;
    let cloudwatch_sdk = env
        .sdk
        .to_builder()
        .endpoint_url(closed_port_endpoint().await)
        .build();
    let state = AppState::new(config(&env), &env.sdk, env.dynamo.clone())
        .await
        .unwrap()
        .with_stream_metrics(StreamMetricsClient::new(&cloudwatch_sdk));
    let app = TestApp::spawn_with(env, state).await;
    let alice = app.user("alice").await;
    let id = unique_id();
    let arn = app.arn(&id);
    let end = now() - Duration::hours(1);
    let start = end - Duration::minutes(30);
    let stream = app
        .session(&arn, "st-x", &alice.sub, start, Some(end), &[])
        .await;
    app.session(
        &arn,
        "st-live",
        &alice.sub,
        now() - Duration::minutes(5),
        None,
        &[],
    )
    .await;

    for session in ["st-x", "st-live"] {
        let (status, body) = app
            .get(
                &format!("/metrics/{id}/streamSessions/{session}"),
                Some(&alice),
            )
            .await;
        assert_eq!(
            (status, type_of(&body)),
            (503, "ServiceUnavailableException"),
            "{session}: {body}"
        );
        assert!(body.get("message").is_none());
    }

    // The list needs no CloudWatch.
    let (status, _) = app
        .get(&format!("/metrics/{id}/streamSessions"), Some(&alice))
        .await;
    assert_eq!(status, 200);

    // An ended session with a cache at the current resolution needs no CloudWatch either.
    let key = MetricsWindow::compute(start, Some(end), now(), false).cache_key();
    let cached = serde_json::json!([{
        "alignedStartTime": "2020-01-01T00:00:00.000Z",
        "data": [1.0, 2.0],
        "label": "ConcurrentViews",
        "period": 60,
        "statistics": {"average": 1.5},
    }]);
    app.streams
        .store_metrics(&arn, &stream, &key, &cached)
        .await
        .unwrap();
    let (status, body) = app
        .get(&format!("/metrics/{id}/streamSessions/st-x"), Some(&alice))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metrics"], cached);
}

#[tokio::test]
async fn dynamodb_unreachable_is_503_on_both_routes() {
    let env = TestEnv::start().await;
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&env.sdk)
            .endpoint_url(closed_port_endpoint().await)
            .build(),
    );
    let state = AppState::new(config(&env), &env.sdk, dynamo).await.unwrap();
    let app = TestApp::spawn_with(env, state).await;
    let alice = app.user("alice").await;
    let id = unique_id();
    for path in [
        format!("/metrics/{id}/streamSessions"),
        format!("/metrics/{id}/streamSessions/st-1"),
    ] {
        let (status, body) = app.get(&path, Some(&alice)).await;
        assert_eq!(
            (status, type_of(&body)),
            (503, "ServiceUnavailableException"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn pagination_key_can_come_from_secrets_manager() {
    let env = TestEnv::start().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&env.sdk);
    let created = secrets
        .create_secret()
        .name("pagination-key")
        // What the CDK app generates: 32 alphanumerics.
        .secret_string("mqGmnKzveqqSQLbdXspNgJFHpLdCsy78")
        .send()
        .await
        .unwrap();
    let mut settings = config(&env);
    settings.pagination_key = ugc_metrics::KeySource::SecretArn(created.arn().unwrap().to_owned());
    let state = AppState::new(settings.clone(), &env.sdk, env.dynamo.clone())
        .await
        .unwrap();
    let app = TestApp::spawn_with(env, state).await;
    let alice = app.user("alice").await;
    let id = unique_id();
    let arn = app.arn(&id);
    for i in 0..51 {
        app.session(
            &arn,
            &format!("st-k{i:02}"),
            &alice.sub,
            now() - Duration::hours(1) + Duration::seconds(i),
            None,
            &[],
        )
        .await;
    }
    let list = format!("/metrics/{id}/streamSessions");
    let (_, first) = app.get(&list, Some(&alice)).await;
    let token = first["nextToken"].as_str().unwrap();
    let (status, second) = app
        .get(&format!("{list}?nextToken={token}"), Some(&alice))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["streamSessions"][0]["streamId"], "st-k00");

    // A missing secret stops the start-up with a message naming the variable.
    settings.pagination_key = ugc_metrics::KeySource::SecretArn("nope".into());
    let err = AppState::new(settings, &app.env.sdk, app.env.dynamo.clone())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("PAGINATION_TOKEN_KEY_ARN"),
        "{err}"
    );
}
