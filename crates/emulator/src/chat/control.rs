//! IVS Chat control-plane operations (`docs/wire-protocols.md` §3): `POST /<Operation>` with a JSON
//! body, plus the tagging operations on `/tags/{resourceArn}`, which IVS shares and which are routed
//! here by the `ivschat` signing name. Every request must carry a valid SigV4 signature.

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::error::ChatError;
use super::frames;
use super::hub::Grant;
use super::input::{chars, is_alphanumeric_id, Input};
use super::rooms::{
    validate_room_arn, validate_tags, Capability, Room, RoomSettings,
    DEFAULT_MAXIMUM_MESSAGE_LENGTH, DEFAULT_MAXIMUM_MESSAGE_RATE,
};
use super::{random_id, Chat};
use crate::core::error::AwsError;
use crate::core::percent;
use crate::core::routing::{path_operation, PathOperation, SigningService};
use crate::core::sigv4;
use crate::server::Shared;

type Reply = Result<HttpResponse, ChatError>;

/// A chat token opens a connection for one hour, as current AWS responses show.
const TOKEN_LIFETIME: time::Duration = time::Duration::hours(1);
const DEFAULT_SESSION_MINUTES: u32 = 60;
const MAX_REASON_CHARS: usize = 256;
const MAX_USER_ID_CHARS: usize = 128;

/// The control-plane operations served at `POST /<Operation>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ChatOp {
    CreateRoom,
    GetRoom,
    UpdateRoom,
    DeleteRoom,
    ListRooms,
    CreateChatToken,
    SendEvent,
    DeleteMessage,
    DisconnectUser,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/{operation}",
        web::post()
            .guard(PathOperation::<ChatOp>::new())
            .to(operation),
    )
    .service(
        web::resource("/tags/{resourceArn:.*}")
            .guard(SigningService("ivschat"))
            .route(web::get().to(list_tags_for_resource))
            .route(web::post().to(tag_resource))
            .route(web::delete().to(untag_resource)),
    );
}

async fn operation(req: HttpRequest, body: web::Bytes, data: web::Data<Shared>) -> Reply {
    let Some(op) = path_operation::<ChatOp>(req.path()) else {
        return Err(ChatError::invalid_request("Unknown operation"));
    };
    let input = begin(&req, &body, &data)?;
    let chat = &data.chat;
    match op {
        ChatOp::CreateRoom => create_room(chat, &input),
        ChatOp::GetRoom => get_room(chat, &input),
        ChatOp::UpdateRoom => update_room(chat, &input),
        ChatOp::DeleteRoom => delete_room(chat, &input),
        ChatOp::ListRooms => list_rooms(chat, &input),
        ChatOp::CreateChatToken => create_chat_token(chat, &input),
        ChatOp::SendEvent => send_event(chat, &input),
        ChatOp::DeleteMessage => delete_message(chat, &input),
        ChatOp::DisconnectUser => disconnect_user(chat, &input),
    }
}

/// Checks the signature and parses the body.
fn begin(req: &HttpRequest, body: &[u8], data: &Shared) -> Result<Input, ChatError> {
    let config = &data.config;
    let signature =
        sigv4::verify_actix(req, body, &config.access_key_id, &config.secret_access_key)?;
    if signature.service != "ivschat" {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            format!(
                "Credential should be scoped to correct service: 'ivschat'. (scoped to '{}')",
                signature.service
            ),
        )
        .into());
    }
    Input::parse(body)
}

fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
        .json(body)
}

/// The room named by a required ARN member (`identifier` or `roomIdentifier`).
fn find_room(chat: &Chat, input: &Input, field: &str) -> Result<Room, ChatError> {
    let arn = input.req_str(field)?;
    validate_room_arn(field, arn)?;
    chat.room(arn)
        .ok_or_else(|| ChatError::not_found(arn, "ROOM"))
}

fn opt_reason(input: &Input) -> Result<Option<String>, ChatError> {
    let reason = input.opt_str("reason")?;
    if reason.is_some_and(|r| r.is_empty() || chars(r) > MAX_REASON_CHARS) {
        return Err(ChatError::field(
            "reason",
            format!("reason must have 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.map(str::to_owned))
}

fn user_id(input: &Input, field: &str) -> Result<String, ChatError> {
    let user_id = input.req_str(field)?;
    if user_id.is_empty() || chars(user_id) > MAX_USER_ID_CHARS {
        return Err(ChatError::field(
            field,
            format!("{field} must have 1 to {MAX_USER_ID_CHARS} characters"),
        ));
    }
    Ok(user_id.to_owned())
}

fn create_room(chat: &Chat, input: &Input) -> Reply {
    let settings = RoomSettings::parse(input)?;
    let tags = input.opt_string_map("tags")?.unwrap_or_default();
    validate_tags(&tags)?;
    let now = OffsetDateTime::now_utc();
    let id = random_id();
    let mut room = Room {
        arn: chat.room_arn(&id),
        id,
        name: String::new(),
        create_time: now,
        update_time: now,
        maximum_message_rate_per_second: DEFAULT_MAXIMUM_MESSAGE_RATE,
        maximum_message_length: DEFAULT_MAXIMUM_MESSAGE_LENGTH,
        message_review_handler: None,
        tags,
        logging_configuration_identifiers: Vec::new(),
    };
    settings.apply(&mut room);
    chat.rooms
        .write(|s| s.rooms.insert(room.id.clone(), room.clone()));
    Ok(ok(room.to_json()))
}

fn get_room(chat: &Chat, input: &Input) -> Reply {
    let room = find_room(chat, input, "identifier")?;
    Ok(ok(room.to_json()))
}

fn update_room(chat: &Chat, input: &Input) -> Reply {
    let arn = input.req_str("identifier")?;
    validate_room_arn("identifier", arn)?;
    let settings = RoomSettings::parse(input)?;
    let updated = chat.rooms.write(|s| {
        let room = s.by_arn_mut(arn)?;
        settings.apply(room);
        room.update_time = OffsetDateTime::now_utc();
        Some(room.clone())
    });
    let room = updated.ok_or_else(|| ChatError::not_found(arn, "ROOM"))?;
    Ok(ok(room.to_json()))
}

fn delete_room(chat: &Chat, input: &Input) -> Reply {
    let room = find_room(chat, input, "identifier")?;
    chat.rooms.write(|s| s.rooms.remove(&room.id));
    chat.hub.close_room(&room.id, "Room deleted");
    Ok(HttpResponse::NoContent()
        .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
        .finish())
}

/// `nextToken` is the listing key of the last room returned: creation time and id.
fn page_token(room: &Room) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}:{}",
        room.create_time.unix_timestamp_nanos(),
        room.id
    ))
}

fn parse_page_token(token: &str) -> Option<(OffsetDateTime, String)> {
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (nanos, id) = decoded.split_once(':')?;
    let time = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some((time, id.to_owned()))
}

fn list_rooms(chat: &Chat, input: &Input) -> Reply {
    let max_results = input.opt_int("maxResults", 1, 50)?.unwrap_or(50);
    let after = input
        .opt_str("nextToken")?
        .map(|t| {
            parse_page_token(t)
                .ok_or_else(|| ChatError::field("nextToken", "nextToken is not valid"))
        })
        .transpose()?;
    let name = input.opt_str("name")?;
    let review_uri = input.opt_str("messageReviewHandlerUri")?;
    let logging = input.opt_str("loggingConfigurationIdentifier")?;

    let (rooms, more) = chat.rooms.read(|s| {
        let mut matching = s.sorted().into_iter().filter(|r| {
            name.is_none_or(|n| r.name == n)
                && review_uri.is_none_or(|u| {
                    r.message_review_handler
                        .as_ref()
                        .is_some_and(|h| h.uri == u)
                })
                && logging
                    .is_none_or(|l| r.logging_configuration_identifiers.iter().any(|i| i == l))
                && after
                    .as_ref()
                    .is_none_or(|(time, id)| (r.create_time, &r.id) > (*time, id))
        });
        let page: Vec<Room> = matching
            .by_ref()
            .take(usize::try_from(max_results).unwrap_or(50))
            .cloned()
            .collect();
        (page, matching.next().is_some())
    });
    let mut body = json!({"rooms": rooms.iter().map(Room::summary_json).collect::<Vec<_>>()});
    if let (true, Some(last), Some(obj)) = (more, rooms.last(), body.as_object_mut()) {
        obj.insert("nextToken".into(), json!(page_token(last)));
    }
    Ok(ok(body))
}

fn create_chat_token(chat: &Chat, input: &Input) -> Reply {
    let room_arn = input.req_str("roomIdentifier")?;
    validate_room_arn("roomIdentifier", room_arn)?;
    let user_id = user_id(input, "userId")?;
    let capabilities = input
        .opt_string_list("capabilities")?
        .unwrap_or_default()
        .iter()
        .map(|c| {
            Capability::parse(c).ok_or_else(|| {
                ChatError::field(
                    "capabilities",
                    "capabilities must be SEND_MESSAGE, DELETE_MESSAGE or DISCONNECT_USER",
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let minutes = input
        .opt_int("sessionDurationInMinutes", 1, 180)?
        .unwrap_or(DEFAULT_SESSION_MINUTES);
    let attributes = input.opt_attributes("attributes")?.unwrap_or_default();
    let room = chat
        .room(room_arn)
        .ok_or_else(|| ChatError::not_found(room_arn, "ROOM"))?;

    let now = OffsetDateTime::now_utc();
    let grant = Grant {
        room_id: room.id,
        user_id,
        attributes,
        capabilities,
        token_expiration: now + TOKEN_LIFETIME,
        session_expiration: now + time::Duration::minutes(i64::from(minutes)),
    };
    let (token_expiration, session_expiration) = (grant.token_expiration, grant.session_expiration);
    let token = chat.hub.issue(grant);
    Ok(ok(json!({
        "token": token,
        "tokenExpirationTime": super::iso8601(token_expiration),
        "sessionExpirationTime": super::iso8601(session_expiration),
    })))
}

fn send_event(chat: &Chat, input: &Input) -> Reply {
    let event_name = input.req_str("eventName")?;
    if event_name.is_empty() || chars(event_name) > 100 {
        return Err(ChatError::field(
            "eventName",
            "eventName must have 1 to 100 characters",
        ));
    }
    let attributes = input.opt_attributes("attributes")?.unwrap_or_default();
    let room = find_room(chat, input, "roomIdentifier")?;
    let (id, frame) = frames::event(None, event_name, &attributes);
    chat.hub.broadcast(&room.id, &frame);
    Ok(ok(json!({"id": id})))
}

fn delete_message(chat: &Chat, input: &Input) -> Reply {
    let message_id = input.req_str("id")?;
    if !is_alphanumeric_id(message_id) {
        return Err(ChatError::field(
            "id",
            "id must be 12 alphanumeric characters",
        ));
    }
    let reason = opt_reason(input)?.unwrap_or_default();
    let room = find_room(chat, input, "roomIdentifier")?;
    let attributes = frames::delete_message_attributes(message_id, &reason);
    let (id, frame) = frames::event(None, frames::DELETE_MESSAGE_EVENT, &attributes);
    chat.hub.broadcast(&room.id, &frame);
    Ok(ok(json!({"id": id})))
}

fn disconnect_user(chat: &Chat, input: &Input) -> Reply {
    let user_id = user_id(input, "userId")?;
    let reason = opt_reason(input)?.unwrap_or_default();
    let room = find_room(chat, input, "roomIdentifier")?;
    let attributes = frames::disconnect_user_attributes(&user_id, &reason);
    let (_, frame) = frames::event(None, frames::DISCONNECT_USER_EVENT, &attributes);
    chat.hub.broadcast(&room.id, &frame);
    chat.hub
        .disconnect_user(&room.id, &user_id, "Disconnected by the application");
    Ok(ok(json!({})))
}

/// The room a `/tags/{resourceArn}` request names (the path segment is percent-encoded).
fn tagged_room(req: &HttpRequest, chat: &Chat) -> Result<Room, ChatError> {
    let raw = req.match_info().get("resourceArn").unwrap_or_default();
    let arn = percent::decode_lossy(raw);
    validate_room_arn("resourceArn", &arn)?;
    chat.room(&arn)
        .ok_or_else(|| ChatError::not_found(&arn, "ROOM"))
}

async fn list_tags_for_resource(
    req: HttpRequest,
    body: web::Bytes,
    data: web::Data<Shared>,
) -> Reply {
    begin(&req, &body, &data)?;
    let room = tagged_room(&req, &data.chat)?;
    Ok(ok(json!({"tags": room.tags})))
}

async fn tag_resource(req: HttpRequest, body: web::Bytes, data: web::Data<Shared>) -> Reply {
    let input = begin(&req, &body, &data)?;
    let tags = input
        .opt_string_map("tags")?
        .ok_or_else(|| ChatError::field("tags", "tags is required"))?;
    let room = tagged_room(&req, &data.chat)?;
    let mut merged = room.tags.clone();
    merged.extend(tags);
    validate_tags(&merged)?;
    data.chat.rooms.write(|s| {
        if let Some(stored) = s.rooms.get_mut(&room.id) {
            stored.tags = merged;
        }
    });
    Ok(ok(json!({})))
}

async fn untag_resource(req: HttpRequest, body: web::Bytes, data: web::Data<Shared>) -> Reply {
    begin(&req, &body, &data)?;
    let keys: Vec<String> = req
        .query_string()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| *name == "tagKeys")
        .map(|(_, value)| percent::decode_lossy(value))
        .collect();
    if keys.is_empty() || keys.len() > 50 {
        return Err(ChatError::field(
            "tagKeys",
            "tagKeys must name 1 to 50 keys",
        ));
    }
    let room = tagged_room(&req, &data.chat)?;
    data.chat.rooms.write(|s| {
        if let Some(stored) = s.rooms.get_mut(&room.id) {
            for key in &keys {
                stored.tags.remove(key);
            }
        }
    });
    Ok(ok(json!({})))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn page_tokens_round_trip() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let room = Room {
            arn: String::new(),
            id: "abcDEF123456".into(),
            name: String::new(),
            create_time: t,
            update_time: t,
            maximum_message_rate_per_second: 10,
            maximum_message_length: 500,
            message_review_handler: None,
            tags: BTreeMap::new(),
            logging_configuration_identifiers: Vec::new(),
        };
        assert_eq!(
            parse_page_token(&page_token(&room)),
            Some((t, "abcDEF123456".to_owned()))
        );
        assert_eq!(parse_page_token("!!"), None);
    }
}
