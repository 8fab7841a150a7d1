//! Cognito PreSignUp: the sign-up rules hold even for sign-ups that bypass the API (the pool allows
//! self sign-up, so anyone with the app client id can call Cognito directly), and the dev stage
//! confirms users without an e-mailed code.
//!
//! Rejections throw a message that starts with the API's error code; Cognito reports it as
//! `UserLambdaValidationException: PreSignUp failed with error <message>.`, and the SPA searches that
//! text for the code names it knows (`ReservedUsernameException` → "unavailable username").

use serde_json::Value;
use ugc_domain::{Email, Username, UsernameError};

use crate::cognito::{set_response, str_at, trigger_source, user_name};
use crate::config::{self, ConfigError, Lookup};

ugc_domain::env_vars! {
    pub mod var;
    SIGN_UP_ALLOWED_DOMAINS: "`[]` (any)" => "JSON array of the e-mail domains allowed to \
        register (exact match, as the API checks them).";
    ENABLE_USER_AUTO_VERIFY: "`false`" => "`true` confirms sign-ups and verifies the e-mail \
        without a code (dev stage).";
}

pub const RESERVED_USERNAME: &str = "ReservedUsernameException";
pub const ACCOUNT_REGISTRATION: &str = "AccountRegistrationException";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreSignUpConfig {
    /// E-mail domains allowed to sign up (exact match, as the API checks them); empty = any.
    pub allowed_domains: Vec<String>,
    /// `ENABLE_USER_AUTO_VERIFY`: confirm the user and verify the e-mail without a code.
    pub auto_verify: bool,
}

impl PreSignUpConfig {
    /// The variables of [`var`].
    pub fn from_env(env: &impl Lookup) -> Result<Self, ConfigError> {
        Ok(Self {
            allowed_domains: config::string_list(env, &var::SIGN_UP_ALLOWED_DOMAINS)?,
            auto_verify: config::flag(env, &var::ENABLE_USER_AUTO_VERIFY, false)?,
        })
    }
}

/// The trigger: the event back with `response.autoConfirmUser` / `autoVerifyEmail` set when
/// auto-verify is on, or the rejection message.
pub fn handle(config: &PreSignUpConfig, mut event: Value) -> Result<Value, String> {
    let email = str_at(&event, &["request", "userAttributes", "email"]);
    check_email(config, email)?;
    // Federated users get generated names (`Google_1234…`) that are not display names.
    if trigger_source(&event) != "PreSignUp_ExternalProvider" {
        check_username(user_name(&event))?;
    }
    let has_email = email.is_some();
    if config.auto_verify {
        set_response(&mut event, "autoConfirmUser", Value::Bool(true))?;
        if has_email {
            set_response(&mut event, "autoVerifyEmail", Value::Bool(true))?;
        }
    }
    Ok(event)
}

fn check_email(config: &PreSignUpConfig, email: Option<&str>) -> Result<(), String> {
    let Some(raw) = email else {
        return if config.allowed_domains.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{ACCOUNT_REGISTRATION}: an email address is required"
            ))
        };
    };
    let email = Email::parse(raw).map_err(|err| format!("{ACCOUNT_REGISTRATION}: {err}"))?;
    if config.allowed_domains.is_empty()
        || config.allowed_domains.iter().any(|d| d == email.domain())
    {
        Ok(())
    } else {
        Err(format!(
            "{ACCOUNT_REGISTRATION}: sign-up is not allowed for this email domain"
        ))
    }
}

fn check_username(name: &str) -> Result<(), String> {
    match Username::parse(name) {
        Ok(_) => Ok(()),
        Err(UsernameError::Reserved) => Err(RESERVED_USERNAME.to_owned()),
        Err(UsernameError::Invalid(why)) => Err(format!("{ACCOUNT_REGISTRATION}: {why}")),
    }
}
