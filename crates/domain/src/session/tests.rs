use serde_json::json;
use time::macros::datetime;

use super::*;

const ARN: &str = "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh";

fn envelope(detail_type: &str, detail: serde_json::Value) -> serde_json::Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "aws.ivs",
        "account": "123456789012",
        "time": "2023-11-14T22:13:20Z",
        "region": "us-west-2",
        "resources": [ARN],
        "detail": detail,
    })
}

fn event(id: &str, time: OffsetDateTime, stream: Option<&str>, kind: EventKind) -> IvsEvent {
    IvsEvent {
        id: id.to_owned(),
        time,
        channel_arn: crate::ChannelArn::parse(ARN).unwrap(),
        stream_id: stream.map(|s| StreamId::parse(s).unwrap()),
        kind,
    }
}

#[test]
fn parses_each_supported_family() {
    let e = IvsEvent::from_json(&envelope(
        STREAM_STATE_CHANGE,
        json!({"event_name": "Session Created", "channel_name": "alice", "stream_id": "st-1A2b3c"}),
    ))
    .unwrap();
    assert_eq!(e.id, "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
    assert_eq!(e.time, datetime!(2023-11-14 22:13:20 UTC));
    assert_eq!(e.channel_arn.resource_id().as_str(), "abcdABCDefgh");
    assert_eq!(e.stream_id.as_ref().unwrap().as_str(), "st-1A2b3c");
    assert_eq!(e.kind, EventKind::SessionCreated);

    let e = IvsEvent::from_json(&envelope(
        STREAM_HEALTH_CHANGE,
        json!({"event_name": "Starvation Start", "stream_id": "st-1"}),
    ))
    .unwrap();
    assert_eq!(e.kind, EventKind::StarvationStart);

    let e = IvsEvent::from_json(&envelope(
        LIMIT_BREACH,
        json!({"limit_name": "Ingest Bitrate", "limit_value": 8500000, "exceeded_by": 120000}),
    ))
    .unwrap();
    assert_eq!(e.kind, EventKind::LimitBreach("Ingest Bitrate".to_owned()));
    assert_eq!(e.stream_id, None);
    assert_eq!(e.kind.name(), "Ingest Bitrate");
    assert_eq!(e.kind.detail_type(), LIMIT_BREACH);

    let e = IvsEvent::from_json(&envelope(
        RECORDING_STATE_CHANGE,
        json!({"recording_status": "Recording End", "stream_id": "st-1", "recording_status_reason": ""}),
    ))
    .unwrap();
    assert_eq!(e.kind, EventKind::Recording(RecordingStatus::End));
    let stored = e.stored();
    assert_eq!(stored.name, "Recording End");
    assert_eq!(stored.event_type, RECORDING_STATE_CHANGE);
}

#[test]
fn fractional_seconds_are_dropped() {
    let mut body = envelope(
        STREAM_STATE_CHANGE,
        json!({"event_name": "Stream Start", "stream_id": "st-1"}),
    );
    body["time"] = json!("2023-11-14T22:13:20.789Z");
    let e = IvsEvent::from_json(&body).unwrap();
    assert_eq!(e.time, datetime!(2023-11-14 22:13:20 UTC));
}

#[test]
fn malformed_unsupported_and_no_channel_are_distinguished() {
    let malformed = |v: serde_json::Value| {
        let err = IvsEvent::from_json(&v).unwrap_err();
        assert!(matches!(err, EventParseError::Malformed(_)), "{v}: {err:?}");
    };
    malformed(json!([]));
    malformed(json!({}));
    let good = envelope(
        STREAM_STATE_CHANGE,
        json!({"event_name": "Stream Start", "stream_id": "st-1"}),
    );
    for key in ["id", "time", "detail", "resources"] {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(key);
        malformed(v);
    }
    let mut v = good.clone();
    v["time"] = json!("1686170708");
    malformed(v);
    let mut v = good.clone();
    v["resources"] = json!(["channelArn"]);
    malformed(v);
    let mut v = good.clone();
    v["detail"] = json!({"event_name": "Stream Start"});
    malformed(v);
    let mut v = good.clone();
    v["detail"] = json!({"stream_id": "st-1"});
    malformed(v);
    let mut v = good.clone();
    v["detail"] = json!({"event_name": 3, "stream_id": "st-1"});
    malformed(v);
    // Upstream's recording handling read event_name; a recording event without recording_status is
    // not one we can store.
    malformed(envelope(
        RECORDING_STATE_CHANGE,
        json!({"event_name": "Recording End", "stream_id": "st-1"}),
    ));
    assert!(matches!(
        IvsEvent::from_slice(b"{not json"),
        Err(EventParseError::Malformed(_))
    ));

    let unsupported = |v: serde_json::Value| {
        let err = IvsEvent::from_json(&v).unwrap_err();
        assert!(
            matches!(err, EventParseError::Unsupported(_)),
            "{v}: {err:?}"
        );
    };
    unsupported(envelope(
        "AWS API Call via CloudTrail",
        json!({"eventName": "CreateChannel"}),
    ));
    unsupported(envelope(
        STREAM_STATE_CHANGE,
        json!({"event_name": "Stream Takeover Failure", "stream_id": "st-1"}),
    ));
    unsupported(envelope(
        STREAM_HEALTH_CHANGE,
        json!({"event_name": "Stream Start", "stream_id": "st-1"}),
    ));
    let mut v = good.clone();
    v["source"] = json!("aws.s3");
    unsupported(v);

    let mut v = envelope(
        LIMIT_BREACH,
        json!({"limit_name": "Concurrent Viewers", "limit_value": 10}),
    );
    v["resources"] = json!([]);
    assert_eq!(
        IvsEvent::from_json(&v),
        Err(EventParseError::NoChannel {
            id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718".to_owned()
        })
    );
}

#[test]
fn rank_follows_the_session_life_cycle() {
    let order = [
        EventKind::SessionCreated,
        EventKind::StreamStart,
        EventKind::StreamTakeover,
        EventKind::StarvationStart,
        EventKind::StarvationEnd,
        EventKind::LimitBreach("Ingest Bitrate".into()),
        EventKind::Recording(RecordingStatus::Start),
        EventKind::StreamFailure,
        EventKind::StreamEnd,
        EventKind::SessionEnded,
    ];
    for pair in order.windows(2) {
        assert!(pair[0].rank() < pair[1].rank(), "{pair:?}");
    }
    for kind in &order {
        assert_eq!(
            EventKind::from_parts(kind.detail_type(), kind.name()).as_ref(),
            Some(kind)
        );
    }
}

#[test]
fn a_session_whose_events_share_one_second_ends_up_ended_and_not_live() {
    let t = datetime!(2023-01-01 00:00:00 UTC);
    let s = Some("st-a");
    let mut summary = SessionSummary::default();
    // Arrival order reversed on purpose.
    for e in [
        event("z1", t, s, EventKind::SessionEnded),
        event("z2", t, s, EventKind::StreamEnd),
        event("z3", t, s, EventKind::StreamStart),
        event("z4", t, s, EventKind::SessionCreated),
    ] {
        assert!(summary.apply(&e));
    }
    assert!(!summary.is_live());
    assert!(summary.is_ended());
    assert_eq!(summary.start_time, Some(t));
    let names: Vec<&str> = summary.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Session Created",
            "Stream Start",
            "Stream End",
            "Session Ended"
        ]
    );
}

#[test]
fn live_health_and_error_rules() {
    let t = datetime!(2023-01-01 00:00:00 UTC);
    let s = Some("st-a");
    let sec = time::Duration::seconds;
    let mut summary = SessionSummary::default();
    summary.apply(&event("1", t, s, EventKind::SessionCreated));
    assert!(!summary.is_live(), "no Stream Start yet");
    summary.apply(&event("2", t + sec(1), s, EventKind::StreamStart));
    assert!(summary.is_live());
    assert!(summary.is_healthy());
    summary.apply(&event("3", t + sec(2), s, EventKind::StarvationStart));
    assert!(!summary.is_healthy());
    summary.apply(&event("4", t + sec(3), s, EventKind::StarvationEnd));
    assert!(summary.is_healthy());
    assert!(!summary.has_error());
    summary.apply(&event(
        "5",
        t + sec(4),
        None,
        EventKind::LimitBreach("Ingest Bitrate".into()),
    ));
    assert!(summary.has_error());
    summary.apply(&event("6", t + sec(5), s, EventKind::StreamEnd));
    assert!(!summary.is_live(), "Stream End after Stream Start");
    summary.apply(&event("7", t + sec(6), s, EventKind::StreamTakeover));
    assert!(summary.is_live(), "takeover resumes the stream");
    summary.apply(&event("8", t + sec(7), s, EventKind::SessionEnded));
    assert!(!summary.is_live());
    // A redelivery changes nothing.
    assert!(!summary.apply(&event("8", t + sec(7), s, EventKind::SessionEnded)));
}

#[test]
fn stream_failure_ends_liveness_and_flags_an_error() {
    let t = datetime!(2023-01-01 00:00:00 UTC);
    let s = Some("st-a");
    let summary = SessionSummary::from_events(&[
        event("1", t, s, EventKind::SessionCreated),
        event("2", t, s, EventKind::StreamStart),
        event("3", t, s, EventKind::StreamFailure),
    ]);
    assert!(!summary.is_live());
    assert!(summary.has_error());
}

#[test]
fn the_cap_keeps_the_most_recent_events() {
    let t = datetime!(2023-01-01 00:00:00 UTC);
    let s = Some("st-a");
    let events: Vec<IvsEvent> = (0..150)
        .map(|i| {
            event(
                &format!("e{i:03}"),
                t + time::Duration::seconds(i),
                s,
                EventKind::StarvationEnd,
            )
        })
        .collect();
    let summary = SessionSummary::from_events(events.iter().rev());
    assert_eq!(summary.events.len(), EVENT_CAP);
    assert_eq!(summary.events.first().unwrap().id, "e050");
    assert_eq!(summary.events.last().unwrap().id, "e149");
    assert!(
        (45..=55).contains(&summary.dropped_events),
        "{}",
        summary.dropped_events
    );
    let under = SessionSummary::from_events(&events[..EVENT_CAP - 1]);
    assert_eq!(under.dropped_events, 0);
}

#[test]
fn normalized_rebuilds_state_from_legacy_event_lists() {
    let t = datetime!(2023-01-01 00:00:00 UTC);
    let stored = |id: &str, name: &str, ty: &str| StoredEvent {
        id: id.to_owned(),
        time: t,
        name: name.to_owned(),
        event_type: ty.to_owned(),
    };
    let summary = SessionSummary {
        events: vec![
            stored("b", "Stream Start", STREAM_STATE_CHANGE),
            stored("a", "Session Created", STREAM_STATE_CHANGE),
            stored("a", "Session Created", STREAM_STATE_CHANGE),
            stored("c", "Ingest Bitrate", LIMIT_BREACH),
        ],
        ..SessionSummary::default()
    }
    .normalized();
    assert_eq!(summary.start_time, Some(t));
    assert!(summary.is_live());
    assert!(summary.has_error());
    assert_eq!(summary.events.len(), 3);
    assert_eq!(summary.clone().normalized(), summary);
}

fn span(id: &str, start: Option<OffsetDateTime>, end: Option<OffsetDateTime>) -> SessionSpan {
    SessionSpan {
        stream_id: StreamId::parse(id).unwrap(),
        start,
        end,
    }
}

#[test]
fn attach_picks_the_containing_session_newest_first() {
    let h = |hour: u8| datetime!(2023-01-01 00:00:00 UTC) + time::Duration::hours(hour.into());
    let spans = [
        span("st-a", Some(h(10)), None), // Session Ended lost
        span("st-b", Some(h(11)), Some(h(12))),
        span("st-c", None, None),
    ];
    assert_eq!(attach(h(9), &spans), None);
    assert_eq!(attach(h(10), &spans).unwrap().as_str(), "st-a");
    assert_eq!(attach(h(11), &spans).unwrap().as_str(), "st-b");
    assert_eq!(attach(h(12), &spans).unwrap().as_str(), "st-b");
    assert_eq!(attach(h(13), &spans).unwrap().as_str(), "st-a");
    assert_eq!(attach(h(13), &spans[1..]), None);
}

#[test]
fn open_session_is_the_newest_started_unless_it_ended() {
    let h = |hour: u8| datetime!(2023-01-01 00:00:00 UTC) + time::Duration::hours(hour.into());
    let stale_and_newer_open = [
        span("st-a", Some(h(10)), None),
        span("st-b", Some(h(11)), None),
    ];
    assert_eq!(
        open_session(&stale_and_newer_open).unwrap().as_str(),
        "st-b"
    );
    // A newer ended session closes an older one whose Session Ended was lost.
    let newer_ended = [
        span("st-a", Some(h(10)), None),
        span("st-b", Some(h(11)), Some(h(12))),
    ];
    assert_eq!(open_session(&newer_ended), None);
    // A session without Session Created is never open.
    assert_eq!(open_session(&[span("st-a", None, None)]), None);
    assert_eq!(open_session(&[]), None);
}

#[test]
fn channel_model_attaches_breaches_against_the_final_spans() {
    let t = datetime!(2023-01-01 10:00:00 UTC);
    let m = time::Duration::minutes;
    let events = [
        event("1", t, Some("st-a"), EventKind::SessionCreated),
        event(
            "2",
            t + m(30),
            None,
            EventKind::LimitBreach("Ingest Bitrate".into()),
        ),
        event(
            "3",
            t + m(90),
            None,
            EventKind::LimitBreach("Ingest Resolution".into()),
        ),
        event("4", t + m(60), Some("st-b"), EventKind::SessionCreated),
        event(
            "5",
            t - m(60),
            None,
            EventKind::LimitBreach("Ingest Bitrate".into()),
        ),
    ];
    let model = ChannelSessions::from_events(&events);
    let a = &model.sessions[&StreamId::parse("st-a").unwrap()];
    let b = &model.sessions[&StreamId::parse("st-b").unwrap()];
    assert!(a.has_error() && b.has_error());
    assert_eq!(a.events.len(), 2);
    assert_eq!(b.events.last().unwrap().name, "Ingest Resolution");
    assert_eq!(model.open.unwrap().as_str(), "st-b");
    assert_eq!(model.unattached.len(), 1);
    assert_eq!(model.unattached[0].id, "5");
}
