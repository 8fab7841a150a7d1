//! Error policy.
//!
//! Every error leaves the service as `{"__type": "<Code>"}` or `{"__type": "<Code>", "message":
//! "<text>"}`, with `<Code>` from [`ErrorCode`] and a status that says what happened: 400 invalid
//! input, 401 missing or bad token, 403 not allowed, 404 not found, 405 wrong method, 409
//! conflict, 413 body too large, 429 throttled (with `Retry-After`), 500 unexpected, 503 a
//! dependency is down.
//!
//! - Handlers return [`ApiError`] (or an endpoint enum that converts into it). Expected cases
//!   carry a code and, when it helps the caller, a message written for the caller.
//! - Internal detail (SDK errors, which JWT check failed, stack traces) never reaches the body.
//!   Attach it with [`ApiError::with_detail`]; it is logged when the response is built.
//! - Framework errors (unknown route, wrong method, extractor failures, oversized bodies) are
//!   reshaped into the same body by [`error_shape`], so no actix plain-text error escapes.

use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use ugc_domain::ErrorCode;

/// An error answered to the client as a `__type` body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct ApiError {
    code: ErrorCode,
    status: StatusCode,
    message: Option<String>,
    retry_after: Option<u64>,
    detail: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode) -> Self {
        Self {
            code,
            status,
            message: None,
            retry_after: None,
            detail: None,
        }
    }

    /// Adds a message for the caller (it goes into the body).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Adds internal detail for the logs (never in the body).
    pub fn with_detail(mut self, detail: impl std::fmt::Display) -> Self {
        self.detail = Some(detail.to_string());
        self
    }

    /// Adds `Retry-After` in whole seconds (at least 1).
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        self.retry_after = Some(secs.max(1));
        self
    }

    /// 400 `BadRequestException` with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequestException).with_message(message)
    }

    /// 401 `UnauthorizedException`; the body never says why.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::UnauthorizedException)
    }

    /// 404 `NotFoundException` (unknown route).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFoundException)
    }

    /// 405 `MethodNotAllowedException`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowedException,
        )
    }

    /// 413 `PayloadTooLargeException`.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLargeException,
        )
    }

    /// 429 `TooManyRequestsException` with `Retry-After` in whole seconds (at least 1).
    pub fn too_many_requests(retry_after: Duration) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyRequestsException,
        )
        .with_retry_after(retry_after)
    }

    /// 503 `ServiceUnavailableException`: a dependency is down; retrying later can succeed.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailableException,
        )
    }

    /// 500 `UnexpectedException`.
    pub fn unexpected() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::UnexpectedException,
        )
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The error for a framework-produced status (routing, extractors, payload limits).
    fn for_status(status: StatusCode, message: Option<String>) -> Self {
        let code = match status {
            StatusCode::NOT_FOUND => ErrorCode::NotFoundException,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowedException,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLargeException,
            StatusCode::UNAUTHORIZED => ErrorCode::UnauthorizedException,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::TooManyRequestsException,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailableException,
            s if s.is_client_error() => ErrorCode::BadRequestException,
            _ => ErrorCode::UnexpectedException,
        };
        let status = if code == ErrorCode::BadRequestException {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        let mut err = Self::new(status, code);
        if code == ErrorCode::BadRequestException {
            err.message = message;
        }
        err
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            tracing::error!(code = %self.code, detail = self.detail.as_deref(), "request failed");
        } else if let Some(detail) = &self.detail {
            tracing::info!(code = %self.code, detail = %detail, "request rejected");
        }
        let body = ErrorBody {
            code: self.code.as_str(),
            message: self.message.as_deref(),
        };
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs));
        }
        match serde_json::to_string(&body) {
            Ok(json) => res.body(json),
            Err(_) => res.body(r#"{"__type":"UnexpectedException"}"#),
        }
    }
}

/// Maps `web::Json` failures (for services that use actix's extractor rather than
/// [`crate::Json`]).
pub fn json_error_handler(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    json_payload_error(err).into()
}

pub(crate) fn json_payload_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::payload_too_large()
        }
        JsonPayloadError::ContentType => {
            ApiError::bad_request("Content-Type must be application/json")
        }
        JsonPayloadError::Deserialize(e) => serde_error(&e, None),
        JsonPayloadError::Payload(e) => payload_error(&e),
        other => ApiError::bad_request(other.to_string()),
    }
}

pub(crate) fn payload_error(err: &actix_web::error::PayloadError) -> ApiError {
    use actix_web::error::PayloadError;
    match err {
        PayloadError::Overflow => ApiError::payload_too_large(),
        other => ApiError::bad_request(format!("could not read the request body: {other}")),
    }
}

pub(crate) const EMPTY_JSON_BODY: &str =
    "Body cannot be empty when content-type is set to 'application/json'";

/// A body message for a JSON parse error; `path` is where it failed (`body/username`).
pub(crate) fn serde_error(err: &serde_json::Error, path: Option<&str>) -> ApiError {
    if err.is_eof() && err.line() == 1 && err.column() == 0 {
        return ApiError::bad_request(EMPTY_JSON_BODY);
    }
    match (err.classify(), path) {
        (serde_json::error::Category::Data, Some(path)) if !path.is_empty() && path != "." => {
            ApiError::bad_request(format!("body/{path}: {}", strip_position(err)))
        }
        (serde_json::error::Category::Data, _) => {
            ApiError::bad_request(format!("body: {}", strip_position(err)))
        }
        _ => ApiError::bad_request(format!("malformed JSON: {err}")),
    }
}

/// serde's data errors end in " at line 1 column 17", which only repeats the field path.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_owned(),
        None => text,
    }
}

pub fn query_error_handler(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(format!("querystring: {err}")).into()
}

pub fn path_error_handler(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(format!("params: {err}")).into()
}

/// The app's default service: 405 when the path exists under another method, else 404.
pub async fn not_found_or_method(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.resource_map().has_resource(req.path()) {
        Err(ApiError::method_not_allowed())
    } else {
        Err(ApiError::not_found())
    }
}

/// Reshapes framework error responses into `__type` bodies (see the policy above); for
/// [`actix_web::middleware::from_fn`].
pub async fn error_shape(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Routing needs the request unshared, so it cannot be kept for an `Err` here; the router and
    // handlers answer errors as responses, which is what gets reshaped.
    Ok(reshape(next.call(req).await?))
}

fn reshape(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let replacement = match res.response().error() {
        Some(err) if err.as_error::<ApiError>().is_some() => None,
        Some(err) => {
            if status.is_server_error() {
                tracing::error!(error = %err, "request failed");
            }
            Some(ApiError::for_status(status, Some(err.to_string())))
        }
        None if status == StatusCode::METHOD_NOT_ALLOWED
            && !res.headers().contains_key(header::CONTENT_TYPE) =>
        {
            Some(ApiError::method_not_allowed())
        }
        None => None,
    };
    let Some(api_error) = replacement else {
        return res;
    };
    let allow = res.headers().get(header::ALLOW).cloned();
    let mut new = api_error.error_response();
    if let Some(allow) = allow {
        new.headers_mut().insert(header::ALLOW, allow);
    }
    res.into_response(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn bodies_have_the_wire_shape() {
        let res = ApiError::unauthorized().error_response();
        assert_eq!(res.status(), 401);
        let body = to_bytes(res.into_body()).await.unwrap();
        assert_eq!(&body[..], br#"{"__type":"UnauthorizedException"}"#);

        let res = ApiError::bad_request("nope")
            .with_detail("secret internals")
            .error_response();
        let body = to_bytes(res.into_body()).await.unwrap();
        assert_eq!(
            &body[..],
            br#"{"__type":"BadRequestException","message":"nope"}"#
        );

        let res = ApiError::too_many_requests(Duration::from_millis(1500)).error_response();
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "2");
    }

    #[test]
    fn framework_statuses_map_to_codes() {
        let e = ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("x".into()));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.code(), ErrorCode::BadRequestException);
        let e = ApiError::for_status(StatusCode::BAD_GATEWAY, Some("leak".into()));
        assert_eq!(e.code(), ErrorCode::UnexpectedException);
        assert_eq!(e.message(), None);
    }
}
