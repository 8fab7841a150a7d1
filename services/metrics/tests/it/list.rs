//! `GET /metrics/:channelResourceId/streamSessions` (docs/contract.md §8.1, §14.15 with the deviations).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::Duration;
use ugc_domain::session::EventKind;

use crate::helpers::{now, type_of, unique_id, TestApp};

#[tokio::test]
async fn auth_is_required_and_an_empty_channel_is_an_empty_page() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let path = format!("/metrics/{}/streamSessions", unique_id());
    let (status, body) = app.get(&path, None).await;
    assert_eq!((status, type_of(&body)), (401, "UnauthorizedException"));
    let mut bad = alice.clone();
    bad.access_token = "not-a-jwt".into();
    assert_eq!(app.get(&path, Some(&bad)).await.0, 401);

    for path in [path.clone(), format!("{path}?nextToken=")] {
        let (status, body) = app.get(&path, Some(&alice)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            serde_json::json!({"maxResults": 50, "streamSessions": []})
        );
    }
}

#[tokio::test]
async fn items_are_the_callers_sessions_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let id = unique_id();
    let arn = app.arn(&id);
    let t = now() - Duration::hours(2);
    app.session(
        &arn,
        "st-old",
        &alice.sub,
        t,
        Some(t + Duration::minutes(10)),
        &[(
            EventKind::LimitBreach("Ingest Bitrate".into()),
            t + Duration::minutes(1),
        )],
    )
    .await;
    app.session(
        &arn,
        "st-new",
        &alice.sub,
        t + Duration::hours(1),
        None,
        &[],
    )
    .await;

    let (status, body) = app
        .get(&format!("/metrics/{id}/streamSessions"), Some(&alice))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["maxResults"], 50);
    assert!(body.get("nextToken").is_none());
    let fmt = |t: time::OffsetDateTime| ugc_domain::format_iso_millis(t);
    assert_eq!(
        body["streamSessions"],
        serde_json::json!([
            {
                "channelArn": arn.as_str(),
                "hasErrorEvent": false,
                "streamId": "st-new",
                "startTime": fmt(t + Duration::hours(1)),
                "isLive": true,
            },
            {
                "channelArn": arn.as_str(),
                "hasErrorEvent": true,
                "streamId": "st-old",
                "startTime": fmt(t),
                "endTime": fmt(t + Duration::minutes(10)),
                "isLive": false,
            },
        ])
    );
    assert!(fmt(t).ends_with(".000Z"));
}

#[tokio::test]
async fn another_users_channel_and_session_are_not_found() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let id = unique_id();
    let arn = app.arn(&id);
    app.session(
        &arn,
        "st-a1",
        &alice.sub,
        now() - Duration::hours(1),
        None,
        &[],
    )
    .await;

    let (status, body) = app
        .get(&format!("/metrics/{id}/streamSessions"), Some(&bob))
        .await;
    assert_eq!((status, type_of(&body)), (404, "UserNotFoundException"));

    // Another user's session and a session that does not exist answer the same.
    let (status, foreign) = app
        .get(&format!("/metrics/{id}/streamSessions/st-a1"), Some(&bob))
        .await;
    assert_eq!((status, type_of(&foreign)), (404, "NotFoundException"));
    let (status, missing) = app
        .get(
            &format!("/metrics/{id}/streamSessions/st-nothing"),
            Some(&alice),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(foreign, missing);

    // The owner still sees it.
    let (status, _) = app
        .get(&format!("/metrics/{id}/streamSessions/st-a1"), Some(&alice))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn pages_of_fifty_with_sealed_tokens() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let id = unique_id();
    let other_id = unique_id();
    let arn = app.arn(&id);
    let start = now() - Duration::days(3);
    for i in 0..55 {
        let t = start + Duration::minutes(10 * i);
        app.session(
            &arn,
            &format!("st-s{i:02}"),
            &alice.sub,
            t,
            Some(t + Duration::minutes(5)),
            &[],
        )
        .await;
    }
    // Alice's second channel, with more than one page too, so its token is a real one.
    let other_arn = app.arn(&other_id);
    for i in 0..51 {
        app.session(
            &other_arn,
            &format!("st-o{i:02}"),
            &alice.sub,
            start + Duration::minutes(i),
            None,
            &[],
        )
        .await;
    }

    let list = format!("/metrics/{id}/streamSessions");
    let (status, first) = app.get(&list, Some(&alice)).await;
    assert_eq!(status, 200, "{first}");
    let first_items = first["streamSessions"].as_array().unwrap();
    assert_eq!(first_items.len(), 50);
    let token = first["nextToken"].as_str().unwrap().to_owned();
    assert!(token
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));

    let (status, second) = app
        .get(&format!("{list}?nextToken={token}"), Some(&alice))
        .await;
    assert_eq!(status, 200, "{second}");
    let second_items = second["streamSessions"].as_array().unwrap();
    assert_eq!(second_items.len(), 5);
    assert!(second.get("nextToken").is_none());
    let ids: Vec<&str> = first_items
        .iter()
        .chain(second_items)
        .map(|s| s["streamId"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..55).rev().map(|i| format!("st-s{i:02}")).collect();
    assert_eq!(ids, expected);

    // One flipped bit anywhere, a truncated token, garbage, upstream's hex tokens: 400.
    let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
    let middle = raw.len() / 2;
    raw[middle] ^= 0x01;
    let tampered = URL_SAFE_NO_PAD.encode(&raw);
    for bad in [
        tampered.as_str(),
        &token[..token.len() - 4],
        "zz",
        "a9b45de7f6f3d70de1896531b68f51ee",
        "%00",
    ] {
        let (status, body) = app
            .get(&format!("{list}?nextToken={bad}"), Some(&alice))
            .await;
        assert_eq!(
            (status, type_of(&body)),
            (400, "BadRequestException"),
            "{bad}"
        );
    }

    // A valid token of Alice's other channel is not valid here, and Alice's token is not Bob's.
    let (_, other_first) = app
        .get(&format!("/metrics/{other_id}/streamSessions"), Some(&alice))
        .await;
    let other_token = other_first["nextToken"].as_str().unwrap();
    let (status, body) = app
        .get(&format!("{list}?nextToken={other_token}"), Some(&alice))
        .await;
    assert_eq!((status, type_of(&body)), (400, "BadRequestException"));
    let (status, body) = app
        .get(&format!("{list}?nextToken={token}"), Some(&bob))
        .await;
    assert_eq!((status, type_of(&body)), (400, "BadRequestException"));
}

#[tokio::test]
async fn parameters_are_checked() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let long = "a".repeat(101);
    let cases = [
        (
            format!("/metrics/{long}/streamSessions"),
            400,
            Some("params/channelResourceId must NOT have more than 100 characters"),
        ),
        (
            "/metrics//streamSessions".to_owned(),
            400,
            Some("params/channelResourceId must NOT have fewer than 1 characters"),
        ),
        (
            format!("/metrics/abc/streamSessions/{long}"),
            400,
            Some("params/streamSessionId must NOT have more than 100 characters"),
        ),
        ("/metrics/a-b/streamSessions".to_owned(), 400, None),
        ("/metrics/abc/streamSessions/nostream".to_owned(), 400, None),
        (
            format!("/metrics/{}/streamSessions", "a".repeat(201)),
            404,
            None,
        ),
    ];
    for (path, expected, message) in cases {
        let (status, body) = app.get(&path, Some(&alice)).await;
        assert_eq!(status, expected, "{path}: {body}");
        if expected == 400 {
            assert_eq!(type_of(&body), "BadRequestException");
        }
        if let Some(message) = message {
            assert_eq!(body["message"], message);
        }
    }
}
