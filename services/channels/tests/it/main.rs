#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

mod account;
mod actions;
mod assets;
mod chat;
mod following;
mod input;
mod openapi;
mod products;
mod profile;
mod public;
mod resources;
