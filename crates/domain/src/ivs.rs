//! IVS and IVS Chat identifiers, and the values derived from them.

use crate::{string_newtype_impls, InvalidValue};

const RESOURCE_ID_MAX_CHARS: usize = 100;

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_account(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_resource_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= RESOURCE_ID_MAX_CHARS
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Splits `arn:aws:<service>:<region>:<account>:<kind>/<id>` into (region, account, id), checking
/// each part.
fn split_arn<'a>(s: &'a str, service: &str, kind: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let rest = s
        .strip_prefix("arn:aws:")?
        .strip_prefix(service)?
        .strip_prefix(':')?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let id = rest.strip_prefix(kind)?.strip_prefix('/')?;
    (is_region(region) && is_account(account) && is_resource_id(id))
        .then_some((region, account, id))
}

/// The id at the end of a channel ARN (`abcdABCDefgh`): 1–100 ASCII letters or digits. It is the
/// `:channelResourceId` path parameter, the CloudWatch `Channel` dimension and what
/// `followingList` stores.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelResourceId(String);

impl ChannelResourceId {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        if is_resource_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue(
                "channelResourceId must be 1 to 100 letters or digits".to_owned(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype_impls!(ChannelResourceId, InvalidValue);

/// `arn:aws:ivs:<region>:<account>:channel/<resource id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelArn {
    arn: String,
    resource_id: ChannelResourceId,
}

impl ChannelArn {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let (_, _, id) = split_arn(s, "ivs", "channel").ok_or_else(|| {
            InvalidValue(
                "channelArn must look like arn:aws:ivs:<region>:<account>:channel/<id>".to_owned(),
            )
        })?;
        Ok(Self {
            arn: s.to_owned(),
            resource_id: ChannelResourceId(id.to_owned()),
        })
    }

    /// The ARN of a channel in this deployment's region and account (the metrics routes rebuild it
    /// from the path parameter).
    pub fn new(
        region: &str,
        account_id: &str,
        resource_id: &ChannelResourceId,
    ) -> Result<Self, InvalidValue> {
        Self::parse(&format!(
            "arn:aws:ivs:{region}:{account_id}:channel/{}",
            resource_id.as_str()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.arn
    }

    pub fn resource_id(&self) -> &ChannelResourceId {
        &self.resource_id
    }

    pub fn region(&self) -> &str {
        self.arn.split(':').nth(3).unwrap_or_default()
    }

    pub fn account_id(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or_default()
    }
}

string_newtype_impls!(ChannelArn, InvalidValue);

/// `arn:aws:ivschat:<region>:<account>:room/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChatRoomArn(String);

impl ChatRoomArn {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        split_arn(s, "ivschat", "room")
            .map(|_| Self(s.to_owned()))
            .ok_or_else(|| {
                InvalidValue(
                    "chatRoomArn must look like arn:aws:ivschat:<region>:<account>:room/<id>"
                        .to_owned(),
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype_impls!(ChatRoomArn, InvalidValue);

const STREAM_ID_MAX_CHARS: usize = 100;

/// An IVS stream (session) id: `st-` followed by letters or digits, at most 100 characters in all.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(String);

impl StreamId {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let valid = s.len() <= STREAM_ID_MAX_CHARS
            && s.strip_prefix("st-").is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue(
                "streamId must be 'st-' followed by letters or digits, at most 100 characters"
                    .to_owned(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype_impls!(StreamId, InvalidValue);

/// IVS `PutMetadata` accepts at most 1 KB per call.
pub const STREAM_ACTION_METADATA_MAX_BYTES: usize = 1024;

/// The opaque timed-metadata payload of a stream action: non-empty, at most 1024 bytes of UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamActionMetadata(String);

impl StreamActionMetadata {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        if s.is_empty() {
            return Err(InvalidValue("metadata must not be empty".to_owned()));
        }
        if s.len() > STREAM_ACTION_METADATA_MAX_BYTES {
            return Err(InvalidValue(format!(
                "metadata must be at most {STREAM_ACTION_METADATA_MAX_BYTES} bytes, got {}",
                s.len()
            )));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype_impls!(StreamActionMetadata, InvalidValue);

/// The `trackingId` stored at channel creation: the lower-cased resource id, plus `-<code>` when a
/// product-link region code is configured (an empty code counts as none).
pub fn tracking_id(resource_id: &ChannelResourceId, region_code: Option<&str>) -> String {
    let base = resource_id.as_str().to_ascii_lowercase();
    match region_code {
        Some(code) if !code.is_empty() => format!("{base}-{code}"),
        _ => base,
    }
}

/// The base of the IVS channel and chat room names (`<base>s-channel`, `<base>s-room`): the
/// username without characters outside `[A-Za-z0-9_-]`, which IVS names do not allow.
pub fn channel_name_base(username: &str) -> String {
    username
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// The placeholder of [`INGEST_SERVER_URL_FORMAT`] replaced by the channel's ingest endpoint.
pub const INGEST_ENDPOINT_PLACEHOLDER: &str = "{ingestEndpoint}";

/// The ingest URL format of IVS: RTMPS on port 443 of the channel's ingest endpoint.
pub const INGEST_SERVER_URL_FORMAT: &str = "rtmps://{ingestEndpoint}:443/app/";

/// The ingest URL the broadcaster's encoder is given: `format` (e.g. [`INGEST_SERVER_URL_FORMAT`])
/// with [`INGEST_ENDPOINT_PLACEHOLDER`] replaced by the channel's ingest endpoint.
pub fn ingest_server_url(format: &str, ingest_endpoint: &str) -> String {
    format.replace(INGEST_ENDPOINT_PLACEHOLDER, ingest_endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_arn_parses_and_exposes_parts() {
        let arn =
            ChannelArn::parse("arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh").unwrap();
        assert_eq!(arn.resource_id().as_str(), "abcdABCDefgh");
        assert_eq!(arn.region(), "us-west-2");
        assert_eq!(arn.account_id(), "123456789012");
        assert_eq!(
            arn.to_string(),
            "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh"
        );
        let rebuilt = ChannelArn::new("us-west-2", "123456789012", arn.resource_id()).unwrap();
        assert_eq!(rebuilt, arn);
    }

    #[test]
    fn channel_arn_rejects_other_shapes() {
        for bad in [
            "channelArn",
            "arn:aws:ivs:US-WEST-2:123:channel/abc",
            "arn:aws:ivs:us-west-2:12a:channel/abc",
            "arn:aws:ivs:us-west-2:123:stage/abc",
            "arn:aws:ivschat:us-west-2:123:room/abc",
            "arn:aws:ivs:us-west-2:123:channel/",
            "arn:aws:ivs:us-west-2:123:channel/ab-c",
            "arn:aws:ivs::123:channel/abc",
        ] {
            assert!(ChannelArn::parse(bad).is_err(), "{bad}");
        }
        assert!(ChannelArn::new(
            "region",
            "accountId",
            &ChannelResourceId::parse("x").unwrap()
        )
        .is_err());
    }

    #[test]
    fn resource_ids_are_short_alphanumerics() {
        assert!(ChannelResourceId::parse("abcdABCDefgh").is_ok());
        assert!(ChannelResourceId::parse(&"a".repeat(100)).is_ok());
        for bad in ["", "a-b", "a/b", &"a".repeat(101)] {
            assert!(ChannelResourceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chat_room_arn() {
        assert!(
            ChatRoomArn::parse("arn:aws:ivschat:us-west-2:123456789012:room/g1H2I3j4k5L6").is_ok()
        );
        assert!(ChatRoomArn::parse("arn:aws:ivs:us-west-2:123456789012:room/g1H2").is_err());
        assert!(ChatRoomArn::parse("").is_err());
    }

    #[test]
    fn stream_ids() {
        assert!(StreamId::parse("st-1A2b3c4D5e6F78ghij9Klmn").is_ok());
        assert!(StreamId::parse(&format!("st-{}", "a".repeat(97))).is_ok());
        for bad in [
            "st-",
            "1A2b",
            "st-a-b",
            "ST-abc",
            &format!("st-{}", "a".repeat(98)),
        ] {
            assert!(StreamId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stream_action_metadata_limits_bytes_not_chars() {
        assert!(StreamActionMetadata::parse("").is_err());
        assert!(StreamActionMetadata::parse(&"a".repeat(1024)).is_ok());
        assert!(StreamActionMetadata::parse(&"a".repeat(1025)).is_err());
        // 512 two-byte characters are 1024 bytes; one more is over.
        assert!(StreamActionMetadata::parse(&"é".repeat(512)).is_ok());
        assert!(StreamActionMetadata::parse(&"é".repeat(513)).is_err());
    }

    #[test]
    fn derived_channel_values() {
        let id = ChannelResourceId::parse("AbCdEf123").unwrap();
        assert_eq!(tracking_id(&id, None), "abcdef123");
        assert_eq!(tracking_id(&id, Some("")), "abcdef123");
        assert_eq!(tracking_id(&id, Some("20")), "abcdef123-20");
        assert_eq!(channel_name_base("Al.ice_B-9 é"), "Alice_B-9");
        assert_eq!(
            ingest_server_url(
                INGEST_SERVER_URL_FORMAT,
                "abc123.global-contribute.live-video.net"
            ),
            "rtmps://abc123.global-contribute.live-video.net:443/app/"
        );
        assert_eq!(
            ingest_server_url("rtmp://{ingestEndpoint}/app/", "127.0.0.1:1935"),
            "rtmp://127.0.0.1:1935/app/"
        );
    }
}
