//! `PageReads`: the channel page's reads give what the cold reads (profile by username, newest
//! session by start time) give, whether or not a hint from an earlier load is used, and however
//! the channel changed in between.

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

/// (stream id, live) of the page's session.
fn session(page: &Option<ChannelPageData>) -> Option<(String, bool)> {
    let session = page.as_ref().unwrap().session.as_ref()?;
    Some((session.stream_id.as_str().to_owned(), session.is_live))
}

#[tokio::test]
async fn hinted_loads_follow_sessions_renames_and_deletions() {
    let db = TestDb::new().await;
    let channels = db.channels();
    let streams = db.streams();
    let pages = PageReads::new(db.channels(), db.streams());

    assert_eq!(pages.load("Nobody").await.unwrap(), None);
    provisioned(&channels, "sub-p", "Paula", "Page1").await;
    // Twice each from here on: the first load may be cold, the second uses the hint.
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(page.as_ref().unwrap().owner.username, "Paula");
        assert_eq!(page.as_ref().unwrap().owner.channel_arn, Some(arn()));
        assert_eq!(session(&page), None);
        assert_eq!(pages.load("paula").await.unwrap(), None, "exact case only");
    }

    apply(
        &streams,
        &[
            ev("a1", "st-1", "30:00", EventKind::SessionCreated),
            ev("a2", "st-1", "30:01", EventKind::StreamStart),
        ],
    )
    .await;
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(session(&page), Some(("st-1".into(), true)));
    }

    // A newer session moves the head away from the hinted one, and supersedes it.
    apply(
        &streams,
        &[
            ev("b1", "st-2", "40:00", EventKind::SessionCreated),
            ev("b2", "st-2", "40:01", EventKind::StreamStart),
        ],
    )
    .await;
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(session(&page), Some(("st-2".into(), true)));
    }
    apply(&streams, &[ev("b3", "st-2", "50:00", EventKind::StreamEnd)]).await;
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(session(&page), Some(("st-2".into(), false)));
    }
    // A late Session Created of an older session changes nothing.
    apply(
        &streams,
        &[ev("c1", "st-0", "20:00", EventKind::SessionCreated)],
    )
    .await;
    let page = pages.load("Paula").await.unwrap();
    assert_eq!(session(&page), Some(("st-2".into(), false)));

    // A rename: the old name's hint must not answer for it.
    channels
        .rename("sub-p", &Username::parse("Paulette").unwrap())
        .await
        .unwrap();
    assert_eq!(pages.load("Paula").await.unwrap(), None);
    let page = pages.load("Paulette").await.unwrap();
    assert_eq!(page.as_ref().unwrap().owner.id, "sub-p");
    assert_eq!(session(&page), Some(("st-2".into(), false)));

    // Deleted sessions (channel deletion): the hinted load finds no head and no session.
    streams.delete_channel_sessions(&arn()).await.unwrap();
    for _ in 0..2 {
        let page = pages.load("Paulette").await.unwrap();
        assert_eq!(session(&page), None);
    }
    db.cleanup().await;
}

#[tokio::test]
async fn hinted_load_reads_the_head_the_channel_item_names() {
    let db = TestDb::new().await;
    let streams = db.streams();
    let pages = PageReads::new(db.channels(), db.streams());
    provisioned(&db.channels(), "sub-p", "Paula", "Page1").await;
    apply(
        &streams,
        &[
            ev("a1", "st-1", "30:00", EventKind::SessionCreated),
            ev("a2", "st-1", "30:01", EventKind::StreamStart),
        ],
    )
    .await;
    let cold = pages.load("Paula").await.unwrap();
    assert_eq!(session(&cold), Some(("st-1".into(), true)));

    // A newer session whose head claim has not happened yet (its writer is between the session
    // write and the claim): the index already shows it, the channel item still names st-1.
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
    assert_eq!(session(&hinted), Some(("st-1".into(), true)));
    db.cleanup().await;
}

#[tokio::test]
async fn channels_without_a_channel_item_read_their_newest_session() {
    // Upstream's rows before `ugc-admin migrate`: sessions, no channel item.
    let db = TestDb::new().await;
    let pages = PageReads::new(db.channels(), db.streams());
    provisioned(&db.channels(), "sub-p", "Paula", "Page1").await;
    for (id, start) in [("st-1", "18:00:00"), ("st-2", "19:00:00")] {
        db.client
            .put_item()
            .table_name(&db.names.streams)
            .item("channelArn", AttributeValue::S(ARN.into()))
            .item("id", AttributeValue::S(id.into()))
            .item(
                "startTime",
                AttributeValue::S(format!("2023-06-14T{start}Z")),
            )
            .send()
            .await
            .unwrap();
    }
    for _ in 0..2 {
        let page = pages.load("Paula").await.unwrap();
        assert_eq!(session(&page).map(|s| s.0), Some("st-2".into()));
    }
    db.cleanup().await;
}
