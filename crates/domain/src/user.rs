//! Account identity values: usernames and e-mail addresses.

use crate::{string_newtype_impls, InvalidValue};

/// Names that collide with SPA routes. Compared case-insensitively (upstream compared exactly, which
/// let `Settings` through and broke the route).
const RESERVED_USERNAMES: [&str; 8] = [
    "health",
    "manager",
    "feed",
    "following",
    "settings",
    "login",
    "register",
    "reset",
];

const USERNAME_MIN_CHARS: usize = 4;
const USERNAME_MAX_CHARS: usize = 20;

/// Why a username was refused. Callers answer `ReservedUsernameException` for `Reserved` and their
/// own registration/rename code for `Invalid`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username is reserved")]
    Reserved,
    #[error("{0}")]
    Invalid(&'static str),
}

/// A display name: 4–20 ASCII letters, digits, `.` or `_`, not a reserved route name.
/// Case is preserved; `lowercase()` is the key for case-insensitive uniqueness.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, UsernameError> {
        if RESERVED_USERNAMES
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(s))
        {
            return Err(UsernameError::Reserved);
        }
        let chars = s.chars().count();
        if chars < USERNAME_MIN_CHARS {
            return Err(UsernameError::Invalid(
                "username must have at least 4 characters",
            ));
        }
        if chars > USERNAME_MAX_CHARS {
            return Err(UsernameError::Invalid(
                "username must have at most 20 characters",
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            return Err(UsernameError::Invalid(
                "username may contain only letters, digits, '.' and '_'",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used to keep usernames unique regardless of case.
    pub fn lowercase(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

string_newtype_impls!(Username, UsernameError);

/// Upper bound from RFC 5321 (path length); Cognito's own limit is looser.
const EMAIL_MAX_LEN: usize = 254;

/// An e-mail address that passes a pragmatic syntax check: one `@`, a non-empty local part, a
/// domain of non-empty dot-separated labels, no whitespace or control characters. Cognito (which
/// sends the confirmation code) is the real judge; this only rejects what can never be delivered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let invalid = |why: &str| InvalidValue(format!("email is not a valid address: {why}"));
        if s.is_empty() {
            return Err(invalid("empty"));
        }
        if s.len() > EMAIL_MAX_LEN {
            return Err(invalid("too long"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("contains whitespace"));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(invalid("missing '@'"));
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(invalid(
                "expected exactly one '@' between a name and a domain",
            ));
        }
        if domain.split('.').any(str::is_empty) {
            return Err(invalid("malformed domain"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the first `@`, up to a second `@` if any — the rule `SIGN_UP_ALLOWED_DOMAINS`
    /// is matched against (exactly, case-sensitively, as upstream).
    pub fn domain(&self) -> &str {
        let after = self.0.split_once('@').map_or("", |(_, rest)| rest);
        after.split('@').next().unwrap_or(after)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

string_newtype_impls!(Email, InvalidValue);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_accept_letters_digits_dot_underscore_within_length() {
        for ok in ["abcd", "User.Name_01", "a234567890123456789b", "____"] {
            assert_eq!(Username::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "abc",
            "a2345678901234567890x",
            "with space",
            "dash-name",
            "émile",
            "",
        ] {
            assert!(
                matches!(Username::parse(bad), Err(UsernameError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn reserved_usernames_are_refused_in_any_case() {
        for name in [
            "health",
            "Settings",
            "LOGIN",
            "Feed",
            "following",
            "register",
            "reset",
            "manager",
        ] {
            assert_eq!(
                Username::parse(name),
                Err(UsernameError::Reserved),
                "{name}"
            );
        }
        assert!(Username::parse("healthy").is_ok());
    }

    #[test]
    fn username_lowercase_key_and_serde() {
        let u = Username::parse("Alice.B").unwrap();
        assert_eq!(u.lowercase(), "alice.b");
        assert_eq!(u.to_string(), "Alice.B");
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"Alice.B\"");
        let back: Username = serde_json::from_str("\"Alice.B\"").unwrap();
        assert_eq!(back, u);
        assert!(serde_json::from_str::<Username>("\"no\"").is_err());
    }

    #[test]
    fn emails_pragmatic_check() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.example.co.uk",
            "x@localhost",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b@c",
            "a b@example.com",
            "a@example..com",
            "a@.example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn email_domain_is_the_part_after_the_first_at() {
        assert_eq!(
            Email::parse("a@example.com").unwrap().domain(),
            "example.com"
        );
        assert_eq!(
            Email::parse("a@Example.COM").unwrap().domain(),
            "Example.COM"
        );
    }
}
