//! IVS Chat: the control plane through `aws-sdk-ivschat`, and the messaging WebSocket through a real
//! WebSocket client speaking the chat SDK's frames.

use std::time::Duration;

use aws_sdk_ivschat::error::ProvideErrorMetadata;
use aws_sdk_ivschat::types::ChatTokenCapability;
use aws_sdk_ivschat::Client;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ugc_emulator::EmulatorConfig;

use crate::common::{self, TestEmulator};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn client(emulator: &TestEmulator) -> Client {
    Client::new(&emulator.sdk_config().await)
}

async fn create_room(client: &Client) -> String {
    client
        .create_room()
        .name("room")
        .send()
        .await
        .expect("room created")
        .arn
        .expect("arn")
}

async fn token(client: &Client, room: &str, user: &str, capabilities: &[&str]) -> String {
    let mut request = client
        .create_chat_token()
        .room_identifier(room)
        .user_id(user)
        .attributes("displayName", user.to_uppercase());
    for capability in capabilities {
        request = request.capabilities(ChatTokenCapability::from(*capability));
    }
    request
        .send()
        .await
        .expect("token")
        .token
        .expect("token value")
}

/// Opens the messaging socket the way the chat SDK does: the token as the only subprotocol.
async fn open(emulator: &TestEmulator, path: &str, token: &str) -> Result<Socket, WsError> {
    let mut request = format!("ws://127.0.0.1:{}{path}", emulator.port)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", token.parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await?;
    assert_eq!(
        response.headers().get("sec-websocket-protocol").unwrap(),
        token,
        "the token is echoed as the subprotocol"
    );
    Ok(socket)
}

async fn connect(
    emulator: &TestEmulator,
    client: &Client,
    room: &str,
    user: &str,
    capabilities: &[&str],
) -> Socket {
    let token = token(client, room, user, capabilities).await;
    open(emulator, "/ws", &token).await.expect("socket opens")
}

async fn send(socket: &mut Socket, request: Value) {
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON frame; fails on close or after five seconds.
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("socket still open")
            .expect("valid frame");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Waits for the server's close frame and returns its code.
async fn expect_close(socket: &mut Socket) -> CloseCode {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed within 5 s");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code,
            Some(Ok(Message::Close(None))) => panic!("close frame without a code"),
            Some(Ok(Message::Text(text))) => panic!("unexpected frame before close: {text}"),
            Some(Ok(_)) => continue,
            other => panic!("connection ended without a close frame: {other:?}"),
        }
    }
}

/// No frame arrives within a short while.
async fn expect_silence(socket: &mut Socket) {
    let next = tokio::time::timeout(Duration::from_millis(300), socket.next()).await;
    assert!(next.is_err(), "unexpected frame: {next:?}");
}

fn refused_status(result: Result<Socket, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("the connection was accepted"),
    }
}

#[tokio::test]
async fn rooms_are_created_read_updated_listed_tagged_and_deleted() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;

    let created = client
        .create_room()
        .name("alice-room")
        .maximum_message_length(200)
        .maximum_message_rate_per_second(5)
        .tags("project", "ugc")
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();
    let id = created.id().unwrap();
    assert_eq!(id.len(), 12);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        arn,
        format!("arn:aws:ivschat:us-east-1:123456789012:room/{id}")
    );
    assert_eq!(created.maximum_message_length(), Some(200));
    assert_eq!(created.maximum_message_rate_per_second(), Some(5));
    assert_eq!(created.tags().unwrap().get("project").unwrap(), "ugc");
    assert!(created.create_time().is_some());

    let defaults = client.create_room().send().await.unwrap();
    assert_eq!(defaults.maximum_message_length(), Some(500));
    assert_eq!(defaults.maximum_message_rate_per_second(), Some(10));

    let fetched = client.get_room().identifier(&arn).send().await.unwrap();
    assert_eq!(fetched.name(), Some("alice-room"));
    assert_eq!(fetched.maximum_message_length(), Some(200));

    let updated = client
        .update_room()
        .identifier(&arn)
        .name("renamed")
        .maximum_message_length(100)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.name(), Some("renamed"));
    assert_eq!(updated.maximum_message_length(), Some(100));
    assert_eq!(
        updated.maximum_message_rate_per_second(),
        Some(5),
        "untouched members stay"
    );

    let by_name = client.list_rooms().name("renamed").send().await.unwrap();
    assert_eq!(by_name.rooms().len(), 1);
    assert_eq!(by_name.rooms()[0].arn(), Some(arn.as_str()));

    client.create_room().send().await.unwrap();
    let mut seen = Vec::new();
    let mut next_token = None;
    loop {
        let page = client
            .list_rooms()
            .max_results(2)
            .set_next_token(next_token)
            .send()
            .await
            .unwrap();
        assert!(page.rooms().len() <= 2);
        seen.extend(page.rooms().iter().map(|r| r.id().unwrap().to_owned()));
        next_token = page.next_token().map(str::to_owned);
        if next_token.is_none() {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "pagination returns every room once");

    client
        .tag_resource()
        .resource_arn(&arn)
        .tags("stage", "dev")
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("project")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags().get("stage").unwrap(), "dev");

    let handler = aws_sdk_ivschat::types::MessageReviewHandler::builder()
        .uri("arn:aws:lambda:us-east-1:123456789012:function:review")
        .fallback_result(aws_sdk_ivschat::types::FallbackResult::Deny)
        .build();
    let reviewed = client
        .update_room()
        .identifier(&arn)
        .message_review_handler(handler.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(reviewed.message_review_handler(), Some(&handler));
    let listed = client
        .list_rooms()
        .message_review_handler_uri("arn:aws:lambda:us-east-1:123456789012:function:review")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.rooms().len(), 1);
    let removed = client
        .update_room()
        .identifier(&arn)
        .message_review_handler(
            aws_sdk_ivschat::types::MessageReviewHandler::builder()
                .uri("")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.message_review_handler(), None);

    client.delete_room().identifier(&arn).send().await.unwrap();
    let gone = client.get_room().identifier(&arn).send().await.unwrap_err();
    assert!(gone.into_service_error().is_resource_not_found_exception());
    assert_eq!(emulator.shared.chat.rooms().len(), 2);
}

#[tokio::test]
async fn invalid_control_plane_requests_get_aws_errors_and_the_emulator_keeps_serving() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = create_room(&client).await;

    let bad_name = client
        .create_room()
        .name("no spaces")
        .send()
        .await
        .unwrap_err();
    let bad_name = bad_name.into_service_error();
    let validation = match &bad_name {
        aws_sdk_ivschat::operation::create_room::CreateRoomError::ValidationException(v) => v,
        other => panic!("expected ValidationException, got {other:?}"),
    };
    assert_eq!(validation.field_list()[0].name(), "name");

    let too_long = client
        .create_room()
        .maximum_message_length(501)
        .send()
        .await
        .unwrap_err();
    assert_eq!(too_long.code(), Some("ValidationException"));

    let not_an_arn = client
        .get_room()
        .identifier("room-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(not_an_arn.code(), Some("ValidationException"));

    let missing = client
        .get_room()
        .identifier("arn:aws:ivschat:us-east-1:123456789012:room/AAAAAAAAAAAA")
        .send()
        .await
        .unwrap_err();
    assert!(missing
        .into_service_error()
        .is_resource_not_found_exception());

    let no_logging = client
        .create_room()
        .logging_configuration_identifiers(
            "arn:aws:ivschat:us-east-1:123456789012:logging-configuration/ABcdef123456",
        )
        .send()
        .await
        .unwrap_err();
    assert!(no_logging
        .into_service_error()
        .is_resource_not_found_exception());

    let bad_handler = client
        .create_room()
        .message_review_handler(
            aws_sdk_ivschat::types::MessageReviewHandler::builder()
                .uri("https://example.com/review")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_handler.code(), Some("ValidationException"));

    let long_session = client
        .create_chat_token()
        .room_identifier(&room)
        .user_id("alice")
        .session_duration_in_minutes(181)
        .send()
        .await
        .unwrap_err();
    assert_eq!(long_session.code(), Some("ValidationException"));

    let long_user = client
        .create_chat_token()
        .room_identifier(&room)
        .user_id("u".repeat(129))
        .send()
        .await
        .unwrap_err();
    assert_eq!(long_user.code(), Some("ValidationException"));

    let bad_capability = client
        .create_chat_token()
        .room_identifier(&room)
        .user_id("alice")
        .capabilities(ChatTokenCapability::from("VIEW_MESSAGE"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_capability.code(), Some("ValidationException"));

    let big_attributes = client
        .send_event()
        .room_identifier(&room)
        .event_name("app:BIG")
        .attributes("blob", "x".repeat(1100))
        .send()
        .await
        .unwrap_err();
    assert_eq!(big_attributes.code(), Some("ValidationException"));

    let bad_message_id = client
        .delete_message()
        .room_identifier(&room)
        .id("not-an-id")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_message_id.code(), Some("ValidationException"));

    // A body that is not JSON, signed correctly.
    let malformed = client
        .get_room()
        .identifier(&room)
        .customize()
        .mutate_request(|request| {
            *request.body_mut() = "{not json".into();
            request.headers_mut().insert("content-length", "9");
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Some("ValidationException"));

    // Wrong secret: the signature is checked.
    let mut config = emulator.sdk_config().await.into_builder();
    config.set_credentials_provider(Some(
        aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("test", "wrong", None, None, "test"),
        ),
    ));
    let forged = Client::new(&config.build())
        .get_room()
        .identifier(&room)
        .send()
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Some("InvalidSignatureException"));

    let still_there = client.get_room().identifier(&room).send().await.unwrap();
    assert_eq!(still_there.arn(), Some(room.as_str()));
}

#[tokio::test]
async fn chat_tokens_are_url_safe_single_use_and_timed() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = create_room(&client).await;

    let issued = client
        .create_chat_token()
        .room_identifier(&room)
        .user_id("alice")
        .session_duration_in_minutes(30)
        .send()
        .await
        .unwrap();
    let token = issued.token().unwrap();
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let token_expiry = issued.token_expiration_time().unwrap().secs();
    let session_expiry = issued.session_expiration_time().unwrap().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (token_expiry - now - 3600).abs() <= 5,
        "token lasts one hour"
    );
    assert!(
        (session_expiry - now - 1800).abs() <= 5,
        "session lasts 30 minutes"
    );

    let _socket = open(&emulator, "/", token).await.expect("first use opens");
    assert_eq!(
        refused_status(open(&emulator, "/", token).await),
        403,
        "a spent token is refused"
    );
    assert_eq!(
        refused_status(open(&emulator, "/ws", "bm90LWlzc3VlZA").await),
        403
    );

    let mut request = format!("ws://127.0.0.1:{}/ws", emulator.port)
        .into_client_request()
        .unwrap();
    request.headers_mut().remove("sec-websocket-protocol");
    let missing = tokio_tungstenite::connect_async(request)
        .await
        .map(|(s, _)| s);
    assert_eq!(refused_status(missing), 401);

    let missing_room = client
        .create_chat_token()
        .room_identifier("arn:aws:ivschat:us-east-1:123456789012:room/AAAAAAAAAAAA")
        .user_id("alice")
        .send()
        .await
        .unwrap_err();
    assert!(missing_room
        .into_service_error()
        .is_resource_not_found_exception());
}

#[tokio::test]
async fn plain_http_at_the_root_is_not_taken_by_the_chat_socket() {
    let emulator = common::spawn().await;
    let response = reqwest::get(format!("{}/", emulator.endpoint))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert!(!body.contains("chat token"), "{status} {body}");
}

#[tokio::test]
async fn two_users_chat_and_the_sender_gets_its_request_id_back() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = create_room(&client).await;

    let alice_token = token(&client, &room, "alice", &["SEND_MESSAGE"]).await;
    let mut alice = open(&emulator, "/", &alice_token).await.unwrap();
    let mut bob = connect(&emulator, &client, &room, "bob", &["SEND_MESSAGE"]).await;
    let users: Vec<String> = emulator
        .shared
        .chat
        .connections(&room)
        .into_iter()
        .map(|c| c.user_id)
        .collect();
    assert_eq!(users, ["alice", "bob"]);

    send(
        &mut alice,
        json!({"Action": "SEND_MESSAGE", "RequestId": "req-1", "Content": "hello 👋",
               "Attributes": {"eventType": "SEND_MESSAGE"}}),
    )
    .await;
    let own = next_frame(&mut alice).await;
    assert_eq!(own["Type"], "MESSAGE");
    assert_eq!(own["RequestId"], "req-1");
    assert_eq!(own["Content"], "hello 👋");
    assert_eq!(own["Attributes"], json!({"eventType": "SEND_MESSAGE"}));
    assert_eq!(
        own["Sender"],
        json!({"UserId": "alice", "Attributes": {"displayName": "ALICE"}})
    );
    let id = own["Id"].as_str().unwrap();
    assert_eq!(id.len(), 12);
    assert!(own["SendTime"].as_str().unwrap().ends_with('Z'));

    let received = next_frame(&mut bob).await;
    assert_eq!(received, own, "everyone receives the same frame");

    send(
        &mut bob,
        json!({"Action": "SEND_MESSAGE", "RequestId": "req-2", "Content": "hi"}),
    )
    .await;
    let reply = next_frame(&mut alice).await;
    assert_eq!(reply["Sender"]["UserId"], "bob");
    assert_eq!(reply["Attributes"], json!({}));
    assert_ne!(reply["Id"], own["Id"], "message ids are unique");
    assert_eq!(next_frame(&mut bob).await["RequestId"], "req-2");
}

#[tokio::test]
async fn a_moderator_deletes_a_message_and_disconnects_a_user() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = create_room(&client).await;

    let mut owner = connect(
        &emulator,
        &client,
        &room,
        "owner",
        &["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"],
    )
    .await;
    let mut bob = connect(&emulator, &client, &room, "bob", &["SEND_MESSAGE"]).await;
    let mut viewer = connect(&emulator, &client, &room, "unknown-user-1", &[]).await;

    send(
        &mut bob,
        json!({"Action": "SEND_MESSAGE", "RequestId": "b1", "Content": "spam"}),
    )
    .await;
    let message_id = next_frame(&mut bob).await["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    next_frame(&mut owner).await;
    next_frame(&mut viewer).await;

    send(
        &mut owner,
        json!({"Action": "DELETE_MESSAGE", "RequestId": "d1", "Id": message_id, "Reason": "spam"}),
    )
    .await;
    for socket in [&mut owner, &mut bob, &mut viewer] {
        let event = next_frame(socket).await;
        assert_eq!(event["Type"], "EVENT");
        assert_eq!(event["EventName"], "aws:DELETE_MESSAGE");
        assert_eq!(event["RequestId"], "d1");
        assert_eq!(
            event["Attributes"],
            json!({"MessageID": message_id, "MessageId": message_id, "Reason": "spam"})
        );
    }

    // Without the capability, moderation requests are refused to the requester only.
    send(
        &mut bob,
        json!({"Action": "DISCONNECT_USER", "RequestId": "x", "UserId": "owner"}),
    )
    .await;
    let error = next_frame(&mut bob).await;
    assert_eq!(error["Type"], "ERROR");
    assert_eq!(error["ErrorCode"], 403);
    assert_eq!(error["RequestId"], "x");
    expect_silence(&mut owner).await;

    send(
        &mut owner,
        json!({"Action": "DISCONNECT_USER", "RequestId": "k1", "UserId": "bob", "Reason": "Kicked by moderator"}),
    )
    .await;
    for socket in [&mut owner, &mut bob, &mut viewer] {
        let event = next_frame(socket).await;
        assert_eq!(event["EventName"], "aws:DISCONNECT_USER");
        assert_eq!(event["RequestId"], "k1");
        assert_eq!(
            event["Attributes"],
            json!({"UserId": "bob", "Reason": "Kicked by moderator"})
        );
    }
    assert_eq!(expect_close(&mut bob).await, CloseCode::Normal);

    send(
        &mut owner,
        json!({"Action": "SEND_MESSAGE", "Content": "still here"}),
    )
    .await;
    let after = next_frame(&mut viewer).await;
    assert_eq!(after["Content"], "still here");
    assert!(after.get("RequestId").is_none());
    let users: Vec<String> = emulator
        .shared
        .chat
        .connections(&room)
        .into_iter()
        .map(|c| c.user_id)
        .collect();
    assert_eq!(users, ["owner", "unknown-user-1"]);
}

#[tokio::test]
async fn a_viewer_without_send_message_gets_an_error() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = create_room(&client).await;
    let mut viewer = connect(&emulator, &client, &room, "viewer", &[]).await;
    let mut other = connect(&emulator, &client, &room, "other", &["SEND_MESSAGE"]).await;

    send(
        &mut viewer,
        json!({"Action": "SEND_MESSAGE", "RequestId": "v1", "Content": "hi"}),
    )
    .await;
    let error = next_frame(&mut viewer).await;
    assert_eq!(error["Type"], "ERROR");
    assert_eq!(error["ErrorCode"], 403);
    assert_eq!(error["RequestId"], "v1");
    assert!(error["ErrorMessage"]
        .as_str()
        .unwrap()
        .contains("SEND_MESSAGE"));
    expect_silence(&mut other).await;

    send(
        &mut viewer,
        json!({"Action": "DELETE_MESSAGE", "RequestId": "v2", "Id": "AAAAAAAAAAAA"}),
    )
    .await;
    assert_eq!(next_frame(&mut viewer).await["ErrorCode"], 403);
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_keeps_working() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = client
        .create_room()
        .maximum_message_length(5)
        .maximum_message_rate_per_second(2)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let mut socket = connect(&emulator, &client, &room, "alice", &["SEND_MESSAGE"]).await;

    socket
        .send(Message::Text("{not json".into()))
        .await
        .unwrap();
    let error = next_frame(&mut socket).await;
    assert_eq!(error["Type"], "ERROR");
    assert_eq!(error["ErrorCode"], 400);

    let cases = [
        (json!({"Action": "SHOUT", "RequestId": "a"}), 400),
        (json!({"RequestId": "b", "Content": "x"}), 400),
        (json!({"Action": "SEND_MESSAGE", "RequestId": "c"}), 400),
        (
            json!({"Action": "SEND_MESSAGE", "RequestId": "d", "Content": 5}),
            400,
        ),
        (
            json!({"Action": "SEND_MESSAGE", "RequestId": "e", "Content": "123456"}),
            400,
        ),
        (
            json!({"Action": "SEND_MESSAGE", "RequestId": "f", "Content": "x", "Attributes": {"n": 1}}),
            400,
        ),
        (
            json!({"action": "SEND_MESSAGE", "RequestId": "g", "content": "x"}),
            400,
        ),
    ];
    for (request, code) in cases {
        let request_id = request["RequestId"].clone();
        send(&mut socket, request).await;
        let error = next_frame(&mut socket).await;
        assert_eq!(error["Type"], "ERROR");
        assert_eq!(error["ErrorCode"], code);
        assert_eq!(error["RequestId"], request_id);
    }

    // Five code points fit although they take more than five bytes.
    send(
        &mut socket,
        json!({"Action": "SEND_MESSAGE", "RequestId": "ok1", "Content": "héllo"}),
    )
    .await;
    assert_eq!(next_frame(&mut socket).await["Type"], "MESSAGE");
    send(
        &mut socket,
        json!({"Action": "SEND_MESSAGE", "RequestId": "ok2", "Content": "two"}),
    )
    .await;
    assert_eq!(next_frame(&mut socket).await["Type"], "MESSAGE");
    send(
        &mut socket,
        json!({"Action": "SEND_MESSAGE", "RequestId": "r3", "Content": "three"}),
    )
    .await;
    let throttled = next_frame(&mut socket).await;
    assert_eq!(
        throttled["ErrorCode"], 429,
        "two messages per second in this room"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    send(
        &mut socket,
        json!({"Action": "SEND_MESSAGE", "RequestId": "r4", "Content": "later"}),
    )
    .await;
    assert_eq!(next_frame(&mut socket).await["RequestId"], "r4");
}

#[tokio::test]
async fn control_plane_events_reach_every_connection() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = create_room(&client).await;
    let mut alice = connect(&emulator, &client, &room, "alice", &["SEND_MESSAGE"]).await;
    let mut bob = connect(&emulator, &client, &room, "bob", &[]).await;

    let other_room = create_room(&client).await;
    let mut elsewhere = connect(&emulator, &client, &other_room, "carol", &[]).await;

    let sent = client
        .send_event()
        .room_identifier(&room)
        .event_name("app:REFRESH")
        .attributes("channel", "alice")
        .send()
        .await
        .unwrap();
    for socket in [&mut alice, &mut bob] {
        let event = next_frame(socket).await;
        assert_eq!(event["Type"], "EVENT");
        assert_eq!(event["Id"], sent.id().unwrap());
        assert_eq!(event["EventName"], "app:REFRESH");
        assert_eq!(event["Attributes"], json!({"channel": "alice"}));
        assert!(event.get("RequestId").is_none());
    }
    expect_silence(&mut elsewhere).await;

    client
        .delete_message()
        .room_identifier(&room)
        .id("AbCdEfGh1234")
        .reason("off topic")
        .send()
        .await
        .unwrap();
    for socket in [&mut alice, &mut bob] {
        let event = next_frame(socket).await;
        assert_eq!(event["EventName"], "aws:DELETE_MESSAGE");
        assert_eq!(event["Attributes"]["MessageID"], "AbCdEfGh1234");
        assert_eq!(event["Attributes"]["Reason"], "off topic");
        assert!(event.get("RequestId").is_none());
    }
}

#[tokio::test]
async fn control_plane_disconnect_user_closes_every_connection_of_that_user() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = create_room(&client).await;
    let mut alice = connect(&emulator, &client, &room, "alice", &["SEND_MESSAGE"]).await;
    // The chat SDK overlaps two connections while it refreshes its token.
    let mut bob_1 = connect(&emulator, &client, &room, "bob", &["SEND_MESSAGE"]).await;
    let mut bob_2 = connect(&emulator, &client, &room, "bob", &["SEND_MESSAGE"]).await;

    client
        .disconnect_user()
        .room_identifier(&room)
        .user_id("bob")
        .reason("banned")
        .send()
        .await
        .unwrap();
    for socket in [&mut alice, &mut bob_1, &mut bob_2] {
        let event = next_frame(socket).await;
        assert_eq!(event["EventName"], "aws:DISCONNECT_USER");
        assert_eq!(
            event["Attributes"],
            json!({"UserId": "bob", "Reason": "banned"})
        );
    }
    assert_eq!(expect_close(&mut bob_1).await, CloseCode::Normal);
    assert_eq!(expect_close(&mut bob_2).await, CloseCode::Normal);

    send(
        &mut alice,
        json!({"Action": "SEND_MESSAGE", "RequestId": "a1", "Content": "bye bob"}),
    )
    .await;
    assert_eq!(next_frame(&mut alice).await["RequestId"], "a1");
}

#[tokio::test]
async fn deleting_a_room_closes_its_connections_and_spends_its_tokens() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let room = create_room(&client).await;
    let mut alice = connect(&emulator, &client, &room, "alice", &[]).await;
    let unused = token(&client, &room, "bob", &[]).await;

    client.delete_room().identifier(&room).send().await.unwrap();
    assert_eq!(expect_close(&mut alice).await, CloseCode::Normal);
    assert_eq!(refused_status(open(&emulator, "/ws", &unused).await), 403);
    assert!(emulator.shared.chat.connections(&room).is_empty());
}

#[tokio::test]
async fn rooms_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("ugc-chat-{}", uuid::Uuid::new_v4()));
    let config = EmulatorConfig {
        data_dir: Some(dir.clone()),
        ..EmulatorConfig::default()
    };
    let first = common::spawn_with(config.clone()).await;
    let room = client(&first)
        .await
        .create_room()
        .name("persistent")
        .tags("project", "ugc")
        .send()
        .await
        .unwrap();

    let second = common::spawn_with(config).await;
    let client = client(&second).await;
    let reloaded = client
        .get_room()
        .identifier(room.arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.name(), Some("persistent"));
    assert_eq!(reloaded.tags().unwrap().get("project").unwrap(), "ugc");
    assert_eq!(reloaded.create_time(), room.create_time());
    let _socket = connect(&second, &client, room.arn().unwrap(), "alice", &[]).await;
    std::fs::remove_dir_all(dir).ok();
}
