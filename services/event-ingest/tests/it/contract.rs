//! Upstream cases docs/contract.md §14.20 and §14.21-18, adjusted by the deviations (dedupe on id, 2xx for
//! events that can never succeed, 400 for malformed input, recording events stored, the channel's
//! open session chosen by start time).

use serde_json::{json, Value};
use ugc_domain::parse_iso;

use crate::helpers::*;

#[tokio::test]
async fn session_created_opens_the_session() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    let (status, body) = app
        .deliver(&state_event(
            &channel,
            &stream,
            "Session Created",
            "2023-06-14T18:32:41Z",
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "stored");
    assert_eq!(body["streamId"], stream.as_str());

    let session = app.session(&channel, &stream).await.unwrap();
    assert!(session.is_open());
    assert!(!session.is_live(), "no Stream Start yet");
    assert!(session.summary.is_healthy());
    assert!(!session.summary.has_error());
    assert_eq!(
        session.summary.start_time,
        parse_iso("2023-06-14T18:32:41Z")
    );
    assert_eq!(session.summary.events.len(), 1);
    assert_eq!(session.summary.events[0].name, "Session Created");
    assert_eq!(
        session.summary.events[0].event_type,
        "IVS Stream State Change"
    );
    assert!(session.user_sub.is_some());
}

#[tokio::test]
async fn a_newer_session_closes_the_older_and_a_late_older_one_does_not_reopen() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let (old, new) = (random_stream_id(), random_stream_id());
    for event in [
        state_event(&channel, &old, "Session Created", "2024-01-01T10:00:00Z"),
        state_event(&channel, &old, "Stream Start", "2024-01-01T10:00:05Z"),
        state_event(&channel, &new, "Session Created", "2024-01-01T12:00:00Z"),
    ] {
        assert_eq!(app.deliver(&event).await.0, 200);
    }
    assert!(!app.session(&channel, &old).await.unwrap().is_open());
    assert!(!app.session(&channel, &old).await.unwrap().is_live());
    assert!(app.session(&channel, &new).await.unwrap().is_open());

    // A late Session Created of an even older session changes nothing for the newest.
    let older = random_stream_id();
    let late = state_event(&channel, &older, "Session Created", "2024-01-01T08:00:00Z");
    assert_eq!(app.deliver(&late).await.0, 200);
    assert!(app.session(&channel, &new).await.unwrap().is_open());
    assert!(!app.session(&channel, &older).await.unwrap().is_open());
}

#[tokio::test]
async fn session_ended_closes_only_its_session() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let other_channel = app.owned_channel().await;
    let (stream, other) = (random_stream_id(), random_stream_id());
    let events = [
        state_event(
            &other_channel,
            &other,
            "Session Created",
            "2024-01-01T09:59:00Z",
        ),
        state_event(
            &other_channel,
            &other,
            "Stream Start",
            "2024-01-01T09:59:01Z",
        ),
        state_event(&channel, &stream, "Session Created", "2024-01-01T10:00:00Z"),
        state_event(&channel, &stream, "Stream Start", "2024-01-01T10:00:01Z"),
    ];
    for event in &events {
        assert_eq!(app.deliver(event).await.0, 200);
    }
    assert!(app.session(&channel, &stream).await.unwrap().is_live());
    let (status, _) = app
        .deliver(&state_event(
            &channel,
            &stream,
            "Session Ended",
            "2024-01-01T11:00:00Z",
        ))
        .await;
    assert_eq!(status, 200);
    let ended = app.session(&channel, &stream).await.unwrap();
    assert_eq!(ended.summary.end_time, parse_iso("2024-01-01T11:00:00Z"));
    assert!(!ended.is_open());
    assert!(!ended.is_live());
    assert!(ended.summary.is_healthy());
    assert_eq!(ended.summary.events.len(), 3);
    let untouched = app.session(&other_channel, &other).await.unwrap();
    assert!(untouched.is_live());
}

#[tokio::test]
async fn session_ended_before_created_stays_ended() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    for event in [
        state_event(&channel, &stream, "Session Ended", "2024-01-01T11:00:00Z"),
        state_event(&channel, &stream, "Stream Start", "2024-01-01T10:00:01Z"),
        state_event(&channel, &stream, "Session Created", "2024-01-01T10:00:00Z"),
    ] {
        assert_eq!(app.deliver(&event).await.0, 200);
    }
    let session = app.session(&channel, &stream).await.unwrap();
    assert!(!session.is_open());
    assert!(!session.is_live());
    assert_eq!(
        session.summary.start_time,
        parse_iso("2024-01-01T10:00:00Z")
    );
}

#[tokio::test]
async fn redelivery_is_a_duplicate_and_stored_once() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    let created = state_event(&channel, &stream, "Session Created", "2024-01-01T10:00:00Z");
    assert_eq!(app.deliver(&created).await.1["status"], "stored");
    for _ in 0..3 {
        let (status, body) = app.deliver(&created).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "duplicate");
    }
    // The same event content with a new id is another event (IVS ids are unique).
    let again = state_event(&channel, &stream, "Session Created", "2024-01-01T10:00:00Z");
    assert_eq!(app.deliver(&again).await.1["status"], "stored");
    let session = app.session(&channel, &stream).await.unwrap();
    assert_eq!(session.summary.events.len(), 2);
}

#[tokio::test]
async fn health_breach_and_recording_events() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    for event in [
        state_event(&channel, &stream, "Session Created", "2024-01-01T10:00:00Z"),
        state_event(&channel, &stream, "Stream Start", "2024-01-01T10:00:01Z"),
    ] {
        app.deliver(&event).await;
    }
    // limit_name on a health event is not its name (the detail-type decides which field counts).
    let mut starving = health_event(
        &channel,
        &stream,
        "Starvation Start",
        "2024-01-01T10:05:00Z",
    );
    starving["detail"]["limit_name"] = json!("test");
    assert_eq!(app.deliver(&starving).await.0, 200);
    let session = app.session(&channel, &stream).await.unwrap();
    assert!(!session.summary.is_healthy());
    assert!(session
        .summary
        .events
        .iter()
        .any(|e| e.name == "Starvation Start"));

    app.deliver(&health_event(
        &channel,
        &stream,
        "Starvation End",
        "2024-01-01T10:06:00Z",
    ))
    .await;
    assert!(app
        .session(&channel, &stream)
        .await
        .unwrap()
        .summary
        .is_healthy());

    // Recording events are stored (upstream rejected them with 500).
    let recording = envelope(
        &channel,
        "IVS Recording State Change",
        "2024-01-01T10:00:02Z",
        json!({"recording_status": "Recording Start", "recording_status_reason": "", "stream_id": stream, "channel_name": ""}),
    );
    let (status, body) = app.deliver(&recording).await;
    assert_eq!((status, body["status"].clone()), (200, json!("stored")));

    // A breach without stream_id attaches to the session running at its time.
    let breach = envelope(
        &channel,
        "IVS Limit Breach",
        "2024-01-01T10:07:00Z",
        json!({"limit_name": "Ingest Bitrate", "limit_value": 8500000, "exceeded_by": 1, "limit_unit": "bits per second"}),
    );
    let (status, body) = app.deliver(&breach).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "stored");
    assert_eq!(body["streamId"], stream.as_str());
    let session = app.session(&channel, &stream).await.unwrap();
    assert!(session.summary.has_error());
    assert!(session.is_live(), "a breach does not end the broadcast");
    let names: Vec<&str> = session
        .summary
        .events
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Session Created",
            "Stream Start",
            "Recording Start",
            "Starvation Start",
            "Starvation End",
            "Ingest Bitrate"
        ]
    );
}

#[tokio::test]
async fn a_breach_before_its_session_is_kept_pending_then_attached() {
    let app = TestApp::spawn().await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    let breach = envelope(
        &channel,
        "IVS Limit Breach",
        "2024-01-01T10:07:00Z",
        json!({"limit_name": "Ingest Resolution", "limit_value": 1920, "exceeded_by": 80, "limit_unit": "pixels per edge"}),
    );
    let (status, body) = app.deliver(&breach).await;
    assert_eq!((status, body["status"].clone()), (200, json!("pending")));
    assert_eq!(
        app.deliver(&state_event(
            &channel,
            &stream,
            "Session Created",
            "2024-01-01T10:00:00Z"
        ))
        .await
        .0,
        200
    );
    let session = app.session(&channel, &stream).await.unwrap();
    assert!(session.summary.has_error());
    assert!(session
        .summary
        .events
        .iter()
        .any(|e| e.name == "Ingest Resolution"));
}

#[tokio::test]
async fn events_that_can_never_succeed_are_acknowledged_and_ignored() {
    let app = TestApp::spawn().await;
    // A channel no user owns (upstream: 500 forever, retried for 24 h).
    let stranger = random_channel_arn();
    let stream = random_stream_id();
    let (status, body) = app
        .deliver(&state_event(
            &stranger,
            &stream,
            "Session Created",
            "2024-01-01T10:00:00Z",
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ignored");
    assert_eq!(body["reason"], "no user owns this channel");
    assert!(app.session(&stranger, &stream).await.is_none());

    // An account-level breach (resources []).
    let mut account_level = envelope(
        &stranger,
        "IVS Limit Breach",
        "2024-01-01T10:00:00Z",
        json!({"limit_name": "Concurrent Broadcasts", "limit_value": 2, "exceeded_by": 1, "limit_unit": "active streams"}),
    );
    account_level["resources"] = json!([]);
    let (status, body) = app.deliver(&account_level).await;
    assert_eq!((status, body["status"].clone()), (200, json!("ignored")));
    assert_eq!(body["eventId"], account_level["id"]);
}

#[tokio::test]
async fn both_paths_and_methods() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(format!("{}/streamEvents", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let res = app
        .http
        .get(format!("{}/status", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "OK");
    let res = app
        .http
        .post(format!("{}/elsewhere", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"__type": "NotFoundException"})
    );
}
