//! The catalogue of `__type` codes the API sends (docs/contract.md §2.7). The SPA matches on these
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
    /// The user (or their channel) does not exist.
    UserNotFoundException,
    /// Registration refused: e-mail domain not allowed, invalid username.
    AccountRegistrationException,
    /// The username collides with an SPA route.
    ReservedUsernameException,
    /// Another account uses this e-mail address.
    EmailExistsException,
    /// Password reset failed unexpectedly.
    ForgotPasswordException,
    /// Rename refused (invalid name) or failed.
    ChangeUsernameException,
    /// Preferences update failed unexpectedly.
    ChangeUserPreferencesException,
    /// Stream-key reset failed unexpectedly.
    ResetStreamKeyException,
    /// Account deletion failed unexpectedly.
    AccountDeletionException,
    /// Another request is changing the same thing; retry shortly.
    ConflictException,
    /// A stream action was sent while the channel is offline.
    ChannelNotBroadcastingException,
    /// IVS refused the timed metadata (e.g. over 1 KB).
    TimedMetadataValidationException,
    /// Sending timed metadata failed unexpectedly.
    TimedMetadataException,
    /// Bad asset type or content type for an upload.
    InvalidPresignedPostInputException,
    /// Missing or unknown asset type to delete.
    DeleteChannelAssetException,
    /// Product search failed while re-sorting (`origin=sort`).
    SortProductsException,
    /// The chat room's owner has banned the caller (chat token).
    ForbiddenException,
    /// The chat room's owner has no chat room (chat token).
    ChatRoomArnNotFoundException,
    /// Storing a ban failed unexpectedly.
    BanUserException,
    /// Lifting a ban failed unexpectedly.
    UnbanUserException,
    /// A Cognito refusal passed through by name on register and rename (`UsernameExistsException`,
    /// `AliasExistsException`, `InvalidPasswordException`, ...).
    Cognito(&'static str),
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
            Self::UserNotFoundException => "UserNotFoundException",
            Self::AccountRegistrationException => "AccountRegistrationException",
            Self::ReservedUsernameException => "ReservedUsernameException",
            Self::EmailExistsException => "EmailExistsException",
            Self::ForgotPasswordException => "ForgotPasswordException",
            Self::ChangeUsernameException => "ChangeUsernameException",
            Self::ChangeUserPreferencesException => "ChangeUserPreferencesException",
            Self::ResetStreamKeyException => "ResetStreamKeyException",
            Self::AccountDeletionException => "AccountDeletionException",
            Self::ConflictException => "ConflictException",
            Self::ChannelNotBroadcastingException => "ChannelNotBroadcastingException",
            Self::TimedMetadataValidationException => "TimedMetadataValidationException",
            Self::TimedMetadataException => "TimedMetadataException",
            Self::InvalidPresignedPostInputException => "InvalidPresignedPostInputException",
            Self::DeleteChannelAssetException => "DeleteChannelAssetException",
            Self::SortProductsException => "SortProductsException",
            Self::ForbiddenException => "ForbiddenException",
            Self::ChatRoomArnNotFoundException => "ChatRoomArnNotFoundException",
            Self::BanUserException => "BanUserException",
            Self::UnbanUserException => "UnbanUserException",
            Self::Cognito(name) => name,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
