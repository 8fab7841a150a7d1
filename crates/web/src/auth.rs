//! Cognito access-token verification.
//!
//! The checks are those of `aws-jwt-verify` with `tokenUse = "access"` (docs/contract.md §2.3): RS256
//! signature by a key of the pool's JWKS (looked up by `kid`), `iss` equal to the pool issuer,
//! `exp` in the future, `token_use == "access"`, `client_id` equal to the app client. Other
//! algorithms (`none`, HS256, ...) are refused before any key lookup.
//!
//! The JWKS is fetched when the [`Verifier`] is built, so the first request pays nothing. An
//! unknown `kid` (Cognito rotated its keys) triggers at most one re-fetch per
//! [`JWKS_REFRESH_INTERVAL`]; concurrent requests wait for the same fetch.
//!
//! Failures answer 401 `UnauthorizedException` without saying which check failed; the reason is
//! logged at debug level. A JWKS that cannot be fetched when a key is needed answers 503.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;

use crate::config::AuthConfig;
use crate::error::ApiError;

/// Unknown `kid`s re-fetch the JWKS at most this often.
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Clock skew tolerated on `exp`.
pub const EXP_LEEWAY_SECS: u64 = 5;
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// The caller, from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The Cognito `sub`: the key of the caller's record.
    pub sub: String,
    /// The Cognito user name (the sign-up name; it does not change on rename).
    pub username: String,
}

/// The caller if an `Authorization` header was sent. A missing header is anonymous; a header
/// with an invalid token is still a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl MaybeAuthUser {
    pub fn user(&self) -> Option<&AuthUser> {
        self.0.as_ref()
    }

    pub fn into_inner(self) -> Option<AuthUser> {
        self.0
    }
}

/// Why verification failed (logged, never sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not a JWS compact serialization")]
    Malformed,
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    #[error("no key with kid {0:?}")]
    UnknownKey(String),
    #[error("signature does not verify")]
    Signature,
    #[error("claims are not valid JSON of the expected shape")]
    Claims,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("issuer {0:?} does not match")]
    Issuer(String),
    #[error("token_use {0:?} is not access")]
    TokenUse(String),
    #[error("client_id does not match")]
    ClientId,
    #[error("the signing keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::KeysUnavailable(detail) => ApiError::unavailable().with_detail(detail),
            other => {
                tracing::debug!(reason = %other, "access token rejected");
                ApiError::unauthorized()
            }
        }
    }
}

/// Why the JWKS could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("fetching the JWKS from {url} failed: {reason}")]
    Fetch { url: String, reason: String },
    #[error("the JWKS at {url} has no usable RS256 key")]
    NoKeys { url: String },
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
}

#[derive(Clone)]
struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    username: Option<String>,
    #[serde(rename = "cognito:username")]
    cognito_username: Option<String>,
    iss: String,
    exp: u64,
    nbf: Option<u64>,
    token_use: String,
    client_id: Option<String>,
}

struct RefreshState {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

struct Inner {
    config: AuthConfig,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, RsaKey>>,
    refresh: tokio::sync::Mutex<RefreshState>,
}

/// Verifies Cognito access tokens. Cheap to clone; register it once as
/// `web::Data<Verifier>` (e.g. `cfg.app_data(web::Data::new(verifier.clone()))`) so the
/// [`AuthUser`] and [`MaybeAuthUser`] extractors find it.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.config.issuer)
            .field("jwks_url", &self.inner.config.jwks_url)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds a verifier and fetches the JWKS; fails when it cannot be fetched or has no RS256 key.
    pub async fn new(config: &AuthConfig) -> Result<Self, JwksError> {
        let http = reqwest::Client::builder()
            .timeout(JWKS_TIMEOUT)
            .build()
            .map_err(|e| JwksError::Fetch {
                url: config.jwks_url.clone(),
                reason: e.to_string(),
            })?;
        let keys = fetch_jwks(&http, &config.jwks_url).await?;
        tracing::info!(jwks_url = %config.jwks_url, keys = keys.len(), "JWKS loaded");
        Ok(Self {
            inner: Arc::new(Inner {
                config: config.clone(),
                http,
                keys: RwLock::new(keys),
                // The start-up fetch does not count: a rotation right after start can refresh.
                refresh: tokio::sync::Mutex::new(RefreshState {
                    last_attempt: None,
                    last_error: None,
                }),
            }),
        })
    }

    /// Verifies an `Authorization` header value: a raw JWT or `Bearer <jwt>`.
    pub async fn verify(&self, authorization: &str) -> Result<AuthUser, TokenError> {
        let token = strip_bearer(authorization);
        let parts = split_token(token)?;
        let header: Header = decode_json(parts.header).ok_or(TokenError::Malformed)?;
        if header.alg != "RS256" {
            return Err(TokenError::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(parts.signature)
            .map_err(|_| TokenError::Malformed)?;
        let key = self.key(&kid).await?;
        RsaPublicKeyComponents {
            n: key.n.as_slice(),
            e: key.e.as_slice(),
        }
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            parts.signing_input.as_bytes(),
            &signature,
        )
        .map_err(|_| TokenError::Signature)?;
        let claims: Claims = decode_json(parts.payload).ok_or(TokenError::Claims)?;
        self.check_claims(claims)
    }

    fn check_claims(&self, claims: Claims) -> Result<AuthUser, TokenError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if claims.exp.saturating_add(EXP_LEEWAY_SECS) <= now {
            return Err(TokenError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(EXP_LEEWAY_SECS))
        {
            return Err(TokenError::NotYetValid);
        }
        if claims.iss != self.inner.config.issuer {
            return Err(TokenError::Issuer(claims.iss));
        }
        if claims.token_use != "access" {
            return Err(TokenError::TokenUse(claims.token_use));
        }
        if claims.client_id.as_deref() != Some(self.inner.config.client_id.as_str()) {
            return Err(TokenError::ClientId);
        }
        let username = claims
            .username
            .or(claims.cognito_username)
            .ok_or(TokenError::Claims)?;
        if claims.sub.is_empty() || username.is_empty() {
            return Err(TokenError::Claims);
        }
        Ok(AuthUser {
            sub: claims.sub,
            username,
        })
    }

    fn cached_key(&self, kid: &str) -> Option<RsaKey> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    async fn key(&self, kid: &str) -> Result<RsaKey, TokenError> {
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        // One fetch at a time; whoever waited re-checks the cache first.
        let mut state = self.inner.refresh.lock().await;
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        let recently = state
            .last_attempt
            .is_some_and(|t| t.elapsed() < JWKS_REFRESH_INTERVAL);
        if !recently {
            state.last_attempt = Some(Instant::now());
            match fetch_jwks(&self.inner.http, &self.inner.config.jwks_url).await {
                Ok(keys) => {
                    tracing::info!(keys = keys.len(), "JWKS refreshed for an unknown kid");
                    *self
                        .inner
                        .keys
                        .write()
                        .unwrap_or_else(PoisonError::into_inner) = keys;
                    state.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS refresh failed");
                    state.last_error = Some(e.to_string());
                }
            }
        }
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        match &state.last_error {
            Some(e) => Err(TokenError::KeysUnavailable(e.clone())),
            None => Err(TokenError::UnknownKey(kid.to_owned())),
        }
    }
}

async fn fetch_jwks(
    http: &reqwest::Client,
    url: &str,
) -> Result<HashMap<String, RsaKey>, JwksError> {
    let fetch_err = |reason: String| JwksError::Fetch {
        url: url.to_owned(),
        reason,
    };
    let res = http
        .get(url)
        .send()
        .await
        .map_err(|e| fetch_err(e.to_string()))?;
    if !res.status().is_success() {
        return Err(fetch_err(format!("status {}", res.status())));
    }
    let jwks: Jwks = res.json().await.map_err(|e| fetch_err(e.to_string()))?;
    let keys: HashMap<String, RsaKey> = jwks
        .keys
        .into_iter()
        .filter(|k| k.kty == "RSA")
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == "RS256"))
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let n = URL_SAFE_NO_PAD.decode(k.n?).ok()?;
            let e = URL_SAFE_NO_PAD.decode(k.e?).ok()?;
            Some((k.kid?, RsaKey { n, e }))
        })
        .collect();
    if keys.is_empty() {
        return Err(JwksError::NoKeys {
            url: url.to_owned(),
        });
    }
    Ok(keys)
}

struct TokenParts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

fn split_token(token: &str) -> Result<TokenParts<'_>, TokenError> {
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(TokenError::Malformed);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(TokenError::Malformed);
    }
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(TokenError::Malformed)?;
    Ok(TokenParts {
        header,
        payload,
        signature,
        signing_input,
    })
}

fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn strip_bearer(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => {
            value.get(7..).unwrap_or("").trim()
        }
        _ => value,
    }
}

fn verifier(req: &HttpRequest) -> Result<Verifier, ApiError> {
    req.app_data::<web::Data<Verifier>>()
        .map(|v| v.get_ref().clone())
        .ok_or_else(|| ApiError::unexpected().with_detail("no Verifier registered as app data"))
}

fn authorization(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    match req.headers().get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.to_owned()))
            .map_err(|_| ApiError::unauthorized()),
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parts = authorization(req).and_then(|h| Ok((h, verifier(req)?)));
        Box::pin(async move {
            let (header, verifier) = parts?;
            let header = header.ok_or_else(ApiError::unauthorized)?;
            Ok(verifier.verify(&header).await?)
        })
    }
}

impl FromRequest for MaybeAuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = authorization(req);
        let verifier = verifier(req);
        Box::pin(async move {
            let Some(header) = header? else {
                return Ok(MaybeAuthUser(None));
            };
            let user = verifier?.verify(&header).await?;
            Ok(MaybeAuthUser(Some(user)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_prefix_is_optional() {
        assert_eq!(strip_bearer("Bearer a.b.c"), "a.b.c");
        assert_eq!(strip_bearer("bearer  a.b.c"), "a.b.c");
        assert_eq!(strip_bearer("a.b.c"), "a.b.c");
        assert_eq!(strip_bearer("Bearer"), "Bearer");
    }

    #[test]
    fn token_shape() {
        assert!(split_token("a.b.c").is_ok());
        assert_eq!(split_token("a.b").err(), Some(TokenError::Malformed));
        assert_eq!(split_token("a.b.c.d").err(), Some(TokenError::Malformed));
        assert_eq!(split_token("a..c").err(), Some(TokenError::Malformed));
        assert_eq!(split_token("").err(), Some(TokenError::Malformed));
        let parts = split_token("hh.pp.ss").unwrap();
        assert_eq!(parts.signing_input, "hh.pp");
    }
}
