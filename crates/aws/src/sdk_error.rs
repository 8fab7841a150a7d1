//! One classification of SDK failures shared by every client module.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ugc_domain::Transience;

/// What went wrong with an SDK call, reduced to what the modules map from.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The service answered with an error: its code (the error's name), message and HTTP status.
    Service {
        code: String,
        message: String,
        status: u16,
    },
    /// No answer: connection refused, DNS failure, timeout.
    Transport(String),
    /// The request could not be built or the response could not be read.
    Other(String),
}

/// Error codes AWS services use to say "slow down".
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

impl Failure {
    fn is_throttling(&self) -> bool {
        match self {
            Failure::Service { code, status, .. } => {
                *status == 429 || THROTTLING_CODES.contains(&code.as_str())
            }
            _ => false,
        }
    }

    /// A server fault (5xx) or no answer at all: worth a 503 and a later retry.
    fn is_unavailable(&self) -> bool {
        match self {
            Failure::Service { status, .. } => *status >= 500,
            Failure::Transport(_) => true,
            Failure::Other(_) => false,
        }
    }

    /// The one classification of SDK failures: every error enum of this crate takes its
    /// `Throttled` / `Unavailable` variants from it (see [`transient_variants`]).
    pub(crate) fn transience(&self) -> Transience {
        if self.is_throttling() {
            Transience::THROTTLED
        } else if self.is_unavailable() {
            Transience::Unavailable
        } else {
            Transience::Permanent
        }
    }

    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            Failure::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            Failure::Service { message, .. } => message,
            Failure::Transport(text) | Failure::Other(text) => text,
        }
    }

    /// One line for logs and `Unexpected` variants.
    pub(crate) fn describe(&self) -> String {
        match self {
            Failure::Service {
                code,
                message,
                status,
            } => format!("{code} (HTTP {status}): {message}"),
            Failure::Transport(text) => format!("no response: {text}"),
            Failure::Other(text) => text.clone(),
        }
    }
}

pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => Failure::Service {
            code: ctx.err().code().unwrap_or("UnknownError").to_owned(),
            message: ctx
                .err()
                .message()
                .map(str::to_owned)
                .or_else(|| body_message(ctx.raw()))
                .unwrap_or_default(),
            status: ctx.raw().status().as_u16(),
        },
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            Failure::Transport(DisplayErrorContext(&err).to_string())
        }
        _ => Failure::Other(DisplayErrorContext(&err).to_string()),
    }
}

/// The error enums built from a [`Failure`]: `.map_err(ChatError::from_sdk)` classifies an SDK
/// error and maps it in one step.
pub(crate) trait FromSdk: From<Failure> {
    fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        classify(err).into()
    }
}

impl<T: From<Failure>> FromSdk for T {}

/// IVS puts its error text in `exceptionMessage`, which the SDK's generic error metadata does not
/// read; take it from the JSON body so callers get IVS's message (e.g. for `Validation`).
fn body_message(response: &HttpResponse) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(response.body().bytes()?).ok()?;
    ["exceptionMessage", "message", "Message"]
        .iter()
        .find_map(|field| body.get(field)?.as_str().map(str::to_owned))
}

/// For an error enum of this crate with `Throttled` and `Unavailable(String)` variants: implements
/// [`ugc_domain::Classify`] from those two variants, and `from_failure_or`, which turns a transient
/// [`Failure`] into them and hands a permanent one to the module's own mapping. So the transient
/// cases are decided once, by [`Failure::transience`].
macro_rules! transient_variants {
    ($($ty:ident),+ $(,)?) => {$(
        impl ugc_domain::Classify for $ty {
            fn transience(&self) -> ugc_domain::Transience {
                match self {
                    $ty::Throttled => ugc_domain::Transience::THROTTLED,
                    $ty::Unavailable(_) => ugc_domain::Transience::Unavailable,
                    _ => ugc_domain::Transience::Permanent,
                }
            }
        }

        impl $ty {
            /// `Throttled` / `Unavailable` for a transient failure, else `permanent(failure)`.
            pub(crate) fn from_failure_or(
                failure: $crate::sdk_error::Failure,
                permanent: impl FnOnce($crate::sdk_error::Failure) -> Self,
            ) -> Self {
                match failure.transience() {
                    ugc_domain::Transience::Throttled { .. } => $ty::Throttled,
                    ugc_domain::Transience::Unavailable => $ty::Unavailable(failure.describe()),
                    ugc_domain::Transience::Permanent => permanent(failure),
                }
            }
        }
    )+};
}
pub(crate) use transient_variants;

/// The result of an idempotent delete (or revoke): a resource that is already gone, as `gone`
/// recognises it, counts as done, so a retried deletion completes.
pub(crate) fn already_gone_is_ok<T, E>(
    result: Result<T, E>,
    gone: impl FnOnce(&E) -> bool,
) -> Result<(), E> {
    match result {
        Ok(_) => Ok(()),
        Err(err) if gone(&err) => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ugc_domain::{Classify, Transience};

    use super::Failure;
    use crate::{
        AssetsError, ChatError, IdentityError, MetricsError, ProductsError, SecretsError,
        VideoError,
    };

    fn service(code: &str, status: u16) -> Failure {
        Failure::Service {
            code: code.to_owned(),
            message: String::new(),
            status,
        }
    }

    #[test]
    fn sdk_failures_are_classified_once() {
        assert_eq!(
            service("ThrottlingException", 400).transience(),
            Transience::THROTTLED
        );
        assert_eq!(service("Anything", 429).transience(), Transience::THROTTLED);
        assert_eq!(
            service("InternalServerException", 503).transience(),
            Transience::Unavailable
        );
        assert_eq!(
            Failure::Transport("refused".into()).transience(),
            Transience::Unavailable
        );
        assert_eq!(
            service("ValidationException", 400).transience(),
            Transience::Permanent
        );
        assert_eq!(
            Failure::Other("bad request".into()).transience(),
            Transience::Permanent
        );
    }

    #[test]
    fn every_client_error_keeps_the_classification() {
        let throttled = service("ThrottlingException", 400);
        assert!(matches!(VideoError::from(throttled), VideoError::Throttled));
        assert!(matches!(
            IdentityError::from(service("TooManyRequestsException", 400)),
            IdentityError::Throttled
        ));
        assert!(matches!(
            MetricsError::from(service("LimitExceededException", 400)),
            MetricsError::Throttled
        ));
        assert!(matches!(
            ChatError::from(Failure::Transport("x".into())),
            ChatError::Unavailable(_)
        ));

        assert_eq!(VideoError::Throttled.transience(), Transience::THROTTLED);
        assert_eq!(
            ChatError::Unavailable("x".into()).transience(),
            Transience::Unavailable
        );
        assert_eq!(AssetsError::Throttled.transience(), Transience::THROTTLED);
        assert_eq!(
            SecretsError::Unavailable("x".into()).transience(),
            Transience::Unavailable
        );
        assert_eq!(
            MetricsError::Other("x".into()).transience(),
            Transience::Permanent
        );
        assert_eq!(
            IdentityError::Cognito {
                name: "UsernameExistsException".into(),
                message: String::new(),
            }
            .transience(),
            Transience::Permanent
        );
        let hint = Some(Duration::from_secs(2));
        assert_eq!(
            ProductsError::Throttled { retry_after: hint }.transience(),
            Transience::Throttled { retry_after: hint }
        );
        assert_eq!(
            ProductsError::Secret(SecretsError::Unavailable("x".into())).transience(),
            Transience::Unavailable
        );
    }
}
