//! The one request-body parser of the emulator's JSON protocols (awsJson1_1 for Cognito and
//! Secrets Manager, restJson1 for IVS Chat's control plane, the Creators catalog API): an empty
//! body is an empty object, anything but an object is refused, and typed inputs are read with
//! `serde_path_to_error`, so a member of the wrong type is reported by its path. Each protocol
//! turns a [`BodyError`] into its own error shape.

use actix_web::HttpResponse;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::core::error::AwsError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The body is not JSON.
    Syntax(String),
    /// The body is JSON but not an object.
    NotObject,
    /// A member has the wrong type or value; `path` names it, e.g. `Tags[0].Key`.
    Member { path: String, message: String },
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Syntax(e) => write!(f, "The request body is not valid JSON: {e}"),
            Self::NotObject => f.write_str("The request body must be a JSON object"),
            Self::Member { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// The body as a JSON object; an empty (or all-whitespace) body is `{}`.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BodyError::NotObject),
        Err(e) => Err(BodyError::Syntax(e.to_string())),
    }
}

/// The body as the typed input `T` (see [`parse_object`] for what an acceptable body is).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    from_value(Value::Object(parse_object(body)?))
}

/// `value` as the typed input `T`, naming the offending member on failure.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, BodyError> {
    serde_path_to_error::deserialize(value).map_err(|e| BodyError::Member {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// The operation enum `T` (unit variants named like the operations) for an operation name, e.g.
/// `CognitoOp::SignUp` for `SignUp`; `None` for a name the service does not serve.
pub fn operation<T: DeserializeOwned>(name: &str) -> Option<T> {
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::IntoDeserializer as _;
    let name: StrDeserializer<'_, Error> = name.into_deserializer();
    T::deserialize(name).ok()
}

impl BodyError {
    /// awsJson1_1 calls a body it cannot read a `SerializationException`
    /// (`docs/wire-protocols.md` §0.2). (No `From` impl: closures returning `AwsError` through
    /// `?` would no longer infer their error type.)
    pub fn into_aws_json(self) -> AwsError {
        AwsError::new(400, "SerializationException", self.to_string())
    }
}

/// A successful awsJson1_1 response carrying `output`.
pub fn aws_json_ok(output: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
        .content_type("application/x-amz-json-1.1")
        .body(output.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    enum Op {
        SignUp,
        ListUsers,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Input {
        #[allow(dead_code)]
        tags: Option<Vec<Tag>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Tag {
        #[allow(dead_code)]
        key: String,
    }

    #[test]
    fn empty_bodies_are_objects_and_others_are_refused() {
        assert_eq!(parse_object(b" \n").unwrap(), Map::new());
        assert_eq!(parse_object(b"[1]"), Err(BodyError::NotObject));
        assert!(matches!(parse_object(b"{"), Err(BodyError::Syntax(_))));
    }

    #[test]
    fn a_member_of_the_wrong_type_is_named_by_its_path() {
        let err = parse::<Input>(br#"{"Tags": [{"Key": 5}]}"#).unwrap_err();
        let BodyError::Member { path, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(path, "Tags[0].Key");
        assert_eq!(err.into_aws_json().code, "SerializationException");
    }

    #[test]
    fn operations_parse_from_their_names() {
        assert_eq!(operation::<Op>("SignUp"), Some(Op::SignUp));
        assert_eq!(operation::<Op>("ListUsers"), Some(Op::ListUsers));
        assert_eq!(operation::<Op>("DeleteEverything"), None);
        assert_eq!(operation::<Op>(""), None);
    }
}
