//! Settings of the metrics service (besides [`ugc_web::CommonConfig`]), declared in [`var`] and
//! listed in `docs/configuration.md`. Exactly one of the two key variables is set.

use ugc_domain::{ChannelArn, ChannelResourceId};
use ugc_web::env::{env_vars, ConfigError, Vars};

use crate::token::TokenKey;

env_vars! {
    pub mod var;
    STREAM_TABLE_NAME: required => "DynamoDB table of stream sessions.";
    REGION: required => "AWS region: channel ARNs are rebuilt as \
        `arn:aws:ivs:<REGION>:<ACCOUNT_ID>:channel/<channelResourceId>`.";
    ACCOUNT_ID: required => "AWS account id (12 digits), for the same ARNs.";
    IVS_CHANNEL_TYPE: required => "`BASIC`, `STANDARD`, `ADVANCED_SD` or `ADVANCED_HD`; echoed \
        as `channel.type`.";
    PAGINATION_TOKEN_KEY: "one of the two is required" => "Key of the AES-256-GCM `nextToken` \
        encryption: base64 of 32 bytes, or any secret of at least 32 characters (HKDF-derived).";
    PAGINATION_TOKEN_KEY_ARN: "one of the two is required" => "Or: a Secrets Manager secret \
        holding that key, read at start-up.";
}

/// The IVS channel types `IVS_CHANNEL_TYPE` accepts.
pub const CHANNEL_TYPES: [&str; 4] = ["BASIC", "STANDARD", "ADVANCED_SD", "ADVANCED_HD"];

/// Where the pagination-token key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// `PAGINATION_TOKEN_KEY`, already parsed.
    Key(TokenKey),
    /// `PAGINATION_TOKEN_KEY_ARN`: the secret's string is parsed like `PAGINATION_TOKEN_KEY`.
    SecretArn(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(_) => f.write_str("Key(<redacted>)"),
            Self::SecretArn(arn) => f.debug_tuple("SecretArn").field(arn).finish(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub stream_table_name: String,
    pub region: String,
    pub account_id: String,
    pub channel_type: String,
    pub pagination_key: KeySource,
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let stream_table_name: String = vars.required(&var::STREAM_TABLE_NAME)?;
        let region: String = vars.required(&var::REGION)?;
        let account_id: String = vars.required(&var::ACCOUNT_ID)?;
        // Every request rebuilds a channel ARN from these two; check them once here.
        let probe = ChannelResourceId::parse("probe")
            .map_err(|e| ConfigError::invalid(var::REGION.name, e.to_string()))?;
        if ChannelArn::new(&region, "123456789012", &probe).is_err() {
            return Err(ConfigError::invalid(
                var::REGION.name,
                format!("not an AWS region ({region:?})"),
            ));
        }
        if account_id.len() != 12 || ChannelArn::new(&region, &account_id, &probe).is_err() {
            return Err(ConfigError::invalid(
                var::ACCOUNT_ID.name,
                format!("expected 12 digits ({account_id:?})"),
            ));
        }
        let channel_type: String = vars.required(&var::IVS_CHANNEL_TYPE)?;
        if !CHANNEL_TYPES.contains(&channel_type.as_str()) {
            return Err(ConfigError::invalid(
                var::IVS_CHANNEL_TYPE.name,
                format!(
                    "expected one of {} ({channel_type:?})",
                    CHANNEL_TYPES.join(", ")
                ),
            ));
        }
        let pagination_key = match (
            vars.raw(&var::PAGINATION_TOKEN_KEY),
            vars.raw(&var::PAGINATION_TOKEN_KEY_ARN),
        ) {
            (Some(key), None) => KeySource::Key(
                TokenKey::parse(&key)
                    .map_err(|e| ConfigError::invalid(var::PAGINATION_TOKEN_KEY.name, e))?,
            ),
            (None, Some(arn)) => KeySource::SecretArn(arn),
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    var::PAGINATION_TOKEN_KEY.name,
                    "set either PAGINATION_TOKEN_KEY or PAGINATION_TOKEN_KEY_ARN, not both",
                ))
            }
            (None, None) => return Err(ConfigError::missing(&var::PAGINATION_TOKEN_KEY)),
        };
        Ok(Self {
            stream_table_name,
            region,
            account_id,
            channel_type,
            pagination_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn vars(extra: &[(&str, &str)]) -> Vars {
        let mut pairs = vec![
            ("STREAM_TABLE_NAME", "streams"),
            ("REGION", "us-west-2"),
            ("ACCOUNT_ID", "123456789012"),
            ("IVS_CHANNEL_TYPE", "BASIC"),
        ];
        pairs.extend_from_slice(extra);
        Vars::from_pairs(pairs)
    }

    #[test]
    fn reads_every_setting() {
        let config = Config::from_vars(&vars(&[("PAGINATION_TOKEN_KEY", KEY)])).unwrap();
        assert_eq!(config.stream_table_name, "streams");
        assert_eq!(config.channel_type, "BASIC");
        assert!(matches!(config.pagination_key, KeySource::Key(_)));
        assert!(!format!("{config:?}").contains(KEY));
        let config = Config::from_vars(&vars(&[(
            "PAGINATION_TOKEN_KEY_ARN",
            "arn:aws:secretsmanager:us-west-2:123456789012:secret:k",
        )]))
        .unwrap();
        assert!(matches!(config.pagination_key, KeySource::SecretArn(_)));
    }

    #[test]
    fn errors_name_the_variable() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[], "PAGINATION_TOKEN_KEY"),
            (&[("PAGINATION_TOKEN_KEY", "short")], "PAGINATION_TOKEN_KEY"),
            (
                &[
                    ("PAGINATION_TOKEN_KEY", KEY),
                    ("PAGINATION_TOKEN_KEY_ARN", "arn"),
                ],
                "PAGINATION_TOKEN_KEY",
            ),
            (
                &[("PAGINATION_TOKEN_KEY", KEY), ("IVS_CHANNEL_TYPE", "HUGE")],
                "IVS_CHANNEL_TYPE",
            ),
            (
                &[("PAGINATION_TOKEN_KEY", KEY), ("ACCOUNT_ID", "12")],
                "ACCOUNT_ID",
            ),
            (
                &[("PAGINATION_TOKEN_KEY", KEY), ("REGION", "Mars 1")],
                "REGION",
            ),
        ];
        for (extra, variable) in cases {
            let err = Config::from_vars(&vars(extra)).unwrap_err();
            assert_eq!(err.variable(), variable, "{err}");
        }
        let err = Config::from_vars(&Vars::from_pairs([("REGION", "us-west-2")])).unwrap_err();
        assert_eq!(err.variable(), "STREAM_TABLE_NAME");
    }
}
