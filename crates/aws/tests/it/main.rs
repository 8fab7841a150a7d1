//! Integration tests of ugc-aws: SDK error mapping with aws-smithy-mocks, transport failures against
//! a closed 127.0.0.1 port, and the Creators API client against a local actix server.
// Test helpers outside #[test] functions may panic too: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod assets;
mod chat;
mod identity;
mod metrics;
mod products;
mod secrets;
mod video;
