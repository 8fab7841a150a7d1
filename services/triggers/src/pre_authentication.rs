//! Cognito PreAuthentication (docs/contract.md §12.2): after a rename only the exact new name signs in.
//!
//! The pool signs in case-insensitively with the username or the `preferred_username` alias, so
//! without this trigger the old name (and any casing of the new one) would still work. The SPA
//! passes the typed name as InitiateAuth `ClientMetadata.submittedUsername`, which Cognito hands to
//! this trigger as `validationData`.

use serde_json::Value;

use crate::cognito::str_at;

/// What the trigger throws; the SPA shows it as "incorrect username or password".
pub const USER_NOT_FOUND: &str = "UserNotFoundException";

/// The trigger: the event unchanged, or [`USER_NOT_FOUND`] when no submitted username was sent or
/// the user has a `preferred_username` that differs from it (case-sensitively).
pub fn handle(event: Value) -> Result<Value, String> {
    let submitted = str_at(&event, &["request", "validationData", "submittedUsername"])
        .or_else(|| str_at(&event, &["request", "clientMetadata", "submittedUsername"]));
    let Some(submitted) = submitted else {
        return Err(USER_NOT_FOUND.to_owned());
    };
    match str_at(&event, &["request", "userAttributes", "preferred_username"]) {
        Some(preferred) if preferred != submitted => Err(USER_NOT_FOUND.to_owned()),
        _ => Ok(event),
    }
}
