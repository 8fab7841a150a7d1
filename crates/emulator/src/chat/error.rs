//! IVS Chat control-plane errors (`docs/wire-protocols.md` §3.1): the `x-amzn-ErrorType` header, and a
//! body with `__type`, `message` and the members the error shape adds (`fieldList`, `resourceId`, ...).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Map, Value};

use crate::core::error::AwsError;
use crate::core::json::BodyError;

#[derive(Debug, Clone)]
pub struct ChatError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Map<String, Value>,
}

impl ChatError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// 400 `ValidationException` naming the offending member.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            message.clone(),
        )
        .with("reason", json!("FIELD_VALIDATION_FAILED"))
        .with("fieldList", json!([{"name": name, "message": message}]))
    }

    /// 400 `ValidationException` about the request as a whole (e.g. a body that is not JSON).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
            .with("reason", json!("OTHER"))
            .with("fieldList", json!([]))
    }

    /// 404 `ResourceNotFoundException`.
    pub fn not_found(resource_id: &str, resource_type: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Resource {resource_id} not found"),
        )
        .with("resourceId", json!(resource_id))
        .with("resourceType", json!(resource_type))
    }
}

/// Signature failures keep the code SigV4 verification chose.
impl From<AwsError> for ChatError {
    fn from(e: AwsError) -> Self {
        Self::new(e.status, e.code, e.message)
    }
}

/// A body that is not a JSON object is a request-level `ValidationException`; a member of the
/// wrong type is a field-level one naming it.
impl From<BodyError> for ChatError {
    fn from(e: BodyError) -> Self {
        match &e {
            BodyError::Member { path, .. } => Self::field(path, e.to_string()),
            BodyError::Syntax(_) | BodyError::NotObject => Self::invalid_request(e.to_string()),
        }
    }
}

impl std::fmt::Display for ChatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ChatError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = self.extra.clone();
        body.insert("__type".to_owned(), json!(self.code));
        body.insert("message".to_owned(), json!(self.message));
        HttpResponse::build(self.status)
            .insert_header(("x-amzn-ErrorType", self.code))
            .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
            .json(Value::Object(body))
    }
}
