use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use ugc_domain::session::{EventKind, IvsEvent, RecordingStatus, SessionSummary};
use ugc_domain::{parse_iso, ChannelArn, StreamId};
use ugc_dynamo::{ApplyOutcome, Attachment, DbError, PageKey, SessionCursor, StreamsRepo};

use crate::helpers::{shuffle, TestDb};

fn channel(id: &str) -> ChannelArn {
    ChannelArn::parse(&format!("arn:aws:ivs:us-east-1:123456789012:channel/{id}")).unwrap()
}

fn stream(id: &str) -> StreamId {
    StreamId::parse(id).unwrap()
}

/// An event at `2023-06-14T18:<minute>:<second>Z`.
fn event(
    id: &str,
    chan: &ChannelArn,
    stream_id: Option<&str>,
    min_sec: &str,
    kind: EventKind,
) -> IvsEvent {
    IvsEvent {
        id: id.to_owned(),
        time: parse_iso(&format!("2023-06-14T18:{min_sec}Z")).unwrap(),
        channel_arn: chan.clone(),
        stream_id: stream_id.map(stream),
        kind,
    }
}

async fn apply_all(repo: &StreamsRepo, events: &[IvsEvent]) {
    for e in events {
        repo.apply_channel_event(&e.channel_arn, "owner-sub", e)
            .await
            .unwrap();
    }
}

async fn raw_item(
    db: &TestDb,
    chan: &ChannelArn,
    id: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    db.raw_item(
        &db.names.streams,
        &[("channelArn", chan.as_str()), ("id", id)],
    )
    .await
}

fn one_session_events(chan: &ChannelArn) -> Vec<IvsEvent> {
    let s = Some("st-1");
    vec![
        event("e1", chan, s, "30:00", EventKind::SessionCreated),
        event("e2", chan, s, "30:01", EventKind::StreamStart),
        event(
            "e3",
            chan,
            s,
            "30:01",
            EventKind::Recording(RecordingStatus::Start),
        ),
        event("e4", chan, s, "31:00", EventKind::StarvationStart),
        event("e5", chan, s, "31:05", EventKind::StarvationEnd),
        event(
            "e6",
            chan,
            s,
            "32:00",
            EventKind::LimitBreach("Ingest Bitrate".to_owned()),
        ),
        event("e7", chan, s, "33:00", EventKind::StreamEnd),
        event("e8", chan, s, "33:10", EventKind::StreamStart),
        event("e9", chan, s, "34:00", EventKind::StarvationStart),
    ]
}

#[tokio::test]
async fn concurrent_shuffled_duplicated_events_give_the_domain_summary() {
    let db = TestDb::new().await;
    let repo = db.streams();
    let chan = channel("Chan1");
    let events = one_session_events(&chan);
    let expected = SessionSummary::from_events(&events);

    let mut deliveries: Vec<IvsEvent> = events.iter().chain(events.iter()).cloned().collect();
    shuffle(&mut deliveries, 0x5eed);
    let tasks = deliveries.into_iter().map(|e| {
        let repo = repo.clone();
        tokio::spawn(async move {
            repo.apply_event(
                &e.channel_arn.clone(),
                &e.stream_id.clone().unwrap(),
                "owner-sub",
                &e,
            )
            .await
        })
    });
    let outcomes: Vec<ApplyOutcome> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == ApplyOutcome::Applied)
            .count(),
        events.len()
    );

    let stored = repo
        .get_session(&chan, &stream("st-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.summary, expected);
    assert_eq!(stored.user_sub.as_deref(), Some("owner-sub"));
    assert!(stored.is_live() && stored.is_open());
    assert!(!stored.summary.is_healthy());
    assert!(stored.summary.has_error());

    // Upstream's attribute shapes.
    let item = raw_item(&db, &chan, "st-1").await;
    assert_eq!(
        item["startTime"],
        AttributeValue::S("2023-06-14T18:30:00Z".into())
    );
    assert_eq!(item["isOpen"], AttributeValue::S("true".into()));
    assert_eq!(item["isLive"], AttributeValue::S("true".into()));
    assert_eq!(item["isHealthy"], AttributeValue::Bool(false));
    assert_eq!(item["hasErrorEvent"], AttributeValue::Bool(true));
    let AttributeValue::L(list) = &item["truncatedEvents"] else {
        panic!("truncatedEvents")
    };
    assert_eq!(list.len(), events.len());
    let AttributeValue::M(first) = &list[0] else {
        panic!("event map")
    };
    assert_eq!(
        first["eventTime"],
        AttributeValue::S("2023-06-14T18:30:00Z".into())
    );
    assert_eq!(first["name"], AttributeValue::S("Session Created".into()));
    assert_eq!(
        first["type"],
        AttributeValue::S("IVS Stream State Change".into())
    );
    assert_eq!(first["id"], AttributeValue::S("e1".into()));

    let directory = repo.live_directory(50).await.unwrap();
    assert_eq!(directory.len(), 1);
    assert_eq!(directory[0].stream_id, stream("st-1"));
    assert_eq!(
        repo.latest_session(&chan).await.unwrap().unwrap().stream_id,
        stream("st-1")
    );
    let liveness = repo.latest_liveness(&chan).await.unwrap().unwrap();
    assert_eq!(liveness.stream_id, stream("st-1"));
    assert!(liveness.is_live);

    // Ending it takes it out of the directory; a repeat changes nothing.
    let at = parse_iso("2023-06-14T18:40:00Z").unwrap();
    assert_eq!(
        repo.end_session(&chan, &stream("st-1"), at).await.unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(
        repo.end_session(&chan, &stream("st-1"), at).await.unwrap(),
        ApplyOutcome::Duplicate
    );
    let stored = repo
        .get_session(&chan, &stream("st-1"))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.is_live() && !stored.is_open());
    assert_eq!(stored.summary.end_time, Some(at));
    assert!(repo.live_directory(50).await.unwrap().is_empty());
    assert!(!repo.latest_liveness(&chan).await.unwrap().unwrap().is_live);
    let item = raw_item(&db, &chan, "st-1").await;
    assert!(!item.contains_key("isOpen") && !item.contains_key("isLive"));
    assert_eq!(
        item["endTime"],
        AttributeValue::S("2023-06-14T18:40:00Z".into())
    );
    assert!(matches!(
        repo.end_session(&chan, &stream("st-404"), at).await,
        Err(DbError::NotFound)
    ));
    db.cleanup().await;
}

/// Batches (as event-ingest coalesces them) equal one-by-one application: an id repeated within
/// or across batches is a duplicate; two writers whose cursors go stale under each other still
/// end at the domain summary; the head and `isLive` end up on the newer session.
#[tokio::test]
async fn batches_and_stale_cursors_give_the_domain_summary() {
    let db = TestDb::new().await;
    let repo = db.streams();
    let chan = channel("Batch1");
    let events = one_session_events(&chan);
    let st = stream("st-1");

    // Writer A: the first three events and a repeat of the first, in one batch.
    let mut a = SessionCursor::default();
    let first: Vec<IvsEvent> = vec![
        events[1].clone(),
        events[0].clone(),
        events[2].clone(),
        events[0].clone(),
    ];
    let outcomes = repo
        .apply_events(&chan, &st, "owner-sub", &first, &mut a)
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            ApplyOutcome::Applied,
            ApplyOutcome::Applied,
            ApplyOutcome::Applied,
            ApplyOutcome::Duplicate
        ]
    );
    // Writer B (fresh cursor: no read first) writes more, which makes A's cursor stale.
    let mut b = SessionCursor::default();
    let outcomes = repo
        .apply_events(&chan, &st, "owner-sub", &events[3..6], &mut b)
        .await
        .unwrap();
    assert_eq!(outcomes, vec![ApplyOutcome::Applied; 3]);
    // A, stale, writes the rest plus an event B stored: its write fails, learns the item, merges.
    let mut rest: Vec<IvsEvent> = events[6..].to_vec();
    rest.push(events[4].clone());
    let outcomes = repo
        .apply_events(&chan, &st, "owner-sub", &rest, &mut a)
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            ApplyOutcome::Applied,
            ApplyOutcome::Applied,
            ApplyOutcome::Applied,
            ApplyOutcome::Duplicate
        ]
    );
    // A batch of nothing new is a duplicate without a write, with a current or a stale cursor.
    for cursor in [&mut a, &mut b] {
        let outcomes = repo
            .apply_events(&chan, &st, "owner-sub", &events[..2], cursor)
            .await
            .unwrap();
        assert_eq!(outcomes, vec![ApplyOutcome::Duplicate; 2]);
    }
    let stored = repo.get_session(&chan, &st).await.unwrap().unwrap();
    assert_eq!(stored.summary, SessionSummary::from_events(&events));
    assert!(stored.is_live() && stored.is_open());

    // A newer session of the channel takes the head, through a cursor-carrying writer too: the
    // older one is superseded, even though its writer's cursor had claimed the head.
    let newer = event(
        "n1",
        &chan,
        Some("st-2"),
        "50:00",
        EventKind::SessionCreated,
    );
    let newer_start = event("n2", &chan, Some("st-2"), "50:01", EventKind::StreamStart);
    let mut c = SessionCursor::default();
    repo.apply_events(
        &chan,
        &stream("st-2"),
        "owner-sub",
        &[newer, newer_start],
        &mut c,
    )
    .await
    .unwrap();
    let late = event(
        "e10",
        &chan,
        Some("st-1"),
        "35:00",
        EventKind::StarvationEnd,
    );
    repo.apply_events(&chan, &st, "owner-sub", &[late], &mut a)
        .await
        .unwrap();
    let old = repo.get_session(&chan, &st).await.unwrap().unwrap();
    assert!(!old.is_live() && !old.is_open());
    let new = repo
        .get_session(&chan, &stream("st-2"))
        .await
        .unwrap()
        .unwrap();
    assert!(new.is_live() && new.is_open());
    db.cleanup().await;
}

#[tokio::test]
async fn capped_event_list_round_trips() {
    let db = TestDb::new().await;
    let repo = db.streams();
    let chan = channel("Chan1");
    let mut events = vec![event(
        "created",
        &chan,
        Some("st-1"),
        "00:00",
        EventKind::SessionCreated,
    )];
    for i in 0..130u32 {
        let kind = if i % 2 == 0 {
            EventKind::StarvationStart
        } else {
            EventKind::StarvationEnd
        };
        events.push(event(
            &format!("h{i}"),
            &chan,
            Some("st-1"),
            &format!("{:02}:{:02}", 1 + i / 60, i % 60),
            kind,
        ));
    }
    let expected = SessionSummary::from_events(&events);
    let mut deliveries: Vec<IvsEvent> = events
        .iter()
        .chain(events.iter().take(20))
        .cloned()
        .collect();
    shuffle(&mut deliveries, 42);
    let chunks: Vec<Vec<IvsEvent>> = deliveries
        .chunks(deliveries.len() / 4 + 1)
        .map(<[_]>::to_vec)
        .collect();
    let tasks = chunks.into_iter().map(|chunk| {
        let repo = repo.clone();
        tokio::spawn(async move { apply_all(&repo, &chunk).await })
    });
    for t in futures_util::future::join_all(tasks).await {
        t.unwrap();
    }
    let stored = repo
        .get_session(&chan, &stream("st-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.summary, expected);
    assert_eq!(stored.summary.events.len(), ugc_domain::session::EVENT_CAP);
    assert!(stored.summary.dropped_events > 0);
    assert_eq!(stored.summary.start_time, expected.start_time);
    db.cleanup().await;
}

#[tokio::test]
async fn only_the_newest_session_of_a_channel_is_open_or_live() {
    let db = TestDb::new().await;
    let repo = db.streams();
    let chan = channel("Chan1");
    let old = |id: &str, t: &str, k| event(id, &chan, Some("st-old"), t, k);
    let new = |id: &str, t: &str, k| event(id, &chan, Some("st-new"), t, k);
    let events = [
        old("o1", "00:00", EventKind::SessionCreated),
        old("o2", "00:01", EventKind::StreamStart),
        // The old session's Session Ended was lost.
        new("n1", "10:00", EventKind::SessionCreated),
        new("n2", "10:01", EventKind::StreamStart),
    ];
    for seed in [1u64, 2, 3, 4, 5] {
        let db_seeded = TestDb::new().await;
        let repo_seeded = db_seeded.streams();
        let mut deliveries: Vec<IvsEvent> = events.iter().chain(events.iter()).cloned().collect();
        shuffle(&mut deliveries, seed);
        let tasks = deliveries.into_iter().map(|e| {
            let repo = repo_seeded.clone();
            tokio::spawn(async move {
                repo.apply_channel_event(&e.channel_arn.clone(), "owner", &e)
                    .await
            })
        });
        for t in futures_util::future::join_all(tasks).await {
            t.unwrap().unwrap();
        }
        let old_s = repo_seeded
            .get_session(&chan, &stream("st-old"))
            .await
            .unwrap()
            .unwrap();
        let new_s = repo_seeded
            .get_session(&chan, &stream("st-new"))
            .await
            .unwrap()
            .unwrap();
        assert!(new_s.is_open() && new_s.is_live(), "seed {seed}");
        assert!(
            old_s.superseded && !old_s.is_open() && !old_s.is_live(),
            "seed {seed}"
        );
        let directory = repo_seeded.live_directory(50).await.unwrap();
        assert_eq!(directory.len(), 1, "seed {seed}");
        assert_eq!(directory[0].stream_id, stream("st-new"));
        let item = raw_item(&db_seeded, &chan, "st-old").await;
        assert!(
            !item.contains_key("isOpen") && !item.contains_key("isLive"),
            "seed {seed}"
        );
        db_seeded.cleanup().await;
    }

    // A late Session Created of an older session never closes the newer one.
    apply_all(&repo, &events[2..]).await;
    apply_all(&repo, &events[..2]).await;
    assert!(repo
        .get_session(&chan, &stream("st-new"))
        .await
        .unwrap()
        .unwrap()
        .is_live());
    assert!(!repo
        .get_session(&chan, &stream("st-old"))
        .await
        .unwrap()
        .unwrap()
        .is_open());
    db.cleanup().await;
}

#[tokio::test]
async fn events_without_a_session_wait_for_it() {
    let db = TestDb::new().await;
    let repo = db.streams();
    let chan = channel("Chan1");
    let breach = event(
        "b1",
        &chan,
        None,
        "05:00",
        EventKind::LimitBreach("Ingest Bitrate".into()),
    );
    assert_eq!(
        repo.apply_channel_event(&chan, "owner", &breach)
            .await
            .unwrap(),
        Attachment::Pending
    );
    assert_eq!(
        repo.apply_channel_event(&chan, "owner", &breach)
            .await
            .unwrap(),
        Attachment::Pending
    );
    let pending = raw_item(&db, &chan, "#channel").await;
    let AttributeValue::L(list) = &pending["pendingEvents"] else {
        panic!("pending list")
    };
    assert_eq!(list.len(), 1, "a redelivery is kept once");

    let created = event(
        "c1",
        &chan,
        Some("st-1"),
        "00:00",
        EventKind::SessionCreated,
    );
    repo.apply_event(&chan, &stream("st-1"), "owner", &created)
        .await
        .unwrap();
    let stored = repo
        .get_session(&chan, &stream("st-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.summary,
        SessionSummary::from_events([&created, &breach])
    );
    assert!(stored.summary.has_error());
    let pending = raw_item(&db, &chan, "#channel").await;
    assert!(matches!(pending.get("pendingEvents"), Some(AttributeValue::L(l)) if l.is_empty()));

    // Once the session is known, a breach attaches at once; one outside every session waits.
    let breach2 = event(
        "b2",
        &chan,
        None,
        "06:00",
        EventKind::LimitBreach("Concurrent Viewers".into()),
    );
    assert_eq!(
        repo.apply_channel_event(&chan, "owner", &breach2)
            .await
            .unwrap(),
        Attachment::Session(stream("st-1"))
    );
    let early = event(
        "b0",
        &chan,
        None,
        "00:00",
        EventKind::LimitBreach("Ingest Bitrate".into()),
    );
    let early = IvsEvent {
        time: parse_iso("2023-06-14T17:00:00Z").unwrap(),
        ..early
    };
    assert_eq!(
        repo.apply_channel_event(&chan, "owner", &early)
            .await
            .unwrap(),
        Attachment::Pending
    );
    let stored = repo
        .get_session(&chan, &stream("st-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.summary.events.len(), 3);
    db.cleanup().await;
}

#[tokio::test]
async fn sessions_page_continues_from_its_key() {
    let db = TestDb::new().await;
    let repo = db.streams();
    let chan = channel("Chan1");
    for i in 0..55u32 {
        let e = event(
            &format!("c{i}"),
            &chan,
            Some(&format!("st-{i}")),
            &format!("{:02}:{:02}", i / 60, i % 60),
            EventKind::SessionCreated,
        );
        repo.apply_event(&chan, e.stream_id.as_ref().unwrap(), "owner", &e)
            .await
            .unwrap();
    }
    let first = repo.sessions_page(&chan, None).await.unwrap();
    assert_eq!(first.sessions.len(), 50);
    assert_eq!(first.sessions[0].stream_id, stream("st-54"));
    assert_eq!(first.sessions[49].stream_id, stream("st-5"));
    let key = first.next.expect("more pages");
    assert_eq!(key.channel_arn(), Some(chan.as_str()));
    let key = PageKey::from_json(&key.to_json()).unwrap();
    let second = repo.sessions_page(&chan, Some(&key)).await.unwrap();
    let ids: Vec<&str> = second
        .sessions
        .iter()
        .map(|s| s.stream_id.as_str())
        .collect();
    assert_eq!(ids, ["st-4", "st-3", "st-2", "st-1", "st-0"]);
    assert!(second.next.is_none());
    // Only the newest is open.
    assert!(first.sessions[0].is_open());
    assert!(first.sessions[1..].iter().all(|s| !s.is_open()));
    db.cleanup().await;
}

#[tokio::test]
async fn live_sessions_for_many_followed_channels() {
    let db = TestDb::new().await;
    let repo = db.streams();
    let channels: Vec<ChannelArn> = (0..110).map(|i| channel(&format!("Chan{i}"))).collect();
    let live = [(7usize, "01:00"), (55, "03:00"), (103, "02:00")];
    for (index, time) in live {
        let chan = &channels[index];
        let sid = format!("st-{index}");
        apply_all(
            &repo,
            &[
                event(
                    &format!("c{index}"),
                    chan,
                    Some(&sid),
                    time,
                    EventKind::SessionCreated,
                ),
                event(
                    &format!("s{index}"),
                    chan,
                    Some(&sid),
                    time,
                    EventKind::StreamStart,
                ),
            ],
        )
        .await;
    }
    // Created but never started, and started then ended: neither is live.
    apply_all(
        &repo,
        &[event(
            "x1",
            &channels[1],
            Some("st-x1"),
            "00:00",
            EventKind::SessionCreated,
        )],
    )
    .await;
    apply_all(
        &repo,
        &[
            event(
                "y1",
                &channels[2],
                Some("st-y1"),
                "00:00",
                EventKind::SessionCreated,
            ),
            event(
                "y2",
                &channels[2],
                Some("st-y1"),
                "00:01",
                EventKind::StreamStart,
            ),
            event(
                "y3",
                &channels[2],
                Some("st-y1"),
                "00:02",
                EventKind::SessionEnded,
            ),
        ],
    )
    .await;

    let found = repo.live_sessions_for(&channels).await.unwrap();
    let ids: Vec<&str> = found.iter().map(|s| s.stream_id.as_str()).collect();
    assert_eq!(ids, ["st-55", "st-103", "st-7"]);
    assert_eq!(found[0].channel_arn, channels[55]);
    assert_eq!(found[0].user_sub.as_deref(), Some("owner-sub"));

    let directory = repo.live_directory(2).await.unwrap();
    let ids: Vec<&str> = directory.iter().map(|s| s.stream_id.as_str()).collect();
    assert_eq!(ids, ["st-55", "st-103"]);
    db.cleanup().await;
}

#[tokio::test]
async fn ingest_configuration_metrics_cache_and_deletion() {
    let db = TestDb::new().await;
    let repo = db.streams();
    let chan = channel("Chan1");
    let sid = stream("st-1");
    let config = json!({"audio": {"channels": 2, "codec": "mp4a.40.2", "sampleRate": 48000, "targetBitrate": 160000},
                        "video": {"avcLevel": "4.1", "videoHeight": 1080, "videoWidth": 1920, "targetFramerate": 30}});
    assert!(
        !repo
            .store_ingest_configuration(&chan, &sid, &config)
            .await
            .unwrap(),
        "unknown session"
    );
    apply_all(
        &repo,
        &[event(
            "c1",
            &chan,
            Some("st-1"),
            "00:00",
            EventKind::SessionCreated,
        )],
    )
    .await;
    assert!(repo
        .store_ingest_configuration(&chan, &sid, &config)
        .await
        .unwrap());
    assert!(!repo
        .store_ingest_configuration(&chan, &sid, &json!({"other": 1}))
        .await
        .unwrap());

    let metrics = json!([{"label": "ConcurrentViews", "data": [1, 2.5], "period": 5, "statistics": {"average": 1.75}}]);
    repo.store_metrics(&chan, &sid, "P5-S1-E2", &metrics)
        .await
        .unwrap();
    repo.store_metrics(&chan, &sid, "P60-S0-E60", &metrics)
        .await
        .unwrap();
    let stored = repo.get_session(&chan, &sid).await.unwrap().unwrap();
    assert_eq!(stored.ingest_configuration, Some(config));
    assert_eq!(stored.metrics.len(), 1, "the whole map is replaced");
    assert_eq!(stored.metrics["P60-S0-E60"], metrics);
    assert!(matches!(
        repo.store_metrics(&chan, &stream("st-2"), "k", &metrics)
            .await,
        Err(DbError::NotFound)
    ));

    // A later event keeps the cached data.
    apply_all(
        &repo,
        &[event(
            "s1",
            &chan,
            Some("st-1"),
            "00:01",
            EventKind::StreamStart,
        )],
    )
    .await;
    assert!(repo
        .get_session(&chan, &sid)
        .await
        .unwrap()
        .unwrap()
        .ingest_configuration
        .is_some());

    assert_eq!(
        repo.delete_channel_sessions(&chan).await.unwrap(),
        2,
        "session and channel item"
    );
    assert!(repo.get_session(&chan, &sid).await.unwrap().is_none());
    assert!(repo.live_directory(50).await.unwrap().is_empty());
    db.cleanup().await;
}
