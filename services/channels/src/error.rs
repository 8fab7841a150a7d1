//! How dependency failures become responses.
//!
//! A dependency that is down answers 503 `ServiceUnavailableException`, one that throttles us after
//! its own retries answers 429 `TooManyRequestsException`; both are worth retrying and never lose
//! data. Anything else is a 500 with the endpoint's upstream code (`AccountDeletionException`, ...).
//! The dependency's own error text only goes to the logs.

use std::fmt::Display;
use std::time::Duration;

use actix_web::http::StatusCode;
use ugc_aws::{AssetsError, ChatError, IdentityError, ProductsError, VideoError};
use ugc_domain::ErrorCode;
use ugc_dynamo::DbError;
use ugc_web::ApiError;

/// What a retry can do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transience {
    Throttled,
    Unavailable,
    Permanent,
}

pub trait Classify: Display {
    fn transience(&self) -> Transience;
}

impl Classify for DbError {
    fn transience(&self) -> Transience {
        match self {
            DbError::Throttled => Transience::Throttled,
            DbError::Unavailable(_) => Transience::Unavailable,
            _ => Transience::Permanent,
        }
    }
}

impl Classify for VideoError {
    fn transience(&self) -> Transience {
        match self {
            VideoError::Throttled => Transience::Throttled,
            VideoError::Unavailable(_) => Transience::Unavailable,
            _ => Transience::Permanent,
        }
    }
}

impl Classify for ChatError {
    fn transience(&self) -> Transience {
        match self {
            ChatError::Throttled => Transience::Throttled,
            ChatError::Unavailable(_) => Transience::Unavailable,
            _ => Transience::Permanent,
        }
    }
}

impl Classify for AssetsError {
    fn transience(&self) -> Transience {
        match self {
            AssetsError::Throttled => Transience::Throttled,
            AssetsError::Unavailable(_) => Transience::Unavailable,
            _ => Transience::Permanent,
        }
    }
}

impl Classify for IdentityError {
    fn transience(&self) -> Transience {
        match self {
            IdentityError::Throttled => Transience::Throttled,
            IdentityError::Unavailable(_) => Transience::Unavailable,
            _ => Transience::Permanent,
        }
    }
}

impl Classify for ProductsError {
    fn transience(&self) -> Transience {
        match self {
            ProductsError::Throttled { .. } => Transience::Throttled,
            ProductsError::Unavailable(_) => Transience::Unavailable,
            _ => Transience::Permanent,
        }
    }
}

/// The suggested wait after a dependency throttled us.
pub const THROTTLED_RETRY_AFTER: Duration = Duration::from_secs(1);

/// 429 / 503 for transient failures, else 500 with `code`; the error text is logged.
pub fn failure<E: Classify>(err: &E, code: ErrorCode) -> ApiError {
    match err.transience() {
        Transience::Throttled => {
            ApiError::too_many_requests(THROTTLED_RETRY_AFTER).with_detail(err)
        }
        Transience::Unavailable => ApiError::unavailable().with_detail(err),
        Transience::Permanent => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code).with_detail(err)
        }
    }
}

/// [`failure`] with `UnexpectedException`.
pub fn unexpected<E: Classify>(err: &E) -> ApiError {
    failure(err, ErrorCode::UnexpectedException)
}

/// 404 `UserNotFoundException`: the caller has no profile, or no channel yet.
pub fn user_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UserNotFoundException)
}

/// 400 with an upstream code and a message for the caller.
pub fn invalid(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code).with_message(message)
}

/// Cognito error names passed through as `__type` (the SPA maps some of them to messages, e.g.
/// `UsernameExistsException` and `AliasExistsException` to "username taken"). Refusals caused by the
/// request are 400s; the rest are Cognito or configuration faults.
const COGNITO_CLIENT_ERRORS: &[&str] = &[
    "AliasExistsException",
    "CodeDeliveryFailureException",
    "InvalidParameterException",
    "InvalidPasswordException",
    "UserLambdaValidationException",
    "UsernameExistsException",
];

const COGNITO_SERVER_ERRORS: &[&str] = &[
    "ForbiddenException",
    "InternalErrorException",
    "InvalidEmailRoleAccessPolicyException",
    "InvalidLambdaResponseException",
    "InvalidSmsRoleAccessPolicyException",
    "InvalidSmsRoleTrustRelationshipException",
    "NotAuthorizedException",
    "ResourceNotFoundException",
    "UnexpectedLambdaException",
    "UserNotFoundException",
];

/// The static name of a known Cognito error.
pub fn cognito_name(name: &str) -> Option<&'static str> {
    COGNITO_CLIENT_ERRORS
        .iter()
        .chain(COGNITO_SERVER_ERRORS)
        .find(|known| **known == name)
        .copied()
}

/// A Cognito refusal answered with Cognito's name (and message when `with_message`), 400 for
/// client-caused refusals and 500 otherwise. Unknown names answer `fallback`.
pub fn cognito_refusal(err: &IdentityError, fallback: ErrorCode, with_message: bool) -> ApiError {
    let IdentityError::Cognito { name, message } = err else {
        return failure(err, fallback);
    };
    let (status, code) = match cognito_name(name) {
        Some(known) if COGNITO_CLIENT_ERRORS.contains(&known) => {
            (StatusCode::BAD_REQUEST, ErrorCode::Cognito(known))
        }
        Some(known) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Cognito(known)),
        None => (StatusCode::INTERNAL_SERVER_ERROR, fallback),
    };
    let api = ApiError::new(status, code).with_detail(err);
    if with_message && !message.is_empty() {
        api.with_message(message.clone())
    } else {
        api
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cognito_refusals_keep_the_name() {
        let err = IdentityError::Cognito {
            name: "UsernameExistsException".into(),
            message: "User already exists".into(),
        };
        let api = cognito_refusal(&err, ErrorCode::AccountRegistrationException, true);
        assert_eq!(api.status(), StatusCode::BAD_REQUEST);
        assert_eq!(api.code().as_str(), "UsernameExistsException");
        assert_eq!(api.message(), Some("User already exists"));

        let err = IdentityError::Cognito {
            name: "SomethingNewException".into(),
            message: "?".into(),
        };
        let api = cognito_refusal(&err, ErrorCode::ChangeUsernameException, false);
        assert_eq!(api.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(api.code(), ErrorCode::ChangeUsernameException);
        assert_eq!(api.message(), None);

        let api = cognito_refusal(
            &IdentityError::Throttled,
            ErrorCode::ChangeUsernameException,
            true,
        );
        assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    #[test]
    fn transient_failures_are_retryable_statuses() {
        let api = failure(
            &DbError::Unavailable("down".into()),
            ErrorCode::AccountDeletionException,
        );
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        let api = failure(&VideoError::Throttled, ErrorCode::ResetStreamKeyException);
        assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
        let api = failure(
            &ChatError::Unexpected("x".into()),
            ErrorCode::AccountDeletionException,
        );
        assert_eq!(api.code(), ErrorCode::AccountDeletionException);
    }
}
