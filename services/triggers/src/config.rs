//! Environment configuration shared by the functions. Every value is read and checked once, when
//! the function starts; a bad value stops it with a message that names the variable.
//!
//! Readers take a lookup function instead of touching the process environment, so tests (and the
//! local platform) pass their own values, and the variable's declaration ([`EnvVar`]): each
//! function declares what it reads with `ugc_domain::env_vars!` next to its `from_env`, and
//! `docs/configuration.md` is rendered from those declarations.

use std::time::Duration;

pub use ugc_domain::env_var::EnvVar;

/// A missing or malformed environment variable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// Looks a variable up by name: `std::env::var(..).ok()` in the binaries, a map in tests.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The process environment.
pub fn process_env() -> impl Lookup {
    |name: &str| std::env::var(name).ok()
}

/// A set, non-blank value.
pub fn required(env: &impl Lookup, var: &EnvVar) -> Result<String, ConfigError> {
    match env.get(var.name) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(ConfigError::new(var.name, "must be set")),
    }
}

/// `true` / `false` (any case); unset or blank is `default`.
pub fn flag(env: &impl Lookup, var: &EnvVar, default: bool) -> Result<bool, ConfigError> {
    match env.get(var.name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ConfigError::new(
            var.name,
            format!("expected true or false, got {v:?}"),
        )),
    }
}

/// A JSON array of strings (upstream's format for `SIGN_UP_ALLOWED_DOMAINS`); unset or blank is
/// empty.
pub fn string_list(env: &impl Lookup, var: &EnvVar) -> Result<Vec<String>, ConfigError> {
    match env.get(var.name).as_deref().map(str::trim) {
        None | Some("") => Ok(Vec::new()),
        Some(raw) => serde_json::from_str::<Vec<String>>(raw).map_err(|err| {
            ConfigError::new(
                var.name,
                format!("expected a JSON array of strings, e.g. [\"example.com\"]: {err}"),
            )
        }),
    }
}

/// A whole number of hours; unset or blank is `default`.
pub fn hours(env: &impl Lookup, var: &EnvVar, default: Duration) -> Result<Duration, ConfigError> {
    match env.get(var.name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|h| *h > 0)
            .and_then(|h| h.checked_mul(3600))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                ConfigError::new(
                    var.name,
                    format!("expected a positive whole number of hours, got {raw:?}"),
                )
            }),
    }
}

/// An absolute `http(s)` URL without a trailing slash (paths are appended to it).
pub fn base_url(env: &impl Lookup, var: &EnvVar) -> Result<String, ConfigError> {
    let raw = required(env, var)?;
    if !(raw.starts_with("https://") || raw.starts_with("http://")) {
        return Err(ConfigError::new(
            var.name,
            format!("expected an http(s) URL, got {raw:?}"),
        ));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

#[cfg(test)]
pub(crate) fn map_env(pairs: &[(&str, &str)]) -> impl Lookup {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    ugc_domain::env_vars! {
        mod var;
        FLAG: required => "";
        LIST: required => "";
        H: required => "";
        URL: required => "";
        MISSING: required => "";
        UNSET: required => "";
        BLANK: required => "";
    }

    #[test]
    fn errors_name_the_variable() {
        let env = map_env(&[("FLAG", "yes"), ("LIST", "a.com"), ("H", "0"), ("URL", "x")]);
        assert!(flag(&env, &var::FLAG, false)
            .unwrap_err()
            .to_string()
            .starts_with("FLAG: "));
        assert!(string_list(&env, &var::LIST)
            .unwrap_err()
            .to_string()
            .starts_with("LIST: "));
        assert!(hours(&env, &var::H, Duration::ZERO)
            .unwrap_err()
            .to_string()
            .starts_with("H: "));
        assert!(base_url(&env, &var::URL)
            .unwrap_err()
            .to_string()
            .starts_with("URL: "));
        assert_eq!(
            required(&env, &var::MISSING).unwrap_err().to_string(),
            "MISSING: must be set"
        );
    }

    #[test]
    fn values_and_defaults() {
        let env = map_env(&[
            ("FLAG", "TRUE"),
            ("LIST", r#"["a.com","b.org"]"#),
            ("H", "48"),
            ("URL", "https://cdn.example.com/"),
            ("BLANK", "  "),
        ]);
        assert!(flag(&env, &var::FLAG, false).unwrap());
        assert!(!flag(&env, &var::UNSET, false).unwrap());
        assert_eq!(string_list(&env, &var::LIST).unwrap(), ["a.com", "b.org"]);
        assert!(string_list(&env, &var::BLANK).unwrap().is_empty());
        assert_eq!(
            hours(&env, &var::H, Duration::ZERO).unwrap(),
            Duration::from_secs(48 * 3600)
        );
        assert_eq!(
            base_url(&env, &var::URL).unwrap(),
            "https://cdn.example.com"
        );
        assert!(required(&env, &var::BLANK).is_err());
    }
}
