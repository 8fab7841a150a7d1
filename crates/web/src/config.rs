//! What every HTTP service reads from its environment (the variables are declared in [`var`] and
//! listed in `docs/configuration.md`). Service-specific settings (table names, ...) live in the
//! service and use [`crate::env`] the same way.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::str::FromStr;
use std::time::Duration;

use crate::cors::CorsConfig;
use crate::env::{env_vars, ConfigError, EnvVar, Vars};
use crate::rate_limit::RateLimitConfig;

env_vars! {
    pub mod var;
    PORT: "`8080`" => "Listen port; the host is `0.0.0.0`.";
    SERVICE_NAME: "unset" => "Route groups of the `api` container: `all`, `channels` or `metrics` \
        (anything else: only `/status`). Also the service name in logs and traces.";
    ALLOWED_ORIGINS: "unset (CORS off)" => "JSON array of the origins CORS allows; `[\"*\"]` allows \
        any origin, `[]` turns CORS off.";
    USER_POOL_ID: "unset (no authenticated routes)" => "Cognito user pool whose **access** tokens \
        are accepted; required by every service with authenticated routes.";
    USER_POOL_CLIENT_ID: "required with `USER_POOL_ID`" => "App client the tokens must be issued \
        to (`client_id` claim).";
    REGION: "required with `USER_POOL_ID` unless `COGNITO_ISSUER` is set" => "AWS region of the \
        pool, for the default issuer.";
    COGNITO_ISSUER: "`https://cognito-idp.<REGION>.amazonaws.com/<USER_POOL_ID>`" => "Expected \
        `iss` of the tokens (the local platform points it at the emulator).";
    COGNITO_JWKS_URL: "`<issuer>/.well-known/jwks.json`" => "Where the token signing keys are \
        fetched, configured apart from the issuer.";
    TRUSTED_PROXY_HOPS: "`0`" => "Proxies in front of the service that append to \
        `X-Forwarded-For`; the client IP is the N-th entry from the right (2 behind CloudFront + \
        ALB).";
    OTEL_EXPORTER_OTLP_ENDPOINT: "unset (no export)" => "OTLP/HTTP collector base URL for traces \
        and metrics.";
    METRICS_LOG_INTERVAL: "`0` (never)" => "Log a one-line metrics summary this often (e.g. `10s`; \
        `make run` sets `10s`).";
    LOG_FORMAT: "`json`" => "`json` or `text`. `RUST_LOG` filters as usual.";
    BODY_LIMIT_BYTES: "`1048576`" => "Largest accepted request body; larger ones get 413.";
    SHUTDOWN_TIMEOUT: "`20s`" => "Drain time after SIGTERM (seconds, or `500ms`, `10s`, `1m`, `1h`).";
}

pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" | "pretty" => Ok(Self::Text),
            _ => Err("expected json or text".to_owned()),
        }
    }
}

/// Where the Cognito access tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
    pub jwks_url: String,
}

impl AuthConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::process())
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let user_pool_id: String = vars.required(&var::USER_POOL_ID)?;
        let client_id: String = vars.required(&var::USER_POOL_CLIENT_ID)?;
        let issuer = match vars.raw(&var::COGNITO_ISSUER) {
            Some(issuer) => {
                check_url(&var::COGNITO_ISSUER, &issuer)?;
                issuer.trim_end_matches('/').to_owned()
            }
            None => {
                let region: String = vars.required(&var::REGION)?;
                format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
            }
        };
        let jwks_url = match vars.raw(&var::COGNITO_JWKS_URL) {
            Some(url) => {
                check_url(&var::COGNITO_JWKS_URL, &url)?;
                url
            }
            None => format!("{issuer}/.well-known/jwks.json"),
        };
        Ok(Self {
            user_pool_id,
            client_id,
            issuer,
            jwks_url,
        })
    }
}

fn check_url(var: &EnvVar, value: &str) -> Result<(), ConfigError> {
    if value.starts_with("http://") || value.starts_with("https://") {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            var.name,
            format!("expected an http(s) URL ({value:?})"),
        ))
    }
}

/// Settings shared by every service.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    pub host: IpAddr,
    pub port: u16,
    pub service_name: Option<String>,
    pub cors: CorsConfig,
    /// Present when `USER_POOL_ID` is set; services with authenticated routes call
    /// [`CommonConfig::require_auth`].
    pub auth: Option<AuthConfig>,
    pub trusted_proxy_hops: usize,
    pub otlp_endpoint: Option<String>,
    pub log_format: LogFormat,
    /// How often to log the metrics summary ([`crate::metrics::Summary`]); `None` = never.
    pub metrics_log_interval: Option<Duration>,
    pub body_limit: usize,
    pub shutdown_timeout: Duration,
    pub rate_limits: RateLimitConfig,
}

impl CommonConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::process())
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let auth = if vars.raw(&var::USER_POOL_ID).is_some() {
            Some(AuthConfig::from_vars(vars)?)
        } else {
            None
        };
        let otlp_endpoint = match vars.raw(&var::OTEL_EXPORTER_OTLP_ENDPOINT) {
            Some(url) => {
                check_url(&var::OTEL_EXPORTER_OTLP_ENDPOINT, &url)?;
                Some(url)
            }
            None => None,
        };
        let body_limit: usize = vars.or_default(&var::BODY_LIMIT_BYTES, DEFAULT_BODY_LIMIT)?;
        if body_limit == 0 {
            return Err(ConfigError::invalid(
                var::BODY_LIMIT_BYTES.name,
                "must be positive",
            ));
        }
        Ok(Self {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: vars.or_default(&var::PORT, DEFAULT_PORT)?,
            service_name: vars.optional(&var::SERVICE_NAME)?,
            cors: CorsConfig::from_origins(&vars.json_string_array(&var::ALLOWED_ORIGINS)?),
            auth,
            trusted_proxy_hops: vars.or_default(&var::TRUSTED_PROXY_HOPS, 0usize)?,
            otlp_endpoint,
            log_format: vars.or_default(&var::LOG_FORMAT, LogFormat::Json)?,
            metrics_log_interval: Some(vars.duration(&var::METRICS_LOG_INTERVAL, Duration::ZERO)?)
                .filter(|d| !d.is_zero()),
            body_limit,
            shutdown_timeout: vars.duration(&var::SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT)?,
            rate_limits: RateLimitConfig::from_vars(vars)?,
        })
    }

    /// Defaults for tests: `127.0.0.1:0`, CORS off, no auth, default limits.
    pub fn for_tests() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            service_name: None,
            cors: CorsConfig::Disabled,
            auth: None,
            trusted_proxy_hops: 0,
            otlp_endpoint: None,
            log_format: LogFormat::Text,
            metrics_log_interval: None,
            body_limit: DEFAULT_BODY_LIMIT,
            shutdown_timeout: Duration::from_secs(1),
            rate_limits: RateLimitConfig::default(),
        }
    }

    /// The auth settings, or the error a service with authenticated routes should stop on.
    pub fn require_auth(&self) -> Result<&AuthConfig, ConfigError> {
        self.auth
            .as_ref()
            .ok_or_else(|| ConfigError::missing(&var::USER_POOL_ID))
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// Binds the configured address (`0.0.0.0:$PORT`).
    pub fn bind(&self) -> std::io::Result<TcpListener> {
        TcpListener::bind(self.address())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_vars(extra: &[(&str, &str)]) -> Vars {
        let mut pairs = vec![
            ("USER_POOL_ID", "eu-west-1_abc"),
            ("USER_POOL_CLIENT_ID", "client"),
            ("REGION", "eu-west-1"),
        ];
        pairs.extend_from_slice(extra);
        Vars::from_pairs(pairs)
    }

    #[test]
    fn cognito_defaults_follow_region_and_pool() {
        let auth = AuthConfig::from_vars(&auth_vars(&[])).unwrap();
        assert_eq!(
            auth.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
        );
        assert_eq!(
            auth.jwks_url,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
        );
    }

    #[test]
    fn cognito_overrides() {
        let auth = AuthConfig::from_vars(&auth_vars(&[(
            "COGNITO_ISSUER",
            "http://127.0.0.1:9000/eu-west-1_abc/",
        )]))
        .unwrap();
        assert_eq!(auth.issuer, "http://127.0.0.1:9000/eu-west-1_abc");
        assert_eq!(
            auth.jwks_url,
            "http://127.0.0.1:9000/eu-west-1_abc/.well-known/jwks.json"
        );
        let auth =
            AuthConfig::from_vars(&auth_vars(&[("COGNITO_JWKS_URL", "http://k/jwks")])).unwrap();
        assert_eq!(auth.jwks_url, "http://k/jwks");
        let err =
            AuthConfig::from_vars(&auth_vars(&[("COGNITO_JWKS_URL", "ftp://x")])).unwrap_err();
        assert_eq!(err.variable(), "COGNITO_JWKS_URL");
    }

    #[test]
    fn common_defaults_and_errors() {
        let config = CommonConfig::from_vars(&Vars::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(config.address().to_string(), "0.0.0.0:8080");
        assert!(config.auth.is_none());
        assert_eq!(
            config.require_auth().unwrap_err().variable(),
            "USER_POOL_ID"
        );
        assert_eq!(config.body_limit, DEFAULT_BODY_LIMIT);
        assert_eq!(config.cors, CorsConfig::Disabled);
        assert_eq!(config.log_format, LogFormat::Json);

        for (name, value) in [
            ("PORT", "70000"),
            ("TRUSTED_PROXY_HOPS", "-1"),
            ("ALLOWED_ORIGINS", "https://a.example"),
            ("LOG_FORMAT", "xml"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
            ("BODY_LIMIT_BYTES", "0"),
            ("RATE_LIMIT_CHAT_TOKEN", "ten"),
        ] {
            let err = CommonConfig::from_vars(&Vars::from_pairs([(name, value)])).unwrap_err();
            assert_eq!(err.variable(), name, "{err}");
        }
        let err = CommonConfig::from_vars(&Vars::from_pairs([("USER_POOL_ID", "p")])).unwrap_err();
        assert_eq!(err.variable(), "USER_POOL_CLIENT_ID");
    }
}
