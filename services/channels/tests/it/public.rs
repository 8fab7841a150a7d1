//! `/channels` and `/channels/:u` (docs/contract.md §6, §14.1-1, §14.13, §14.21-3/4/5/6/17 with the
//! deviations), and the hot-path cache (docs/architecture.md "Caching and freshness").

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;
use ugc_domain::session::{EventKind, IvsEvent};
use ugc_domain::{ChannelArn, StreamId};
use ugc_dynamo::StreamsRepo;
use ugc_emulator::ivs::BroadcastAction;
use ugc_testkit::TestUser;

use crate::common::{assert_error, status_json, TestApp};

/// The user's channel ARN, from their stored profile.
pub async fn channel_arn(app: &TestApp, user: &TestUser) -> ChannelArn {
    app.state
        .channels
        .get(&user.sub)
        .await
        .unwrap()
        .unwrap()
        .channel_arn
        .unwrap()
}

/// The streams table as event-ingest writes it: session writes also keep the directory mirror.
pub fn ingest_writer(app: &TestApp) -> StreamsRepo {
    app.state
        .streams
        .clone()
        .with_directory(app.state.directory.clone())
}

/// Starts a simulated broadcast on the user's channel (IVS itself is live, so GetStreamSession
/// answers) and applies the events IVS emitted to the streams table, as event-ingest would.
pub async fn go_live(app: &TestApp, user: &TestUser) -> ChannelArn {
    let arn = channel_arn(app, user).await;
    let outcome =
        ugc_emulator::events::broadcast(app.shared(), arn.as_str(), BroadcastAction::Start)
            .unwrap();
    assert!(!outcome.envelopes.is_empty());
    for envelope in &outcome.envelopes {
        let event = IvsEvent::from_json(envelope).unwrap();
        let stream = event.stream_id.clone().unwrap();
        ingest_writer(app)
            .apply_event(&arn, &stream, &user.sub, &event)
            .await
            .unwrap();
    }
    arn
}

/// Stores a session of the user's channel started at `start` with the given events.
pub async fn session_at(
    app: &TestApp,
    user: &TestUser,
    stream: &str,
    start: OffsetDateTime,
    kinds: &[EventKind],
) {
    let arn = channel_arn(app, user).await;
    let stream_id = StreamId::parse(stream).unwrap();
    for (i, kind) in kinds.iter().enumerate() {
        let event = IvsEvent {
            id: format!("{stream}-{i}"),
            time: start,
            channel_arn: arn.clone(),
            stream_id: Some(stream_id.clone()),
            kind: kind.clone(),
        };
        ingest_writer(app)
            .apply_event(&arn, &stream_id, &user.sub, &event)
            .await
            .unwrap();
    }
}

pub const LIVE: &[EventKind] = &[EventKind::SessionCreated, EventKind::StreamStart];

/// The top-level keys of a JSON object in the order they appear on the wire.
pub fn keys_in_order(text: &str) -> Vec<String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let map: indexmap_free::OrderedKeys = serde::Deserialize::deserialize(&mut de).unwrap();
    map.0
}

/// Reads an object's keys in wire order without pulling in an ordered-map crate.
mod indexmap_free {
    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

    pub struct OrderedKeys(pub Vec<String>);

    impl<'de> Deserialize<'de> for OrderedKeys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Keys;
            impl<'de> Visitor<'de> for Keys {
                type Value = OrderedKeys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedKeys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, _)) = map.next_entry::<String, IgnoredAny>()? {
                        keys.push(key);
                    }
                    Ok(OrderedKeys(keys))
                }
            }
            d.deserialize_map(Keys)
        }
    }
}

async fn page(app: &TestApp, username: &str, token: Option<&str>) -> (StatusCode, String) {
    let res = app.get(&format!("/channels/{username}"), token).await;
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_directory_needs_the_is_live_filter() {
    let app = TestApp::spawn().await;
    for path in ["/channels", "/channels/", "/channels?invalidFilter=true"] {
        let (status, body) = status_json(app.get(path, None).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            body,
            json!({"__type": "BadRequestException", "message": "Missing required filter, one of: isLive"}),
            "{path}"
        );
    }
    for path in [
        "/channels?isLive=false",
        "/channels?isLive=TRUE",
        "/channels?isLive",
        "/channels/?isLive=",
    ] {
        let (status, body) = status_json(app.get(path, None).await).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, json!({"channels": [], "maxResults": 50}), "{path}");
    }
    let (status, body) = status_json(app.get("/channels?isLive=true", None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"channels": [], "maxResults": 50}));
}

#[tokio::test]
async fn the_directory_lists_live_channels_newest_first_with_public_fields_only() {
    let app = TestApp::spawn().await;
    // docs/contract.md §14.13-10 start times; expected order user5, user2, user1, user4, user3.
    let starts = [
        datetime!(2022-06-08 20:39:27 UTC),
        datetime!(2022-06-08 22:39:27 UTC),
        datetime!(2022-06-08 18:39:27 UTC),
        datetime!(2022-06-08 18:39:28 UTC),
        datetime!(2022-06-09 18:39:27 UTC),
    ];
    for (i, start) in starts.iter().enumerate() {
        let user = app.user_with_channel(&format!("user{}", i + 1)).await;
        session_at(&app, &user, &format!("st-live{i}"), *start, LIVE).await;
    }
    // Open but never started (docs/contract.md §14.13-8), and ended: neither is live.
    let created_only = app.user_with_channel("createdOnly").await;
    session_at(
        &app,
        &created_only,
        "st-created",
        datetime!(2022-06-10 10:00:00 UTC),
        &[EventKind::SessionCreated],
    )
    .await;
    let ended = app.user_with_channel("ended").await;
    session_at(
        &app,
        &ended,
        "st-ended",
        datetime!(2022-06-10 11:00:00 UTC),
        &[
            EventKind::SessionCreated,
            EventKind::StreamStart,
            EventKind::StreamEnd,
            EventKind::SessionEnded,
        ],
    )
    .await;

    let res = app.get("/channels?isLive=true", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert_eq!(keys_in_order(&text), ["channels", "maxResults"]);
    let body: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["user5", "user2", "user1", "user4", "user3"]);
    for channel in body["channels"].as_array().unwrap() {
        assert_eq!(
            channel,
            &json!({"avatar": "bear", "color": "blue", "username": channel["username"], "channelAssetUrls": {}}),
            "exactly the public fields"
        );
    }
}

#[tokio::test]
async fn channel_page_bad_input_and_unknown_users() {
    let app = TestApp::spawn().await;
    assert_error(
        app.get("/channels/nobody", None).await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
    let body = assert_error(
        app.get(&format!("/channels/{}", "a".repeat(101)), None)
            .await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    )
    .await;
    assert_eq!(
        body["message"],
        "params/channelOwnerUsername must NOT have more than 100 characters"
    );
    assert_error(
        app.get(&format!("/channels/{}", "a".repeat(200)), None)
            .await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    )
    .await;
    assert_error(
        app.get(&format!("/channels/{}", "a".repeat(201)), None)
            .await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    )
    .await;
    assert_error(
        app.get("/channels/nobody", Some("bad")).await,
        StatusCode::UNAUTHORIZED,
        "UnauthorizedException",
    )
    .await;
    // Registered, but resources never created: no channel page.
    app.register("noChannel").await;
    assert_error(
        app.get("/channels/noChannel", None).await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
    // Usernames are case-sensitive.
    app.user_with_channel("CaseUser").await;
    assert_error(
        app.get("/channels/caseuser", None).await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
}

#[tokio::test]
async fn an_offline_page_shows_public_fields_in_upstream_order() {
    let app = TestApp::spawn().await;
    let owner = app.user_with_channel("offlineOwner").await;
    let arn = channel_arn(&app, &owner).await;
    let (status, text) = page(&app, "offlineOwner", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        keys_in_order(&text),
        [
            "avatar",
            "color",
            "username",
            "isViewerBanned",
            "isChannelBanned",
            "isViewerFollowing",
            "channelAssetUrls",
            "channelArn",
            "isLive",
            "playbackUrl"
        ]
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["channelArn"], arn.as_str());
    assert_eq!(body["isLive"], false);
    let own = app.own_channel(&owner).await;
    assert_eq!(body["playbackUrl"], own["playbackUrl"]);
    for secret in [
        &own["streamKeyValue"],
        &own["ingestEndpoint"],
        &json!(owner.email),
    ] {
        assert!(
            !text.contains(secret.as_str().unwrap()),
            "private value {secret} on the public page"
        );
    }
}

#[tokio::test]
async fn a_live_page_has_the_ingest_configuration_fetched_once_from_ivs() {
    let app = TestApp::spawn().await;
    let owner = app.user_with_channel("liveOwner").await;
    let arn = go_live(&app, &owner).await;
    let (status, text) = page(&app, "liveOwner", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        keys_in_order(&text)[7..],
        ["channelArn", "ingestConfiguration", "isLive", "playbackUrl"]
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["isLive"], true);
    assert_eq!(
        body["ingestConfiguration"],
        json!({"video": {"videoWidth": 768, "videoHeight": 432}}),
        "only the video size, from IVS's BASIC ingest"
    );
    let session = app
        .state
        .streams
        .latest_session(&arn)
        .await
        .unwrap()
        .unwrap();
    let stored = session.ingest_configuration.expect("stored on the session");
    assert_eq!(stored["video"]["videoWidth"], 768);
    assert!(stored["audio"].is_object());

    // The live directory lists it too.
    let (_, list) = status_json(app.get("/channels?isLive=true", None).await).await;
    assert_eq!(list["channels"][0]["username"], "liveOwner");
}

#[tokio::test]
async fn viewer_fields_follow_the_viewers_and_owners_own_records() {
    let app = TestApp::spawn().await;
    let owner = app.user_with_channel("pageOwner").await;
    let viewer = app.user_with_channel("pageViewer").await;
    let owner_arn = channel_arn(&app, &owner).await;
    let viewer_arn = channel_arn(&app, &viewer).await;
    let token = Some(viewer.access_token.as_str());

    let (_, text) = page(&app, "pageOwner", token).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (
            &body["isViewerBanned"],
            &body["isChannelBanned"],
            &body["isViewerFollowing"]
        ),
        (&json!(false), &json!(false), &json!(false))
    );

    let res = app
        .send_json(
            Method::PUT,
            "/channel/followingList/add",
            token,
            &json!({"followedUsername": "pageOwner"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .send_json(
            Method::POST,
            "/channel/ban",
            token,
            &json!({"bannedChannelArn": owner_arn.as_str()}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, text) = page(&app, "pageOwner", token).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["isViewerFollowing"], true, "{body}");
    assert_eq!(body["isChannelBanned"], true, "{body}");
    assert_eq!(body["isViewerBanned"], false, "{body}");
    assert_eq!(body["isLive"], false);

    // The owner bans the viewer: the viewer loses playback on the very next request.
    let res = app
        .send_json(
            Method::POST,
            "/channel/ban",
            Some(&owner.access_token),
            &json!({"bannedChannelArn": viewer_arn.as_str()}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, text) = page(&app, "pageOwner", token).await;
    assert_eq!(
        keys_in_order(&text),
        [
            "avatar",
            "color",
            "username",
            "isViewerBanned",
            "isChannelBanned",
            "isViewerFollowing",
            "channelAssetUrls",
            "channelArn"
        ],
        "no isLive, playbackUrl or ingestConfiguration for a banned viewer"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["isViewerBanned"], true);
    // Anonymous viewers and the owner still see the stream.
    let (_, text) = page(&app, "pageOwner", None).await;
    assert!(text.contains("playbackUrl"));
    let (_, text) = page(&app, "pageOwner", Some(&owner.access_token)).await;
    assert!(text.contains("playbackUrl"));
}

#[tokio::test]
async fn concurrent_anonymous_reads_share_one_load_and_bans_stay_fresh() {
    let app = TestApp::spawn().await;
    let owner = app.user_with_channel("hotOwner").await;
    let viewer = app.user_with_channel("hotViewer").await;
    go_live(&app, &owner).await;
    let viewer_arn = channel_arn(&app, &viewer).await;
    let cache = &app.state.public_cache;

    let before = cache.pages.loads();
    let requests = (0..200).map(|_| page(&app, "hotOwner", None));
    let results = futures_util::future::join_all(requests).await;
    for (status, text) in &results {
        assert_eq!(*status, StatusCode::OK, "{text}");
        assert!(text.contains(r#""isLive":true"#));
    }
    let loads = cache.pages.loads() - before;
    assert!(
        loads <= 2,
        "200 concurrent reads of one channel took {loads} loads"
    );

    // A ban is read fresh, whatever the cache holds.
    let (_, text) = page(&app, "hotOwner", Some(&viewer.access_token)).await;
    assert!(text.contains(r#""isViewerBanned":false"#));
    let res = app
        .send_json(
            Method::POST,
            "/channel/ban",
            Some(&owner.access_token),
            &json!({"bannedChannelArn": viewer_arn.as_str()}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, text) = page(&app, "hotOwner", Some(&viewer.access_token)).await;
    assert!(text.contains(r#""isViewerBanned":true"#), "{text}");
    assert!(!text.contains("playbackUrl"));

    // The directory coalesces too.
    let before = cache.directory.loads();
    let requests = (0..50).map(|_| app.get("/channels?isLive=true", None));
    for res in futures_util::future::join_all(requests).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert!(cache.directory.loads() - before <= 2);

    // After the TTL (1 s by default) the page is loaded again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = cache.pages.loads();
    page(&app, "hotOwner", None).await;
    assert_eq!(cache.pages.loads() - before, 1);
}
