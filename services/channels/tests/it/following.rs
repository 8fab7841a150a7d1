//! Following channels (docs/contract.md §5.12, §5.13, §14.10, §14.21-1/2, with the deviations: the
//! directory's live definition, no 100-follow limit, missing channels skipped).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::macros::datetime;
use ugc_domain::session::EventKind;
use ugc_domain::ChannelResourceId;
use ugc_testkit::TestUser;
use ugc_web::rate_limit::{Action, Budget, RateLimitConfig};

use crate::common::{assert_error, status_json, Options, TestApp};
use crate::public::{session_at, LIVE};

async fn follow(app: &TestApp, user: &TestUser, username: &str) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        "/channel/followingList/add",
        Some(&user.access_token),
        &json!({"followedUsername": username}),
    )
    .await
}

async fn unfollow(app: &TestApp, user: &TestUser, username: &str) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        "/channel/followingList/remove",
        Some(&user.access_token),
        &json!({"followedUsername": username}),
    )
    .await
}

async fn following(app: &TestApp, user: &TestUser) -> Value {
    let (status, body) = status_json(
        app.get("/channel/followingList", Some(&user.access_token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["maxResults"], 50);
    body
}

fn usernames(list: &Value) -> Vec<String> {
    list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn follow_requests_are_checked() {
    let app = TestApp::spawn().await;
    let fan = app.user_with_channel("checkFan").await;
    app.register("noChannelYet").await;
    for path in [
        "/channel/followingList/add",
        "/channel/followingList/remove",
    ] {
        let token = Some(fan.access_token.as_str());
        assert_error(
            app.send_json(
                Method::PUT,
                path,
                None,
                &json!({"followedUsername": "checkFan"}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
        )
        .await;
        let (status, body) =
            status_json(app.send_json(Method::PUT, path, token, &json!({})).await).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"__type": "BadRequestException"})
            ),
            "{path}"
        );
        assert_error(
            app.send_json(Method::PUT, path, token, &json!({"followedUsername": 5}))
                .await,
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        )
        .await;
        assert_error(
            app.send_json(
                Method::PUT,
                path,
                token,
                &json!({"followedUsername": "ghost"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "UserNotFoundException",
        )
        .await;
        let (status, body) = status_json(
            app.send_json(
                Method::PUT,
                path,
                token,
                &json!({"followedUsername": "checkFan"}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"__type": "UnexpectedException"})
            ),
            "following yourself"
        );
        assert_error(
            app.send_json(
                Method::PUT,
                path,
                token,
                &json!({"followedUsername": "noChannelYet"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "UserNotFoundException",
        )
        .await;
    }
    assert_error(
        app.get("/channel/followingList", None).await,
        StatusCode::UNAUTHORIZED,
        "UnauthorizedException",
    )
    .await;
    assert_eq!(following(&app, &fan).await["channels"], json!([]));
}

#[tokio::test]
async fn follow_twice_then_unfollow() {
    let app = TestApp::spawn().await;
    let fan = app.user_with_channel("theFan").await;
    app.user_with_channel("star").await;

    let (status, body) = status_json(follow(&app, &fan, "star").await).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let res = follow(&app, &fan, "star").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "already followed");
    assert!(res.text().await.unwrap().is_empty());

    let list = following(&app, &fan).await;
    assert_eq!(
        list["channels"],
        json!([{"avatar": "bear", "color": "blue", "username": "star", "channelAssetUrls": {}, "isLive": false}])
    );
    let record = app.state.channels.get(&fan.sub).await.unwrap().unwrap();
    assert_eq!(record.following_list.len(), 1, "no duplicate entry");

    let (status, body) = status_json(unfollow(&app, &fan, "star").await).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert_eq!(following(&app, &fan).await["channels"], json!([]));
    let (status, _) = status_json(unfollow(&app, &fan, "star").await).await;
    assert_eq!(status, StatusCode::OK, "unfollowing again is fine");
}

#[tokio::test]
async fn live_channels_first_newest_first_then_offline_in_follow_order() {
    let app = TestApp::spawn().await;
    let fan = app.user_with_channel("orderFan").await;
    // docs/contract.md §14.10-7 start times; live order user5, user2, user1, user4, user3.
    let starts = [
        datetime!(2022-06-08 20:39:27 UTC),
        datetime!(2022-06-08 22:39:27 UTC),
        datetime!(2022-06-08 18:39:27 UTC),
        datetime!(2022-06-08 18:39:28 UTC),
        datetime!(2022-06-09 18:39:27 UTC),
    ];
    for (i, start) in starts.iter().enumerate() {
        let name = format!("user{}", i + 1);
        let user = app.user_with_channel(&name).await;
        session_at(&app, &user, &format!("st-f{i}"), *start, LIVE).await;
    }
    // Open but never started: not live, as in the directory.
    let opened = app.user_with_channel("openedOnly").await;
    session_at(
        &app,
        &opened,
        "st-opened",
        datetime!(2022-06-10 00:00:00 UTC),
        &[EventKind::SessionCreated],
    )
    .await;
    app.user_with_channel("offlineA").await;
    app.user_with_channel("offlineB").await;
    for name in [
        "offlineA",
        "user1",
        "user2",
        "openedOnly",
        "user3",
        "user4",
        "user5",
        "offlineB",
    ] {
        assert_eq!(follow(&app, &fan, name).await.status(), StatusCode::OK);
    }
    let list = following(&app, &fan).await;
    assert_eq!(
        usernames(&list),
        [
            "user5",
            "user2",
            "user1",
            "user4",
            "user3",
            "offlineB",
            "openedOnly",
            "offlineA"
        ]
    );
    let live: Vec<bool> = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["isLive"].as_bool().unwrap())
        .collect();
    assert_eq!(live, [true, true, true, true, true, false, false, false]);
}

#[tokio::test]
async fn twenty_concurrent_follows_lose_none() {
    let app = TestApp::spawn().await;
    let fan = app.user_with_channel("busyFan").await;
    let names: Vec<String> = (0..20).map(|i| format!("chan{i:02}")).collect();
    futures_util::future::join_all(names.iter().map(|name| app.user_with_channel(name))).await;

    let results =
        futures_util::future::join_all(names.iter().map(|name| follow(&app, &fan, name))).await;
    for res in results {
        assert_eq!(res.status(), StatusCode::OK);
    }
    let record = app.state.channels.get(&fan.sub).await.unwrap().unwrap();
    assert_eq!(
        record.following_list.len(),
        20,
        "{:?}",
        record.following_list
    );
    let mut listed = usernames(&following(&app, &fan).await);
    listed.sort();
    assert_eq!(listed, names);
}

#[tokio::test]
async fn no_follow_limit_and_missing_channels_are_skipped() {
    let app = TestApp::spawn().await;
    let fan = app.user_with_channel("bigFan").await;
    let star = app.user_with_channel("liveStar").await;
    session_at(
        &app,
        &star,
        "st-star",
        datetime!(2023-01-01 00:00:00 UTC),
        LIVE,
    )
    .await;
    let gone = app.user_with_channel("goneSoon").await;
    assert_eq!(
        follow(&app, &fan, "liveStar").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        follow(&app, &fan, "goneSoon").await.status(),
        StatusCode::OK
    );
    // 150 more follows of channels that no longer exist (upstream failed past 100 follows).
    for i in 0..150 {
        let id = ChannelResourceId::parse(&format!("vanished{i}")).unwrap();
        app.state.channels.follow(&fan.sub, &id).await.unwrap();
    }
    // An account deleted after being followed.
    let res = app
        .request(Method::DELETE, "/channel", Some(&gone.access_token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    let list = following(&app, &fan).await;
    assert_eq!(usernames(&list), ["liveStar"]);
    assert_eq!(list["channels"][0]["isLive"], true);
}

#[tokio::test]
async fn follows_are_rate_limited() {
    let mut limits = RateLimitConfig::unlimited();
    limits.set(
        Action::Follow,
        Budget::Limited {
            burst: 2,
            period: Duration::from_secs(60),
        },
    );
    let app = TestApp::spawn_with(Options {
        rate_limits: limits,
        ..Options::default()
    })
    .await;
    let fan = app.user_with_channel("limitedFan").await;
    app.user_with_channel("limitedStar").await;
    assert_eq!(
        follow(&app, &fan, "limitedStar").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        unfollow(&app, &fan, "limitedStar").await.status(),
        StatusCode::OK
    );
    let res = follow(&app, &fan, "limitedStar").await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsException",
    )
    .await;
}
