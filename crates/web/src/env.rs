//! Typed reads of environment variables.
//!
//! Every read names the variable in its error, so a bad deployment stops at start-up with a
//! one-line message such as `invalid configuration: PORT: invalid digit found in string ("80a")`.
//! An empty value counts as unset: ECS task definitions and `.env` files often carry `NAME=`.
//!
//! The free functions read the process environment; [`Vars`] reads any source, which keeps
//! configuration tests free of process-global state.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

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
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).and_then(|v| {
            let trimmed = v.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        })
    }

    pub fn optional<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.raw(name)
            .map(|raw| {
                raw.parse::<T>()
                    .map_err(|e| ConfigError::invalid(name, format!("{e} ({raw:?})")))
            })
            .transpose()
    }

    pub fn required<T>(&self, name: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(name)?.ok_or_else(|| ConfigError::Missing {
            name: name.to_owned(),
        })
    }

    pub fn or_default<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    /// `true`/`false` (case-insensitive), also `1`/`0`, `yes`/`no`.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(name) {
            None => Ok(default),
            Some(raw) => parse_bool(&raw).ok_or_else(|| {
                ConfigError::invalid(name, format!("expected true or false ({raw:?})"))
            }),
        }
    }

    /// A whole number of seconds (`30`) or a number with a unit: `500ms`, `30s`, `5m`, `1h`.
    pub fn duration(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        match self.raw(name) {
            None => Ok(default),
            Some(raw) => parse_duration(&raw).ok_or_else(|| {
                ConfigError::invalid(
                    name,
                    format!("expected seconds or a number with ms/s/m/h ({raw:?})"),
                )
            }),
        }
    }

    /// A JSON array of strings, as upstream's `ALLOWED_ORIGINS` and `SIGN_UP_ALLOWED_DOMAINS`.
    /// Unset → empty.
    pub fn json_string_array(&self, name: &str) -> Result<Vec<String>, ConfigError> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(raw) => serde_json::from_str::<Vec<String>>(&raw).map_err(|e| {
                ConfigError::invalid(name, format!("expected a JSON array of strings: {e}"))
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

/// [`Vars::required`] on the process environment.
pub fn required<T>(name: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    Vars::process().required(name)
}

/// [`Vars::optional`] on the process environment.
pub fn optional<T>(name: &str) -> Result<Option<T>, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    Vars::process().optional(name)
}

/// [`Vars::or_default`] on the process environment.
pub fn or_default<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    Vars::process().or_default(name, default)
}

/// [`Vars::bool`] on the process environment.
pub fn bool(name: &str, default: bool) -> Result<bool, ConfigError> {
    Vars::process().bool(name, default)
}

/// [`Vars::duration`] on the process environment.
pub fn duration(name: &str, default: Duration) -> Result<Duration, ConfigError> {
    Vars::process().duration(name, default)
}

/// [`Vars::json_string_array`] on the process environment.
pub fn json_string_array(name: &str) -> Result<Vec<String>, ConfigError> {
    Vars::process().json_string_array(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_variable() {
        let vars = Vars::from_pairs([("PORT", "80a"), ("FLAG", "maybe"), ("LIST", "[1]")]);
        let e = vars.required::<u16>("PORT").unwrap_err();
        assert_eq!(e.variable(), "PORT");
        assert!(e.to_string().contains("PORT"), "{e}");
        assert!(e.to_string().contains("80a"), "{e}");
        assert_eq!(vars.bool("FLAG", false).unwrap_err().variable(), "FLAG");
        assert_eq!(
            vars.json_string_array("LIST").unwrap_err().variable(),
            "LIST"
        );
        let missing = vars.required::<String>("NOPE").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "invalid configuration: NOPE is required but not set"
        );
    }

    #[test]
    fn empty_counts_as_unset() {
        let vars = Vars::from_pairs([("A", "  "), ("B", "[]")]);
        assert_eq!(vars.optional::<String>("A").unwrap(), None);
        assert_eq!(vars.or_default("A", 7u16).unwrap(), 7);
        assert!(vars.json_string_array("A").unwrap().is_empty());
        assert!(vars.json_string_array("B").unwrap().is_empty());
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
        assert!(vars.bool("T", false).unwrap());
        assert!(!vars.bool("F", true).unwrap());
        assert_eq!(
            vars.duration("D1", Duration::ZERO).unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(
            vars.duration("D2", Duration::ZERO).unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            vars.duration("D3", Duration::ZERO).unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            vars.duration("D4", Duration::ZERO).unwrap_err().variable(),
            "D4"
        );
        assert_eq!(
            vars.json_string_array("L").unwrap(),
            vec!["https://a.example".to_owned(), "*".to_owned()]
        );
    }
}
