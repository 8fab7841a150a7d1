//! event-ingest settings, read from the environment and validated at start-up; declared in
//! [`var`] and listed in `docs/configuration.md`.

use std::time::Duration;

use actix_web::http::header::HeaderName;
use ugc_web::env::{env_vars, ConfigError, Vars};

pub const DEFAULT_SECRET_HEADER: &str = "x-ugc-ingest-secret";
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_RECONCILE_GRACE: Duration = Duration::from_secs(120);
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;
pub const DEFAULT_INGEST_TIMEOUT: Duration = Duration::from_secs(4);

env_vars! {
    pub mod var;
    CHANNELS_TABLE_NAME: required => "DynamoDB table of channels.";
    STREAM_TABLE_NAME: required => "DynamoDB table of stream sessions.";
    INGEST_SECRET: "one of the two is required" => "The shared secret EventBridge's API \
        destination sends, compared in constant time (ECS injects it from Secrets Manager).";
    INGEST_SECRET_ARN: "one of the two is required" => "Or: Secrets Manager id of that secret, \
        read on demand and cached for 5 minutes.";
    INGEST_SECRET_HEADER: "`x-ugc-ingest-secret`" => "The header carrying the secret.";
    RECONCILE_INTERVAL: "`60s`" => "How often the reconciler asks IVS what is live and ends \
        sessions it no longer broadcasts; `0` or `off` disables it.";
    RECONCILE_GRACE: "`120s`" => "How long IVS must report a stored-live session's channel \
        offline before the session is ended.";
    MAX_BODY: "`262144`" => "Largest accepted event body in bytes (EventBridge's event limit).";
    INGEST_TIMEOUT: "`4s`" => "Time budget of one delivery; past it the answer is 503 \
        (EventBridge gives up after 5 s and retries).";
}

/// Where the shared secret comes from. `Debug` never prints the value.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `INGEST_SECRET`: the value itself (ECS injects it from Secrets Manager).
    Value(String),
    /// `INGEST_SECRET_ARN`: read from Secrets Manager when needed.
    SecretsManager(String),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value(<redacted>)"),
            Self::SecretsManager(id) => f.debug_tuple("SecretsManager").field(id).finish(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub channels_table: String,
    pub streams_table: String,
    pub secret: SecretSource,
    pub secret_header: HeaderName,
    /// `None`: the reconciler is disabled.
    pub reconcile_interval: Option<Duration>,
    pub reconcile_grace: Duration,
    pub max_body: usize,
    pub ingest_timeout: Duration,
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let secret = match (
            vars.raw(&var::INGEST_SECRET),
            vars.raw(&var::INGEST_SECRET_ARN),
        ) {
            (Some(value), _) => SecretSource::Value(value),
            (None, Some(arn)) => SecretSource::SecretsManager(arn),
            (None, None) => return Err(ConfigError::missing(&var::INGEST_SECRET)),
        };
        let header = vars
            .raw(&var::INGEST_SECRET_HEADER)
            .unwrap_or_else(|| DEFAULT_SECRET_HEADER.to_owned());
        let secret_header = HeaderName::from_bytes(header.to_ascii_lowercase().as_bytes())
            .map_err(|e| ConfigError::invalid(var::INGEST_SECRET_HEADER.name, e))?;
        let reconcile_interval = match vars.raw(&var::RECONCILE_INTERVAL).as_deref() {
            Some(off) if off.eq_ignore_ascii_case("off") => None,
            _ => Some(vars.duration(&var::RECONCILE_INTERVAL, DEFAULT_RECONCILE_INTERVAL)?)
                .filter(|d| !d.is_zero()),
        };
        let max_body: usize = vars.or_default(&var::MAX_BODY, DEFAULT_MAX_BODY)?;
        if max_body == 0 {
            return Err(ConfigError::invalid(var::MAX_BODY.name, "must be positive"));
        }
        let ingest_timeout = vars.duration(&var::INGEST_TIMEOUT, DEFAULT_INGEST_TIMEOUT)?;
        if ingest_timeout.is_zero() {
            return Err(ConfigError::invalid(
                var::INGEST_TIMEOUT.name,
                "must be positive",
            ));
        }
        Ok(Self {
            channels_table: vars.required(&var::CHANNELS_TABLE_NAME)?,
            streams_table: vars.required(&var::STREAM_TABLE_NAME)?,
            secret,
            secret_header,
            reconcile_interval,
            reconcile_grace: vars.duration(&var::RECONCILE_GRACE, DEFAULT_RECONCILE_GRACE)?,
            max_body,
            ingest_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(extra: &[(&str, &str)]) -> Vars {
        let mut pairs = vec![
            ("CHANNELS_TABLE_NAME", "c"),
            ("STREAM_TABLE_NAME", "s"),
            ("INGEST_SECRET", "hunter2"),
        ];
        pairs.extend_from_slice(extra);
        Vars::from_pairs(pairs)
    }

    #[test]
    fn defaults() {
        let config = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(config.secret_header.as_str(), DEFAULT_SECRET_HEADER);
        assert_eq!(config.reconcile_interval, Some(DEFAULT_RECONCILE_INTERVAL));
        assert_eq!(config.reconcile_grace, DEFAULT_RECONCILE_GRACE);
        assert_eq!(config.max_body, DEFAULT_MAX_BODY);
        assert_eq!(config.secret, SecretSource::Value("hunter2".into()));
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn overrides_and_errors() {
        let config = Config::from_vars(&vars(&[
            ("RECONCILE_INTERVAL", "off"),
            ("INGEST_SECRET_HEADER", "X-Api-Key"),
        ]))
        .unwrap();
        assert_eq!(config.reconcile_interval, None);
        assert_eq!(config.secret_header.as_str(), "x-api-key");
        let config = Config::from_vars(&vars(&[("RECONCILE_INTERVAL", "0")])).unwrap();
        assert_eq!(config.reconcile_interval, None);
        let config = Config::from_vars(&Vars::from_pairs([
            ("CHANNELS_TABLE_NAME", "c"),
            ("STREAM_TABLE_NAME", "s"),
            (
                "INGEST_SECRET_ARN",
                "arn:aws:secretsmanager:eu-west-1:1:secret:x",
            ),
        ]))
        .unwrap();
        assert!(matches!(config.secret, SecretSource::SecretsManager(_)));

        let missing = Config::from_vars(&Vars::from_pairs([
            ("CHANNELS_TABLE_NAME", "c"),
            ("STREAM_TABLE_NAME", "s"),
        ]))
        .unwrap_err();
        assert_eq!(missing.variable(), "INGEST_SECRET");
        for (name, value) in [
            ("RECONCILE_INTERVAL", "soon"),
            ("RECONCILE_GRACE", "-1"),
            ("MAX_BODY", "0"),
            ("INGEST_SECRET_HEADER", "bad header"),
            ("INGEST_TIMEOUT", "0"),
        ] {
            let err = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
            assert_eq!(err.variable(), name, "{err}");
        }
    }
}
