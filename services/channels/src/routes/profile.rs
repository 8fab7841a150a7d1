//! The caller's own profile: read it, rename, change preferences (docs/contract.md §5.1, §5.4, §5.5).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;
use ugc_domain::{ingest_server_url, AssetType, Avatar, Color, ErrorCode, Username};
use ugc_dynamo::{ChannelRecord, DbError, PreferenceNames};
use ugc_web::routing::{resource, RoutePattern};
use ugc_web::{ApiError, AuthUser, FailWith, Json};
use utoipa::ToSchema;

use crate::error::{cognito_refusal, missing_user_or, user_not_found};
use crate::routes::{parse_username, required};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // One resource per path: actix answers 405 when a second resource repeats a path. Two static
    // resources rather than one with both paths: a resource with several paths is matched with a
    // regex set, tried for every request routed past it (the public channel page among them).
    for path in ["/channel", "/channel/"] {
        cfg.service(
            web::resource(path)
                .app_data(RoutePattern("/channel"))
                .route(web::get().to(get_own_channel))
                .route(web::delete().to(super::account::delete_account)),
        );
    }
    cfg.service(resource("/channel/username/update").route(web::put().to(update_username)))
        .service(resource("/channel/preferences/update").route(web::put().to(update_preferences)));
}

/// The caller's profile and channel, including the secret stream key (only ever sent to its owner).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnChannel {
    pub channel_resource_id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_key_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest_server_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    /// Uploaded image URLs by asset type (`avatar`, `banner`).
    pub channel_asset_urls: BTreeMap<String, String>,
}

impl OwnChannel {
    fn from_record(record: ChannelRecord, ingest_server_url_format: &str) -> Option<Self> {
        let channel_asset_urls = record.channel_asset_urls();
        let arn = record.channel_arn?;
        Some(Self {
            channel_resource_id: arn.resource_id().as_str().to_owned(),
            ingest_server_url: record
                .ingest_endpoint
                .as_deref()
                .map(|endpoint| ingest_server_url(ingest_server_url_format, endpoint)),
            username: record.username,
            avatar: record.avatar,
            color: record.color,
            playback_url: record.playback_url,
            stream_key_value: record.stream_key_value,
            ingest_endpoint: record.ingest_endpoint,
            tracking_id: record.tracking_id,
            channel_asset_urls,
        })
    }
}

/// The caller's own profile, read fresh. Before `POST /channel/resources/create` has run there is no
/// channel yet: 404, which the SPA answers by creating the resources.
#[utoipa::path(
    get, path = "/channel", tag = "profile",
    responses(
        (status = 200, body = OwnChannel),
        crate::openapi::Unauthorized,
        (status = 404, description = "`UserNotFoundException`: no profile or no channel yet", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn get_own_channel(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let record = state.channels.get(&user.sub).await?;
    let channel = record
        .and_then(|record| OwnChannel::from_record(record, &state.config.ingest_server_url_format))
        .ok_or_else(user_not_found)?;
    Ok(HttpResponse::Ok().json(channel))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UsernameUpdateBody {
    pub new_username: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsernameUpdated {
    pub username: String,
}

/// Renames the caller: the same rules as registration, unique in any casing. The profile and the
/// Cognito `preferred_username` alias (which the user signs in with) change together; when the
/// second write fails the first is undone.
#[utoipa::path(
    put, path = "/channel/username/update", tag = "profile",
    request_body = UsernameUpdateBody,
    responses(
        (status = 200, body = UsernameUpdated),
        (status = 400, description = "`UnexpectedException` (missing), `ReservedUsernameException`, `ChangeUsernameException` (invalid name, with message), `AliasExistsException` (taken)", body = crate::openapi::ErrorBody),
        crate::openapi::Unauthorized,
        (status = 404, description = "`UserNotFoundException`", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn update_username(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<UsernameUpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let raw = required(
        "newUsername",
        &body.new_username,
        ErrorCode::UnexpectedException,
    )?;
    let new = parse_username(raw, ErrorCode::ChangeUsernameException)?;
    let code = ErrorCode::ChangeUsernameException;
    let current = state
        .channels
        .get(&user.sub)
        .await
        .fail_with(code)?
        .ok_or_else(user_not_found)?;
    if current.username != new.as_str() {
        let owner = state.channels.username_owner(&new).await.fail_with(code)?;
        if owner.is_some_and(|sub| sub != user.sub) {
            return Err(alias_taken());
        }
        rename(&state, &user, &current.username, &new).await?;
    }
    Ok(HttpResponse::Ok().json(UsernameUpdated {
        username: new.into_string(),
    }))
}

fn alias_taken() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::Cognito("AliasExistsException"),
    )
}

/// Cognito first (it refuses an alias another user has), then the profile (which refuses a name
/// taken in any casing); a failed profile write puts the old alias back.
async fn rename(
    state: &AppState,
    user: &AuthUser,
    old: &str,
    new: &Username,
) -> Result<(), ApiError> {
    let code = ErrorCode::ChangeUsernameException;
    state
        .identity
        .set_preferred_username(&user.username, new.as_str())
        .await
        .map_err(|e| cognito_refusal(&e, code, false))?;
    let Err(err) = state.channels.rename(&user.sub, new).await else {
        return Ok(());
    };
    if let Err(undo) = state
        .identity
        .set_preferred_username(&user.username, old)
        .await
    {
        tracing::error!(sub = %user.sub, error = %undo, "rename failed and the Cognito alias could not be restored");
    }
    Err(match err {
        DbError::ConditionFailed => alias_taken(),
        DbError::NotFound => user_not_found(),
        other => ApiError::from_failure(&other, code),
    })
}

/// One preference: a name (`{"name": "blue"}`) or an uploaded image (`previewUrl` + `uploadDateTime`,
/// with an optional name such as `custom`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Preference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<String>,
    /// When the image was uploaded: the S3 `Date` header (`Thu, 02 Feb 2023 21:02:58 GMT`) or ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_date_time: Option<String>,
}

/// Only `color`, `avatar` and `banner` can be set; the body is echoed back on success.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Preference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<Preference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<Preference>,
}

/// An uploaded image to record.
struct AssetUpdate {
    asset: AssetType,
    url: String,
    uploaded_ms: i64,
    name: Option<String>,
}

const MAX_URL_LEN: usize = 2048;
const MAX_BANNER_NAME_LEN: usize = 64;

fn bad_preference(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("body/{field}: {why}"))
}

fn parse_upload_time(raw: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(raw, &Rfc2822)
        .ok()
        .or_else(|| ugc_domain::parse_iso(raw))?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

impl Preference {
    /// `Some` when the preference is an uploaded image; both fields or neither.
    fn asset(&self, field: &str, asset: AssetType) -> Result<Option<AssetUpdate>, ApiError> {
        match (&self.preview_url, &self.upload_date_time) {
            (None, None) => Ok(None),
            (Some(url), Some(when)) => {
                let url_ok = (url.starts_with("https://") || url.starts_with("http://"))
                    && url.len() <= MAX_URL_LEN;
                if !url_ok {
                    return Err(bad_preference(field, "previewUrl must be an http(s) URL"));
                }
                let uploaded_ms = parse_upload_time(when).ok_or_else(|| {
                    bad_preference(field, "uploadDateTime must be an HTTP date or ISO 8601")
                })?;
                Ok(Some(AssetUpdate {
                    asset,
                    url: url.clone(),
                    uploaded_ms,
                    name: None,
                }))
            }
            _ => Err(bad_preference(
                field,
                "previewUrl and uploadDateTime go together",
            )),
        }
    }
}

impl PreferencesBody {
    /// The validated names and image updates.
    fn plan(&self) -> Result<(PreferenceNames, Vec<AssetUpdate>), ApiError> {
        let mut names = PreferenceNames::default();
        let mut assets = Vec::new();
        if let Some(color) = &self.color {
            if color.preview_url.is_some() || color.upload_date_time.is_some() {
                return Err(bad_preference("color", "a colour has only a name"));
            }
            let name = color
                .name
                .as_deref()
                .ok_or_else(|| bad_preference("color", "missing field `name`"))?;
            names.color = Some(Color::parse(name).map_err(|e| bad_preference("color", e))?);
        }
        if let Some(avatar) = &self.avatar {
            let name = avatar
                .name
                .as_deref()
                .map(Avatar::parse)
                .transpose()
                .map_err(|e| bad_preference("avatar", e))?;
            match avatar.asset("avatar", AssetType::Avatar)? {
                Some(mut update) => {
                    update.name = name.map(|n| n.as_str().to_owned());
                    assets.push(update);
                }
                None => {
                    names.avatar =
                        Some(name.ok_or_else(|| bad_preference("avatar", "missing field `name`"))?);
                }
            }
        }
        if let Some(banner) = &self.banner {
            if banner
                .name
                .as_ref()
                .is_some_and(|n| n.chars().count() > MAX_BANNER_NAME_LEN)
            {
                return Err(bad_preference("banner", "name is too long"));
            }
            match banner.asset("banner", AssetType::Banner)? {
                Some(mut update) => {
                    update.name.clone_from(&banner.name);
                    assets.push(update);
                }
                None => {
                    names.banner = Some(banner.name.clone().ok_or_else(|| {
                        bad_preference("banner", "expected previewUrl and uploadDateTime")
                    })?);
                }
            }
        }
        if names == PreferenceNames::default() && assets.is_empty() {
            return Err(ApiError::bad_request(
                "Missing new user preferences: expected color, avatar or banner",
            ));
        }
        Ok((names, assets))
    }
}

/// Sets the profile colour, avatar or banner and echoes the body. An uploaded image older than the
/// stored one leaves the newer one in place (and still answers 200).
#[utoipa::path(
    put, path = "/channel/preferences/update", tag = "profile",
    request_body = PreferencesBody,
    responses(
        (status = 200, description = "The request body, echoed", body = PreferencesBody),
        (status = 400, description = "`BadRequestException`: empty, unknown key, unknown colour/avatar, half an upload", body = crate::openapi::ErrorBody),
        crate::openapi::Unauthorized,
        (status = 404, description = "`UserNotFoundException`", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn update_preferences(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<PreferencesBody>,
) -> Result<HttpResponse, ApiError> {
    let (names, assets) = body.plan()?;
    let code = ErrorCode::ChangeUserPreferencesException;
    let to_api = missing_user_or(code);
    state
        .channels
        .update_preferences(&user.sub, &names)
        .await
        .map_err(to_api)?;
    for update in &assets {
        state
            .channels
            .set_asset_url(
                &user.sub,
                update.asset,
                &update.url,
                update.uploaded_ms,
                update.name.as_deref(),
            )
            .await
            .map_err(to_api)?;
    }
    Ok(HttpResponse::Ok().json(body.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_times_parse_as_http_dates_and_iso() {
        assert_eq!(
            parse_upload_time("Thu, 02 Feb 2023 21:02:58 GMT"),
            Some(1_675_371_778_000)
        );
        assert_eq!(
            parse_upload_time("2023-02-02T21:02:58.123Z"),
            Some(1_675_371_778_123)
        );
        assert_eq!(parse_upload_time("yesterday"), None);
    }
}
