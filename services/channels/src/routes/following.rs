//! Following channels (docs/contract.md §5.12, §5.13, with the deliberate deviations: the directory's
//! definition of live, no limit on the number of follows, missing channels skipped).
//!
//! A follow is one conditional update of the caller's list, so concurrent follows never lose each
//! other. The list is the caller's own data: always read fresh, never cached.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ugc_domain::{ChannelArn, ChannelResourceId, ErrorCode};
use ugc_dynamo::{ChannelRecord, DbError, FollowOutcome, LiveSession};
use ugc_web::routing::resource;
use ugc_web::{Action, ApiError, AuthUser, ClientIp, Json, RateKey, RateLimiter};
use utoipa::ToSchema;

use crate::error::{missing_user_or, user_not_found};
use crate::openapi::Empty;
use crate::routes::public::{live_channel_owner, ChannelList, MAX_RESULTS};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/channel/followingList/add").route(web::put().to(follow)))
        .service(resource("/channel/followingList/remove").route(web::put().to(unfollow)))
        .service(resource("/channel/followingList").route(web::get().to(following_list)));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowRequest {
    /// Exact (case-sensitive) current username of the channel owner.
    followed_username: Option<String>,
}

/// One followed channel (docs/contract.md §5.13: exactly these fields).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowedChannel {
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<String>,
    username: String,
    channel_asset_urls: BTreeMap<String, String>,
    is_live: bool,
}

/// A followed channel to show, in display order, before its profile is read.
#[derive(Debug, PartialEq, Eq)]
enum Candidate<'a> {
    Live(&'a LiveSession),
    Offline(&'a ChannelArn),
}

/// The channel a follow request names: missing → 400 `BadRequestException`, unknown → 404, the
/// caller's own → 400, a user without a channel → 404.
async fn followed_channel(
    state: &AppState,
    user: &AuthUser,
    followed_username: Option<String>,
) -> Result<ChannelResourceId, ApiError> {
    let username = followed_username
        .filter(|name| !name.is_empty())
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequestException))?;
    let target = state
        .channels
        .get_by_username(&username)
        .await?
        .ok_or_else(user_not_found)?;
    if target.id == user.sub {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnexpectedException,
        ));
    }
    target
        .channel_arn
        .map(|arn| arn.resource_id().clone())
        .ok_or_else(user_not_found)
}

/// `PUT /channel/followingList/add`: 200 `{}` when followed now, 204 when already followed.
#[utoipa::path(
    put,
    path = "/channel/followingList/add",
    tag = "following",
    request_body = FollowRequest,
    security(("accessToken" = [])),
    responses(
        (status = 200, description = "Followed (`{}`)", body = crate::openapi::Empty),
        (status = 204, description = "Already followed"),
        (status = 400, description = "No `followedUsername` (`BadRequestException`) or the caller's own (`UnexpectedException`)", body = crate::openapi::ErrorBody),
        crate::openapi::MissingOrInvalidToken,
        (status = 404, description = "No such user or channel (`UserNotFoundException`)", body = crate::openapi::ErrorBody),
        (status = 429, description = "Too many follow changes (`TooManyRequestsException`)", body = crate::openapi::ErrorBody),
        crate::openapi::DynamoUnavailable,
    )
)]
pub async fn follow(
    body: Json<FollowRequest>,
    user: AuthUser,
    ip: ClientIp,
    limiter: web::Data<RateLimiter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    limiter.check(Action::Follow, &RateKey::new(Some(&user), ip))?;
    let channel = followed_channel(&state, &user, body.into_inner().followed_username).await?;
    match state.channels.follow(&user.sub, &channel).await {
        Ok(FollowOutcome::Followed) => Ok(HttpResponse::Ok().json(Empty {})),
        Ok(FollowOutcome::AlreadyFollowing) => Ok(HttpResponse::NoContent().finish()),
        Err(err) => Err(missing_user_or(ErrorCode::UnexpectedException)(err)),
    }
}

/// `PUT /channel/followingList/remove`: 200 `{}`, also when the channel was not followed.
#[utoipa::path(
    put,
    path = "/channel/followingList/remove",
    tag = "following",
    request_body = FollowRequest,
    security(("accessToken" = [])),
    responses(
        (status = 200, description = "Not followed any more (`{}`)", body = crate::openapi::Empty),
        (status = 400, description = "No `followedUsername` (`BadRequestException`) or the caller's own (`UnexpectedException`)", body = crate::openapi::ErrorBody),
        crate::openapi::MissingOrInvalidToken,
        (status = 404, description = "No such user or channel (`UserNotFoundException`)", body = crate::openapi::ErrorBody),
        (status = 429, description = "Too many follow changes (`TooManyRequestsException`)", body = crate::openapi::ErrorBody),
        crate::openapi::DynamoUnavailable,
    )
)]
pub async fn unfollow(
    body: Json<FollowRequest>,
    user: AuthUser,
    ip: ClientIp,
    limiter: web::Data<RateLimiter>,
    state: web::Data<AppState>,
) -> Result<web::Json<Empty>, ApiError> {
    limiter.check(Action::Follow, &RateKey::new(Some(&user), ip))?;
    let channel = followed_channel(&state, &user, body.into_inner().followed_username).await?;
    state
        .channels
        .unfollow(&user.sub, &channel)
        .await
        .map_err(missing_user_or(ErrorCode::UnexpectedException))?;
    Ok(web::Json(Empty {}))
}

/// `GET /channel/followingList`: live channels first (newest session first), then the offline ones
/// in the order they were followed (most recent first); at most 50.
#[utoipa::path(
    get,
    path = "/channel/followingList",
    tag = "following",
    security(("accessToken" = [])),
    responses(
        (status = 200, description = "Followed channels", body = ChannelList<FollowedChannel>),
        crate::openapi::MissingOrInvalidToken,
        crate::openapi::DynamoUnavailable,
    )
)]
pub async fn following_list(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<ChannelList<FollowedChannel>>, ApiError> {
    let Some(caller) = state.channels.get(&user.sub).await? else {
        return Ok(web::Json(ChannelList::new(Vec::new())));
    };
    let followed = followed_arns(&state, &caller);
    let live = state.streams.live_sessions_for(&followed).await?;
    let candidates = display_order(&followed, &live);
    let channels = resolve(&state, &candidates).await?;
    Ok(web::Json(ChannelList::new(channels)))
}

/// The followed channels' ARNs, once each, in list order. Ids that are not channel ids (never
/// written by this service) are skipped with a log line.
fn followed_arns(state: &AppState, caller: &ChannelRecord) -> Vec<ChannelArn> {
    let mut seen = HashSet::new();
    caller
        .following_list
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .filter_map(|id| {
            ChannelResourceId::parse(id)
                .and_then(|id| ChannelArn::new(&state.config.region, &state.config.account_id, &id))
                .map_err(|err| {
                    tracing::warn!(user = %caller.id, id = %id, %err,
                    "skipping an unusable followingList entry")
                })
                .ok()
        })
        .collect()
}

/// Live first in the order given (newest session first), then the rest in following order.
fn display_order<'a>(followed: &'a [ChannelArn], live: &'a [LiveSession]) -> Vec<Candidate<'a>> {
    let live_arns: HashSet<&ChannelArn> = live.iter().map(|s| &s.channel_arn).collect();
    live.iter()
        .map(Candidate::Live)
        .chain(
            followed
                .iter()
                .filter(|arn| !live_arns.contains(arn))
                .map(Candidate::Offline),
        )
        .collect()
}

/// Reads the candidates' profiles, a page of 50 at a time concurrently, until 50 resolve; channels
/// whose owner is gone (deleted accounts) are skipped.
async fn resolve(
    state: &AppState,
    candidates: &[Candidate<'_>],
) -> Result<Vec<FollowedChannel>, DbError> {
    let mut channels = Vec::new();
    for page in candidates.chunks(MAX_RESULTS) {
        let needed = MAX_RESULTS.saturating_sub(channels.len());
        if needed == 0 {
            break;
        }
        let records = try_join_all(page.iter().take(needed).map(|candidate| async move {
            let record = match candidate {
                Candidate::Live(session) => live_channel_owner(&state.channels, session).await?,
                Candidate::Offline(arn) => state.channels.get_by_channel_arn(arn).await?,
            };
            Ok::<_, DbError>(record.map(|r| followed_channel_of(&r, candidate)))
        }))
        .await?;
        channels.extend(records.into_iter().flatten());
    }
    Ok(channels)
}

fn followed_channel_of(record: &ChannelRecord, candidate: &Candidate<'_>) -> FollowedChannel {
    FollowedChannel {
        avatar: record.avatar.clone(),
        color: record.color.clone(),
        username: record.username.clone(),
        channel_asset_urls: record.channel_asset_urls(),
        is_live: matches!(candidate, Candidate::Live(_)),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use ugc_domain::StreamId;

    use super::*;

    fn arn(id: &str) -> ChannelArn {
        ChannelArn::parse(&format!("arn:aws:ivs:us-west-2:123456789012:channel/{id}")).unwrap()
    }

    fn live(id: &str, start: time::OffsetDateTime) -> LiveSession {
        LiveSession {
            channel_arn: arn(id),
            stream_id: StreamId::parse("st-1").unwrap(),
            start_time: start,
            user_sub: None,
        }
    }

    #[test]
    fn live_channels_come_first_then_the_following_order() {
        let followed = vec![arn("a"), arn("b"), arn("c"), arn("d")];
        let sessions = vec![
            live("c", datetime!(2022-06-09 18:39:27 UTC)),
            live("a", datetime!(2022-06-08 20:39:27 UTC)),
        ];
        let order = display_order(&followed, &sessions);
        assert_eq!(
            order,
            vec![
                Candidate::Live(&sessions[0]),
                Candidate::Live(&sessions[1]),
                Candidate::Offline(&followed[1]),
                Candidate::Offline(&followed[3]),
            ]
        );
    }

    #[test]
    fn followed_channel_keys_follow_upstream_order() {
        let json = serde_json::to_string(&FollowedChannel {
            avatar: Some("bear".into()),
            color: Some("blue".into()),
            username: "u".into(),
            channel_asset_urls: BTreeMap::new(),
            is_live: true,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"avatar":"bear","color":"blue","username":"u","channelAssetUrls":{},"isLive":true}"#
        );
    }
}
