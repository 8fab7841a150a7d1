//! First-login provisioning of the IVS channel and chat room, and stream-key resets (docs/contract.md §5.2,
//! §5.3).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use ugc_domain::{
    channel_asset_id, channel_name_base, tracking_id, ChannelArn, ChatRoomArn, ErrorCode,
};
use ugc_dynamo::{ChannelResources, DbError, ProvisioningClaim};
use ugc_web::routing::resource;
use ugc_web::{ApiError, AuthUser, FailWith, Json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{missing_user_or, user_not_found};
use crate::routes::required;
use crate::state::AppState;

/// How long a provisioning claim blocks other attempts if its holder dies mid-way.
pub const PROVISIONING_LEASE: Duration = Duration::from_secs(30);
/// How long a concurrent request waits for another one's provisioning before answering 409.
pub const PROVISIONING_WAIT: Duration = Duration::from_secs(10);
const PROVISIONING_POLL: Duration = Duration::from_millis(150);

// The deprecated GET is still served: the SPA calls it.
#[allow(deprecated)]
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/channel/resources/create").route(web::post().to(create_resources)))
        .service(
            resource("/channel/streamKey/reset")
                .route(web::get().to(reset_stream_key_get))
                .route(web::post().to(reset_stream_key)),
        );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResourcesBody {
    /// Required (the SPA sends the ID token's e-mail); otherwise unused.
    pub email: Option<String>,
    /// Sent by the SPA; ignored (the channel is named after the token's username).
    pub username: Option<String>,
}

/// Creates the caller's IVS channel and chat room, exactly once per user even when several requests
/// race: one claims provisioning in the profile, creates both and records them; the others wait for
/// it (up to 10 s, then 409 `ConflictException`) and answer 200. Resources created by an attempt
/// that fails are deleted again.
#[utoipa::path(
    post, path = "/channel/resources/create", tag = "profile",
    request_body = CreateResourcesBody,
    responses(
        (status = 201, description = "Created, `{}`", body = crate::openapi::Empty),
        (status = 200, description = "Already created, `{}`", body = crate::openapi::Empty),
        (status = 400, description = "`BadRequestException`: missing `email`", body = crate::openapi::ErrorBody),
        crate::openapi::Unauthorized,
        (status = 404, description = "`UserNotFoundException`: no profile", body = crate::openapi::ErrorBody),
        (status = 409, description = "`ConflictException`: another request is still creating them", body = crate::openapi::ErrorBody),
        crate::openapi::Unavailable,
    ),
    security(("accessToken" = []))
)]
pub async fn create_resources(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateResourcesBody>,
) -> Result<HttpResponse, ApiError> {
    required("email", &body.email, ErrorCode::BadRequestException)?;
    let token = Uuid::new_v4().to_string();
    let deadline = Instant::now() + PROVISIONING_WAIT;
    loop {
        let claim = state
            .channels
            .claim_provisioning(&user.sub, &token, PROVISIONING_LEASE)
            .await
            .map_err(missing_user_or(ErrorCode::UnexpectedException))?;
        match claim {
            ProvisioningClaim::AlreadyProvisioned => return Ok(super::account::empty_ok()),
            ProvisioningClaim::Claimed => {
                return match provision(&state, &user, &token).await {
                    Ok(true) => Ok(HttpResponse::Created().json(serde_json::json!({}))),
                    // The claim was lost to a later attempt, which owns the channel now.
                    Ok(false) => Ok(super::account::empty_ok()),
                    Err(err) => {
                        if let Err(release) =
                            state.channels.release_provisioning(&user.sub, &token).await
                        {
                            tracing::warn!(sub = %user.sub, error = %release, "could not release the provisioning claim; it expires with its lease");
                        }
                        Err(err)
                    }
                };
            }
            ProvisioningClaim::InProgress if Instant::now() < deadline => {
                tokio::time::sleep(PROVISIONING_POLL).await;
            }
            ProvisioningClaim::InProgress => {
                return Err(
                    ApiError::new(StatusCode::CONFLICT, ErrorCode::ConflictException)
                        .with_message("the channel is being created; retry shortly"),
                )
            }
        }
    }
}

/// Creates the channel and room and records them under the claim. `Ok(false)` when the claim was
/// lost meanwhile (the resources created here are deleted again). On error everything created is
/// deleted before returning.
async fn provision(state: &AppState, user: &AuthUser, token: &str) -> Result<bool, ApiError> {
    let config = &state.config;
    let base = channel_name_base(&user.username);
    let tags = HashMap::from([("project".to_owned(), config.project_tag.clone())]);
    let channel = state
        .video
        .create_channel(
            &format!("{base}s-channel"),
            &config.ivs_channel_type,
            config.ivs_transcode_preset.as_deref(),
            tags.clone(),
        )
        .await?;
    let room = match state.chat.create_room(&format!("{base}s-room"), tags).await {
        Ok(room) => room,
        Err(err) => {
            cleanup(state, &channel.channel_arn, None).await;
            return Err(ApiError::from(err));
        }
    };
    let recorded = record(state, user, token, &channel, &room).await;
    match recorded {
        Ok(()) => Ok(true),
        Err(err) => {
            cleanup(state, &channel.channel_arn, Some(&room)).await;
            match err {
                DbError::ConditionFailed => Ok(false),
                other => Err(ApiError::from(other)),
            }
        }
    }
}

async fn record(
    state: &AppState,
    user: &AuthUser,
    token: &str,
    channel: &ugc_aws::CreatedChannel,
    room: &ChatRoomArn,
) -> Result<(), DbError> {
    let config = &state.config;
    let resources = ChannelResources {
        tracking_id: tracking_id(
            channel.channel_arn.resource_id(),
            config.product_link_region_code.as_deref(),
        ),
        channel_arn: channel.channel_arn.clone(),
        chat_room_arn: room.clone(),
        ingest_endpoint: channel.ingest_endpoint.clone(),
        playback_url: channel.playback_url.clone(),
        stream_key_arn: channel.stream_key_arn.clone(),
        stream_key_value: channel.stream_key_value.clone(),
        channel_asset_id: channel_asset_id(&user.sub, config.asset_namespace).to_string(),
    };
    state
        .channels
        .complete_provisioning(&user.sub, token, &resources)
        .await
}

/// Best-effort removal of resources nobody will record; failures are logged for the operator.
async fn cleanup(state: &AppState, channel_arn: &ChannelArn, room: Option<&ChatRoomArn>) {
    if let Err(err) = state.video.delete_channel(channel_arn).await {
        tracing::error!(%channel_arn, error = %err, "orphaned IVS channel: delete it by hand");
    }
    if let Some(room) = room {
        if let Err(err) = state.chat.delete_room(room).await {
            tracing::error!(%room, error = %err, "orphaned chat room: delete it by hand");
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamKeyReset {
    /// The new secret stream key.
    pub stream_key_value: String,
}

/// The SPA's `GET` form of the stream-key reset (upstream's only method); deprecated in favour of
/// `POST`, which it answers identically.
#[utoipa::path(
    get, path = "/channel/streamKey/reset", tag = "profile",
    operation_id = "reset_stream_key_get",
    responses(
        (status = 200, body = StreamKeyReset),
        crate::openapi::Unauthorized,
        crate::openapi::NoChannelYet,
        (status = 500, description = "`ResetStreamKeyException`", body = crate::openapi::ErrorBody),
        crate::openapi::Unavailable,
    ),
    security(("accessToken" = []))
)]
#[deprecated(note = "the SPA's GET; use POST /channel/streamKey/reset")]
pub async fn reset_stream_key_get(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    reset_stream_key(state, user).await
}

/// Stops a live stream, replaces the stream key and returns the new one. `GET` stays for the SPA;
/// `POST` is the honest method.
#[utoipa::path(
    post, path = "/channel/streamKey/reset", tag = "profile",
    responses(
        (status = 200, body = StreamKeyReset),
        crate::openapi::Unauthorized,
        crate::openapi::NoChannelYet,
        (status = 500, description = "`ResetStreamKeyException`", body = crate::openapi::ErrorBody),
        crate::openapi::Unavailable,
    ),
    security(("accessToken" = []))
)]
pub async fn reset_stream_key(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let code = ErrorCode::ResetStreamKeyException;
    let record = state
        .channels
        .get(&user.sub)
        .await
        .fail_with(code)?
        .ok_or_else(user_not_found)?;
    let Some(arn) = record.channel_arn else {
        return Err(user_not_found());
    };
    let video = &state.video;
    video.stop_stream(&arn).await.fail_with(code)?;
    if let Some(old) = &record.stream_key_arn {
        video.delete_stream_key(old).await.fail_with(code)?;
    }
    let key = video.create_stream_key(&arn).await.fail_with(code)?;
    state
        .channels
        .update_stream_key(&user.sub, &key.arn, &key.value)
        .await
        .fail_with(code)?;
    Ok(HttpResponse::Ok().json(StreamKeyReset {
        stream_key_value: key.value,
    }))
}
