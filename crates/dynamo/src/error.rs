//! Error policy of the data layer.
//!
//! Every repository operation returns [`DbError`]. Its variants say what the caller can do, not which
//! SDK call failed: `NotFound` (the item the operation needs is missing → 404), `ConditionFailed` (a
//! condition expression lost a race or a uniqueness rule holds → 409), `Throttled` (DynamoDB asked us to
//! slow down after the SDK's own retries → 429), `Unavailable` (no answer, a timeout or a 5xx → 503) and
//! `Other` (a bug, a missing table, a malformed item → 500). The SDK error is kept as the source for
//! logs; it never reaches a response body.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use ugc_domain::{Classify, Transience};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("item not found")]
    NotFound,
    #[error("a condition expression was not met")]
    ConditionFailed,
    #[error("DynamoDB throttled the request")]
    Throttled,
    #[error("DynamoDB is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("unexpected DynamoDB error: {0}")]
    Other(#[source] BoxError),
}

impl DbError {
    pub(crate) fn other(message: impl Into<String>) -> Self {
        Self::Other(message.into().into())
    }

    /// The same failure for another waiter of a shared call (same variant, so the same answer;
    /// the sources folded into one message, as they cannot be cloned).
    pub fn replicate(&self) -> Self {
        let chain = || ugc_domain::failure::Chain(self).to_string().into();
        match self {
            Self::NotFound => Self::NotFound,
            Self::ConditionFailed => Self::ConditionFailed,
            Self::Throttled => Self::Throttled,
            Self::Unavailable(_) => Self::Unavailable(chain()),
            Self::Other(_) => Self::Other(chain()),
        }
    }

    /// True for errors a retry later can fix (the services answer 429/503 for them).
    pub fn is_transient(&self) -> bool {
        self.transience().is_transient()
    }
}

impl Classify for DbError {
    fn transience(&self) -> Transience {
        match self {
            Self::Throttled => Transience::THROTTLED,
            Self::Unavailable(_) => Transience::Unavailable,
            Self::NotFound | Self::ConditionFailed | Self::Other(_) => Transience::Permanent,
        }
    }
}

/// Error codes DynamoDB uses for "slow down".
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "Throttling",
];

/// Codes that mean "the service could not do it now", retryable.
const UNAVAILABLE_CODES: &[&str] = &[
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "TransactionConflictException",
    "TransactionInProgressException",
];

impl<E> From<SdkError<E, HttpResponse>> for DbError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn from(err: SdkError<E, HttpResponse>) -> Self {
        match &err {
            SdkError::ServiceError(ctx) => {
                let code = ctx.err().code().unwrap_or_default();
                let status = ctx.raw().status();
                if code == "ConditionalCheckFailedException" {
                    DbError::ConditionFailed
                } else if THROTTLING_CODES.contains(&code) || status.as_u16() == 429 {
                    DbError::Throttled
                } else if code == "TransactionCanceledException" {
                    // Callers that use transactions inspect the reasons themselves (see
                    // `transaction_failure`); reaching this point means no reason was recognised.
                    DbError::Other(Box::new(err))
                } else if UNAVAILABLE_CODES.contains(&code) || status.is_server_error() {
                    DbError::Unavailable(Box::new(err))
                } else {
                    DbError::Other(Box::new(err))
                }
            }
            SdkError::DispatchFailure(_)
            | SdkError::TimeoutError(_)
            | SdkError::ResponseError(_) => DbError::Unavailable(Box::new(err)),
            _ => DbError::Other(Box::new(err)),
        }
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for DbError {
    fn from(err: aws_sdk_dynamodb::error::BuildError) -> Self {
        DbError::Other(Box::new(err))
    }
}

/// Why a `TransactWriteItems` was cancelled, per action (same order as the request).
#[derive(Debug)]
pub(crate) enum TxFailure {
    /// The condition of the action at this index failed.
    Condition(usize),
    /// Another transaction or write touched the same items; retry.
    Conflict,
    /// Anything else, already classified.
    Db(DbError),
}

pub(crate) fn transaction_failure(
    err: SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        HttpResponse,
    >,
) -> TxFailure {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    if let SdkError::ServiceError(ctx) = &err {
        match ctx.err() {
            E::TransactionCanceledException(cancel) => {
                let reasons = cancel.cancellation_reasons();
                if let Some(index) = reasons
                    .iter()
                    .position(|r| r.code() == Some("ConditionalCheckFailed"))
                {
                    return TxFailure::Condition(index);
                }
                if reasons
                    .iter()
                    .any(|r| r.code() == Some("TransactionConflict"))
                {
                    return TxFailure::Conflict;
                }
                if reasons.iter().any(|r| {
                    matches!(
                        r.code(),
                        Some("ThrottlingError" | "ProvisionedThroughputExceeded")
                    )
                }) {
                    return TxFailure::Db(DbError::Throttled);
                }
            }
            E::TransactionInProgressException(_) => return TxFailure::Conflict,
            _ => {}
        }
    }
    TxFailure::Db(DbError::from(err))
}
