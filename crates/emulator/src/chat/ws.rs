//! The IVS Chat messaging WebSocket (`docs/wire-protocols.md` §4), served at `/` and `/ws` for
//! upgrade requests only, so plain HTTP on those paths still reaches the other services (Cognito
//! at `/`, an S3 bucket named `ws`).
//!
//! The chat token arrives as the `Sec-WebSocket-Protocol` value and is echoed back on accept, or the
//! browser drops the connection. A missing, unknown, spent or expired token is refused before the
//! upgrade (401 missing/expired, 403 unknown or already used), which the chat SDK treats as a socket
//! error. The server closes cleanly (code 1000) on DisconnectUser, room deletion and session expiry,
//! so the SDK reports a server disconnect and does not reconnect.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::guard::{Guard, GuardContext};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::frames::{self, Sender};
use super::hub::{ConnectionId, Grant, Outbound, Refusal};
use super::input::{attributes_size, chars, is_alphanumeric_id, string_map, MAX_ATTRIBUTES_BYTES};
use super::rooms::Capability;
use crate::server::Shared;

/// Larger text frames are a protocol error; real requests are far below (500 code points + 1 KB).
const MAX_FRAME_BYTES: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/", "/ws"])
            .guard(WebSocketUpgrade)
            .route(web::get().to(connect)),
    );
}

/// Matches requests carrying `Upgrade: websocket`.
struct WebSocketUpgrade;

impl Guard for WebSocketUpgrade {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        ctx.head()
            .headers()
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
    }
}

fn refuse(status: u16, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::UNAUTHORIZED);
    HttpResponse::build(status).json(json!({"ErrorCode": status.as_u16(), "ErrorMessage": message}))
}

/// The offered subprotocol: the chat SDK sends exactly one, the token.
fn offered_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .map(str::trim)
        .find(|t| !t.is_empty())
        .map(str::to_owned)
}

async fn connect(
    req: HttpRequest,
    body: web::Payload,
    data: web::Data<Shared>,
) -> actix_web::Result<HttpResponse> {
    let Some(token) = offered_token(&req) else {
        return Ok(refuse(
            401,
            "A chat token is required as the WebSocket subprotocol",
        ));
    };
    let (mut response, session, stream) = actix_ws::handle(&req, body)?;
    let chat = &data.chat;
    let grant = match chat.hub.redeem(&token, OffsetDateTime::now_utc()) {
        Ok(grant) => grant,
        Err(Refusal::Unknown) => {
            return Ok(refuse(403, "The chat token is invalid or was already used"))
        }
        Err(Refusal::Expired) => return Ok(refuse(401, "The chat token has expired")),
    };
    let echoed = HeaderValue::from_str(&token)
        .map_err(|_| actix_web::error::ErrorBadRequest("invalid subprotocol"))?;
    response
        .headers_mut()
        .insert(header::SEC_WEBSOCKET_PROTOCOL, echoed);

    let (id, inbox) = chat.hub.register(&grant);
    let connection = Connection {
        id,
        data: data.clone(),
        grant,
    };
    // Registered before checking, so a DeleteRoom racing with this handshake cannot miss it.
    if !connection.room_exists() {
        return Ok(refuse(404, "The chat room no longer exists"));
    }
    let stream = stream
        .max_frame_size(MAX_FRAME_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME_BYTES);
    actix_web::rt::spawn(connection.run(session, stream, inbox));
    Ok(response)
}

/// One open connection. Dropping it unregisters it from the room.
struct Connection {
    id: ConnectionId,
    data: web::Data<Shared>,
    grant: Grant,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.data.chat.hub.unregister(self.id);
    }
}

/// An ERROR frame for the requester.
struct RequestError {
    request_id: Option<String>,
    code: u16,
    message: String,
}

impl Connection {
    fn room_exists(&self) -> bool {
        self.data
            .chat
            .rooms
            .read(|s| s.rooms.contains_key(&self.grant.room_id))
    }

    async fn run(
        self,
        mut session: Session,
        mut stream: AggregatedMessageStream,
        mut inbox: mpsc::UnboundedReceiver<Outbound>,
    ) {
        let remaining = self.grant.session_expiration - OffsetDateTime::now_utc();
        let expiry = tokio::time::sleep(remaining.try_into().unwrap_or_default());
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                incoming = stream.recv() => match incoming {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        if let Err(e) = self.handle(&text) {
                            let frame = frames::error(e.request_id.as_deref(), e.code, &e.message);
                            if session.text(frame).await.is_err() {
                                return;
                            }
                        }
                    }
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        let frame = frames::error(None, 400, "Requests must be JSON text frames");
                        if session.text(frame).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Ok(AggregatedMessage::Close(reason))) => {
                        let _ = session.close(reason).await;
                        return;
                    }
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "chat websocket protocol error");
                        let _ = session.close(Some(CloseCode::Protocol.into())).await;
                        return;
                    }
                    None => return,
                },
                outgoing = inbox.recv() => match outgoing {
                    Some(Outbound::Frame(frame)) => {
                        if session.text(frame).await.is_err() {
                            return;
                        }
                    }
                    Some(Outbound::Close(reason)) => {
                        close_cleanly(session, reason).await;
                        return;
                    }
                    None => {
                        close_cleanly(session, "Disconnected").await;
                        return;
                    }
                },
                () = &mut expiry => {
                    close_cleanly(session, "Session expired").await;
                    return;
                }
            }
        }
    }

    /// Handles one client request. Success is seen through the broadcast frames; a failure is
    /// answered to the requester only.
    fn handle(&self, text: &str) -> Result<(), RequestError> {
        let fail = |request_id: Option<&str>, code: u16, message: &str| RequestError {
            request_id: request_id.map(str::to_owned),
            code,
            message: message.to_owned(),
        };
        let Ok(Value::Object(request)) = serde_json::from_str::<Value>(text) else {
            return Err(fail(None, 400, "The request must be a JSON object"));
        };
        let request_id = match request.get("RequestId") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.as_str()),
            Some(_) => return Err(fail(None, 400, "RequestId must be a string")),
        };
        let request = Request {
            fields: &request,
            request_id,
        };
        let result = match request.fields.get("Action").and_then(Value::as_str) {
            Some("SEND_MESSAGE") => self.send_message(&request),
            Some("DELETE_MESSAGE") => self.delete_message(&request),
            Some("DISCONNECT_USER") => self.disconnect_user(&request),
            Some(other) => Err((400, format!("Unsupported Action {other}"))),
            None => Err((400, "Action is required".to_owned())),
        };
        result.map_err(|(code, message)| fail(request_id, code, &message))
    }

    fn require(&self, capability: Capability, name: &str) -> Result<(), (u16, String)> {
        if self.grant.capabilities.contains(&capability) {
            Ok(())
        } else {
            Err((403, format!("The chat token does not grant {name}")))
        }
    }

    fn send_message(&self, request: &Request<'_>) -> Result<(), (u16, String)> {
        self.require(Capability::SendMessage, "SEND_MESSAGE")?;
        let content = request.required_str("Content")?;
        let attributes = request.attributes()?;
        let room_id = &self.grant.room_id;
        let limits = self.data.chat.rooms.read(|s| {
            s.rooms
                .get(room_id)
                .map(|r| (r.maximum_message_length, r.maximum_message_rate_per_second))
        });
        let Some((max_length, max_rate)) = limits else {
            return Err((404, "The chat room no longer exists".to_owned()));
        };
        if content.is_empty() {
            return Err((400, "Content must not be empty".to_owned()));
        }
        if chars(content) > usize::try_from(max_length).unwrap_or(usize::MAX) {
            return Err((
                400,
                format!("Message exceeds maximum length of {max_length} characters"),
            ));
        }
        let hub = &self.data.chat.hub;
        if !hub.admit_message(room_id, max_rate, Instant::now()) {
            return Err((429, "Message rate limit exceeded for this room".to_owned()));
        }
        let sender = Sender {
            user_id: &self.grant.user_id,
            attributes: &self.grant.attributes,
        };
        let frame = frames::message(request.request_id, content, &attributes, &sender);
        hub.broadcast(room_id, &frame);
        Ok(())
    }

    fn delete_message(&self, request: &Request<'_>) -> Result<(), (u16, String)> {
        self.require(Capability::DeleteMessage, "DELETE_MESSAGE")?;
        let message_id = request.required_str("Id")?;
        if !is_alphanumeric_id(message_id) {
            return Err((400, "Id must be a message Id".to_owned()));
        }
        let reason = request.reason()?;
        let attributes = frames::delete_message_attributes(message_id, reason);
        let (_, frame) = frames::event(
            request.request_id,
            frames::DELETE_MESSAGE_EVENT,
            &attributes,
        );
        self.data.chat.hub.broadcast(&self.grant.room_id, &frame);
        Ok(())
    }

    fn disconnect_user(&self, request: &Request<'_>) -> Result<(), (u16, String)> {
        self.require(Capability::DisconnectUser, "DISCONNECT_USER")?;
        let user_id = request.required_str("UserId")?;
        if user_id.is_empty() || chars(user_id) > 128 {
            return Err((400, "UserId must have 1 to 128 characters".to_owned()));
        }
        let reason = request.reason()?;
        let attributes = frames::disconnect_user_attributes(user_id, reason);
        let (_, frame) = frames::event(
            request.request_id,
            frames::DISCONNECT_USER_EVENT,
            &attributes,
        );
        let hub = &self.data.chat.hub;
        hub.broadcast(&self.grant.room_id, &frame);
        hub.disconnect_user(&self.grant.room_id, user_id, "Disconnected by a moderator");
        Ok(())
    }
}

/// A parsed client request: its members (case-sensitive) and RequestId.
struct Request<'a> {
    fields: &'a Map<String, Value>,
    request_id: Option<&'a str>,
}

impl Request<'_> {
    fn required_str(&self, name: &str) -> Result<&str, (u16, String)> {
        self.fields
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| (400, format!("{name} is required and must be a string")))
    }

    fn reason(&self) -> Result<&str, (u16, String)> {
        match self.fields.get("Reason") {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(r)) if chars(r) <= 256 => Ok(r),
            Some(Value::String(_)) => {
                Err((413, "Reason must be at most 256 characters".to_owned()))
            }
            Some(_) => Err((400, "Reason must be a string".to_owned())),
        }
    }

    fn attributes(&self) -> Result<BTreeMap<String, String>, (u16, String)> {
        let attributes = match self.fields.get("Attributes") {
            None | Some(Value::Null) => return Ok(BTreeMap::new()),
            Some(value) => string_map(value)
                .ok_or_else(|| (400, "Attributes must map strings to strings".to_owned()))?,
        };
        if attributes_size(&attributes) > MAX_ATTRIBUTES_BYTES {
            return Err((
                413,
                format!("Attributes must not exceed {MAX_ATTRIBUTES_BYTES} bytes"),
            ));
        }
        Ok(attributes)
    }
}

async fn close_cleanly(session: Session, reason: &str) {
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::Normal,
            description: Some(reason.to_owned()),
        }))
        .await;
}
