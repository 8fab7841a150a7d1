//! Stream actions: timed metadata on the caller's live stream (docs/contract.md §5.9, §10).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use ugc_aws::VideoError;
use ugc_domain::{ErrorCode, StreamActionMetadata};
use ugc_web::routing::resource;
use ugc_web::{Action, ApiError, AuthUser, FailWith, Json, RateKey, RateLimiter};
use utoipa::ToSchema;

use crate::error::{invalid, user_not_found};
use crate::routes::{rate_limit, required};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/channel/actions/send").route(web::post().to(send_action)));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamActionBody {
    /// Opaque payload for the viewers' players (the SPA sends lz-string Base64), at most 1024 bytes.
    pub metadata: Option<String>,
}

/// Sends timed metadata to the caller's live stream. Throttling by IVS (5 calls per second per
/// channel) is retried with backoff before answering 429.
#[utoipa::path(
    post, path = "/channel/actions/send", tag = "actions",
    request_body = StreamActionBody,
    responses(
        (status = 200, description = "`{}`", body = crate::openapi::Empty),
        (status = 400, description = "`UnexpectedException` (missing), `TimedMetadataValidationException` (too large or refused by IVS, with message)", body = crate::openapi::ErrorBody),
        crate::openapi::Unauthorized,
        crate::openapi::NoChannelYet,
        (status = 409, description = "`ChannelNotBroadcastingException`: the channel is offline", body = crate::openapi::ErrorBody),
        (status = 429, description = "`TooManyRequestsException`", body = crate::openapi::ErrorBody),
        (status = 500, description = "`TimedMetadataException`", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn send_action(
    state: web::Data<AppState>,
    limiter: web::Data<RateLimiter>,
    user: AuthUser,
    body: Json<StreamActionBody>,
) -> Result<HttpResponse, ApiError> {
    let raw = required("metadata", &body.metadata, ErrorCode::UnexpectedException)?;
    let metadata = StreamActionMetadata::parse(raw)
        .map_err(|e| invalid(ErrorCode::TimedMetadataValidationException, e.0))?;
    rate_limit(
        &limiter,
        Action::StreamAction,
        &RateKey::User(user.sub.clone()),
    )?;
    let code = ErrorCode::TimedMetadataException;
    let arn = state
        .channels
        .get(&user.sub)
        .await
        .fail_with(code)?
        .and_then(|record| record.channel_arn)
        .ok_or_else(user_not_found)?;
    match state.video.put_metadata(&arn, metadata.as_str()).await {
        Ok(()) => Ok(super::account::empty_ok()),
        Err(VideoError::NotBroadcasting) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::ChannelNotBroadcastingException,
        )),
        Err(VideoError::Validation(message)) => Err(invalid(
            ErrorCode::TimedMetadataValidationException,
            message,
        )),
        Err(err) => Err(ApiError::from_failure(&err, code)),
    }
}
