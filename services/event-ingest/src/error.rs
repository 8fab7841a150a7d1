//! Why a delivery was not stored, and the answer that makes EventBridge retry exactly when a
//! retry can help (see the crate docs). Dependency failures go through the shared policy
//! (`ApiError::from_failure`, `docs/failure-policy.md`): 429 / 503 with `Retry-After`.

use actix_web::{HttpResponse, ResponseError};
use ugc_domain::{ErrorCode, Transience};
use ugc_dynamo::DbError;
use ugc_web::ApiError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum IngestError {
    #[error("missing or wrong ingest secret")]
    Unauthorized,
    #[error("malformed event: {0}")]
    BadRequest(String),
    #[error("body over the limit")]
    PayloadTooLarge,
    /// Not done now, whatever the cause (the secret unreadable, the time budget spent): 503 so
    /// EventBridge retries; nothing is lost.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A storage failure, answered by the shared policy.
    #[error("{0}")]
    Failed(ApiError),
}

impl From<DbError> for IngestError {
    fn from(err: DbError) -> Self {
        Self::Failed(ApiError::from_failure(&err, ErrorCode::UnexpectedException))
    }
}

/// The error and its sources on one line, for logs (never for bodies).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    ugc_web::failure::Chain(err).to_string()
}

impl IngestError {
    /// The response. Built as a plain response (not an `Err`) so the shared error-shape
    /// middleware keeps the `Retry-After` header.
    pub(crate) fn into_response(self) -> HttpResponse {
        let api_error = match self {
            Self::Unauthorized => ApiError::unauthorized(),
            Self::BadRequest(message) => ApiError::bad_request(message),
            Self::PayloadTooLarge => ApiError::payload_too_large(),
            Self::Unavailable(detail) => {
                ApiError::for_transience(Transience::Unavailable, ErrorCode::UnexpectedException)
                    .with_detail(detail)
            }
            Self::Failed(api_error) => api_error,
        };
        api_error.error_response()
    }
}
