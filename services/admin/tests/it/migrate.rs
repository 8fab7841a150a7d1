//! The migration on upstream-shaped data: what it writes, that the routes then answer as the
//! contract says, that a second run changes nothing, and that a crashed run resumes.

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ugc_dynamo::migrate::{checkpoint, LiveIndexStatus, MigrateError, MigrateOptions};
use ugc_testkit::TestEnv;

use crate::upstream::{self, snapshot};
use crate::{demo, get, run_migration, run_with_live, send, serve, test_options, upstream_tables};

async fn get_item(env: &TestEnv, table: &str, key: &[(&str, &str)]) -> Option<upstream::Item> {
    let mut req = env
        .dynamo
        .get_item()
        .table_name(table)
        .consistent_read(true);
    for (k, v) in key {
        req = req.key(*k, AttributeValue::S((*v).to_owned()));
    }
    req.send().await.unwrap().item().cloned()
}

fn names(channels: &Value) -> Vec<String> {
    channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn migrated_upstream_data_is_served_as_the_contract_says_and_a_second_run_changes_nothing() {
    let env = TestEnv::start().await;
    let demo = demo(&env).await;
    let t = &demo.tables;

    // A dry run reports and writes nothing.
    let before = (
        snapshot(&env.dynamo, &t.channels).await,
        snapshot(&env.dynamo, &t.streams).await,
    );
    let dry = run_migration(
        &env,
        t,
        MigrateOptions {
            dry_run: true,
            ..test_options()
        },
    )
    .await
    .unwrap();
    assert_eq!(dry.live_index, "would create");
    assert_eq!(dry.directory_index, "would create");
    assert_eq!(dry.markers_written, 5, "{dry}");
    assert_eq!(dry.sessions_marked_live, 2, "{dry}");
    assert_eq!(
        before,
        (
            snapshot(&env.dynamo, &t.channels).await,
            snapshot(&env.dynamo, &t.streams).await
        )
    );
    assert_eq!(
        ugc_dynamo::migrate::live_index_status(&env.dynamo, &t.streams)
            .await
            .unwrap(),
        LiveIndexStatus::Missing
    );

    let report = run_migration(&env, t, test_options()).await.unwrap();
    assert_eq!(report.live_index, "created");
    assert_eq!(report.directory_index, "created");
    assert_eq!(report.profiles, 7);
    // alice, bob, carol, dave and the seeder row; the two franks collide and get none.
    assert_eq!(report.markers_written, 5, "{report}");
    assert_eq!(report.collisions.len(), 1, "{report}");
    assert_eq!(report.collisions[0].members.len(), 2);
    assert!(report.collisions[0].folded.starts_with("frank"));
    assert_eq!(report.channels, 4, "three IVS channels and the seeder's");
    assert_eq!(report.sessions, 6);
    assert_eq!(report.heads_claimed, 3);
    assert_eq!(
        report.sessions_superseded, 1,
        "bob's session whose end was lost"
    );
    assert_eq!(report.sessions_marked_live, 2);
    assert_eq!(
        report.directory_entries, 2,
        "the two live heads mirrored on their owners' profiles"
    );
    assert_eq!(
        report.drifted,
        vec![(demo.carol_res.channel_arn.clone(), demo.carol_drift.clone())]
    );
    assert!(ugc_admin::needs_attention(&report));
    assert_eq!(
        ugc_dynamo::migrate::live_index_status(&env.dynamo, &t.streams)
            .await
            .unwrap(),
        LiveIndexStatus::Active
    );

    // What it wrote.
    let marker = get_item(
        &env,
        &t.channels,
        &[(
            "id",
            &format!("username#{}", demo.alice.username.to_ascii_lowercase()),
        )],
    )
    .await
    .expect("alice's marker");
    assert_eq!(marker["userSub"], AttributeValue::S(demo.alice.sub.clone()));
    for (arn, id, live) in [
        (&demo.alice_res.channel_arn, &demo.alice_live, true),
        (&demo.bob_res.channel_arn, &demo.bob_live, true),
        (&demo.carol_res.channel_arn, &demo.carol_drift, false),
    ] {
        let item = get_item(&env, &t.streams, &[("channelArn", arn), ("id", id)])
            .await
            .unwrap();
        assert_eq!(item.contains_key("isLive"), live, "{id}");
        assert_eq!(
            item["isOpen"],
            AttributeValue::S("true".into()),
            "{id} stays open for upstream"
        );
    }
    let lost = get_item(
        &env,
        &t.streams,
        &[
            ("channelArn", &demo.bob_res.channel_arn),
            ("id", &demo.bob_lost),
        ],
    )
    .await
    .unwrap();
    assert_eq!(lost["superseded"], AttributeValue::Bool(true));
    // The directory now answers from the mirror: the live heads' owners, newest session first.
    let mut listed: Vec<String> =
        ugc_dynamo::DirectoryMirror::new(env.dynamo.clone(), t.channels.clone())
            .live_profiles(50)
            .await
            .unwrap()
            .expect("the mirror is complete after the migration")
            .into_iter()
            .map(|profile| profile.username)
            .collect();
    listed.sort();
    let mut expected = vec![demo.alice.username.clone(), demo.bob.username.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    let checkpoint = checkpoint::load(&env.dynamo, &t.channels)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint.phase, checkpoint::PHASE_COMPLETE);

    // A second run finds everything in place.
    let after = (
        snapshot(&env.dynamo, &t.channels).await,
        snapshot(&env.dynamo, &t.streams).await,
    );
    let again = run_migration(&env, t, test_options()).await.unwrap();
    assert_eq!(again.changes(), 0, "{again}");
    assert_eq!(again.live_index, "active");
    assert_eq!(again.directory_index, "active");
    assert_eq!(again.markers_present, 5);
    assert_eq!(again.sessions_live_present, 2);
    assert_eq!(
        after,
        (
            snapshot(&env.dynamo, &t.channels).await,
            snapshot(&env.dynamo, &t.streams).await
        ),
        "the second run changed data"
    );

    // The routes, as the contract says for this data.
    let url = serve(&env, t).await;
    let (status, directory) = get(&format!("{url}/channels?isLive=true"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&directory),
        vec![demo.bob.username.clone(), demo.alice.username.clone()]
    );
    assert_eq!(directory["maxResults"], 50);
    let alice_entry = &directory["channels"][1];
    assert_eq!(
        alice_entry
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        ["avatar", "channelAssetUrls", "color", "username"]
            .map(String::from)
            .into()
    );
    assert!(alice_entry["channelAssetUrls"]["avatar"]
        .as_str()
        .unwrap()
        .contains("avatar?versionId=v1"));

    let page = |user: &str| format!("{url}/channels/{user}");
    let (status, alice_page) = get(&page(&demo.alice.username), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alice_page["isLive"], true);
    assert_eq!(
        alice_page["channelArn"],
        demo.alice_res.channel_arn.as_str()
    );
    assert_eq!(
        alice_page["playbackUrl"],
        demo.alice_res.playback_url.as_str()
    );
    let (_, banned_view) = get(&page(&demo.alice.username), Some(&demo.dave.access_token)).await;
    assert_eq!(banned_view["isViewerBanned"], true);
    assert!(banned_view.get("isLive").is_none() && banned_view.get("playbackUrl").is_none());
    let (_, bob_page) = get(&page(&demo.bob.username), Some(&demo.alice.access_token)).await;
    assert_eq!(bob_page["isViewerFollowing"], true);
    assert_eq!(bob_page["isLive"], true);
    // Live by its events only (its Session Ended was lost) and not broadcasting on IVS: reported
    // as drift and not marked live, so neither the directory nor the page shows it live (upstream
    // showed the page live until the channel's next broadcast).
    let (_, carol_page) = get(&page(&demo.carol.username), None).await;
    assert_eq!(carol_page["isLive"], false);

    let (status, own) = get(&format!("{url}/channel"), Some(&demo.alice.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["username"], demo.alice.username.as_str());
    assert_eq!(own["channelResourceId"], demo.alice_res.resource_id());
    assert_eq!(
        own["streamKeyValue"],
        demo.alice_res.stream_key_value.as_str()
    );
    assert_eq!(
        own["ingestServerUrl"],
        format!("rtmps://{}:443/app/", demo.alice_res.ingest_endpoint).as_str()
    );
    for private in [
        "channelArn",
        "email",
        "chatRoomArn",
        "streamKeyArn",
        "followingList",
        "bannedUserSubs",
    ] {
        assert!(own.get(private).is_none(), "{private}");
    }
    let (status, _) = get(&format!("{url}/channel"), Some(&demo.dave.access_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no channel yet");

    let (status, following) = get(
        &format!("{url}/channel/followingList"),
        Some(&demo.alice.access_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&following),
        vec![demo.bob.username.clone(), demo.carol.username.clone()]
    );
    assert_eq!(following["channels"][0]["isLive"], true);
    assert_eq!(following["channels"][1]["isLive"], false);

    let (status, sessions) = get(
        &format!(
            "{url}/metrics/{}/streamSessions",
            demo.alice_res.resource_id()
        ),
        Some(&demo.alice.access_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    let list = sessions["streamSessions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["streamId"], demo.alice_live.as_str());
    assert_eq!(list[0]["isLive"], true);
    assert_eq!(list[1]["isLive"], false);

    // The marker now guards alice's name for every casing.
    let (status, body) = send(
        Method::PUT,
        &format!("{url}/channel/username/update"),
        &demo.bob.access_token,
        json!({"newUsername": demo.alice.username.to_ascii_uppercase()}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn a_migration_killed_half_way_resumes_from_its_checkpoint_and_completes() {
    let env = TestEnv::start().await;
    let tables = upstream_tables(&env).await;
    let data = upstream::bulk(40, 3, 4);
    upstream::put_all(&env.dynamo, &tables.channels, data.profiles.clone()).await;
    upstream::put_all(&env.dynamo, &tables.streams, data.sessions.clone()).await;
    let options = MigrateOptions {
        page_size: 5,
        concurrency: 2,
        ..test_options()
    };

    let crashed = run_with_live(
        &env,
        &tables,
        MigrateOptions {
            abort_after: Some(17),
            ..options.clone()
        },
        data.live.clone(),
    )
    .await;
    assert!(
        matches!(crashed, Err(MigrateError::Aborted(_))),
        "{crashed:?}"
    );
    let point = checkpoint::load(&env.dynamo, &tables.channels)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(point.phase, checkpoint::PHASE_PROFILES);
    assert!(point.last_id.is_some());

    let resumed = run_with_live(&env, &tables, options.clone(), data.live.clone())
        .await
        .unwrap();
    assert_eq!(resumed.resumed_after, point.last_id);
    assert!(
        resumed.profiles < 40,
        "resumed runs skip the pages already done: {resumed}"
    );

    // Everything is in place: one marker per profile, the live heads marked, one head per channel.
    let channels = snapshot(&env.dynamo, &tables.channels).await;
    assert_eq!(
        channels
            .keys()
            .filter(|k| k.starts_with("|username#"))
            .count(),
        40
    );
    let streams = snapshot(&env.dynamo, &tables.streams).await;
    assert_eq!(
        streams.values().filter(|v| v.contains("isLive=")).count(),
        data.live.len()
    );
    assert_eq!(
        streams.keys().filter(|k| k.ends_with("|#channel")).count(),
        40
    );

    let third = run_with_live(&env, &tables, options, data.live.clone())
        .await
        .unwrap();
    assert_eq!(third.resumed_after, None);
    assert_eq!(third.profiles, 40);
    assert_eq!(third.changes(), 0, "{third}");
    assert_eq!(streams, snapshot(&env.dynamo, &tables.streams).await);
}
