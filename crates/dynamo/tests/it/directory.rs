//! The directory mirror (`ugc_dynamo::directory`): whatever the order, duplication and interleaving
//! of a channel's events across writers, the directory lists the channel exactly when its head
//! session is live, with the profile's current fields; without the completeness sentinel it is not
//! used, and the reconciler's repair backfills it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use ugc_domain::session::{EventKind, IvsEvent};
use ugc_domain::{parse_iso, ChannelArn, StreamId, Username};
use ugc_dynamo::{SessionCursor, StreamsRepo};

use crate::channels::provisioned;
use crate::helpers::{shuffle, TestDb};

const SUB: &str = "sub-d";

fn arn(resource: &str) -> ChannelArn {
    ChannelArn::parse(&format!(
        "arn:aws:ivs:us-east-1:123456789012:channel/{resource}"
    ))
    .unwrap()
}

fn ev(chan: &ChannelArn, id: &str, stream_id: &str, min_sec: &str, kind: EventKind) -> IvsEvent {
    IvsEvent {
        id: id.to_owned(),
        time: parse_iso(&format!("2023-06-14T18:{min_sec}Z")).unwrap(),
        channel_arn: chan.clone(),
        stream_id: Some(StreamId::parse(stream_id).unwrap()),
        kind,
    }
}

async fn usernames(db: &TestDb) -> Option<Vec<String>> {
    db.directory()
        .live_profiles(50)
        .await
        .unwrap()
        .map(|profiles| profiles.into_iter().map(|p| p.username).collect())
}

async fn profile_item(db: &TestDb, sub: &str) -> HashMap<String, AttributeValue> {
    db.raw_item(&db.names.channels, &[("id", sub)]).await
}

/// Delivers `events` through two writers that each keep a cursor per session (as event-ingest's
/// coalescer does), concurrently, each in the order given; every event goes to a writer chosen by
/// `seed`, duplicates included.
async fn two_writers(repo: &StreamsRepo, events: Vec<IvsEvent>, seed: u64) {
    let mut halves: [Vec<IvsEvent>; 2] = [Vec::new(), Vec::new()];
    for (i, event) in events.into_iter().enumerate() {
        halves[((seed >> (i % 60)) & 1) as usize].push(event);
    }
    let tasks = halves.into_iter().map(|events| {
        let repo = repo.clone();
        tokio::spawn(async move {
            let mut cursors: HashMap<StreamId, SessionCursor> = HashMap::new();
            for event in events {
                let stream_id = event.stream_id.clone().unwrap();
                repo.apply_events(
                    &event.channel_arn,
                    &stream_id,
                    SUB,
                    std::slice::from_ref(&event),
                    cursors.entry(stream_id.clone()).or_default(),
                )
                .await
                .unwrap();
            }
        })
    });
    for task in futures_util::future::join_all(tasks).await {
        task.unwrap();
    }
}

#[tokio::test]
async fn the_directory_lists_a_channel_exactly_while_its_head_is_live_in_any_order() {
    let db = TestDb::new().await;
    provisioned(&db.channels(), SUB, "Dorothy", "Dir1").await;
    let chan = arn("Dir1");
    let repo = db.streams().with_directory(db.directory());
    assert_eq!(usernames(&db).await, Some(vec![]));

    // An older session whose end was lost, and a newer one that goes live, stops and (in the second
    // round) starts again.
    let older = [
        ev(&chan, "o1", "st-1", "30:00", EventKind::SessionCreated),
        ev(&chan, "o2", "st-1", "30:01", EventKind::StreamStart),
    ];
    let newer = [
        ev(&chan, "n1", "st-2", "40:00", EventKind::SessionCreated),
        ev(&chan, "n2", "st-2", "40:01", EventKind::StreamStart),
        ev(&chan, "n3", "st-2", "41:00", EventKind::StreamEnd),
    ];
    let restart = ev(&chan, "n4", "st-2", "42:00", EventKind::StreamStart);
    for seed in [1_u64, 0x5eed, 0xdead_beef, 0x1234_5678_9abc, 77] {
        let mut events: Vec<IvsEvent> = older.iter().chain(&newer).cloned().collect();
        events.extend(events.clone());
        shuffle(&mut events, seed);
        two_writers(&repo, events, seed).await;
        assert_eq!(usernames(&db).await, Some(vec![]), "seed {seed:#x}: ended");
        let item = profile_item(&db, SUB).await;
        assert_eq!(item["liveStreamId"], AttributeValue::S("st-2".into()));
        assert!(!item.contains_key("isLive"));

        let mut again = vec![restart.clone(), restart.clone(), newer[2].clone()];
        shuffle(&mut again, seed);
        two_writers(&repo, again, seed.rotate_left(7)).await;
        assert_eq!(
            usernames(&db).await,
            Some(vec!["Dorothy".to_owned()]),
            "seed {seed:#x}: live again"
        );
        // Start over with fresh sessions for the next order.
        db.streams().delete_channel_sessions(&chan).await.unwrap();
        db.client
            .update_item()
            .table_name(&db.names.channels)
            .key("id", AttributeValue::S(SUB.into()))
            .update_expression(
                "REMOVE isLive, liveStartTime, liveStreamId, liveVersion, liveChannelArn",
            )
            .send()
            .await
            .unwrap();
    }
    db.cleanup().await;
}

#[tokio::test]
async fn mirror_writes_follow_the_newest_state_across_writers() {
    let db = TestDb::new().await;
    provisioned(&db.channels(), SUB, "Dorothy", "Dir1").await;
    let chan = arn("Dir1");
    let repo = db.streams().with_directory(db.directory());
    let stream_id = StreamId::parse("st-2").unwrap();
    let (mut a, mut b) = (SessionCursor::default(), SessionCursor::default());
    let deliver = |cursor: &mut SessionCursor, event: IvsEvent| {
        let repo = repo.clone();
        let stream_id = stream_id.clone();
        let mut owned = std::mem::take(cursor);
        async move {
            repo.apply_events(
                &event.channel_arn,
                &stream_id,
                SUB,
                std::slice::from_ref(&event),
                &mut owned,
            )
            .await
            .unwrap();
            owned
        }
    };
    a = deliver(
        &mut a,
        ev(&chan, "n1", "st-2", "40:00", EventKind::SessionCreated),
    )
    .await;
    a = deliver(
        &mut a,
        ev(&chan, "n2", "st-2", "40:01", EventKind::StreamStart),
    )
    .await;
    assert_eq!(usernames(&db).await, Some(vec!["Dorothy".to_owned()]));
    // B ends the stream; A, which mirrored "live" itself, then applies a restart: live again, as A
    // last mirrored it, but not as the mirror holds it now.
    b = deliver(
        &mut b,
        ev(&chan, "n3", "st-2", "41:00", EventKind::StreamEnd),
    )
    .await;
    assert_eq!(usernames(&db).await, Some(vec![]));
    a = deliver(
        &mut a,
        ev(&chan, "n4", "st-2", "42:00", EventKind::StreamStart),
    )
    .await;
    assert_eq!(usernames(&db).await, Some(vec!["Dorothy".to_owned()]));
    // And B, whose cursor holds "not live", hears of an end before the restart: still live.
    b = deliver(
        &mut b,
        ev(&chan, "n5", "st-2", "41:30", EventKind::StarvationStart),
    )
    .await;
    assert_eq!(usernames(&db).await, Some(vec!["Dorothy".to_owned()]));
    drop((a, b));

    // A mirror write of an older state of the session (a writer that read its state before a
    // newer one was mirrored) never overwrites the newer one: here "newer" is forged as version
    // 1000, not live, and a fresh writer re-applies a known event (state live, a lower version).
    db.client
        .update_item()
        .table_name(&db.names.channels)
        .key("id", AttributeValue::S(SUB.into()))
        .update_expression("SET liveVersion = :v REMOVE isLive")
        .expression_attribute_values(":v", AttributeValue::N("1000".into()))
        .send()
        .await
        .unwrap();
    let mut fresh = SessionCursor::default();
    fresh = deliver(
        &mut fresh,
        ev(&chan, "n4", "st-2", "42:00", EventKind::StreamStart),
    )
    .await;
    assert_eq!(usernames(&db).await, Some(vec![]), "the newer state stays");
    drop(fresh);
    db.cleanup().await;
}

#[tokio::test]
async fn entries_show_the_profile_as_it_is_and_skip_channels_the_profile_no_longer_owns() {
    let db = TestDb::new().await;
    let channels = db.channels();
    let repo = db.streams().with_directory(db.directory());
    for (sub, name, resource, minute) in [
        ("sub-a", "Annabel", "DirA", "10"),
        ("sub-b", "Bobby", "DirB", "20"),
    ] {
        provisioned(&channels, sub, name, resource).await;
        let chan = arn(resource);
        for (id, sec, kind) in [
            ("c", "00", EventKind::SessionCreated),
            ("s", "01", EventKind::StreamStart),
        ] {
            let event = ev(
                &chan,
                &format!("{sub}-{id}"),
                &format!("st-{resource}"),
                &format!("{minute}:{sec}"),
                kind,
            );
            repo.apply_event(&chan, event.stream_id.as_ref().unwrap(), sub, &event)
                .await
                .unwrap();
        }
    }
    // Newest session first.
    assert_eq!(
        usernames(&db).await,
        Some(vec!["Bobby".into(), "Annabel".into()])
    );

    channels
        .rename("sub-a", &Username::parse("Annabelle").unwrap())
        .await
        .unwrap();
    assert_eq!(
        usernames(&db).await,
        Some(vec!["Bobby".into(), "Annabelle".into()])
    );

    // Bobby's profile moves to another channel: the entry for the old one no longer applies.
    db.client
        .update_item()
        .table_name(&db.names.channels)
        .key("id", AttributeValue::S("sub-b".into()))
        .update_expression("SET channelArn = :c")
        .expression_attribute_values(":c", AttributeValue::S(arn("Other").as_str().into()))
        .send()
        .await
        .unwrap();
    assert_eq!(usernames(&db).await, Some(vec!["Annabelle".into()]));
    // The repair round takes the stale entry out of the index (and leaves Annabelle's).
    let live = db.streams().live_directory(usize::MAX).await.unwrap();
    let report = db.directory().repair(&db.streams(), &live).await.unwrap();
    assert_eq!(report.written, 1);
    assert!(!profile_item(&db, "sub-b").await.contains_key("isLive"));
    assert!(profile_item(&db, "sub-a").await.contains_key("isLive"));
    assert_eq!(usernames(&db).await, Some(vec!["Annabelle".into()]));
    db.cleanup().await;
}

#[tokio::test]
async fn without_the_sentinel_the_mirror_waits_for_the_repair_round() {
    let db = TestDb::new().await;
    let channels = db.channels();
    provisioned(&channels, "sub-l", "Leeroy", "DirL").await;
    provisioned(&channels, "sub-m", "Mayflower", "DirM").await;
    db.drop_directory_sentinel().await;
    assert_eq!(usernames(&db).await, None, "not known to be complete");

    // Leeroy goes live through a writer without the mirror (tables that predate it); Mayflower's entry says
    // live but her session ended without the mirror hearing of it.
    let mirrored = db.streams().with_directory(db.directory());
    let plain = db.streams();
    let (lee, may) = (arn("DirL"), arn("DirM"));
    for (repo, chan, sub, stream) in [
        (&plain, &lee, "sub-l", "st-l"),
        (&mirrored, &may, "sub-m", "st-m"),
    ] {
        for (id, sec, kind) in [
            ("c", "00", EventKind::SessionCreated),
            ("s", "01", EventKind::StreamStart),
        ] {
            let event = ev(
                chan,
                &format!("{sub}-{id}"),
                stream,
                &format!("05:{sec}"),
                kind,
            );
            repo.apply_event(chan, event.stream_id.as_ref().unwrap(), sub, &event)
                .await
                .unwrap();
        }
    }
    let end = ev(&may, "sub-m-e", "st-m", "06:00", EventKind::StreamEnd);
    plain
        .apply_event(&may, end.stream_id.as_ref().unwrap(), "sub-m", &end)
        .await
        .unwrap();
    assert_eq!(usernames(&db).await, None);

    let live = db.streams().live_directory(usize::MAX).await.unwrap();
    let report = db.directory().repair(&db.streams(), &live).await.unwrap();
    assert!(report.indexed);
    assert_eq!(
        report.written, 2,
        "Leeroy's missing entry and Mayflower's stale one"
    );
    assert_eq!(usernames(&db).await, Some(vec!["Leeroy".into()]));
    let again = db.directory().repair(&db.streams(), &live).await.unwrap();
    assert_eq!(again.written, 0, "nothing left to repair");
    db.cleanup().await;
}
