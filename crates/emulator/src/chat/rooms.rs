//! Rooms: the persisted state, the member validation of CreateRoom / UpdateRoom, and the JSON shapes
//! of the room and its summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::error::ChatError;
use super::input::{chars, Input};
use super::iso8601;

pub const DEFAULT_MAXIMUM_MESSAGE_RATE: u32 = 10;
pub const DEFAULT_MAXIMUM_MESSAGE_LENGTH: u32 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub arn: String,
    pub id: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub create_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub update_time: OffsetDateTime,
    pub maximum_message_rate_per_second: u32,
    /// In code points.
    pub maximum_message_length: u32,
    pub message_review_handler: Option<MessageReviewHandler>,
    pub tags: BTreeMap<String, String>,
    pub logging_configuration_identifiers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageReviewHandler {
    pub uri: String,
    /// `ALLOW` or `DENY`.
    pub fallback_result: String,
}

/// What a chat token allows besides receiving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    SendMessage,
    DeleteMessage,
    DisconnectUser,
}

impl Capability {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SEND_MESSAGE" => Some(Self::SendMessage),
            "DELETE_MESSAGE" => Some(Self::DeleteMessage),
            "DISCONNECT_USER" => Some(Self::DisconnectUser),
            _ => None,
        }
    }
}

/// The persisted state: rooms by id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RoomState {
    pub rooms: BTreeMap<String, Room>,
}

impl RoomState {
    pub fn by_arn(&self, arn: &str) -> Option<&Room> {
        let id = arn.rsplit_once("room/").map(|(_, id)| id)?;
        self.rooms.get(id).filter(|r| r.arn == arn)
    }

    pub fn by_arn_mut(&mut self, arn: &str) -> Option<&mut Room> {
        let id = arn.rsplit_once("room/").map(|(_, id)| id)?;
        self.rooms.get_mut(id).filter(|r| r.arn == arn)
    }

    /// Rooms in listing order: oldest first, ties by id.
    pub fn sorted(&self) -> Vec<&Room> {
        let mut rooms: Vec<&Room> = self.rooms.values().collect();
        rooms.sort_by(|a, b| (a.create_time, &a.id).cmp(&(b.create_time, &b.id)));
        rooms
    }
}

impl Room {
    /// The CreateRoom / GetRoom / UpdateRoom response.
    pub fn to_json(&self) -> Value {
        let mut room = self.summary_json();
        if let Some(obj) = room.as_object_mut() {
            obj.insert(
                "maximumMessageRatePerSecond".into(),
                json!(self.maximum_message_rate_per_second),
            );
            obj.insert(
                "maximumMessageLength".into(),
                json!(self.maximum_message_length),
            );
        }
        room
    }

    /// The RoomSummary of ListRooms.
    pub fn summary_json(&self) -> Value {
        let mut room = json!({
            "arn": self.arn,
            "id": self.id,
            "name": self.name,
            "createTime": iso8601(self.create_time),
            "updateTime": iso8601(self.update_time),
            "tags": self.tags,
            "loggingConfigurationIdentifiers": self.logging_configuration_identifiers,
        });
        if let (Some(handler), Some(obj)) = (&self.message_review_handler, room.as_object_mut()) {
            obj.insert(
                "messageReviewHandler".into(),
                json!({"uri": handler.uri, "fallbackResult": handler.fallback_result}),
            );
        }
        room
    }
}

/// The mutable members of CreateRoom and UpdateRoom, validated; `None` = not given.
#[derive(Debug, Default)]
pub struct RoomSettings {
    pub name: Option<String>,
    pub maximum_message_rate_per_second: Option<u32>,
    pub maximum_message_length: Option<u32>,
    /// `Some(None)`: an empty `uri` removes the handler.
    pub message_review_handler: Option<Option<MessageReviewHandler>>,
    pub logging_configuration_identifiers: Option<Vec<String>>,
}

impl RoomSettings {
    pub fn parse(input: &Input) -> Result<Self, ChatError> {
        let name = input.opt_str("name")?;
        if let Some(name) = name {
            if chars(name) > 128
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ChatError::field(
                    "name",
                    "name must be at most 128 characters of [a-zA-Z0-9-_]",
                ));
            }
        }
        let logging = input.opt_string_list("loggingConfigurationIdentifiers")?;
        if let Some(ids) = &logging {
            if ids.len() > 3 {
                return Err(ChatError::field(
                    "loggingConfigurationIdentifiers",
                    "at most 3 logging configurations can be attached",
                ));
            }
            // The emulator has no logging configurations, so any identifier names a missing one.
            if let Some(id) = ids.first() {
                return Err(ChatError::not_found(id, "LOGGING_CONFIGURATION"));
            }
        }
        Ok(Self {
            name: name.map(str::to_owned),
            maximum_message_rate_per_second: input.opt_int(
                "maximumMessageRatePerSecond",
                1,
                100,
            )?,
            maximum_message_length: input.opt_int("maximumMessageLength", 1, 500)?,
            message_review_handler: input
                .opt_object("messageReviewHandler")?
                .map(|h| parse_review_handler(&h))
                .transpose()?,
            logging_configuration_identifiers: logging,
        })
    }

    pub fn apply(self, room: &mut Room) {
        if let Some(name) = self.name {
            room.name = name;
        }
        if let Some(rate) = self.maximum_message_rate_per_second {
            room.maximum_message_rate_per_second = rate;
        }
        if let Some(length) = self.maximum_message_length {
            room.maximum_message_length = length;
        }
        if let Some(handler) = self.message_review_handler {
            room.message_review_handler = handler;
        }
        if let Some(ids) = self.logging_configuration_identifiers {
            room.logging_configuration_identifiers = ids;
        }
    }
}

fn parse_review_handler(h: &Input) -> Result<Option<MessageReviewHandler>, ChatError> {
    const FIELD: &str = "messageReviewHandler";
    let uri = h.opt_str("uri")?.unwrap_or_default();
    let fallback = h.opt_str("fallbackResult")?.unwrap_or("ALLOW");
    if !matches!(fallback, "ALLOW" | "DENY") {
        return Err(ChatError::field(
            FIELD,
            "fallbackResult must be ALLOW or DENY",
        ));
    }
    if uri.is_empty() {
        return Ok(None);
    }
    if uri.len() > 170 || !is_lambda_arn(uri) {
        return Err(ChatError::field(
            FIELD,
            "uri must be the ARN of a Lambda function",
        ));
    }
    Ok(Some(MessageReviewHandler {
        uri: uri.to_owned(),
        fallback_result: fallback.to_owned(),
    }))
}

/// `arn:aws:lambda:<region>:<12 digits>:function:<name>`.
fn is_lambda_arn(uri: &str) -> bool {
    let mut parts = uri.splitn(7, ':');
    let mut next = || parts.next().unwrap_or_default();
    let (arn, partition, service, region, account, kind, name) =
        (next(), next(), next(), next(), next(), next(), next());
    arn == "arn"
        && partition == "aws"
        && service == "lambda"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && kind == "function"
        && !name.is_empty()
}

/// Tags: at most 50, keys 1..128 characters, values up to 256.
pub fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), ChatError> {
    if tags.len() > 50 {
        return Err(ChatError::field("tags", "at most 50 tags are allowed"));
    }
    for (key, value) in tags {
        if key.is_empty() || chars(key) > 128 || chars(value) > 256 {
            return Err(ChatError::field(
                "tags",
                "tag keys must have 1 to 128 characters and values at most 256",
            ));
        }
    }
    Ok(())
}

/// A room ARN `arn:aws:ivschat:<region>:<account>:room/<id>` (the only accepted identifier form).
pub fn validate_room_arn(field: &str, arn: &str) -> Result<(), ChatError> {
    let valid = arn.len() <= 128
        && arn
            .strip_prefix("arn:aws:ivschat:")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(region, rest)| {
                let (account, id) = rest.split_once(":room/")?;
                Some(
                    !region.is_empty()
                        && region
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                        && !account.is_empty()
                        && account.bytes().all(|b| b.is_ascii_digit())
                        && !id.is_empty()
                        && id.bytes().all(|b| b.is_ascii_alphanumeric()),
                )
            })
            .unwrap_or(false);
    if valid {
        Ok(())
    } else {
        Err(ChatError::field(
            field,
            format!("{field} must be a room ARN"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_arns_are_checked() {
        assert!(validate_room_arn(
            "identifier",
            "arn:aws:ivschat:us-east-1:123456789012:room/abcDEF123456"
        )
        .is_ok());
        for bad in [
            "",
            "abcDEF123456",
            "arn:aws:ivs:us-east-1:123456789012:channel/abc",
            "arn:aws:ivschat:us-east-1:123456789012:room/",
            "arn:aws:ivschat:us-east-1:1234x:room/abc",
            "arn:aws:ivschat:us-east-1:123456789012:room/ab/c",
        ] {
            assert!(validate_room_arn("identifier", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lambda_arns_are_checked() {
        assert!(is_lambda_arn(
            "arn:aws:lambda:us-west-2:123456789012:function:review"
        ));
        assert!(!is_lambda_arn(
            "arn:aws:lambda:us-west-2:1234:function:review"
        ));
        assert!(!is_lambda_arn("https://example.com"));
    }
}
