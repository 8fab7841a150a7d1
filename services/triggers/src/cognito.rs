//! Reading and filling Cognito trigger events (`docs/wire-protocols.md` §1.5).
//!
//! The triggers work on the event JSON itself rather than on typed structs: Cognito expects the
//! same event back with `response` filled in, and a round trip through structs would drop fields a
//! newer event version adds.

use serde_json::{Map, Value};

/// A string at a path of object keys, e.g. `["request", "userAttributes", "email"]`.
pub fn str_at<'a>(event: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(event, |value, key| value.get(key))
        .and_then(Value::as_str)
}

/// The event's `triggerSource` (`""` when missing).
pub fn trigger_source(event: &Value) -> &str {
    str_at(event, &["triggerSource"]).unwrap_or_default()
}

/// The event's `userName` (`""` when missing).
pub fn user_name(event: &Value) -> &str {
    str_at(event, &["userName"]).unwrap_or_default()
}

/// Sets `response.<field>`, creating `response` when Cognito sent none (or `null`).
pub fn set_response(event: &mut Value, field: &str, value: Value) -> Result<(), String> {
    let Value::Object(root) = event else {
        return Err("the trigger event is not a JSON object".to_owned());
    };
    let response = root
        .entry("response")
        .or_insert_with(|| Value::Object(Map::new()));
    if response.is_null() {
        *response = Value::Object(Map::new());
    }
    match response {
        Value::Object(fields) => {
            fields.insert(field.to_owned(), value);
            Ok(())
        }
        _ => Err("the trigger event's response is not a JSON object".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_paths_and_fills_response() {
        let mut event =
            json!({"userName": "alice", "request": {"a": {"b": "c"}}, "response": null});
        assert_eq!(str_at(&event, &["request", "a", "b"]), Some("c"));
        assert_eq!(str_at(&event, &["request", "a", "x"]), None);
        assert_eq!(user_name(&event), "alice");
        set_response(&mut event, "k", json!(true)).unwrap();
        assert_eq!(event["response"], json!({"k": true}));
        let mut missing = json!({});
        set_response(&mut missing, "k", json!(1)).unwrap();
        assert_eq!(missing["response"]["k"], 1);
        assert!(set_response(&mut json!([]), "k", json!(1)).is_err());
        assert!(set_response(&mut json!({"response": 3}), "k", json!(1)).is_err());
    }
}
