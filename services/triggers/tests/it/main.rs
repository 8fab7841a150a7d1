//! Integration tests of the Lambda functions with the payloads AWS sends: the Cognito triggers on
//! real event JSON (and through the emulator's Cognito), the asset-version updater and the cleanup
//! against DynamoDB Local (`UGC_TEST_DYNAMODB_ENDPOINT`, set by `scripts/test.sh`). Every DynamoDB
//! test creates its own tables under a unique prefix and deletes them at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod asset_version;
mod cleanup;
mod cognito_triggers;
mod emulator_cognito;
mod helpers;
