//! End-to-end journeys live in `journeys/` (one integration-test binary); this crate has no code.
