//! The persisted state of the emulated user pools.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::tokens::StoredKeys;
use crate::core::error::AwsError;

#[derive(Default, Serialize, Deserialize)]
pub struct State {
    pub pools: BTreeMap<String, Pool>,
    /// Generated on first use; kept so tokens and cached JWKS survive a restart.
    pub keys: Option<StoredKeys>,
    pub outbox: Vec<OutboxMessage>,
}

/// The newest messages kept in the outbox.
pub const OUTBOX_LIMIT: usize = 1000;

#[derive(Clone, Serialize, Deserialize)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub arn: String,
    pub created: f64,
    pub modified: f64,
    /// `preferred_username`, `email`, `phone_number`: other values a user can sign in with.
    pub alias_attributes: Vec<String>,
    pub auto_verified_attributes: Vec<String>,
    pub case_sensitive: bool,
    pub policy: PasswordPolicy,
    /// Attribute schema entries given at creation (`Required`, `Mutable`).
    pub schema: Vec<SchemaAttribute>,
    pub email_subject: Option<String>,
    pub email_message: Option<String>,
    /// The creation request's extra members, echoed by DescribeUserPool.
    pub extra: serde_json::Map<String, Value>,
    pub clients: BTreeMap<String, Client>,
    /// Keyed by [`Pool::user_key`] (lower-cased unless the pool is case-sensitive).
    pub users: BTreeMap<String, User>,
    pub refresh_tokens: BTreeMap<String, RefreshSession>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct SchemaAttribute {
    pub name: String,
    pub required: bool,
    pub mutable: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub minimum_length: usize,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
}

impl Default for PasswordPolicy {
    /// Cognito's default policy.
    fn default() -> Self {
        Self {
            minimum_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
        }
    }
}

/// Cognito's special characters for `RequireSymbols`.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

impl PasswordPolicy {
    pub fn check(&self, password: &str) -> Result<(), AwsError> {
        let fail = |what: &str| {
            Err(AwsError::new(
                400,
                "InvalidPasswordException",
                format!("Password did not conform with policy: {what}"),
            ))
        };
        if password.chars().count() < self.minimum_length {
            return fail("Password not long enough");
        }
        if self.require_uppercase && !password.chars().any(|c| c.is_uppercase()) {
            return fail("Password must have uppercase characters");
        }
        if self.require_lowercase && !password.chars().any(|c| c.is_lowercase()) {
            return fail("Password must have lowercase characters");
        }
        if self.require_numbers && !password.chars().any(|c| c.is_ascii_digit()) {
            return fail("Password must have numeric characters");
        }
        if self.require_symbols && !password.chars().any(|c| SYMBOLS.contains(c)) {
            return fail("Password must have symbol characters");
        }
        Ok(())
    }

    pub fn to_json(&self) -> Value {
        json!({
            "MinimumLength": self.minimum_length,
            "RequireUppercase": self.require_uppercase,
            "RequireLowercase": self.require_lowercase,
            "RequireNumbers": self.require_numbers,
            "RequireSymbols": self.require_symbols,
            "TemporaryPasswordValidityDays": 7,
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub secret: Option<String>,
    pub explicit_auth_flows: Vec<String>,
    pub prevent_user_existence_errors: bool,
    pub access_token_validity_secs: i64,
    pub id_token_validity_secs: i64,
    pub refresh_token_validity_secs: i64,
    pub created: f64,
    /// The creation request's extra members, echoed back.
    pub extra: serde_json::Map<String, Value>,
}

impl Client {
    /// Whether the client allows `flow` (e.g. `USER_PASSWORD_AUTH`), in either the current
    /// (`ALLOW_*`) or the legacy spelling.
    pub fn allows(&self, flow: &str) -> bool {
        let modern = format!("ALLOW_{flow}");
        let legacy_admin = flow == "ADMIN_USER_PASSWORD_AUTH" && self.has("ADMIN_NO_SRP_AUTH");
        self.has(&modern) || self.has(flow) || legacy_admin
    }

    fn has(&self, flow: &str) -> bool {
        self.explicit_auth_flows.iter().any(|f| f == flow)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Unconfirmed,
    Confirmed,
    ResetRequired,
    ForceChangePassword,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "UNCONFIRMED",
            Self::Confirmed => "CONFIRMED",
            Self::ResetRequired => "RESET_REQUIRED",
            Self::ForceChangePassword => "FORCE_CHANGE_PASSWORD",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Debug)]
pub enum CodePurpose {
    SignUp,
    ForgotPassword,
}

/// A code sent by e-mail, checked by ConfirmSignUp / ConfirmForgotPassword.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingCode {
    pub code: String,
    pub purpose: CodePurpose,
    pub expires: f64,
    pub failed_attempts: u32,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    /// The user name as signed up (its case is kept; lookups may ignore it).
    pub username: String,
    pub sub: String,
    /// Every attribute, `sub` included; values are strings as on the wire.
    pub attributes: BTreeMap<String, String>,
    pub password: String,
    pub status: UserStatus,
    pub enabled: bool,
    pub created: f64,
    pub modified: f64,
    pub codes: Vec<PendingCode>,
    /// `origin_jti` of every live sign-in session; GlobalSignOut empties it, which revokes the
    /// session's access and refresh tokens.
    pub sessions: Vec<String>,
}

impl User {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// The `[{Name, Value}]` list of the wire, optionally limited to `only`.
    pub fn attributes_json(&self, only: Option<&[String]>) -> Value {
        Value::Array(
            self.attributes
                .iter()
                .filter(|(k, _)| only.is_none_or(|names| names.iter().any(|n| n == *k)))
                .map(|(k, v)| json!({"Name": k, "Value": v}))
                .collect(),
        )
    }

    /// The user as ListUsers and AdminGetUser show it (the latter renames `Attributes`).
    pub fn listing_json(&self, only: Option<&[String]>) -> Value {
        json!({
            "Username": self.username,
            "Attributes": self.attributes_json(only),
            "UserCreateDate": self.created,
            "UserLastModifiedDate": self.modified,
            "Enabled": self.enabled,
            "UserStatus": self.status.as_str(),
        })
    }

    pub fn email_verified(&self) -> bool {
        self.attribute("email_verified") == Some("true")
    }
}

/// What a refresh token stands for.
#[derive(Clone, Serialize, Deserialize)]
pub struct RefreshSession {
    pub user_sub: String,
    pub client_id: String,
    pub origin_jti: String,
    pub auth_time: i64,
    pub expires: f64,
}

/// An e-mail the pool "sent".
#[derive(Clone, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub to: String,
    pub username: String,
    pub pool_id: String,
    /// e.g. `CustomMessage_SignUp`, `CustomMessage_ForgotPassword`.
    pub trigger_source: String,
    pub subject: String,
    pub body: String,
    pub code: String,
    /// RFC 3339.
    pub time: String,
}

impl Pool {
    pub fn user_key(&self, username: &str) -> String {
        if self.case_sensitive {
            username.to_owned()
        } else {
            username.to_lowercase()
        }
    }

    fn alias_key(&self, value: &str) -> String {
        // Alias values follow the pool's case rule too (`preferred_username` sign-in is
        // case-insensitive in the upstream pool).
        self.user_key(value)
    }

    /// The key of the user `name` designates: a user name, or an alias of a confirmed user.
    pub fn find_user_key(&self, name: &str) -> Option<String> {
        let key = self.user_key(name);
        if self.users.contains_key(&key) {
            return Some(key);
        }
        let wanted = self.alias_key(name);
        self.users
            .iter()
            .find(|(_, u)| {
                u.status != UserStatus::Unconfirmed
                    && self.alias_attributes.iter().any(|attr| {
                        u.attribute(attr)
                            .is_some_and(|v| self.alias_key(v) == wanted)
                            && (attr != "email" || u.email_verified())
                    })
            })
            .map(|(k, _)| k.clone())
    }

    /// The user holding `value` as user name or as the alias `attribute`, other than `except`.
    pub fn alias_holder(&self, attribute: &str, value: &str, except: &str) -> Option<&User> {
        let wanted = self.alias_key(value);
        self.users.iter().find_map(|(k, u)| {
            let holds = k != except
                && (self.user_key(&u.username) == wanted
                    || (u.status != UserStatus::Unconfirmed
                        && u.attribute(attribute)
                            .is_some_and(|v| self.alias_key(v) == wanted)));
            holds.then_some(u)
        })
    }

    pub fn user_by_sub(&self, sub: &str) -> Option<(&String, &User)> {
        self.users.iter().find(|(_, u)| u.sub == sub)
    }

    pub fn describe_json(&self) -> Value {
        let mut pool = self.extra.clone();
        let fields = json!({
            "Id": self.id,
            "Name": self.name,
            "Arn": self.arn,
            "CreationDate": self.created,
            "LastModifiedDate": self.modified,
            "Policies": {"PasswordPolicy": self.policy.to_json()},
            "AliasAttributes": self.alias_attributes,
            "AutoVerifiedAttributes": self.auto_verified_attributes,
            "UsernameConfiguration": {"CaseSensitive": self.case_sensitive},
            "EstimatedNumberOfUsers": self.users.len(),
            "MfaConfiguration": "OFF",
        });
        if let Value::Object(fields) = fields {
            pool.extend(fields);
        }
        Value::Object(pool)
    }
}

impl Client {
    pub fn describe_json(&self, pool_id: &str) -> Value {
        let mut client = self.extra.clone();
        let mut fields = json!({
            "UserPoolId": pool_id,
            "ClientId": self.id,
            "ClientName": self.name,
            "ExplicitAuthFlows": self.explicit_auth_flows,
            "PreventUserExistenceErrors": if self.prevent_user_existence_errors { "ENABLED" } else { "LEGACY" },
            "AccessTokenValidity": self.access_token_validity_secs / 60,
            "IdTokenValidity": self.id_token_validity_secs / 60,
            "RefreshTokenValidity": self.refresh_token_validity_secs / 60,
            "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
            "CreationDate": self.created,
            "LastModifiedDate": self.created,
        });
        if let (Some(secret), Value::Object(f)) = (&self.secret, &mut fields) {
            f.insert("ClientSecret".into(), Value::String(secret.clone()));
        }
        if let Value::Object(fields) = fields {
            client.extend(fields);
        }
        Value::Object(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_names_the_first_missing_rule() {
        let p = PasswordPolicy::default();
        let msg = |pw: &str| p.check(pw).unwrap_err().message;
        assert!(msg("Aa1!").ends_with("Password not long enough"));
        assert!(msg("password1!").ends_with("uppercase characters"));
        assert!(msg("PASSWORD1!").ends_with("lowercase characters"));
        assert!(msg("Password!!").ends_with("numeric characters"));
        assert!(msg("Password11").ends_with("symbol characters"));
        assert!(p.check("Passw0rd!").is_ok());
        assert!(p.check("Passw0rd pass").is_ok());
    }
}
