//! Pieces every emulated service shares: configuration, request routing guards, AWS-style error
//! bodies, and the JSON-file persistence that lets state survive a restart.

pub mod config;
pub mod error;
pub mod json;
pub mod percent;
pub mod routing;
pub mod sigv4;
pub mod store;
