//! Cognito Lambda triggers as in-process Rust functions (`docs/wire-protocols.md` §1.5).
//!
//! The local platform registers the project's trigger handlers here, the way a user pool's
//! `LambdaConfig` names functions. Each handler receives the event Cognito would send and returns
//! the event with `response` filled in, or an error message (what the Lambda threw).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::core::error::AwsError;

/// One trigger: the event in, the event with its `response` filled in out (or the thrown message).
pub type TriggerFn = Arc<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;

/// The triggers a user pool can call. Unset ones behave as in a pool without that trigger.
#[derive(Clone, Default)]
pub struct Triggers {
    pub pre_sign_up: Option<TriggerFn>,
    pub pre_authentication: Option<TriggerFn>,
    pub custom_message: Option<TriggerFn>,
}

impl Triggers {
    pub fn with_pre_sign_up(
        mut self,
        f: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.pre_sign_up = Some(Arc::new(f));
        self
    }

    pub fn with_pre_authentication(
        mut self,
        f: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.pre_authentication = Some(Arc::new(f));
        self
    }

    pub fn with_custom_message(
        mut self,
        f: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.custom_message = Some(Arc::new(f));
        self
    }
}

impl std::fmt::Debug for Triggers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Triggers")
            .field("pre_sign_up", &self.pre_sign_up.is_some())
            .field("pre_authentication", &self.pre_authentication.is_some())
            .field("custom_message", &self.custom_message.is_some())
            .finish()
    }
}

/// The fields every trigger event shares.
pub struct EventContext<'a> {
    pub region: &'a str,
    pub pool_id: &'a str,
    pub client_id: &'a str,
    pub user_name: &'a str,
}

pub fn event(
    ctx: &EventContext<'_>,
    trigger_source: &str,
    request: Value,
    response: Value,
) -> Value {
    json!({
        "version": "1",
        "triggerSource": trigger_source,
        "region": ctx.region,
        "userPoolId": ctx.pool_id,
        "userName": ctx.user_name,
        "callerContext": {"awsSdkVersion": "ugc-emulator", "clientId": ctx.client_id},
        "request": request,
        "response": response,
    })
}

pub fn attributes_json(attributes: &BTreeMap<String, String>) -> Value {
    Value::Object(
        attributes
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

pub fn string_map_json(map: Option<&BTreeMap<String, String>>) -> Value {
    map.map_or(Value::Null, attributes_json)
}

/// Runs `trigger` (named as Cognito names it in error messages, e.g. `PreSignUp`) and returns the
/// `response` object of what it gave back.
pub fn invoke(
    trigger: &TriggerFn,
    name: &str,
    event: Value,
) -> Result<Map<String, Value>, AwsError> {
    let source = event
        .get("triggerSource")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match trigger(event) {
        Ok(out) => match out.get("response") {
            Some(Value::Object(response)) => Ok(response.clone()),
            Some(Value::Null) | None => Ok(Map::new()),
            Some(_) => Err(AwsError::new(
                400,
                "InvalidLambdaResponseException",
                format!("Unrecognizable lambda output from {name}"),
            )),
        },
        Err(message) => {
            tracing::info!(trigger = name, trigger_source = %source, error = %message, "Cognito trigger refused");
            // Cognito appends a '.' even when the message already ends with one.
            Err(AwsError::new(
                400,
                "UserLambdaValidationException",
                format!("{name} failed with error {message}."),
            ))
        }
    }
}
