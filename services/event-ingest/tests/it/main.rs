#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod auth;
mod bad_input;
mod chaos_proxy;
mod coalescing;
mod concurrency;
mod contract;
mod emulator_e2e;
mod faults;
mod helpers;
mod openapi;
mod reconciler;
