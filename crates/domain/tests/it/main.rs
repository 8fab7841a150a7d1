//! Integration tests of the domain crate (one binary, one module per area).

// Test helpers outside `#[test]` functions may panic too; clippy's in-tests allowances only cover
// the test functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod docs_links;
mod error_codes;
mod metrics_cases;
mod session_props;
