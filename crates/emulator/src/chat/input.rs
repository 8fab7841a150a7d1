//! Reading restJson1 request bodies member by member, so a wrong type or value is reported as a
//! `ValidationException` naming the member, the way AWS reports it. `null` counts as absent.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::ChatError;
use crate::core::json;

/// Attribute maps (token, event and message attributes) are limited to 1 KB in total.
pub const MAX_ATTRIBUTES_BYTES: usize = 1024;

pub struct Input(Map<String, Value>);

impl Input {
    /// Parses a request body; an empty body is an empty object.
    pub fn parse(body: &[u8]) -> Result<Self, ChatError> {
        json::parse_object(body).map(Self).map_err(ChatError::from)
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, ChatError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ChatError::field(name, format!("{name} must be a string"))),
        }
    }

    pub fn req_str(&self, name: &str) -> Result<&str, ChatError> {
        self.opt_str(name)?
            .ok_or_else(|| ChatError::field(name, format!("{name} is required")))
    }

    /// An optional integer within `min..=max`.
    pub fn opt_int(&self, name: &str, min: i64, max: i64) -> Result<Option<u32>, ChatError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let range = || ChatError::field(name, format!("{name} must be between {min} and {max}"));
        let n = value
            .as_i64()
            .ok_or_else(|| ChatError::field(name, format!("{name} must be an integer")))?;
        if !(min..=max).contains(&n) {
            return Err(range());
        }
        u32::try_from(n).map(Some).map_err(|_| range())
    }

    pub fn opt_string_list(&self, name: &str) -> Result<Option<Vec<String>>, ChatError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let not_list = || ChatError::field(name, format!("{name} must be a list of strings"));
        let items = value.as_array().ok_or_else(not_list)?;
        items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(not_list))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn opt_string_map(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ChatError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => string_map(value).map(Some).ok_or_else(|| {
                ChatError::field(name, format!("{name} must map strings to strings"))
            }),
        }
    }

    pub fn opt_object(&self, name: &str) -> Result<Option<Input>, ChatError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Input(map.clone()))),
            Some(_) => Err(ChatError::field(name, format!("{name} must be an object"))),
        }
    }

    /// Attributes: a string map of at most [`MAX_ATTRIBUTES_BYTES`].
    pub fn opt_attributes(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ChatError> {
        let attributes = self.opt_string_map(name)?;
        if attributes
            .as_ref()
            .is_some_and(|a| attributes_size(a) > MAX_ATTRIBUTES_BYTES)
        {
            return Err(ChatError::field(
                name,
                format!("{name} must not exceed {MAX_ATTRIBUTES_BYTES} bytes in total"),
            ));
        }
        Ok(attributes)
    }
}

/// A JSON object whose values are all strings.
pub fn string_map(value: &Value) -> Option<BTreeMap<String, String>> {
    value
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

pub fn attributes_size(attributes: &BTreeMap<String, String>) -> usize {
    attributes.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// Length of a string in code points, as IVS Chat counts message and name lengths.
pub fn chars(s: &str) -> usize {
    s.chars().count()
}

pub fn is_alphanumeric_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_of_the_wrong_type_are_named() {
        let input =
            Input::parse(br#"{"name": 5, "tags": {"a": 1}, "n": 1000, "x": null}"#).unwrap();
        assert!(input
            .opt_str("name")
            .unwrap_err()
            .to_string()
            .contains("name"));
        assert!(input.opt_string_map("tags").is_err());
        assert!(input.opt_int("n", 1, 500).is_err());
        assert_eq!(input.opt_str("x").unwrap(), None);
        assert!(Input::parse(b"[1]").is_err());
        assert!(Input::parse(b"{").is_err());
        assert!(Input::parse(b"").is_ok());
    }
}
