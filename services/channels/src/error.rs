//! The channels service's own answers. Dependency failures go through the shared policy
//! (`ApiError::from_failure`, `?`, `fail_with`; see `docs/failure-policy.md`): 429 / 503 when a
//! retry can help, else 500 with the endpoint's upstream code (`AccountDeletionException`, ...).
//! What stays here is contract-specific: Cognito refusals passed through by name, 404 / 400 helpers.

use actix_web::http::StatusCode;
use ugc_aws::IdentityError;
use ugc_domain::ErrorCode;
use ugc_dynamo::DbError;
use ugc_web::ApiError;

/// 404 `UserNotFoundException`: the caller has no profile, or no channel yet.
pub fn user_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UserNotFoundException)
}

/// For writes to a user's item: 404 `UserNotFoundException` when the item is gone, else the shared
/// policy with `code` (`.map_err(missing_user_or(code))?`).
pub fn missing_user_or(code: ErrorCode) -> impl Fn(DbError) -> ApiError + Copy {
    move |err| match err {
        DbError::NotFound => user_not_found(),
        other => ApiError::from_failure(&other, code),
    }
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
        return ApiError::from_failure(err, fallback);
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
    use ugc_aws::{ChatError, VideoError};

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
        let api = ApiError::from_failure(
            &DbError::Unavailable("down".into()),
            ErrorCode::AccountDeletionException,
        );
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        let api =
            ApiError::from_failure(&VideoError::Throttled, ErrorCode::ResetStreamKeyException);
        assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
        let api = ApiError::from_failure(
            &ChatError::Unexpected("x".into()),
            ErrorCode::AccountDeletionException,
        );
        assert_eq!(api.code(), ErrorCode::AccountDeletionException);
    }
}
