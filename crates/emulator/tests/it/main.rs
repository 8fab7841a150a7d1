//! Integration tests of the emulator, through the official AWS SDK clients (and plain HTTP where
//! a browser SDK is the client). One module per emulated service.

mod chat;
mod cloudwatch;
mod common;
mod creators;
mod events;
mod ivs;
mod s3;
