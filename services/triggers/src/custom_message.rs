//! Cognito CustomMessage (docs/contract.md §12.1): the sign-up and password-reset e-mails link to the web
//! app, which confirms the code itself. Other messages keep Cognito's templates.

use serde_json::Value;

use crate::cognito::{set_response, str_at, trigger_source, user_name};
use crate::config::{self, ConfigError, Lookup};

ugc_domain::env_vars! {
    pub mod var;
    CLIENT_BASE_URL: required => "The web app's origin: the links in the sign-up and \
        password-reset e-mails point at it.";
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomMessageConfig {
    /// `CLIENT_BASE_URL`: the web app's origin, without a trailing slash.
    pub client_base_url: String,
}

impl CustomMessageConfig {
    pub fn from_env(env: &impl Lookup) -> Result<Self, ConfigError> {
        Ok(Self {
            client_base_url: config::base_url(env, &var::CLIENT_BASE_URL)?,
        })
    }
}

/// The trigger: sets `response.emailMessage` for ForgotPassword, SignUp and ResendCode; the subject
/// and every other trigger source are left as Cognito sent them.
pub fn handle(config: &CustomMessageConfig, mut event: Value) -> Result<Value, String> {
    let base = &config.client_base_url;
    // Cognito replaces this placeholder with the code after the trigger returns.
    let code = str_at(&event, &["request", "codeParameter"]).unwrap_or("{####}");
    let user = user_name(&event);
    let message = match trigger_source(&event) {
        "CustomMessage_ForgotPassword" => format!(
            "Use the link below to set up a new password for your UGC account. This password reset \
             link is only valid for the next 1 hour. If you did not make this request, you can \
             safely disregard this email.\n<a href={base}/reset?code={code}&username={user}>Reset \
             Password</a>"
        ),
        "CustomMessage_SignUp" | "CustomMessage_ResendCode" => format!(
            "Use the link below to confirm your email for your UGC account.\n<a \
             href={base}/login?code={code}&username={user}>Confirm Email</a>"
        ),
        _ => return Ok(event),
    };
    set_response(&mut event, "emailMessage", Value::String(message))?;
    Ok(event)
}
