//! AWS-style error responses (`docs/wire-protocols.md` §0.2): the `x-amzn-ErrorType` header and a
//! body carrying `__type`, so every client (aws-sdk-rust, botocore, the browser SDKs) finds the code.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

/// An error of a JSON protocol (awsJson1_1 or restJson1).
#[derive(Debug, Clone)]
pub struct AwsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl AwsError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message: message.into(),
        }
    }

    /// The awsJson answer to an `X-Amz-Target` the service does not serve.
    pub fn unknown_operation(name: &str) -> Self {
        Self::new(
            400,
            "UnknownOperationException",
            format!("Unknown operation {name}"),
        )
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", message)
    }

    /// awsJson1_1 body: `{"__type", "message"}`.
    pub fn to_json_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .insert_header(("x-amzn-ErrorType", self.code))
            .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
            .content_type("application/x-amz-json-1.1")
            .json(json!({"__type": self.code, "message": self.message}))
    }

    /// restJson1 body (IVS, IVS Chat): `{"__type", "message", "exceptionMessage"}`.
    pub fn to_rest_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .insert_header(("x-amzn-ErrorType", self.code))
            .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
            .json(json!({
                "__type": self.code,
                "message": self.message,
                "exceptionMessage": self.message,
            }))
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}
