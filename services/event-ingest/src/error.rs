//! Why a delivery was not stored, and the answer that makes EventBridge retry exactly when a
//! retry can help (see the crate docs).

use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use std::time::Duration;
use ugc_dynamo::DbError;
use ugc_web::ApiError;

/// Seconds EventBridge should wait before retrying a delivery that hit a transient fault
/// (it waits the longer of this and its own backoff).
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub(crate) enum IngestError {
    #[error("missing or wrong ingest secret")]
    Unauthorized,
    #[error("malformed event: {0}")]
    BadRequest(String),
    #[error("body over the limit")]
    PayloadTooLarge,
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected: {0}")]
    Unexpected(String),
}

impl From<DbError> for IngestError {
    fn from(err: DbError) -> Self {
        let detail = error_chain(&err);
        match err {
            DbError::Throttled => Self::Throttled(detail),
            DbError::Unavailable(_) => Self::Unavailable(detail),
            DbError::NotFound | DbError::ConditionFailed | DbError::Other(_) => {
                Self::Unexpected(detail)
            }
        }
    }
}

/// The error and its sources on one line, for logs (never for bodies).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IngestError {
    /// The response. Built as a plain response (not an `Err`) so the shared error-shape
    /// middleware keeps the `Retry-After` header of 503s.
    pub(crate) fn into_response(self) -> HttpResponse {
        let (api_error, retry_after) = match self {
            Self::Unauthorized => (ApiError::unauthorized(), None),
            Self::BadRequest(message) => (ApiError::bad_request(message), None),
            Self::PayloadTooLarge => (ApiError::payload_too_large(), None),
            Self::Throttled(detail) => (
                ApiError::too_many_requests(Duration::from_secs(RETRY_AFTER_SECS))
                    .with_detail(detail),
                None,
            ),
            Self::Unavailable(detail) => (
                ApiError::unavailable().with_detail(detail),
                Some(RETRY_AFTER_SECS),
            ),
            Self::Unexpected(detail) => (ApiError::unexpected().with_detail(detail), None),
        };
        let mut response = api_error.error_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}
