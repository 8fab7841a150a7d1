//! `PageReads`: the channel page's reads give what the cold reads (profile by username, newest
//! session by start time) give, whether or not a hint from an earlier load is used, whether the
//! liveness comes from the directory mirror on the profile or from the sessions (before the
//! mirror is known to be complete), and however the channel changed in between.

use aws_sdk_dynamodb::types::AttributeValue;
use ugc_domain::session::{EventKind, IvsEvent};
use ugc_domain::{parse_iso, ChannelArn, StreamId, Username};
use ugc_dynamo::{ChannelPageData, PageReads, StreamsRepo};

use crate::channels::provisioned;
use crate::helpers::TestDb;

const ARN: &str = "arn:aws:ivs:us-east-1:123456789012:channel/Page1";

fn arn() -> ChannelArn {
    ChannelArn::parse(ARN).unwrap()
}

fn ev(id: &str, stream_id: &str, min_sec: &str, kind: EventKind) -> IvsEvent {
    IvsEvent {
        id: id.to_owned(),
        time: parse_iso(&format!("2023-06-14T18:{min_sec}Z")).unwrap(),
        channel_arn: arn(),
        stream_id: Some(StreamId::parse(stream_id).unwrap()),
        kind,
    }
}

async fn apply(streams: &StreamsRepo, events: &[IvsEvent]) {
    for e in events {
        streams
            .apply_channel_event(&e.channel_arn, "sub-p", e)
            .await
            .unwrap();
    }
}

/// The stream id of the page's live session; `None` while offline.
fn live(page: &Option<ChannelPageData>) -> Option<String> {
    let session = page.as_ref().unwrap().live.as_ref()?;
    assert!(session.is_live);
    Some(session.stream_id.as_str().to_owned())
}

/// Session Created and Stream Start of `stream_id`, at minute `minute` of the hour.
fn started(stream_id: &str, minute: u8) -> [IvsEvent; 2] {
    [
        ev(
            &format!("{stream_id}-c"),
            stream_id,
            &format!("{minute:02}:00"),
            EventKind::SessionCreated,
        ),
        ev(
            &format!("{stream_id}-s"),
            stream_id,
            &format!("{minute:02}:01"),
            EventKind::StreamStart,
        ),
    ]
}

/// The test's tables and the session writer: event-ingest's (which keeps the mirror) when
/// `mirrored`, else one without the mirror on tables without the sentinel.
async fn setup(mirrored: bool) -> (TestDb, StreamsRepo) {
    let db = TestDb::new().await;
    let streams = if mirrored {
        db.streams().with_directory(db.directory())
    } else {
        db.drop_directory_sentinel().await;
        db.streams()
    };
    (db, streams)
}

#[tokio::test]
async fn hinted_loads_follow_sessions_renames_and_deletions() {
    for mirrored in [true, false] {
        follow_sessions(mirrored).await;
    }
}

async fn follow_sessions(mirrored: bool) {
    let (db, streams) = setup(mirrored).await;
    let channels = db.channels();
    let pages = PageReads::new(db.channels(), db.streams());

    assert_eq!(pages.load("Nobody").await.unwrap(), None);
    provisioned(&channels, "sub-p", "Paula", "Page1").await;
    // Twice each from here on: the first load may be cold, the second uses the hint.
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(page.as_ref().unwrap().owner.username, "Paula");
        assert_eq!(page.as_ref().unwrap().owner.channel_arn, Some(arn()));
        assert_eq!(live(&page), None);
        assert_eq!(pages.load("paula").await.unwrap(), None, "exact case only");
    }

    apply(&streams, &started("st-1", 30)).await;
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(live(&page), Some("st-1".into()), "mirrored: {mirrored}");
        assert_eq!(page.unwrap().live.unwrap().ingest_configuration, None);
    }

    // A newer session moves the head away from the hinted one, and supersedes it. Its ingest
    // configuration, once stored, comes with the page (kept in the hint while the session is live).
    apply(&streams, &started("st-2", 40)).await;
    let configuration = serde_json::json!({"video": {"videoWidth": 1280, "videoHeight": 720}});
    let st2 = StreamId::parse("st-2").unwrap();
    assert!(streams
        .store_ingest_configuration(&arn(), &st2, &configuration)
        .await
        .unwrap());
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(live(&page), Some("st-2".into()));
        let session = page.unwrap().live.unwrap();
        assert_eq!(session.ingest_configuration.as_ref(), Some(&configuration));
    }
    apply(&streams, &[ev("b3", "st-2", "50:00", EventKind::StreamEnd)]).await;
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(live(&page), None, "mirrored: {mirrored}");
    }
    // A late Session Created of an older session changes nothing.
    apply(
        &streams,
        &[ev("c1", "st-0", "20:00", EventKind::SessionCreated)],
    )
    .await;
    assert_eq!(live(&pages.load("Paula").await.unwrap()), None);

    // A rename: the old name's hint must not answer for it.
    channels
        .rename("sub-p", &Username::parse("Paulette").unwrap())
        .await
        .unwrap();
    assert_eq!(pages.load("Paula").await.unwrap(), None);
    let page = pages.load("Paulette").await.unwrap();
    assert_eq!(page.as_ref().unwrap().owner.id, "sub-p");
    assert_eq!(live(&page), None);

    // Live again, then the sessions are deleted (channel deletion): offline.
    apply(&streams, &started("st-3", 55)).await;
    assert_eq!(
        live(&pages.load("Paulette").await.unwrap()),
        Some("st-3".into())
    );
    // (The mirror still says live until the profile goes too; the session read says otherwise.)
    streams.delete_channel_sessions(&arn()).await.unwrap();
    for _ in 0..2 {
        let page = pages.load("Paulette").await.unwrap();
        assert_eq!(live(&page), None, "mirrored: {mirrored}");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn a_mirror_behind_its_session_yields_to_the_session() {
    // The session ended and its copy to the mirror is in flight: the mirror still says live, the
    // session (read strongly consistent) says it is over.
    let (db, streams) = setup(true).await;
    let pages = PageReads::new(db.channels(), db.streams());
    provisioned(&db.channels(), "sub-p", "Paula", "Page1").await;
    apply(&streams, &started("st-1", 30)).await;
    assert_eq!(
        live(&pages.load("Paula").await.unwrap()),
        Some("st-1".into())
    );
    // The end written by a writer without the mirror: the profile still mirrors st-1 as live.
    db.streams()
        .apply_channel_event(
            &arn(),
            "sub-p",
            &ev("a3", "st-1", "31:00", EventKind::StreamEnd),
        )
        .await
        .unwrap();
    let profile = db.raw_item(&db.names.channels, &[("id", "sub-p")]).await;
    assert_eq!(
        profile.get("isLive"),
        Some(&AttributeValue::S("true".into()))
    );
    assert_eq!(live(&pages.load("Paula").await.unwrap()), None);
    db.cleanup().await;
}

#[tokio::test]
async fn hinted_load_reads_the_head_the_channel_item_names() {
    for mirrored in [true, false] {
        head_claim_in_flight(mirrored).await;
    }
}

async fn head_claim_in_flight(mirrored: bool) {
    let (db, streams) = setup(mirrored).await;
    let pages = PageReads::new(db.channels(), db.streams());
    provisioned(&db.channels(), "sub-p", "Paula", "Page1").await;
    apply(&streams, &started("st-1", 30)).await;
    let cold = pages.load("Paula").await.unwrap();
    assert_eq!(live(&cold), Some("st-1".into()));

    // A newer session whose head claim has not happened yet (its writer is between the session
    // write and the claim): the index already shows it, the channel item (and the mirror) still
    // name st-1.
    db.client
        .put_item()
        .table_name(&db.names.streams)
        .item("channelArn", AttributeValue::S(ARN.into()))
        .item("id", AttributeValue::S("st-9".into()))
        .item(
            "startTime",
            AttributeValue::S("2023-06-14T19:00:00Z".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        streams
            .latest_liveness(&arn())
            .await
            .unwrap()
            .unwrap()
            .stream_id,
        StreamId::parse("st-9").unwrap()
    );
    let hinted = pages.load("Paula").await.unwrap();
    assert_eq!(live(&hinted), Some("st-1".into()), "mirrored: {mirrored}");
    db.cleanup().await;
}

#[tokio::test]
async fn channels_without_a_channel_item_read_their_newest_session() {
    // Upstream's rows before `ugc-admin migrate`: sessions, no channel item, no mirror.
    let (db, streams) = setup(false).await;
    let pages = PageReads::new(db.channels(), db.streams());
    provisioned(&db.channels(), "sub-p", "Paula", "Page1").await;
    apply(&streams, &started("st-1", 30)).await;
    apply(&streams, &started("st-2", 40)).await;
    db.client
        .delete_item()
        .table_name(&db.names.streams)
        .key("channelArn", AttributeValue::S(ARN.into()))
        .key("id", AttributeValue::S("#channel".into()))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(live(&page), Some("st-2".into()));
    }
    db.cleanup().await;
}

#[tokio::test]
async fn once_complete_the_mirror_decides_as_for_the_directory() {
    // A session started by a writer without the mirror (an older event-ingest during a rolling
    // deploy): the directory does not list it until the reconciler's round, and neither does the
    // page of a process that trusts the mirror; a process that has not seen the sentinel reads
    // the sessions.
    let db = TestDb::new().await;
    provisioned(&db.channels(), "sub-p", "Paula", "Page1").await;
    apply(&db.streams(), &started("st-1", 30)).await;
    let trusting = PageReads::new(db.channels(), db.streams());
    assert_eq!(live(&trusting.load("Paula").await.unwrap()), None);
    db.drop_directory_sentinel().await;
    let reading_sessions = PageReads::new(db.channels(), db.streams());
    assert_eq!(
        live(&reading_sessions.load("Paula").await.unwrap()),
        Some("st-1".into())
    );

    // The reconciler's round copies the session and writes the sentinel back.
    let live_sessions = db.streams().live_directory(50).await.unwrap();
    db.directory()
        .repair(&db.streams(), &live_sessions)
        .await
        .unwrap();
    assert_eq!(
        live(&trusting.load("Paula").await.unwrap()),
        Some("st-1".into())
    );
    db.cleanup().await;
}
