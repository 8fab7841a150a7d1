use std::collections::HashMap;

use aws_sdk_ivschat::config::retry::RetryConfig;
use aws_sdk_ivschat::operation::create_chat_token::CreateChatTokenOutput;
use aws_sdk_ivschat::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;
use ugc_aws::{ChatCapability, ChatClient, ChatError};
use ugc_domain::ChatRoomArn;

const ROOM: &str = "arn:aws:ivschat:us-west-2:123456789012:room/g1H2I3j4k5L6";

fn room() -> ChatRoomArn {
    ChatRoomArn::parse(ROOM).unwrap()
}

#[tokio::test]
async fn chat_token_times_have_milliseconds() {
    let rule = mock!(Client::create_chat_token)
        .match_requests(|req| {
            req.capabilities()
                == [
                    aws_sdk_ivschat::types::ChatTokenCapability::SendMessage,
                    aws_sdk_ivschat::types::ChatTokenCapability::DisconnectUser,
                ]
                && req.session_duration_in_minutes() == Some(60)
                && req
                    .attributes()
                    .and_then(|a| a.get("displayName"))
                    .map(String::as_str)
                    == Some("alice")
        })
        .then_output(|| {
            CreateChatTokenOutput::builder()
                .token("AQICAHgm5DC1V25pBVEhXdu")
                .token_expiration_time(DateTime::from_secs(1_705_681_355))
                .session_expiration_time(DateTime::from_secs(1_705_688_555))
                .build()
        });
    let client = mock_client!(aws_sdk_ivschat, RuleMode::Sequential, [&rule]);
    let token = ChatClient::from_client(client)
        .create_chat_token(
            &room(),
            "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh",
            HashMap::from([("displayName".to_owned(), "alice".to_owned())]),
            &[ChatCapability::SendMessage, ChatCapability::DisconnectUser],
            60,
        )
        .await
        .unwrap();
    assert_eq!(token.token, "AQICAHgm5DC1V25pBVEhXdu");
    assert_eq!(token.token_expiration_time, "2024-01-19T16:22:35.000Z");
    assert_eq!(token.session_expiration_time, "2024-01-19T18:22:35.000Z");
}

#[tokio::test]
async fn view_only_token_sends_no_capabilities() {
    let rule = mock!(Client::create_chat_token)
        .match_requests(|req| req.capabilities.is_none() && req.attributes().is_none())
        .then_output(|| {
            CreateChatTokenOutput::builder()
                .token("t")
                .token_expiration_time(DateTime::from_secs(0))
                .session_expiration_time(DateTime::from_secs(0))
                .build()
        });
    let client = mock_client!(aws_sdk_ivschat, RuleMode::Sequential, [&rule]);
    ChatClient::from_client(client)
        .create_chat_token(&room(), "unknown-user-1", HashMap::new(), &[], 60)
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_room_is_not_found() {
    let rule = mock!(Client::disconnect_user)
        .sequence()
        .http_status(
            404,
            Some(r#"{"__type":"ResourceNotFoundException","message":"no room","resourceType":"ROOM"}"#.into()),
        )
        .build();
    let client = mock_client!(aws_sdk_ivschat, RuleMode::Sequential, [&rule], |c| c
        .retry_config(RetryConfig::disabled()));
    let err = ChatClient::from_client(client)
        .disconnect_user(&room(), "user", "Kicked by moderator")
        .await
        .unwrap_err();
    assert!(matches!(err, ChatError::NotFound), "{err:?}");
}
