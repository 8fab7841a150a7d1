//! Server → client frames of the messaging WebSocket (`docs/wire-protocols.md` §4.3). Field names are
//! case-sensitive and every attribute value is a string; the chat SDK drops frames that break this.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::{iso8601, random_id};

pub const DELETE_MESSAGE_EVENT: &str = "aws:DELETE_MESSAGE";
pub const DISCONNECT_USER_EVENT: &str = "aws:DISCONNECT_USER";

fn with_request_id(mut frame: Map<String, Value>, request_id: Option<&str>) -> String {
    if let Some(request_id) = request_id {
        frame.insert("RequestId".into(), json!(request_id));
    }
    Value::Object(frame).to_string()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The sender of a MESSAGE, from its chat token.
pub struct Sender<'a> {
    pub user_id: &'a str,
    pub attributes: &'a BTreeMap<String, String>,
}

pub fn message(
    request_id: Option<&str>,
    content: &str,
    attributes: &BTreeMap<String, String>,
    sender: &Sender<'_>,
) -> String {
    let frame = json!({
        "Type": "MESSAGE",
        "Id": random_id(),
        "Content": content,
        "Attributes": attributes,
        "SendTime": iso8601(OffsetDateTime::now_utc()),
        "Sender": {"UserId": sender.user_id, "Attributes": sender.attributes},
    });
    with_request_id(object(frame), request_id)
}

/// An EVENT frame with a fresh id; returns the id and the frame.
pub fn event(
    request_id: Option<&str>,
    name: &str,
    attributes: &BTreeMap<String, String>,
) -> (String, String) {
    let id = random_id();
    let frame = json!({
        "Type": "EVENT",
        "Id": id,
        "EventName": name,
        "Attributes": attributes,
        "SendTime": iso8601(OffsetDateTime::now_utc()),
    });
    (id, with_request_id(object(frame), request_id))
}

/// `aws:DELETE_MESSAGE` attributes. Both spellings of the id: SDK 1.1.1 reads only the
/// deprecated `MessageID`, the current docs name `MessageId`.
pub fn delete_message_attributes(message_id: &str, reason: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("MessageID".to_owned(), message_id.to_owned()),
        ("MessageId".to_owned(), message_id.to_owned()),
        ("Reason".to_owned(), reason.to_owned()),
    ])
}

pub fn disconnect_user_attributes(user_id: &str, reason: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("UserId".to_owned(), user_id.to_owned()),
        ("Reason".to_owned(), reason.to_owned()),
    ])
}

/// An ERROR frame for the requester only; `ErrorCode` is a number.
pub fn error(request_id: Option<&str>, code: u16, message: &str) -> String {
    let frame = json!({
        "Type": "ERROR",
        "Id": random_id(),
        "ErrorCode": code,
        "ErrorMessage": message,
    });
    with_request_id(object(frame), request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_request_id_only_when_there_is_one() {
        let frame: Value = serde_json::from_str(&error(Some("r1"), 400, "bad")).unwrap();
        assert_eq!(frame["RequestId"], "r1");
        assert_eq!(frame["ErrorCode"], 400);
        let (_, event) = event(None, "app:X", &BTreeMap::new());
        let event: Value = serde_json::from_str(&event).unwrap();
        assert!(event.get("RequestId").is_none());
        assert_eq!(event["Attributes"], json!({}));
    }
}
