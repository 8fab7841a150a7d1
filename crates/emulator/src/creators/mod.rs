//! Amazon Creators API (`docs/wire-protocols.md` §13): the OAuth 2.0 client-credentials token
//! endpoints (Cognito-style `/oauth2/token` for 2.x credentials, LwA-style `/auth/o2/token` for
//! 3.x) and `searchItems` / `getItems`, answered from a small built-in catalogue.
//!
//! Tokens live in memory for an hour (a restart invalidates them, and clients refresh on 401 as
//! the API requires). Each token is rate-limited with a token bucket (1 request/s, burst 10 by
//! default), answering 429 `ThrottleException` beyond it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::core::config::EmulatorConfig;
use crate::core::json::{self, BodyError};
use crate::core::routing::{path_operation, PathOperation};

mod catalogue;
mod oauth;
mod search;

use oauth::{token_cognito, token_lwa};
use search::{catalog, CatalogOp};

const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const SCOPE_COGNITO: &str = "creatorsapi/default";
const SCOPE_LWA: &str = "creatorsapi::default";

pub struct Creators {
    credentials: RwLock<(String, String)>,
    rate: RwLock<RateLimit>,
    tokens: Mutex<HashMap<String, Token>>,
}

/// Requests per second per token, and the burst allowed on top.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 1.0,
            burst: 10.0,
        }
    }
}

struct Token {
    /// `2` for Cognito-style (2.x) tokens, `3` for LwA-style (3.x) tokens.
    family: u8,
    expires: Instant,
    allowance: f64,
    last: Instant,
}

impl Creators {
    pub fn load(_dir: Option<&Path>, _config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            credentials: RwLock::new(("local-client".to_owned(), "local-secret".to_owned())),
            rate: RwLock::new(RateLimit::default()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The only client id / secret the token endpoints accept (default `local-client` /
    /// `local-secret`). Tokens already issued stay valid.
    pub fn set_credentials(&self, client_id: impl Into<String>, client_secret: impl Into<String>) {
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) =
            (client_id.into(), client_secret.into());
    }

    /// Changes the per-token rate limit of the catalog operations.
    pub fn set_rate_limit(&self, limit: RateLimit) {
        *self.rate.write().unwrap_or_else(|p| p.into_inner()) = limit;
    }

    /// Checks the `Authorization` header and takes one request from the token's bucket.
    fn admit(&self, authorization: Option<&str>) -> Result<(), ApiError> {
        let invalid = || {
            ApiError::unauthorized(
                "InvalidToken",
                "The authentication token is invalid or malformed.",
            )
        };
        let value = authorization.ok_or_else(invalid)?;
        let mut parts = value.split(',').map(str::trim);
        let bearer = parts
            .next()
            .and_then(|p| p.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(invalid)?;
        let version = parts
            .find_map(|p| p.strip_prefix("Version "))
            .map(str::trim);
        let rate = *self.rate.read().unwrap_or_else(|p| p.into_inner());
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let token = tokens.get_mut(bearer).ok_or_else(invalid)?;
        let now = Instant::now();
        if token.expires <= now {
            return Err(ApiError::unauthorized(
                "TokenExpired",
                "The authentication token has expired.",
            ));
        }
        if let Some(v) = version {
            let major = v.split('.').next().and_then(|m| m.parse::<u8>().ok());
            if major != Some(token.family) {
                return Err(ApiError::unauthorized(
                    "InvalidIssuer",
                    "The authentication token was not issued for the credential version provided.",
                ));
            }
        }
        let elapsed = now.duration_since(token.last).as_secs_f64();
        token.last = now;
        token.allowance = (token.allowance + elapsed * rate.per_second).min(rate.burst);
        if token.allowance < 1.0 {
            let wait = ((1.0 - token.allowance) / rate.per_second.max(f64::MIN_POSITIVE))
                .ceil()
                .max(1.0);
            return Err(ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                body: json!({"type": "ThrottleException", "message": "Rate exceeded.", "retryAfterSeconds": wait as u64}),
            });
        }
        token.allowance -= 1.0;
        Ok(())
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth2/token", web::post().to(token_cognito))
        .route("/auth/o2/token", web::post().to(token_lwa))
        .route(
            "/catalog/v1/{operation}",
            web::post()
                .guard(PathOperation::<CatalogOp>::new())
                .to(catalog),
        );
}

/// An error of the catalog API: `{"type", "message", "reason", ...}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    fn new(status: u16, kind: &str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            body: json!({"type": kind, "message": message.into(), "reason": reason}),
        }
    }

    fn unauthorized(reason: &str, message: &str) -> Self {
        Self::new(401, "UnauthorizedException", reason, message)
    }

    fn validation(reason: &str, message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", reason, message)
    }

    fn field(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::validation("FieldValidationFailed", message);
        if let Some(map) = e.body.as_object_mut() {
            map.insert("fieldList".to_owned(), json!([field]));
        }
        e
    }

    fn response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(wait) = self.body.get("retryAfterSeconds").and_then(Value::as_u64) {
            builder.insert_header(("Retry-After", wait.to_string()));
        }
        builder.json(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::catalogue::*;
    use super::search::*;
    use super::*;

    #[test]
    fn display_amounts() {
        assert_eq!(display_amount(2740.0, "USD"), "$2,740.00");
        assert_eq!(display_amount(49.99, "USD"), "$49.99");
        assert_eq!(display_amount(1234.5, "EUR"), "1.234,50 €");
        assert_eq!(display_amount(5480.0, "JPY"), "￥5,480");
        assert_eq!(display_amount(0.79, "GBP"), "£0.79");
    }

    #[test]
    fn catalogue_is_consistent() {
        assert!(CATALOGUE.len() >= 30);
        let mut asins: Vec<_> = CATALOGUE.iter().map(|p| p.asin).collect();
        asins.sort_unstable();
        asins.dedup();
        assert_eq!(asins.len(), CATALOGUE.len());
        assert!(relevance(&CATALOGUE[3], &words("mechanical keyboards")) >= 1);
    }

    #[test]
    fn rate_limit_and_expiry() {
        let creators = Creators::load(None, &EmulatorConfig::default()).unwrap();
        creators.set_rate_limit(RateLimit {
            per_second: 0.001,
            burst: 2.0,
        });
        let token = creators.issue("local-client", 3);
        let header = format!("Bearer {token}");
        assert!(creators.admit(Some(&header)).is_ok());
        assert!(creators.admit(Some(&header)).is_ok());
        assert_eq!(
            creators.admit(Some(&header)).unwrap_err().status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            creators.admit(Some("Bearer nope")).unwrap_err().body["reason"],
            "InvalidToken"
        );
        assert_eq!(
            creators
                .admit(Some(&format!("{header}, Version 2.1")))
                .unwrap_err()
                .body["reason"],
            "InvalidIssuer"
        );
        creators
            .tokens
            .lock()
            .unwrap()
            .get_mut(&token)
            .unwrap()
            .expires = Instant::now();
        assert_eq!(
            creators.admit(Some(&header)).unwrap_err().body["reason"],
            "TokenExpired"
        );
    }
}
