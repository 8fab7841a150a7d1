//! Channel assets (avatar and banner images) uploaded to S3.

use uuid::Uuid;

use crate::{string_newtype_impls, InvalidValue};

/// The standard OID namespace, upstream's default for `NAMESPACE_UUID`.
pub const DEFAULT_ASSET_NAMESPACE: Uuid = Uuid::from_u128(0x6ba7b812_9dad_11d1_80b4_00c04fd430c8);

/// The `channelAssetId` (prefix of the user's S3 objects): UUID v5 of the sub in the configured
/// namespace, or [`DEFAULT_ASSET_NAMESPACE`].
pub fn channel_asset_id(sub: &str, namespace: Option<Uuid>) -> Uuid {
    Uuid::new_v5(
        &namespace.unwrap_or(DEFAULT_ASSET_NAMESPACE),
        sub.as_bytes(),
    )
}

/// The value of `all` whose name is `s`; otherwise upstream's message naming the `field` and the
/// acceptable values (`kinds`, in `all`'s order).
fn one_of<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    s: &str,
    field: &str,
    kinds: &str,
) -> Result<T, InvalidValue> {
    all.iter().copied().find(|v| name(*v) == s).ok_or_else(|| {
        let acceptable: Vec<&str> = all.iter().map(|v| name(*v)).collect();
        InvalidValue(format!(
            "Invalid value provided for {field}: {}. Acceptable {kinds} are {}.",
            if s.is_empty() { "-" } else { s },
            acceptable.join(", ")
        ))
    })
}

/// Which asset an upload or deletion is about; the S3 key is `<channelAssetId>/<asset type>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssetType {
    Avatar,
    Banner,
}

impl AssetType {
    pub const ALL: [AssetType; 2] = [Self::Avatar, Self::Banner];

    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        one_of(&Self::ALL, Self::as_str, s, "assetType", "asset types")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avatar => "avatar",
            Self::Banner => "banner",
        }
    }

    /// Upload size limit (MB = 10^6 bytes, as upstream): avatar 1 MB, banner 5 MB.
    pub fn max_bytes(self) -> u64 {
        match self {
            Self::Avatar => 1_000_000,
            Self::Banner => 5_000_000,
        }
    }
}

string_newtype_impls!(AssetType, InvalidValue);

/// The image types an asset upload may declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageContentType {
    Jpeg,
    /// `image/jpg` is not a registered type, but upstream accepts it and the SPA may send it.
    Jpg,
    Png,
}

impl ImageContentType {
    pub const ALL: [ImageContentType; 3] = [Self::Jpeg, Self::Jpg, Self::Png];

    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        one_of(&Self::ALL, Self::as_str, s, "contentType", "content types")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Jpg => "image/jpg",
            Self::Png => "image/png",
        }
    }
}

string_newtype_impls!(ImageContentType, InvalidValue);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_id_matches_upstream_vector() {
        assert_eq!(
            channel_asset_id("sub", None).to_string(),
            "d7865ec6-c64c-590d-a0b1-2027f3135fe3"
        );
        let other = Uuid::from_u128(1);
        assert_ne!(
            channel_asset_id("sub", Some(other)),
            channel_asset_id("sub", None)
        );
    }

    #[test]
    fn asset_types_and_limits() {
        assert_eq!(AssetType::parse("avatar").unwrap().max_bytes(), 1_000_000);
        assert_eq!(AssetType::parse("banner").unwrap().max_bytes(), 5_000_000);
        assert_eq!(
            AssetType::parse("Avatar").unwrap_err().to_string(),
            "Invalid value provided for assetType: Avatar. Acceptable asset types are avatar, banner."
        );
        assert_eq!(
            AssetType::parse("").unwrap_err().to_string(),
            "Invalid value provided for assetType: -. Acceptable asset types are avatar, banner."
        );
    }

    #[test]
    fn content_types() {
        for ok in ["image/jpeg", "image/jpg", "image/png"] {
            assert_eq!(ImageContentType::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            ImageContentType::parse("image/gif").unwrap_err().to_string(),
            "Invalid value provided for contentType: image/gif. Acceptable content types are image/jpeg, image/jpg, image/png."
        );
    }
}
