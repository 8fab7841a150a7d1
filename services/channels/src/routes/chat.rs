//! Chat tokens, bans and unbans (docs/contract.md §4.3, §5.10, §5.11, §11, with the deliberate deviations:
//! the chat `userId` is the caller's channel ARN, a ban is stored *and* enforced server-side with
//! IVS Chat `DisconnectUser`, and banned users get no token).
//!
//! The owner's ban list is always read strongly consistent, never from the public cache, so a ban
//! holds from the very next request.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::web;
use serde::{Deserialize, Serialize};
use ugc_aws::{ChatCapability, ChatError};
use ugc_domain::{ChannelArn, ChatRoomArn, ErrorCode};
use ugc_dynamo::ChannelRecord;
use ugc_web::routing::resource;
use ugc_web::{
    Action, ApiError, AuthUser, ClientIp, FailWith, Json, MaybeAuthUser, RateKey, RateLimiter,
};
use utoipa::ToSchema;

use crate::error::{missing_user_or, user_not_found};
use crate::openapi::Empty;
use crate::state::AppState;

/// How long a chat session lasts before the SPA asks for a new token (upstream: 60 minutes).
const CHAT_SESSION_MINUTES: i32 = 60;
/// The reason viewers see in the `aws:DISCONNECT_USER` event; the SPA shows its ban notice for it.
const BAN_DISCONNECT_REASON: &str = "Kicked by moderator";
/// Implicit in every token; upstream lists it last in `capabilities`.
const VIEW_MESSAGE: &str = "VIEW_MESSAGE";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/channel/chatToken/create").route(web::post().to(create_chat_token)))
        .service(resource("/channel/ban").route(web::post().to(ban_user)))
        .service(resource("/channel/unban").route(web::post().to(unban_user)));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatTokenRequest {
    /// Exact (case-sensitive) username of the chat room's owner.
    chat_room_owner_username: Option<String>,
}

/// A chat token, in upstream's key order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatTokenResponse {
    /// Granted capabilities followed by `VIEW_MESSAGE`.
    capabilities: Vec<String>,
    token: String,
    session_expiration_time: String,
    token_expiration_time: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BanRequest {
    /// Channel ARN of the user to ban (the chat message's `channelArn` attribute).
    banned_channel_arn: Option<String>,
}

/// The chat identity and capabilities a token is minted with.
#[derive(Debug, PartialEq, Eq)]
struct ChatGrant {
    user_id: String,
    attributes: HashMap<String, String>,
    capabilities: Vec<ChatCapability>,
}

/// Upstream's body for a missing required field.
fn missing_field() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::UnexpectedException)
}

/// `POST /channel/chatToken/create`: a view-only token for anonymous viewers, a sending token for
/// signed-in viewers, a moderating one for the owner; 403 for viewers the owner banned.
#[utoipa::path(
    post,
    path = "/channel/chatToken/create",
    tag = "chat",
    request_body = ChatTokenRequest,
    security((), ("accessToken" = [])),
    responses(
        (status = 200, description = "A single-use chat token", body = ChatTokenResponse),
        (status = 400, description = "No `chatRoomOwnerUsername` (`UnexpectedException`)", body = crate::openapi::ErrorBody),
        crate::openapi::InvalidToken,
        (status = 403, description = "The owner has no chat room (`ChatRoomArnNotFoundException`) or banned the caller (`ForbiddenException`)", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such owner (`UserNotFoundException`)", body = crate::openapi::ErrorBody),
        (status = 429, description = "Too many tokens (`TooManyRequestsException`)", body = crate::openapi::ErrorBody),
        (status = 503, description = "A dependency is down (`ServiceUnavailableException`)", body = crate::openapi::ErrorBody),
    )
)]
pub async fn create_chat_token(
    body: Json<ChatTokenRequest>,
    viewer: MaybeAuthUser,
    ip: ClientIp,
    limiter: web::Data<RateLimiter>,
    state: web::Data<AppState>,
) -> Result<web::Json<ChatTokenResponse>, ApiError> {
    limiter.check(Action::ChatToken, &RateKey::new(viewer.user(), ip))?;
    let owner_name = body
        .into_inner()
        .chat_room_owner_username
        .filter(|name| !name.is_empty())
        .ok_or_else(missing_field)?;
    // Who holds the name comes from the public cache (at most `PUBLIC_CACHE_TTL` old); whatever
    // decides the answer (the owner's ban list) is then read fresh, and a cached name its fresh
    // profile no longer carries (a rename within the TTL) is looked up again.
    let public = crate::routes::public::cached_channel(&state, &owner_name).await?;
    let (room, grant) = match viewer.user() {
        None => {
            let room = match public.as_ref().and_then(|p| p.chat_room_arn()) {
                Some(room) => room.clone(),
                None => chat_room(&owner_by_name(&state, &owner_name).await?)?,
            };
            (room, anonymous_grant())
        }
        Some(user) => {
            let cached = match &public {
                Some(public) => {
                    let [owner, caller] = crate::routes::public::two(
                        state
                            .profiles
                            .get(&[public.owner_sub(), user.sub.as_str()])
                            .await?,
                    );
                    owner
                        .filter(|owner| owner.username == owner_name)
                        .map(|owner| (owner, caller))
                }
                None => None,
            };
            let (owner, caller) = match cached {
                Some(records) => records,
                None => {
                    let owner = owner_by_name(&state, &owner_name).await?;
                    fresh_records(&state, &owner.id, &user.sub).await?
                }
            };
            let room = chat_room(&owner)?;
            if owner.has_banned(&user.sub) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::ForbiddenException,
                ));
            }
            (room, signed_in_grant(user, caller.as_ref(), &owner))
        }
    };
    let token = state
        .chat
        .create_chat_token(
            &room,
            &grant.user_id,
            grant.attributes,
            &grant.capabilities,
            CHAT_SESSION_MINUTES,
        )
        .await
        .map_err(|err| match err {
            ChatError::NotFound => room_not_found().with_detail(err),
            other => ApiError::from(other),
        })?;
    let mut capabilities: Vec<String> = grant
        .capabilities
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    capabilities.push(VIEW_MESSAGE.to_owned());
    Ok(web::Json(ChatTokenResponse {
        capabilities,
        token: token.token,
        session_expiration_time: token.session_expiration_time,
        token_expiration_time: token.token_expiration_time,
    }))
}

/// The profile that holds this exact username (the username index), or 404.
async fn owner_by_name(state: &AppState, username: &str) -> Result<ChannelRecord, ApiError> {
    state
        .channels
        .get_by_username(username)
        .await?
        .ok_or_else(user_not_found)
}

/// The owner's record and the caller's, both strongly consistent (the ban list must be current).
async fn fresh_records(
    state: &AppState,
    owner_sub: &str,
    caller_sub: &str,
) -> Result<(ChannelRecord, Option<ChannelRecord>), ApiError> {
    let [owner, caller] =
        crate::routes::public::two(state.profiles.get(&[owner_sub, caller_sub]).await?);
    Ok((owner.ok_or_else(user_not_found)?, caller))
}

fn room_not_found() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::ChatRoomArnNotFoundException,
    )
}

fn chat_room(owner: &ChannelRecord) -> Result<ChatRoomArn, ApiError> {
    stored_room(owner.chat_room_arn.as_deref()).ok_or_else(room_not_found)
}

/// A profile's stored chat room; a stored value that is no room ARN (upstream stored them
/// unchecked) names no room.
pub(crate) fn stored_room(stored: Option<&str>) -> Option<ChatRoomArn> {
    ChatRoomArn::parse(stored?).ok()
}

fn anonymous_grant() -> ChatGrant {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    ChatGrant {
        user_id: format!("unknown-user-{ms}"),
        attributes: HashMap::new(),
        capabilities: Vec::new(),
    }
}

/// A signed-in viewer's chat identity. `userId` is the caller's channel ARN: it survives renames
/// and is what the SPA's moderator kick and ban notice compare. A caller without a channel yet
/// chats as `user-<sub>`, equally stable (nobody can ban them by channel ARN until they have one).
fn signed_in_grant(
    user: &AuthUser,
    caller: Option<&ChannelRecord>,
    owner: &ChannelRecord,
) -> ChatGrant {
    let channel_arn = caller.and_then(|c| c.channel_arn.as_ref());
    let user_id = channel_arn.map_or_else(|| format!("user-{}", user.sub), ChannelArn::to_string);
    let mut attributes = HashMap::new();
    let avatar_url = caller.and_then(|c| c.channel_asset_urls().remove("avatar"));
    let asset_urls = match avatar_url {
        Some(url) => serde_json::json!({ "avatar": url }),
        None => serde_json::json!({}),
    };
    attributes.insert("channelAssetUrls".to_owned(), asset_urls.to_string());
    attributes.insert(
        "displayName".to_owned(),
        caller.map_or_else(|| user.username.clone(), |c| c.username.clone()),
    );
    let optional = [
        ("avatar", caller.and_then(|c| c.avatar.clone())),
        ("color", caller.and_then(|c| c.color.clone())),
        ("channelArn", channel_arn.map(ChannelArn::to_string)),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            attributes.insert(name.to_owned(), value);
        }
    }
    let capabilities = if user.sub == owner.id {
        vec![
            ChatCapability::SendMessage,
            ChatCapability::DeleteMessage,
            ChatCapability::DisconnectUser,
        ]
    } else {
        vec![ChatCapability::SendMessage]
    };
    ChatGrant {
        user_id,
        attributes,
        capabilities,
    }
}

/// The banned (or unbanned) channel: missing → upstream's 400; not a channel ARN → 400 naming the
/// field; nobody's channel → 404.
async fn target_of(
    state: &AppState,
    banned_channel_arn: Option<String>,
    code: ErrorCode,
) -> Result<(ChannelArn, ChannelRecord), ApiError> {
    let raw = banned_channel_arn
        .filter(|arn| !arn.is_empty())
        .ok_or_else(missing_field)?;
    let arn = ChannelArn::parse(&raw)
        .map_err(|err| ApiError::bad_request(format!("bannedChannelArn: {err}")))?;
    let target = state
        .channels
        .get_by_channel_arn(&arn)
        .await
        .fail_with(code)?
        .ok_or_else(user_not_found)?;
    Ok((arn, target))
}

/// `POST /channel/ban`: stores the ban on the caller's channel and disconnects the banned user from
/// the caller's chat room.
#[utoipa::path(
    post,
    path = "/channel/ban",
    tag = "chat",
    request_body = BanRequest,
    security(("accessToken" = [])),
    responses(
        (status = 200, description = "Banned (`{}`)", body = crate::openapi::Empty),
        (status = 400, description = "Missing (`UnexpectedException`) or malformed (`BadRequestException`) `bannedChannelArn`, or the caller's own channel", body = crate::openapi::ErrorBody),
        crate::openapi::MissingOrInvalidToken,
        (status = 404, description = "No user has this channel (`UserNotFoundException`)", body = crate::openapi::ErrorBody),
        crate::openapi::DynamoUnavailable,
    )
)]
pub async fn ban_user(
    body: Json<BanRequest>,
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Empty>, ApiError> {
    let banned_channel_arn = body.into_inner().banned_channel_arn;
    let caller = state
        .channels
        .get(&user.sub)
        .await?
        .ok_or_else(user_not_found)?;
    let (arn, target) = target_of(&state, banned_channel_arn, ErrorCode::BanUserException).await?;
    if caller.channel_arn.as_ref() == Some(&arn) || target.id == user.sub {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnexpectedException,
        ));
    }
    state
        .channels
        .ban(&user.sub, &target.id)
        .await
        .map_err(missing_user_or(ErrorCode::BanUserException))?;
    if let Some(room) = &stored_room(caller.chat_room_arn.as_deref()) {
        // The stored ban is what enforces (no new token, no playback); the kick only ends the open
        // chat connection, so its failure is logged rather than failing the ban.
        if let Err(err) = state
            .chat
            .disconnect_user(room, arn.as_str(), BAN_DISCONNECT_REASON)
            .await
        {
            tracing::warn!(room = %room, banned = %arn, error = %err,
                "ban stored, but DisconnectUser failed");
        }
    }
    Ok(web::Json(Empty {}))
}

/// `POST /channel/unban`: lifts a ban. Unbanning someone not banned is fine.
#[utoipa::path(
    post,
    path = "/channel/unban",
    tag = "chat",
    request_body = BanRequest,
    security(("accessToken" = [])),
    responses(
        (status = 200, description = "Unbanned (`{}`)", body = crate::openapi::Empty),
        (status = 400, description = "Missing (`UnexpectedException`) or malformed (`BadRequestException`) `bannedChannelArn`", body = crate::openapi::ErrorBody),
        crate::openapi::MissingOrInvalidToken,
        (status = 404, description = "No user has this channel (`UserNotFoundException`)", body = crate::openapi::ErrorBody),
        crate::openapi::DynamoUnavailable,
    )
)]
pub async fn unban_user(
    body: Json<BanRequest>,
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Empty>, ApiError> {
    let (_, target) = target_of(
        &state,
        body.into_inner().banned_channel_arn,
        ErrorCode::UnbanUserException,
    )
    .await?;
    state
        .channels
        .unban(&user.sub, &target.id)
        .await
        .map_err(missing_user_or(ErrorCode::UnbanUserException))?;
    Ok(web::Json(Empty {}))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use ugc_dynamo::ChannelAsset;

    use super::*;

    fn record(id: &str, username: &str, resource: Option<&str>) -> ChannelRecord {
        ChannelRecord {
            id: id.into(),
            username: username.into(),
            email: Some(format!("{username}@example.com")),
            avatar: Some("bear".into()),
            color: Some("blue".into()),
            banner: None,
            channel_arn: resource.map(|r| {
                ChannelArn::parse(&format!("arn:aws:ivs:us-west-2:123456789012:channel/{r}"))
                    .unwrap()
            }),
            chat_room_arn: None,
            ingest_endpoint: None,
            playback_url: None,
            stream_key_arn: None,
            stream_key_value: Some("sk_secret".into()),
            tracking_id: None,
            channel_asset_id: None,
            channel_assets: BTreeMap::new(),
            following_list: Vec::new(),
            banned_user_subs: BTreeSet::new(),
        }
    }

    fn user(sub: &str, username: &str) -> AuthUser {
        AuthUser {
            sub: sub.into(),
            username: username.into(),
        }
    }

    #[test]
    fn viewers_chat_as_their_channel_arn_with_public_attributes() {
        let mut caller = record("v", "Viewer", Some("viewerChannel"));
        caller.channel_assets.insert(
            "avatar".into(),
            ChannelAsset {
                url: Some("https://cdn/a/avatar?versionId=1".into()),
                ..ChannelAsset::default()
            },
        );
        let owner = record("o", "Owner", Some("ownerChannel"));
        let grant = signed_in_grant(&user("v", "viewer-signup"), Some(&caller), &owner);
        let arn = "arn:aws:ivs:us-west-2:123456789012:channel/viewerChannel";
        assert_eq!(grant.user_id, arn);
        assert_eq!(grant.capabilities, vec![ChatCapability::SendMessage]);
        let expected: HashMap<String, String> = [
            ("avatar", "bear"),
            ("color", "blue"),
            ("displayName", "Viewer"),
            ("channelArn", arn),
            (
                "channelAssetUrls",
                r#"{"avatar":"https://cdn/a/avatar?versionId=1"}"#,
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            grant.attributes, expected,
            "no private fields in attributes"
        );
    }

    #[test]
    fn the_owner_moderates() {
        let owner = record("o", "Owner", Some("ownerChannel"));
        let grant = signed_in_grant(&user("o", "Owner"), Some(&owner), &owner);
        assert_eq!(
            grant.capabilities,
            vec![
                ChatCapability::SendMessage,
                ChatCapability::DeleteMessage,
                ChatCapability::DisconnectUser
            ]
        );
    }

    #[test]
    fn callers_without_a_channel_chat_under_their_sub() {
        let owner = record("o", "Owner", Some("ownerChannel"));
        let caller = record("v", "Viewer", None);
        let grant = signed_in_grant(&user("v", "viewer"), Some(&caller), &owner);
        assert_eq!(grant.user_id, "user-v");
        assert_eq!(grant.attributes.get("channelAssetUrls").unwrap(), "{}");
        assert!(!grant.attributes.contains_key("channelArn"));
        let grant = signed_in_grant(&user("v", "viewer"), None, &owner);
        assert_eq!(grant.user_id, "user-v");
        assert_eq!(grant.attributes.get("displayName").unwrap(), "viewer");
    }

    #[test]
    fn anonymous_viewers_only_watch() {
        let grant = anonymous_grant();
        assert!(grant.user_id.starts_with("unknown-user-"));
        assert!(grant.capabilities.is_empty());
        assert!(grant.attributes.is_empty());
    }

    #[test]
    fn token_keys_follow_upstream_order() {
        let json = serde_json::to_string(&ChatTokenResponse {
            capabilities: vec!["VIEW_MESSAGE".into()],
            token: "t".into(),
            session_expiration_time: "s".into(),
            token_expiration_time: "e".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"capabilities":["VIEW_MESSAGE"],"token":"t","sessionExpirationTime":"s","tokenExpirationTime":"e"}"#
        );
    }
}
