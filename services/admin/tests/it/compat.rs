//! The rollback window: what our services write must stay readable by upstream's code. Each
//! attribute upstream reads (docs/contract.md §3.1, §3.2) keeps its type and format after our writes, and
//! upstream's derived states (open = `isOpen`, live = no `endTime` and a `Stream Start` event) agree
//! with ours.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::OffsetDateTime;
use ugc_domain::session::{EventKind, IvsEvent};
use ugc_domain::{ChannelArn, StreamId};
use ugc_dynamo::StreamsRepo;
use ugc_testkit::TestEnv;

use crate::upstream::snapshot;
use crate::{demo, run_migration, send, serve, test_options};

type Item = HashMap<String, AttributeValue>;

fn is_iso_seconds(text: &str) -> bool {
    // `2023-06-14T18:32:41Z`: what upstream compares as strings and re-serialises.
    text.len() == 20
        && text.as_bytes()[10] == b'T'
        && text.ends_with('Z')
        && time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

/// Fails with the attribute name when an attribute upstream reads has another shape.
fn check_profile(item: &Item) {
    let id = format!("{:?}", item.get("id"));
    for name in [
        "id",
        "username",
        "email",
        "avatar",
        "color",
        "channelArn",
        "chatRoomArn",
        "ingestEndpoint",
        "playbackUrl",
        "streamKeyArn",
        "streamKeyValue",
        "trackingId",
        "channelAssetId",
    ] {
        if let Some(value) = item.get(name) {
            assert!(
                matches!(value, AttributeValue::S(_)),
                "{id}: {name} is {value:?}"
            );
        }
    }
    if let Some(value) = item.get("channelAssets") {
        let AttributeValue::M(assets) = value else {
            panic!("{id}: channelAssets {value:?}")
        };
        for (kind, entry) in assets {
            let AttributeValue::M(entry) = entry else {
                panic!("{id}: channelAssets.{kind}")
            };
            for (k, v) in entry {
                match k.as_str() {
                    "url" | "sequencer" => {
                        assert!(matches!(v, AttributeValue::S(_)), "{id}: {kind}.{k}")
                    }
                    "lastModified" => {
                        assert!(matches!(v, AttributeValue::N(_)), "{id}: {kind}.{k}")
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(value) = item.get("followingList") {
        let AttributeValue::L(list) = value else {
            panic!("{id}: followingList {value:?}")
        };
        assert!(
            list.iter().all(|v| matches!(v, AttributeValue::S(_))),
            "{id}: followingList"
        );
    }
    if let Some(value) = item.get("bannedUserSubs") {
        assert!(
            matches!(value, AttributeValue::Ss(_)),
            "{id}: bannedUserSubs {value:?}"
        );
    }
}

fn check_session(item: &Item) {
    let id = format!("{:?}", item.get("id"));
    for name in ["channelArn", "id", "userSub"] {
        assert!(
            matches!(item.get(name), Some(AttributeValue::S(_))),
            "{id}: {name}"
        );
    }
    for name in ["startTime", "endTime"] {
        if let Some(value) = item.get(name) {
            let AttributeValue::S(text) = value else {
                panic!("{id}: {name} {value:?}")
            };
            assert!(is_iso_seconds(text), "{id}: {name} = {text}");
        }
    }
    if let Some(value) = item.get("isOpen") {
        assert_eq!(value, &AttributeValue::S("true".into()), "{id}: isOpen");
    }
    for name in ["isHealthy", "hasErrorEvent"] {
        if let Some(value) = item.get(name) {
            assert!(
                matches!(value, AttributeValue::Bool(_)),
                "{id}: {name} {value:?}"
            );
        }
    }
    let Some(AttributeValue::L(events)) = item.get("truncatedEvents") else {
        panic!("{id}: truncatedEvents missing or not a list")
    };
    let mut times = Vec::new();
    for event in events {
        let AttributeValue::M(event) = event else {
            panic!("{id}: event {event:?}")
        };
        for k in ["eventTime", "name", "type"] {
            assert!(
                matches!(event.get(k), Some(AttributeValue::S(_))),
                "{id}: event.{k}"
            );
        }
        let Some(AttributeValue::S(t)) = event.get("eventTime") else {
            unreachable!()
        };
        assert!(is_iso_seconds(t), "{id}: eventTime {t}");
        times.push(t.clone());
    }
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "{id}: events not sorted by eventTime"
    );
    if let Some(value) = item.get("ingestConfiguration") {
        assert!(
            matches!(value, AttributeValue::M(_)),
            "{id}: ingestConfiguration"
        );
    }
}

/// Upstream's derived "live" (docs/contract.md §9.3).
fn upstream_live(item: &Item) -> bool {
    let Some(AttributeValue::L(events)) = item.get("truncatedEvents") else {
        return false;
    };
    !item.contains_key("endTime")
        && events.iter().any(|e| matches!(e, AttributeValue::M(m) if m.get("name") == Some(&AttributeValue::S("Stream Start".into()))))
}

async fn session_item(env: &TestEnv, table: &str, arn: &str, id: &str) -> Item {
    env.dynamo
        .get_item()
        .table_name(table)
        .key("channelArn", AttributeValue::S(arn.to_owned()))
        .key("id", AttributeValue::S(id.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn items_written_by_our_services_keep_the_shapes_upstream_reads() {
    let env = TestEnv::start().await;
    let demo = demo(&env).await;
    let t = &demo.tables;
    run_migration(&env, t, test_options()).await.unwrap();
    let url = serve(&env, t).await;
    let bob = &demo.bob.access_token;

    // Channels-table writes through the routes.
    for (method, path, body) in [
        (
            Method::PUT,
            "/channel/followingList/add",
            json!({"followedUsername": demo.carol.username}),
        ),
        (
            Method::PUT,
            "/channel/followingList/add",
            json!({"followedUsername": demo.alice.username}),
        ),
        (
            Method::PUT,
            "/channel/followingList/remove",
            json!({"followedUsername": demo.carol.username}),
        ),
        (
            Method::POST,
            "/channel/ban",
            json!({"bannedChannelArn": demo.carol_res.channel_arn}),
        ),
        (
            Method::PUT,
            "/channel/preferences/update",
            json!({"color": {"name": "purple"}, "avatar": {"name": "tiger"}}),
        ),
        (
            Method::PUT,
            "/channel/username/update",
            json!({"newUsername": format!("{}x", demo.bob.username)}),
        ),
    ] {
        let (status, response) = send(method, &format!("{url}{path}"), bob, body).await;
        assert!(status == StatusCode::OK, "{path}: {status} {response}");
    }
    // Viewing a live page stores the ingest configuration from IVS.
    let (status, _) = crate::get(&format!("{url}/channels/{}", demo.alice.username), None).await;
    assert_eq!(status, StatusCode::OK);

    // Streams-table writes through event-ingest's write path: bob ends his broadcast and starts a
    // new one with a breach and starvation.
    let streams = StreamsRepo::new(env.dynamo.clone(), t.streams.clone());
    let arn = ChannelArn::parse(&demo.bob_res.channel_arn).unwrap();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let old = StreamId::parse(&demo.bob_live).unwrap();
    let new = StreamId::parse("st-bobnewsession").unwrap();
    let event = |n: u32, stream: &StreamId, at: i64, kind: EventKind| IvsEvent {
        id: format!("ev-{n}"),
        time: now + time::Duration::seconds(at),
        channel_arn: arn.clone(),
        stream_id: Some(stream.clone()),
        kind,
    };
    for e in [
        event(1, &old, 0, EventKind::StreamEnd),
        event(2, &old, 1, EventKind::SessionEnded),
        event(3, &new, 5, EventKind::SessionCreated),
        event(4, &new, 6, EventKind::StreamStart),
        event(5, &new, 8, EventKind::LimitBreach("Ingest Bitrate".into())),
        event(6, &new, 9, EventKind::StarvationStart),
    ] {
        streams
            .apply_event(&arn, e.stream_id.as_ref().unwrap(), &demo.bob.sub, &e)
            .await
            .unwrap();
    }

    // Every item upstream could read keeps its shapes.
    let profiles = env
        .dynamo
        .scan()
        .table_name(&t.channels)
        .send()
        .await
        .unwrap();
    for item in profiles
        .items()
        .iter()
        .filter(|i| i.contains_key("username"))
    {
        check_profile(item);
    }
    let sessions = env
        .dynamo
        .scan()
        .table_name(&t.streams)
        .send()
        .await
        .unwrap();
    let mut checked = 0;
    for item in sessions.items() {
        if matches!(item.get("id"), Some(AttributeValue::S(id)) if id.starts_with("st-")) {
            check_session(item);
            checked += 1;
        }
    }
    assert_eq!(checked, 7);

    // Upstream's derived states agree with ours.
    let ended = session_item(&env, &t.streams, arn.as_str(), old.as_str()).await;
    assert!(
        ended.contains_key("endTime") && !ended.contains_key("isOpen") && !upstream_live(&ended)
    );
    let live = session_item(&env, &t.streams, arn.as_str(), new.as_str()).await;
    assert_eq!(live.get("isOpen"), Some(&AttributeValue::S("true".into())));
    assert!(upstream_live(&live));
    assert_eq!(live.get("hasErrorEvent"), Some(&AttributeValue::Bool(true)));
    assert_eq!(live.get("isHealthy"), Some(&AttributeValue::Bool(false)));
    let alice = session_item(
        &env,
        &t.streams,
        &demo.alice_res.channel_arn,
        &demo.alice_live,
    )
    .await;
    assert!(
        matches!(alice.get("ingestConfiguration"), Some(AttributeValue::M(m)) if m.contains_key("video"))
    );

    // And the profile after the writes reads as upstream expects.
    let channels = snapshot(&env.dynamo, &t.channels).await;
    let bob_row = channels.get(&format!("|{}", demo.bob.sub)).unwrap();
    assert!(
        bob_row.contains("color=S(\"purple\")") && bob_row.contains("avatar=S(\"tiger\")"),
        "{bob_row}"
    );
    assert!(bob_row.contains(&format!("{}x", demo.bob.username)));
}
