//! The failure-to-HTTP policy: the one place where a classified dependency failure
//! ([`ugc_domain::Classify`], implemented by `ugc_dynamo::DbError` and every `ugc_aws` error)
//! becomes a status, a `__type` and `Retry-After`. `docs/failure-policy.md` has the table per
//! service and the reasons.
//!
//! | [`Transience`] | Answer |
//! |---|---|
//! | `Throttled` | 429 `TooManyRequestsException`, `Retry-After`: the dependency's hint, else [`RETRY_AFTER`] |
//! | `Unavailable` | 503 `ServiceUnavailableException`, `Retry-After`: [`RETRY_AFTER`] |
//! | `Permanent` | 500 with the endpoint's code (`UnexpectedException` unless the contract names one) |
//!
//! Handlers use `?` (the [`From`] impl answers `UnexpectedException` for permanent failures) or
//! [`FailWith::fail_with`] where the contract names the endpoint's code. The error and its sources
//! only reach the logs.

use std::time::Duration;

use actix_web::http::StatusCode;
use ugc_domain::{Classify, ErrorCode, Transience};

use crate::ApiError;

/// The suggested wait after a transient failure when the dependency gave no hint of its own.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

impl ApiError {
    /// The answer to `err` by the policy above; `code` is the `__type` of a permanent failure.
    pub fn from_failure<E>(err: &E, code: ErrorCode) -> Self
    where
        E: Classify + std::error::Error,
    {
        Self::for_transience(err.transience(), code).with_detail(Chain(err))
    }

    /// The answer to a failure of this transience (without detail).
    pub fn for_transience(transience: Transience, code: ErrorCode) -> Self {
        match transience {
            Transience::Throttled { retry_after } => {
                Self::too_many_requests(retry_after.unwrap_or(RETRY_AFTER))
            }
            Transience::Unavailable => Self::unavailable().with_retry_after(RETRY_AFTER),
            Transience::Permanent => Self::new(StatusCode::INTERNAL_SERVER_ERROR, code),
        }
    }
}

/// `?` on a classified failure: 429 / 503 when transient, else 500 `UnexpectedException`.
impl<E> From<E> for ApiError
where
    E: Classify + std::error::Error,
{
    fn from(err: E) -> Self {
        Self::from_failure(&err, ErrorCode::UnexpectedException)
    }
}

/// `result.fail_with(code)?`: [`ApiError::from_failure`] with the endpoint's upstream code.
pub trait FailWith<T> {
    fn fail_with(self, code: ErrorCode) -> Result<T, ApiError>;
}

impl<T, E> FailWith<T> for Result<T, E>
where
    E: Classify + std::error::Error,
{
    fn fail_with(self, code: ErrorCode) -> Result<T, ApiError> {
        self.map_err(|err| ApiError::from_failure(&err, code))
    }
}

pub use ugc_domain::failure::Chain;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("dependency failed")]
    struct Failed(Transience, #[source] std::io::Error);

    impl Classify for Failed {
        fn transience(&self) -> Transience {
            self.0
        }
    }

    fn failed(transience: Transience) -> Failed {
        Failed(transience, std::io::Error::other("connection reset"))
    }

    #[test]
    fn transient_failures_are_retryable_statuses() {
        let api = ApiError::from(failed(Transience::THROTTLED));
        assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(api.code(), ErrorCode::TooManyRequestsException);
        assert_eq!(api.retry_after(), Some(1));

        let hinted = Transience::Throttled {
            retry_after: Some(Duration::from_millis(2500)),
        };
        assert_eq!(ApiError::from(failed(hinted)).retry_after(), Some(3));

        let api = ApiError::from_failure(
            &failed(Transience::Unavailable),
            ErrorCode::AccountDeletionException,
        );
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(api.code(), ErrorCode::ServiceUnavailableException);
        assert_eq!(api.retry_after(), Some(1));
    }

    #[test]
    fn permanent_failures_answer_the_endpoint_code() {
        let result: Result<(), Failed> = Err(failed(Transience::Permanent));
        let api = result
            .fail_with(ErrorCode::AccountDeletionException)
            .unwrap_err();
        assert_eq!(api.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(api.code(), ErrorCode::AccountDeletionException);
        assert_eq!(api.retry_after(), None);
        assert_eq!(api.message(), None, "the error text stays in the logs");
        assert_eq!(
            ApiError::from(failed(Transience::Permanent)).code(),
            ErrorCode::UnexpectedException
        );
    }

    #[test]
    fn the_chain_names_every_source_once() {
        let err = failed(Transience::Permanent);
        assert_eq!(
            Chain(&err).to_string(),
            "dependency failed: connection reset"
        );
    }
}
