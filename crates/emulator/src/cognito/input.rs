//! Typed access to an awsJson request body, with Cognito's validation messages.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::core::error::AwsError;

pub struct Input<'a>(pub &'a Value);

/// `UserPoolId` → `userPoolId`, the member name Cognito's validation messages use.
fn member(field: &str) -> String {
    let mut chars = field.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_lowercase().chain(chars).collect::<String>()
    })
}

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new(400, "InvalidParameterException", message)
}

impl<'a> Input<'a> {
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    pub fn str_opt(&self, field: &str) -> Result<Option<&'a str>, AwsError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(AwsError::new(
                400,
                "SerializationException",
                format!("{field} must be a string"),
            )),
        }
    }

    pub fn str_req(&self, field: &str) -> Result<&'a str, AwsError> {
        self.str_opt(field)?.ok_or_else(|| {
            invalid_parameter(format!(
                "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must not be null",
                member(field)
            ))
        })
    }

    pub fn bool_opt(&self, field: &str) -> Result<Option<bool>, AwsError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(AwsError::new(
                400,
                "SerializationException",
                format!("{field} must be a boolean"),
            )),
        }
    }

    pub fn i64_opt(&self, field: &str) -> Result<Option<i64>, AwsError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                AwsError::new(
                    400,
                    "SerializationException",
                    format!("{field} must be an integer"),
                )
            }),
        }
    }

    pub fn str_list(&self, field: &str) -> Result<Vec<String>, AwsError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        AwsError::new(
                            400,
                            "SerializationException",
                            format!("{field} must be a list of strings"),
                        )
                    })
                })
                .collect(),
            Some(_) => Err(AwsError::new(
                400,
                "SerializationException",
                format!("{field} must be a list"),
            )),
        }
    }

    /// A `{string: string}` map such as `ClientMetadata` or `AuthParameters`.
    pub fn string_map(&self, field: &str) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_owned()))
                        .ok_or_else(|| {
                            AwsError::new(
                                400,
                                "SerializationException",
                                format!("{field} values must be strings"),
                            )
                        })
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(_) => Err(AwsError::new(
                400,
                "SerializationException",
                format!("{field} must be a map"),
            )),
        }
    }

    /// A `[{"Name", "Value"}]` attribute list, in order.
    pub fn attributes(&self, field: &str) -> Result<Option<Vec<(String, String)>>, AwsError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let bad = || {
            AwsError::new(
                400,
                "SerializationException",
                format!("{field} must be a list of {{Name, Value}}"),
            )
        };
        let items = value.as_array().ok_or_else(bad)?;
        items
            .iter()
            .map(|item| {
                let name = item.get("Name").and_then(Value::as_str).ok_or_else(bad)?;
                let value = item
                    .get("Value")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Ok((name.to_owned(), value.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn object(&self, field: &str) -> Option<&'a serde_json::Map<String, Value>> {
        self.get(field).and_then(Value::as_object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_missing_member_like_cognito() {
        let v = json!({"ClientId": 3});
        let input = Input(&v);
        assert_eq!(
            input.str_req("Username").unwrap_err().message,
            "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            input.str_req("ClientId").unwrap_err().code,
            "SerializationException"
        );
    }
}
