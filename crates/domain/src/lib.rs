//! Pure domain logic of the UGC platform: parsing newtypes, validation rules, the stream-session
//! model, metrics rules and the error-code catalogue. No I/O, no internal dependencies.

pub mod error;

pub use error::ErrorCode;
