//! The catalogue of `__type` codes the API sends (upstream contract §2.7). The SPA matches on these
//! strings, so they are part of the wire contract.
//!
//! A code enters this enum together with its first use: `tests/it` (`error_codes_are_used`) fails
//! when a variant is never named outside this file, so the catalogue never lists codes nothing sends.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorCode {
    /// Invalid input: malformed JSON, wrong field types, missing filters.
    BadRequestException,
    /// Missing or invalid access token.
    UnauthorizedException,
    /// Unknown route.
    NotFoundException,
    /// Known route, wrong method.
    MethodNotAllowedException,
    /// Request body over the limit.
    PayloadTooLargeException,
    /// A per-action rate limit was hit.
    TooManyRequestsException,
    /// A dependency (DynamoDB, an AWS service) is unavailable; retrying later can succeed.
    ServiceUnavailableException,
    /// Anything unexpected.
    UnexpectedException,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequestException => "BadRequestException",
            Self::UnauthorizedException => "UnauthorizedException",
            Self::NotFoundException => "NotFoundException",
            Self::MethodNotAllowedException => "MethodNotAllowedException",
            Self::PayloadTooLargeException => "PayloadTooLargeException",
            Self::TooManyRequestsException => "TooManyRequestsException",
            Self::ServiceUnavailableException => "ServiceUnavailableException",
            Self::UnexpectedException => "UnexpectedException",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
