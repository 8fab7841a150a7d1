//! Amazon IVS Chat control plane: rooms, chat tokens, moderation.

use std::collections::HashMap;

use aws_sdk_ivschat::types::ChatTokenCapability;
use ugc_domain::ChatRoomArn;

use crate::sdk_error::{already_gone_is_ok, transient_variants, Failure, FromSdk as _};
use crate::time_util::{from_smithy, iso_millis};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("chat room not found")]
    NotFound,
    #[error("IVS Chat validation failed: {0}")]
    Validation(String),
    #[error("IVS Chat throttled the request")]
    Throttled,
    #[error("IVS Chat unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected IVS Chat failure: {0}")]
    Unexpected(String),
}

transient_variants!(ChatError);

impl From<Failure> for ChatError {
    fn from(failure: Failure) -> Self {
        match failure.code() {
            Some("ResourceNotFoundException") => ChatError::NotFound,
            Some("ValidationException") => ChatError::Validation(failure.message().to_owned()),
            _ => Self::from_failure_or(failure, |other| ChatError::Unexpected(other.describe())),
        }
    }
}

/// What a chat token allows beyond receiving messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatCapability {
    SendMessage,
    DeleteMessage,
    DisconnectUser,
}

impl ChatCapability {
    /// The IVS Chat name, also what the API returns in `capabilities`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatCapability::SendMessage => "SEND_MESSAGE",
            ChatCapability::DeleteMessage => "DELETE_MESSAGE",
            ChatCapability::DisconnectUser => "DISCONNECT_USER",
        }
    }

    fn to_sdk(self) -> ChatTokenCapability {
        match self {
            ChatCapability::SendMessage => ChatTokenCapability::SendMessage,
            ChatCapability::DeleteMessage => ChatTokenCapability::DeleteMessage,
            ChatCapability::DisconnectUser => ChatTokenCapability::DisconnectUser,
        }
    }
}

/// A minted chat token; both times are ISO 8601 with milliseconds (`2024-01-19T16:22:35.000Z`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatToken {
    pub token: String,
    pub token_expiration_time: String,
    pub session_expiration_time: String,
}

#[derive(Clone, Debug)]
pub struct ChatClient {
    client: aws_sdk_ivschat::Client,
}

impl ChatClient {
    pub fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Self::from_client(aws_sdk_ivschat::Client::new(sdk_config))
    }

    pub fn from_client(client: aws_sdk_ivschat::Client) -> Self {
        ChatClient { client }
    }

    /// `CreateRoom` with default limits; returns the room ARN.
    pub async fn create_room(
        &self,
        name: &str,
        tags: HashMap<String, String>,
    ) -> Result<ChatRoomArn, ChatError> {
        let output = self
            .client
            .create_room()
            .name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(ChatError::from_sdk)?;
        let arn = output
            .arn()
            .filter(|arn| !arn.is_empty())
            .ok_or_else(|| ChatError::Unexpected("CreateRoom returned no room ARN".to_owned()))?;
        ChatRoomArn::parse(arn).map_err(|e| {
            ChatError::Unexpected(format!("CreateRoom returned a malformed room ARN: {e}"))
        })
    }

    /// `DeleteRoom`. A room that no longer exists counts as deleted.
    pub async fn delete_room(&self, room_arn: &ChatRoomArn) -> Result<(), ChatError> {
        let result = self
            .client
            .delete_room()
            .identifier(room_arn.as_str())
            .send()
            .await;
        already_gone_is_ok(result.map_err(ChatError::from_sdk), |e| {
            matches!(e, ChatError::NotFound)
        })
    }

    /// `CreateChatToken`. With no capabilities the request carries no `capabilities` member at all
    /// (a view-only token, as upstream sends for anonymous viewers); empty attributes are left out too.
    pub async fn create_chat_token(
        &self,
        room_arn: &ChatRoomArn,
        user_id: &str,
        attributes: HashMap<String, String>,
        capabilities: &[ChatCapability],
        session_minutes: i32,
    ) -> Result<ChatToken, ChatError> {
        let output = self
            .client
            .create_chat_token()
            .room_identifier(room_arn.as_str())
            .user_id(user_id)
            .set_attributes((!attributes.is_empty()).then_some(attributes))
            .set_capabilities(
                (!capabilities.is_empty())
                    .then(|| capabilities.iter().map(|c| c.to_sdk()).collect()),
            )
            .session_duration_in_minutes(session_minutes)
            .send()
            .await
            .map_err(ChatError::from_sdk)?;
        let time = |value: Option<&aws_smithy_types::DateTime>, what: &str| {
            value
                .and_then(from_smithy)
                .map(iso_millis)
                .ok_or_else(|| ChatError::Unexpected(format!("CreateChatToken returned no {what}")))
        };
        Ok(ChatToken {
            token: output
                .token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| ChatError::Unexpected("CreateChatToken returned no token".into()))?,
            token_expiration_time: time(output.token_expiration_time(), "tokenExpirationTime")?,
            session_expiration_time: time(
                output.session_expiration_time(),
                "sessionExpirationTime",
            )?,
        })
    }

    /// `DisconnectUser`: closes every connection of `user_id` in the room.
    pub async fn disconnect_user(
        &self,
        room_arn: &ChatRoomArn,
        user_id: &str,
        reason: &str,
    ) -> Result<(), ChatError> {
        self.client
            .disconnect_user()
            .room_identifier(room_arn.as_str())
            .user_id(user_id)
            .set_reason((!reason.is_empty()).then(|| reason.to_owned()))
            .send()
            .await
            .map_err(ChatError::from_sdk)?;
        Ok(())
    }

    /// `SendEvent` to every connection of the room; returns the event id.
    pub async fn send_event(
        &self,
        room_arn: &ChatRoomArn,
        event_name: &str,
        attributes: HashMap<String, String>,
    ) -> Result<String, ChatError> {
        let output = self
            .client
            .send_event()
            .room_identifier(room_arn.as_str())
            .event_name(event_name)
            .set_attributes((!attributes.is_empty()).then_some(attributes))
            .send()
            .await
            .map_err(ChatError::from_sdk)?;
        Ok(output.id().unwrap_or_default().to_owned())
    }
}
