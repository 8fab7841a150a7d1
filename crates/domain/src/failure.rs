//! What a retry can do about a failure: the one classification every storage and AWS error of
//! the workspace implements (`ugc_dynamo::DbError`, every `ugc_aws` error), and the one input of
//! the failure-to-HTTP policy in `ugc_web` (`ApiError::from_failure`; see
//! `docs/failure-policy.md`).
//!
//! Pure: the classification reads an error value, never a clock or the network.

use std::time::Duration;

/// Whether retrying the same request later can succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transience {
    /// The dependency asked us to slow down (after the SDK's own retries). `retry_after` is its
    /// own hint when it gave one.
    Throttled { retry_after: Option<Duration> },
    /// No answer, a timeout or a server fault: the dependency is down for now.
    Unavailable,
    /// Retrying the same request gives the same failure (a bug, a refusal, a missing resource).
    Permanent,
}

impl Transience {
    /// Throttled without a hint of its own.
    pub const THROTTLED: Self = Self::Throttled { retry_after: None };

    /// True when a retry later can succeed.
    pub fn is_transient(self) -> bool {
        !matches!(self, Self::Permanent)
    }
}

/// An error that knows whether it is transient.
pub trait Classify {
    fn transience(&self) -> Transience;
}

/// An error and its sources on one line, for the logs (a source already quoted by the text before
/// it is not repeated).
pub struct Chain<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permanent_is_not_transient() {
        assert!(Transience::THROTTLED.is_transient());
        assert!(Transience::Throttled {
            retry_after: Some(Duration::from_secs(3))
        }
        .is_transient());
        assert!(Transience::Unavailable.is_transient());
        assert!(!Transience::Permanent.is_transient());
    }
}
