//! Black-box tests of the metrics service, in-process on 127.0.0.1:0, against the emulator
//! (Cognito, IVS, CloudWatch) and DynamoDB Local (`UGC_TEST_DYNAMODB_ENDPOINT`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod cache;
mod detail;
mod helpers;
mod list;
mod openapi;
