//! A local emulator of the AWS services the platform uses (everything except DynamoDB, which runs
//! as the real DynamoDB Local). It speaks the real wire protocols, so the production SDK clients and
//! the SPA's browser SDKs work against it with only the endpoint changed.
//!
//! Every service is served on one port. Requests are routed the way `docs/wire-protocols.md` §0.1
//! describes: by `X-Amz-Target` (awsJson), by path (restJson, rpcv2Cbor), and where paths are
//! shared, by the service name in the SigV4 credential scope.

pub mod core;
pub mod server;

pub mod chat;
pub mod cloudwatch;
pub mod cognito;
pub mod creators;
pub mod events;
pub mod ivs;
pub mod media;
pub mod s3;
pub mod secrets;

pub use crate::core::config::EmulatorConfig;
pub use crate::server::{Emulator, Shared};
