//! Registration, password reset and account deletion (docs/contract.md §4.1, §4.2, §5.8).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use ugc_aws::VideoError;
use ugc_domain::{Avatar, ChannelArn, Color, Email, ErrorCode, Username};
use ugc_dynamo::{DbError, NewProfile};
use ugc_web::routing::resource;
use ugc_web::{Action, ApiError, AuthUser, ClientIp, FailWith, Json, RateKey, RateLimiter};
use utoipa::ToSchema;

use crate::error::{cognito_refusal, invalid};
use crate::routes::{parse_username, rate_limit, required};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/channel/register").route(web::post().to(register)))
        .service(resource("/channel/password/reset").route(web::post().to(reset_password)));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegisterBody {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    /// Sent by the SPA; checked there, ignored here.
    pub confirm_password: Option<String>,
    /// One of the built-in avatar names.
    pub avatar: Option<String>,
    /// One of the profile colours.
    pub color: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    /// True when the account is usable at once (auto-verification); false → "verify your e-mail".
    pub user_confirmed: bool,
}

struct Registration<'a> {
    username: Username,
    email: Email,
    password: &'a str,
    avatar: Avatar,
    color: Color,
}

impl<'a> Registration<'a> {
    /// The upstream validation order: fields present, e-mail domain allowed, username rules.
    fn parse(body: &'a RegisterBody, state: &AppState) -> Result<Self, ApiError> {
        let missing = ErrorCode::UnexpectedException;
        let username = required("username", &body.username, missing)?;
        let email = required("email", &body.email, missing)?;
        let password = required("password", &body.password, missing)?;
        let avatar = required("avatar", &body.avatar, missing)?;
        let color = required("color", &body.color, missing)?;
        let email = Email::parse(email)
            .map_err(|e| invalid(ErrorCode::AccountRegistrationException, e.0))?;
        if !state.config.sign_up_domain_allowed(email.domain()) {
            return Err(invalid(
                ErrorCode::AccountRegistrationException,
                "this e-mail domain may not register",
            ));
        }
        let username = parse_username(username, ErrorCode::AccountRegistrationException)?;
        Ok(Self {
            username,
            email,
            password,
            avatar: Avatar::parse(avatar).map_err(|e| ApiError::bad_request(e.0))?,
            color: Color::parse(color).map_err(|e| ApiError::bad_request(e.0))?,
        })
    }
}

fn username_taken() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::Cognito("UsernameExistsException"),
    )
    .with_message("User already exists")
}

/// Creates the Cognito user and the profile row. The username is unique in any casing: it is
/// checked before sign-up, and a name taken concurrently makes the profile write fail, which deletes
/// the just-created Cognito user again.
#[utoipa::path(
    post, path = "/channel/register", tag = "account",
    request_body = RegisterBody,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 400, description = "`UnexpectedException` (missing field), `AccountRegistrationException`, `ReservedUsernameException`, `EmailExistsException`, or a Cognito name such as `UsernameExistsException` / `InvalidPasswordException` (with Cognito's message)", body = crate::openapi::ErrorBody),
        (status = 429, description = "`TooManyRequestsException` (per client IP)", body = crate::openapi::ErrorBody),
        crate::openapi::Unavailable,
    )
)]
pub async fn register(
    state: web::Data<AppState>,
    limiter: web::Data<RateLimiter>,
    ip: ClientIp,
    body: Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let input = Registration::parse(&body, &state)?;
    rate_limit(&limiter, Action::SignUp, &RateKey::Ip(ip.0))?;
    let channels = &state.channels;
    if channels
        .get_by_email(input.email.as_str())
        .await
        .fail_with(ErrorCode::AccountRegistrationException)?
        .is_some()
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::EmailExistsException,
        ));
    }
    if channels
        .username_owner(&input.username)
        .await
        .fail_with(ErrorCode::AccountRegistrationException)?
        .is_some()
    {
        return Err(username_taken());
    }
    let signed_up = state
        .identity
        .sign_up(&input.username, input.password, &input.email)
        .await
        .map_err(|e| cognito_refusal(&e, ErrorCode::AccountRegistrationException, true))?;
    let profile = NewProfile {
        sub: signed_up.user_sub,
        username: input.username,
        email: input.email,
        avatar: input.avatar,
        color: input.color,
    };
    if let Err(err) = channels.create_profile(&profile).await {
        // Without a profile the account cannot be used; remove the Cognito user so the name and
        // e-mail can register again.
        if let Err(cleanup) = state
            .identity
            .admin_delete_user(profile.username.as_str())
            .await
        {
            tracing::error!(sub = %profile.sub, error = %cleanup, "could not remove the Cognito user of a failed registration");
        }
        return Err(match err {
            DbError::ConditionFailed => username_taken(),
            other => ApiError::from_failure(&other, ErrorCode::AccountRegistrationException),
        });
    }
    Ok(HttpResponse::Created().json(RegisterResponse {
        user_confirmed: signed_up.confirmed,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetBody {
    pub email: Option<String>,
}

/// Asks Cognito to e-mail a reset code. The answer never says whether the address is known.
#[utoipa::path(
    post, path = "/channel/password/reset", tag = "account",
    request_body = PasswordResetBody,
    responses(
        (status = 200, description = "`{}`, also for unknown or missing addresses", body = crate::openapi::Empty),
        (status = 429, description = "`TooManyRequestsException` (per client IP)", body = crate::openapi::ErrorBody),
        crate::openapi::Unavailable,
    )
)]
pub async fn reset_password(
    state: web::Data<AppState>,
    limiter: web::Data<RateLimiter>,
    ip: ClientIp,
    body: Json<PasswordResetBody>,
) -> Result<HttpResponse, ApiError> {
    rate_limit(&limiter, Action::PasswordReset, &RateKey::Ip(ip.0))?;
    let Some(email) = body.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
        return Ok(empty_ok());
    };
    let record = state
        .channels
        .get_by_email(email.as_str())
        .await
        .fail_with(ErrorCode::ForgotPasswordException)?;
    if let Some(record) = record {
        match state.identity.forgot_password(&record.username).await {
            Ok(()) => {}
            // A refusal (unverified e-mail, disabled user, ...) must look like success, or the
            // answer would tell who has an account.
            Err(err @ ugc_aws::IdentityError::Cognito { .. }) => {
                tracing::info!(user = %record.id, error = %err, "password reset refused by Cognito");
            }
            Err(err) => {
                return Err(ApiError::from_failure(
                    &err,
                    ErrorCode::ForgotPasswordException,
                ))
            }
        }
    }
    Ok(empty_ok())
}

pub(crate) fn empty_ok() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({}))
}

/// Deletes everything the account owns: the live stream is stopped, the IVS channel, chat room,
/// uploaded assets, stream sessions and profile are removed, and the Cognito user is signed out
/// everywhere and deleted. Every step tolerates work already done, so a failed deletion can simply
/// be retried.
#[utoipa::path(
    delete, path = "/channel", tag = "account",
    responses(
        (status = 204, description = "Deleted (also when there was nothing left to delete)"),
        crate::openapi::Unauthorized,
        (status = 500, description = "`AccountDeletionException`", body = crate::openapi::ErrorBody),
        (status = 503, description = "`ServiceUnavailableException`; retry", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn delete_account(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let code = ErrorCode::AccountDeletionException;
    let record = state.channels.get(&user.sub).await.fail_with(code)?;
    if let Some(record) = &record {
        if let Some(arn) = &record.channel_arn {
            state.video.stop_stream(arn).await.fail_with(code)?;
            delete_channel(&state, arn).await.fail_with(code)?;
            state
                .streams
                .delete_channel_sessions(arn)
                .await
                .fail_with(code)?;
        }
        if let Some(room) = &super::chat::stored_room(record.chat_room_arn.as_deref()) {
            state.chat.delete_room(room).await.fail_with(code)?;
        }
        if let Some(asset_id) = &record.channel_asset_id {
            state
                .assets
                .delete_prefix(&format!("{asset_id}/"))
                .await
                .fail_with(code)?;
        }
        state
            .channels
            .delete_user(&user.sub)
            .await
            .fail_with(code)?;
    }
    let identity = &state.identity;
    identity
        .admin_user_global_sign_out(&user.username)
        .await
        .fail_with(code)?;
    identity
        .admin_delete_user(&user.username)
        .await
        .fail_with(code)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DeleteChannel` right after `StopStream` can meet a stream that is still shutting down
/// (`Conflict`); wait for it briefly.
async fn delete_channel(state: &AppState, arn: &ChannelArn) -> Result<(), VideoError> {
    let mut attempt = 0u32;
    loop {
        match state.video.delete_channel(arn).await {
            Err(VideoError::Conflict(_)) if attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                    .await;
            }
            other => return other,
        }
    }
}
