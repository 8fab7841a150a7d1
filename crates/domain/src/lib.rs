//! Pure domain logic of the UGC platform: parsing newtypes, validation rules, the stream-session
//! model, metrics rules and the error-code catalogue. No I/O, no internal dependencies.

pub mod assets;
pub mod env_var;
pub mod error;
pub mod failure;
pub mod ivs;
pub mod metrics;
pub mod profile;
pub mod session;
pub mod time_format;
pub mod user;

pub use assets::{channel_asset_id, AssetType, ImageContentType, DEFAULT_ASSET_NAMESPACE};
pub use env_var::EnvVar;
pub use error::ErrorCode;
pub use failure::{Classify, Transience};
pub use ivs::{
    channel_name_base, ingest_server_url, tracking_id, ChannelArn, ChannelResourceId, ChatRoomArn,
    StreamActionMetadata, StreamId, INGEST_ENDPOINT_PLACEHOLDER, INGEST_SERVER_URL_FORMAT,
};
pub use profile::{Avatar, Color};
pub use time_format::{format_iso_millis, format_iso_seconds, parse_iso};
pub use user::{Email, Username, UsernameError};

/// A value that failed to parse. The message names the field and is safe to send to clients.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// Implements `as_str`, `Display`, `AsRef<str>`, string `Serialize` and a `Deserialize` that goes
/// through `parse`, for a newtype whose string form is reachable with `as_str()`.
macro_rules! string_newtype_impls {
    ($ty:ty, $err:ty) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                <$ty>::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::parse(s)
            }
        }
    };
}
pub(crate) use string_newtype_impls;
