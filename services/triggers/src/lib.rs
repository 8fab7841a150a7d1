//! The platform's Lambda functions, one module each, with thin binaries in `src/bin/`:
//!
//! | Module | Lambda | Trigger |
//! |---|---|---|
//! | [`pre_sign_up`] | `pre-sign-up` | Cognito PreSignUp |
//! | [`pre_authentication`] | `pre-authentication` | Cognito PreAuthentication |
//! | [`custom_message`] | `custom-message` | Cognito CustomMessage |
//! | [`asset_version`] | `asset-version-updater` | S3 `ObjectCreated:*` → SQS (partial batch responses) |
//! | [`dlq_logger`] | `asset-version-dlq-logger` | the updater queue's dead-letter queue |
//! | [`cleanup`] | `cleanup-unverified-users` | EventBridge schedule |
//!
//! The Cognito triggers are plain functions from the event JSON to the event JSON (or the message
//! Cognito reports as `UserLambdaValidationException`), so the local platform calls the very same
//! code in-process. The asset-version updater's core takes one S3 notification body, which is what
//! the local S3 delivers.

pub mod asset_version;
pub mod cleanup;
pub mod cognito;
pub mod config;
pub mod custom_message;
pub mod dlq_logger;
pub mod pre_authentication;
pub mod pre_sign_up;
pub mod runtime;

pub use config::ConfigError;
