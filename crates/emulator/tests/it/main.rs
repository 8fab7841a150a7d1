//! Integration tests of the emulator, through the official AWS SDK clients (and plain HTTP where
//! a browser SDK is the client). One module per emulated service.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod chat;
mod cloudwatch;
mod cognito;
mod common;
mod creators;
mod events;
mod ivs;
mod media;
mod s3;
mod secrets;
