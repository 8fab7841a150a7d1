//! Repository tests against DynamoDB Local (`UGC_TEST_DYNAMODB_ENDPOINT`, set by `scripts/test.sh`).
//! Every test creates its own tables under a unique prefix and deletes them at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod channels;
mod client;
mod directory;
mod helpers;
mod page;
mod streams;
mod tables;
