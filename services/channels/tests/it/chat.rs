//! Chat tokens, bans and unbans (docs/contract.md §4.3, §5.10, §5.11, §11, §14.3, §14.4, §14.21-5/10/16,
//! with the deviations: chat `userId` = channel ARN, server-side DisconnectUser, no token for
//! banned users), end to end over the emulator's chat WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use ugc_testkit::TestUser;
use ugc_web::rate_limit::{Action, Budget, RateLimitConfig};

use crate::common::{assert_error, status_json, Options, TestApp};
use crate::public::{channel_arn, keys_in_order};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn chat_token(app: &TestApp, owner: &str, viewer: Option<&TestUser>) -> reqwest::Response {
    app.send_json(
        Method::POST,
        "/channel/chatToken/create",
        viewer.map(|v| v.access_token.as_str()),
        &json!({"chatRoomOwnerUsername": owner}),
    )
    .await
}

async fn ban(app: &TestApp, by: &TestUser, path: &str, arn: &str) -> reqwest::Response {
    app.send_json(
        Method::POST,
        path,
        Some(&by.access_token),
        &json!({"bannedChannelArn": arn}),
    )
    .await
}

/// Connects to the emulator's messaging WebSocket the way the chat SDK does.
async fn connect(app: &TestApp, token: &str) -> Socket {
    let url = format!("{}/ws", app.env.emulator_endpoint.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", token.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The next JSON frame, or `None` once the server closed the connection.
async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s");
        match message {
            Some(Ok(Message::Text(text))) => {
                return Some(serde_json::from_str(text.as_str()).unwrap())
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn token_of(res: reqwest::Response) -> String {
    let (status, body) = status_json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn chat_token_requests_are_checked() {
    let app = TestApp::spawn().await;
    app.register("roomless").await;
    let path = "/channel/chatToken/create";
    let (status, body) =
        status_json(app.send_json(Method::POST, path, None, &json!({})).await).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"__type": "UnexpectedException"})
        )
    );
    assert_error(
        app.send_json(
            Method::POST,
            path,
            None,
            &json!({"chatRoomOwnerUsername": 7}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    )
    .await;
    assert_error(
        chat_token(&app, "ghost", None).await,
        StatusCode::NOT_FOUND,
        "UserNotFoundException",
    )
    .await;
    assert_error(
        chat_token(&app, "roomless", None).await,
        StatusCode::FORBIDDEN,
        "ChatRoomArnNotFoundException",
    )
    .await;
    assert_error(
        app.send_json(
            Method::POST,
            path,
            Some("bad"),
            &json!({"chatRoomOwnerUsername": "roomless"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "UnauthorizedException",
    )
    .await;
}

#[tokio::test]
async fn tokens_grant_by_role_and_chat_under_the_channel_arn() {
    let app = TestApp::spawn().await;
    let owner = app.user_with_channel("roomOwner").await;
    let viewer = app.user_with_channel("chatter").await;
    let viewer_arn = channel_arn(&app, &viewer).await;

    let res = chat_token(&app, "roomOwner", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert_eq!(
        keys_in_order(&text),
        [
            "capabilities",
            "token",
            "sessionExpirationTime",
            "tokenExpirationTime"
        ]
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["capabilities"], json!(["VIEW_MESSAGE"]));
    for time in ["sessionExpirationTime", "tokenExpirationTime"] {
        let value = body[time].as_str().unwrap();
        assert!(
            value.ends_with('Z') && value.contains('.'),
            "{time} = {value}"
        );
    }

    let (_, body) = status_json(chat_token(&app, "roomOwner", Some(&viewer)).await).await;
    assert_eq!(
        body["capabilities"],
        json!(["SEND_MESSAGE", "VIEW_MESSAGE"])
    );
    let (_, body) = status_json(chat_token(&app, "roomOwner", Some(&owner)).await).await;
    assert_eq!(
        body["capabilities"],
        json!([
            "SEND_MESSAGE",
            "DELETE_MESSAGE",
            "DISCONNECT_USER",
            "VIEW_MESSAGE"
        ])
    );

    // The viewer's messages carry the channel ARN as user id and the public attributes.
    let mut socket = connect(
        &app,
        &token_of(chat_token(&app, "roomOwner", Some(&viewer)).await).await,
    )
    .await;
    socket
        .send(Message::Text(
            json!({"Action": "SEND_MESSAGE", "RequestId": "r1", "Content": "hello"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let frame = next_frame(&mut socket).await.unwrap();
    assert_eq!(frame["Type"], "MESSAGE", "{frame}");
    assert_eq!(frame["Sender"]["UserId"], viewer_arn.as_str());
    let attributes = &frame["Sender"]["Attributes"];
    assert_eq!(attributes["displayName"], "chatter");
    assert_eq!(attributes["channelArn"], viewer_arn.as_str());
    assert_eq!(attributes["avatar"], "bear");
    assert_eq!(attributes["color"], "blue");
    assert_eq!(attributes["channelAssetUrls"], "{}");
    assert_eq!(attributes.as_object().unwrap().len(), 5, "{attributes}");
}

#[tokio::test]
async fn a_ban_disconnects_refuses_tokens_and_hides_the_stream_until_unbanned() {
    let app = TestApp::spawn().await;
    let owner = app.user_with_channel("moderator").await;
    let viewer = app.user_with_channel("troll").await;
    let bystander = app.user_with_channel("bystander").await;
    let viewer_arn = channel_arn(&app, &viewer).await;

    let mut troll = connect(
        &app,
        &token_of(chat_token(&app, "moderator", Some(&viewer)).await).await,
    )
    .await;
    let mut other = connect(
        &app,
        &token_of(chat_token(&app, "moderator", Some(&bystander)).await).await,
    )
    .await;

    let (status, body) =
        status_json(ban(&app, &owner, "/channel/ban", viewer_arn.as_str()).await).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));

    // Server-side DisconnectUser: everyone sees the event, the banned user's connection closes.
    for socket in [&mut troll, &mut other] {
        let event = next_frame(socket).await.expect("disconnect event");
        assert_eq!(event["EventName"], "aws:DISCONNECT_USER", "{event}");
        assert_eq!(
            event["Attributes"],
            json!({"UserId": viewer_arn.as_str(), "Reason": "Kicked by moderator"})
        );
    }
    assert!(
        next_frame(&mut troll).await.is_none(),
        "the banned user is disconnected"
    );

    assert_error(
        chat_token(&app, "moderator", Some(&viewer)).await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    )
    .await;
    let (_, page) = status_json(
        app.get("/channels/moderator", Some(&viewer.access_token))
            .await,
    )
    .await;
    assert_eq!(page["isViewerBanned"], true);
    assert!(page.get("playbackUrl").is_none());
    // Others are unaffected.
    let (status, _) = status_json(chat_token(&app, "moderator", Some(&bystander)).await).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) =
        status_json(ban(&app, &owner, "/channel/unban", viewer_arn.as_str()).await).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, _) = status_json(chat_token(&app, "moderator", Some(&viewer)).await).await;
    assert_eq!(status, StatusCode::OK, "unban restores chat");
    let (_, page) = status_json(
        app.get("/channels/moderator", Some(&viewer.access_token))
            .await,
    )
    .await;
    assert_eq!(page["isViewerBanned"], false);
    assert!(page.get("playbackUrl").is_some());
}

#[tokio::test]
async fn ban_requests_are_checked() {
    let app = TestApp::spawn().await;
    let owner = app.user_with_channel("banOwner").await;
    let own_arn = channel_arn(&app, &owner).await;
    let unknown = own_arn
        .as_str()
        .replace(own_arn.resource_id().as_str(), "Nobody0000");
    for path in ["/channel/ban", "/channel/unban"] {
        assert_error(
            app.send_json(
                Method::POST,
                path,
                None,
                &json!({"bannedChannelArn": unknown}),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
        )
        .await;
        let (status, body) = status_json(
            app.send_json(Method::POST, path, Some(&owner.access_token), &json!({}))
                .await,
        )
        .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"__type": "UnexpectedException"})
            ),
            "{path}"
        );
        let body = assert_error(
            ban(&app, &owner, path, "bannedChannelArn").await,
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        )
        .await;
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("bannedChannelArn"));
        assert_error(
            ban(&app, &owner, path, &unknown).await,
            StatusCode::NOT_FOUND,
            "UserNotFoundException",
        )
        .await;
    }
    let (status, body) =
        status_json(ban(&app, &owner, "/channel/ban", own_arn.as_str()).await).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"__type": "UnexpectedException"})
        ),
        "banning yourself"
    );
    assert_error(
        ban(&app, &owner, "/channel/ban/", own_arn.as_str()).await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    )
    .await;
    let record = app.state.channels.get(&owner.sub).await.unwrap().unwrap();
    assert!(record.banned_user_subs.is_empty());
}

#[tokio::test]
async fn chat_tokens_are_rate_limited() {
    let mut limits = RateLimitConfig::unlimited();
    limits.set(
        Action::ChatToken,
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
    app.user_with_channel("busyRoom").await;
    for _ in 0..2 {
        assert_eq!(
            chat_token(&app, "busyRoom", None).await.status(),
            StatusCode::OK
        );
    }
    assert_error(
        chat_token(&app, "busyRoom", None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsException",
    )
    .await;
}
