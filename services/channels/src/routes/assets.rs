//! Avatar and banner uploads (browser → S3 by presigned POST) and deletion (docs/contract.md §5.6, §5.7).

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use ugc_domain::{AssetType, ErrorCode, ImageContentType};
use ugc_web::routing::resource;
use ugc_web::{Action, ApiError, AuthUser, Json, RateKey, RateLimiter};
use utoipa::ToSchema;

use crate::error::{invalid, missing_user_or, user_not_found};
use crate::routes::rate_limit;
use crate::state::AppState;

/// How long the browser has to start the upload.
pub const PRESIGNED_POST_EXPIRY: Duration = Duration::from_secs(20);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/channel/assets/imagePresignedPost/create")
            .route(web::post().to(create_presigned_post)),
    )
    .service(resource("/channel/asset").route(web::delete().to(delete_asset)));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PresignedPostBody {
    /// `avatar` or `banner`.
    pub asset_type: Option<String>,
    /// `image/jpeg`, `image/jpg` or `image/png`.
    pub content_type: Option<String>,
}

/// Post every field, then `Content-Type` and `file` (last), as multipart to `url`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresignedPostResponse {
    pub url: String,
    /// `bucket`, `key`, `Policy`, `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
    /// `X-Amz-Signature` and, with temporary credentials, `X-Amz-Security-Token`.
    pub fields: BTreeMap<String, String>,
}

/// A presigned POST for `<channelAssetId>/<assetType>`: valid 20 seconds, only the declared content
/// type, at most 1 MB (avatar) or 5 MB (banner).
#[utoipa::path(
    post, path = "/channel/assets/imagePresignedPost/create", tag = "assets",
    request_body = PresignedPostBody,
    responses(
        (status = 200, body = PresignedPostResponse),
        (status = 400, description = "`InvalidPresignedPostInputException` with a message", body = crate::openapi::ErrorBody),
        crate::openapi::Unauthorized,
        crate::openapi::NoChannelYet,
        (status = 429, description = "`TooManyRequestsException`", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn create_presigned_post(
    state: web::Data<AppState>,
    limiter: web::Data<RateLimiter>,
    user: AuthUser,
    body: Json<PresignedPostBody>,
) -> Result<HttpResponse, ApiError> {
    let code = ErrorCode::InvalidPresignedPostInputException;
    let asset = AssetType::parse(body.asset_type.as_deref().unwrap_or_default())
        .map_err(|e| invalid(code, e.0))?;
    let content_type = ImageContentType::parse(body.content_type.as_deref().unwrap_or_default())
        .map_err(|e| invalid(code, e.0))?;
    rate_limit(
        &limiter,
        Action::PresignedPost,
        &RateKey::User(user.sub.clone()),
    )?;
    let asset_id = channel_asset_id(&state, &user.sub).await?;
    let post = state
        .assets
        .presigned_post(
            &format!("{asset_id}/{}", asset.as_str()),
            content_type.as_str(),
            asset.max_bytes(),
            PRESIGNED_POST_EXPIRY,
        )
        .await?;
    Ok(HttpResponse::Ok().json(PresignedPostResponse {
        fields: post
            .fields
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        url: post.url,
    }))
}

async fn channel_asset_id(state: &AppState, sub: &str) -> Result<String, ApiError> {
    state
        .channels
        .get(sub)
        .await?
        .and_then(|record| record.channel_asset_id)
        .ok_or_else(user_not_found)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteAssetBody {
    /// `avatar` or `banner`.
    pub asset_type: Option<String>,
}

/// Deletes the uploaded image and clears its URL (the avatar name is left as it is).
#[utoipa::path(
    delete, path = "/channel/asset", tag = "assets",
    request_body = DeleteAssetBody,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`DeleteChannelAssetException` with a message", body = crate::openapi::ErrorBody),
        crate::openapi::Unauthorized,
        crate::openapi::NoChannelYet,
    ),
    security(("accessToken" = []))
)]
pub async fn delete_asset(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<DeleteAssetBody>,
) -> Result<HttpResponse, ApiError> {
    let code = ErrorCode::DeleteChannelAssetException;
    let raw = body.asset_type.as_deref().ok_or_else(|| {
        invalid(
            code,
            format!(
                "Missing an assetType to delete for user {}. Received: undefined.",
                user.username
            ),
        )
    })?;
    let asset = AssetType::parse(raw).map_err(|e| invalid(code, e.0))?;
    let asset_id = channel_asset_id(&state, &user.sub).await?;
    state
        .assets
        .delete_object(&format!("{asset_id}/{}", asset.as_str()))
        .await?;
    state
        .channels
        .clear_asset(&user.sub, asset)
        .await
        .map_err(missing_user_or(ErrorCode::UnexpectedException))?;
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}
