//! Typed reads of environment variables.
//!
//! Every read names the variable in its error, so a bad deployment stops at start-up with a
//! one-line message such as `invalid configuration: PORT: invalid digit found in string ("80a")`.
//! An empty value counts as unset: ECS task definitions and `.env` files often carry `NAME=`.
//!
//! [`Vars`] reads the process environment or a fixed map, which keeps configuration tests free of
//! process-global state. Every read takes the variable's declaration ([`EnvVar`], declared with
//! `ugc_domain::env_vars!` next to the parser), so nothing reads an undeclared variable and the
//! declarations are the configuration reference (`docs/configuration.md`).

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

pub use ugc_domain::env_var::{markdown_table, EnvVar};
pub use ugc_domain::env_vars;

/// A configuration value is missing or does not parse. The message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {name} is required but not set")]
    Missing { name: String },
    #[error("invalid configuration: {name}: {reason}")]
    Invalid { name: String, reason: String },
}

impl ConfigError {
    pub fn invalid(name: &str, reason: impl Display) -> Self {
        Self::Invalid {
            name: name.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// `var` is required but not set.
    pub fn missing(var: &EnvVar) -> Self {
        Self::Missing {
            name: var.name.to_owned(),
        }
    }

    /// The variable the error is about.
    pub fn variable(&self) -> &str {
        match self {
            Self::Missing { name } | Self::Invalid { name, .. } => name,
        }
    }

    /// Prints the one-line message to stderr and exits with status 2 (a configuration error,
    /// so an orchestrator does not mistake it for a crash worth retrying quickly).
    pub fn exit(&self) -> ! {
        eprintln!("{self}");
        std::process::exit(2)
    }
}

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// A source of configuration variables: the process environment or a fixed map (tests).
pub struct Vars {
    lookup: Box<Lookup>,
}

impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vars")
    }
}

impl Vars {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// A fixed set of variables, e.g. `Vars::from_pairs([("PORT", "0")])`.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            lookup: Box::new(move |name| map.get(name).cloned()),
        }
    }

    /// The raw value; empty (after trimming) counts as unset.
    pub fn raw(&self, var: &EnvVar) -> Option<String> {
        (self.lookup)(var.name).and_then(|v| {
            let trimmed = v.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        })
    }

    pub fn optional<T>(&self, var: &EnvVar) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.raw(var)
            .map(|raw| {
                raw.parse::<T>()
                    .map_err(|e| ConfigError::invalid(var.name, format!("{e} ({raw:?})")))
            })
            .transpose()
    }

    pub fn required<T>(&self, var: &EnvVar) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(var)?.ok_or_else(|| ConfigError::missing(var))
    }

    pub fn or_default<T>(&self, var: &EnvVar, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(var)?.unwrap_or(default))
    }

    /// `true`/`false` (case-insensitive), also `1`/`0`, `yes`/`no`.
    pub fn bool(&self, var: &EnvVar, default: bool) -> Result<bool, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(raw) => parse_bool(&raw).ok_or_else(|| {
                ConfigError::invalid(var.name, format!("expected true or false ({raw:?})"))
            }),
        }
    }

    /// A whole number of seconds (`30`) or a number with a unit: `500ms`, `30s`, `5m`, `1h`.
    pub fn duration(&self, var: &EnvVar, default: Duration) -> Result<Duration, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(raw) => parse_duration(&raw).ok_or_else(|| {
                ConfigError::invalid(
                    var.name,
                    format!("expected seconds or a number with ms/s/m/h ({raw:?})"),
                )
            }),
        }
    }

    /// A JSON array of strings, as upstream's `ALLOWED_ORIGINS` and `SIGN_UP_ALLOWED_DOMAINS`.
    /// Unset → empty.
    pub fn json_string_array(&self, var: &EnvVar) -> Result<Vec<String>, ConfigError> {
        match self.raw(var) {
            None => Ok(Vec::new()),
            Some(raw) => serde_json::from_str::<Vec<String>>(&raw).map_err(|e| {
                ConfigError::invalid(var.name, format!("expected a JSON array of strings: {e}"))
            }),
        }
    }
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

pub(crate) fn parse_duration(raw: &str) -> Option<Duration> {
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits.parse().ok()?;
    match unit.trim() {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::env::env_vars! {
        mod var;
        PORT: required => "";
        FLAG: required => "";
        LIST: required => "";
        NOPE: required => "";
        A: required => "";
        B: required => "";
        T: required => "";
        F: required => "";
        D1: required => "";
        D2: required => "";
        D3: required => "";
        D4: required => "";
        L: required => "";
    }

    #[test]
    fn errors_name_the_variable() {
        let vars = Vars::from_pairs([("PORT", "80a"), ("FLAG", "maybe"), ("LIST", "[1]")]);
        let e = vars.required::<u16>(&var::PORT).unwrap_err();
        assert_eq!(e.variable(), "PORT");
        assert!(e.to_string().contains("PORT"), "{e}");
        assert!(e.to_string().contains("80a"), "{e}");
        assert_eq!(vars.bool(&var::FLAG, false).unwrap_err().variable(), "FLAG");
        assert_eq!(
            vars.json_string_array(&var::LIST).unwrap_err().variable(),
            "LIST"
        );
        let missing = vars.required::<String>(&var::NOPE).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "invalid configuration: NOPE is required but not set"
        );
    }

    #[test]
    fn empty_counts_as_unset() {
        let vars = Vars::from_pairs([("A", "  "), ("B", "[]")]);
        assert_eq!(vars.optional::<String>(&var::A).unwrap(), None);
        assert_eq!(vars.or_default(&var::A, 7u16).unwrap(), 7);
        assert!(vars.json_string_array(&var::A).unwrap().is_empty());
        assert!(vars.json_string_array(&var::B).unwrap().is_empty());
    }

    #[test]
    fn typed_values() {
        let vars = Vars::from_pairs([
            ("T", "TRUE"),
            ("F", "0"),
            ("D1", "30"),
            ("D2", "250ms"),
            ("D3", "2m"),
            ("D4", "3 parsecs"),
            ("L", r#"["https://a.example", "*"]"#),
        ]);
        assert!(vars.bool(&var::T, false).unwrap());
        assert!(!vars.bool(&var::F, true).unwrap());
        assert_eq!(
            vars.duration(&var::D1, Duration::ZERO).unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(
            vars.duration(&var::D2, Duration::ZERO).unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            vars.duration(&var::D3, Duration::ZERO).unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            vars.duration(&var::D4, Duration::ZERO)
                .unwrap_err()
                .variable(),
            "D4"
        );
        assert_eq!(
            vars.json_string_array(&var::L).unwrap(),
            vec!["https://a.example".to_owned(), "*".to_owned()]
        );
    }
}
