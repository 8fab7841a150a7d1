//! The SPA's user journeys, end to end: each test starts the local platform in-process (ports 0,
//! its own pool and tables on the run's DynamoDB Local) and drives it over HTTP and WebSocket
//! exactly as the SPA and its AWS SDKs do (docs/contract.md §15, docs/wire-protocols.md §1, §4, §7).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod account;
mod actions;
mod assets;
mod chat;
mod health;
mod live;
mod support;
