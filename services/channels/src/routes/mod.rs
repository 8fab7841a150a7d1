//! Route groups. Every route is an absolute path resource, so trailing-slash variants only exist
//! where upstream had them (`/channel/`, `/channels/`).

pub mod account;
pub mod actions;
pub mod assets;
pub mod chat;
pub mod following;
pub mod products;
pub mod profile;
pub mod public;
pub mod resources;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig, products: bool) {
    account::configure(cfg);
    profile::configure(cfg);
    resources::configure(cfg);
    assets::configure(cfg);
    actions::configure(cfg);
    chat::configure(cfg);
    following::configure(cfg);
    public::configure(cfg);
    if products {
        products::configure(cfg);
    }
}

use actix_web::http::StatusCode;
use ugc_domain::{ErrorCode, Username, UsernameError};
use ugc_web::{Action, ApiError, RateKey, RateLimiter};

use crate::error::invalid;

/// A required string field of a request body: missing or empty → 400 with `code` and a message
/// naming the field.
pub(crate) fn required<'a>(
    field: &str,
    value: &'a Option<String>,
    code: ErrorCode,
) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::new(StatusCode::BAD_REQUEST, code)
            .with_message(format!("body/{field} is required"))),
    }
}

/// A username from a request body: reserved (in any casing) → 400 `ReservedUsernameException`;
/// otherwise invalid → 400 with `code` and the reason.
pub(crate) fn parse_username(raw: &str, code: ErrorCode) -> Result<Username, ApiError> {
    Username::parse(raw).map_err(|e| match e {
        UsernameError::Reserved => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ReservedUsernameException,
        ),
        UsernameError::Invalid(why) => invalid(code, why),
    })
}

/// Spends one unit of the caller's budget for `action` (429 with `Retry-After` when exhausted).
pub(crate) fn rate_limit(
    limiter: &RateLimiter,
    action: Action,
    key: &RateKey,
) -> Result<(), ApiError> {
    limiter.check(action, key)
}
