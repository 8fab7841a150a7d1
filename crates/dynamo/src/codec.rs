//! Item ⇄ domain conversions, in one place. Attribute names are upstream's (docs/contract.md §3.1/§3.2) so
//! existing data reads and writes unchanged; the attributes we add are listed in [`attr`].
//!
//! Reading is lenient where upstream stored unchecked strings (usernames, avatar and colour names,
//! the seeder's empty ARNs): a stored value that today's parsers would refuse is still returned, so one
//! old row cannot break a page. Writing takes the domain's parsed types.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;
use ugc_domain::session::{IdSketch, SessionSummary, StoredEvent};
use ugc_domain::{format_iso_seconds, parse_iso, ChannelArn, StreamId};

use crate::error::DbError;

pub type Item = HashMap<String, AttributeValue>;

/// Attribute names. Upstream's unless marked "ours".
pub mod attr {
    pub const ID: &str = "id";
    pub const USERNAME: &str = "username";
    pub const EMAIL: &str = "email";
    pub const AVATAR: &str = "avatar";
    pub const COLOR: &str = "color";
    pub const BANNER: &str = "banner";
    pub const CHANNEL_ARN: &str = "channelArn";
    pub const CHAT_ROOM_ARN: &str = "chatRoomArn";
    pub const INGEST_ENDPOINT: &str = "ingestEndpoint";
    pub const PLAYBACK_URL: &str = "playbackUrl";
    pub const STREAM_KEY_ARN: &str = "streamKeyArn";
    pub const STREAM_KEY_VALUE: &str = "streamKeyValue";
    pub const TRACKING_ID: &str = "trackingId";
    pub const CHANNEL_ASSET_ID: &str = "channelAssetId";
    pub const CHANNEL_ASSETS: &str = "channelAssets";
    pub const FOLLOWING_LIST: &str = "followingList";
    pub const BANNED_USER_SUBS: &str = "bannedUserSubs";
    /// Ours: the first-login claim token and its expiry (epoch ms), present only while a request is
    /// creating the user's IVS resources.
    pub const PROVISIONING_TOKEN: &str = "provisioningToken";
    pub const PROVISIONING_EXPIRES: &str = "provisioningExpiresAt";
    /// Ours: on a username marker item, the sub that owns the name.
    pub const USER_SUB: &str = "userSub";

    pub const URL: &str = "url";
    pub const SEQUENCER: &str = "sequencer";
    pub const LAST_MODIFIED: &str = "lastModified";
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    }
}

/// A string attribute, with the seeder's empty strings read as absent.
pub(crate) fn get_non_empty(item: &Item, name: &str) -> Option<String> {
    get_s(item, name)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => parse_number(v),
        _ => None,
    }
}

/// DynamoDB numbers are decimal strings; epoch-ms values written by JavaScript may carry a fraction.
pub(crate) fn parse_number(v: &str) -> Option<i64> {
    v.parse::<i64>()
        .ok()
        .or_else(|| v.parse::<f64>().ok().map(|f| f as i64))
}

pub(crate) fn get_bool(item: &Item, name: &str) -> Option<bool> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Some(*v),
        _ => None,
    }
}

pub(crate) fn get_map<'a>(item: &'a Item, name: &str) -> Option<&'a Item> {
    match item.get(name) {
        Some(AttributeValue::M(m)) => Some(m),
        _ => None,
    }
}

pub(crate) fn require_s(item: &Item, name: &str) -> Result<String, DbError> {
    get_s(item, name)
        .map(str::to_owned)
        .ok_or_else(|| DbError::other(format!("stored item has no string attribute {name}")))
}

/// One entry of `channelAssets`: `{url, sequencer, lastModified}`; a deleted asset is `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelAsset {
    pub url: Option<String>,
    /// S3 event sequencer (hex) of the object version the `url` points to.
    pub sequencer: Option<String>,
    /// Epoch milliseconds of the upload this entry describes.
    pub last_modified: Option<i64>,
}

impl ChannelAsset {
    fn from_item(item: &Item) -> Self {
        Self {
            url: get_non_empty(item, attr::URL),
            sequencer: get_non_empty(item, attr::SEQUENCER),
            last_modified: get_n(item, attr::LAST_MODIFIED),
        }
    }

    pub(crate) fn to_attribute(&self) -> AttributeValue {
        let mut map = Item::new();
        if let Some(url) = &self.url {
            map.insert(attr::URL.to_owned(), s(url));
        }
        if let Some(seq) = &self.sequencer {
            map.insert(attr::SEQUENCER.to_owned(), s(seq));
        }
        if let Some(ms) = self.last_modified {
            map.insert(attr::LAST_MODIFIED.to_owned(), n(ms));
        }
        AttributeValue::M(map)
    }
}

/// What the public routes (channel page, directory) read of a profile: the fields they show and
/// the channel's ARNs, never the e-mail, stream key, ingest endpoint, follows or bans. Their reads
/// ask DynamoDB for [`PUBLIC_PROFILE_ATTRIBUTES`] only (a `ProjectionExpression`), so those
/// never even reach the process, and the responses DynamoDB sends and the SDK parses stay small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicProfile {
    /// Cognito `sub`.
    pub id: String,
    pub username: String,
    pub avatar: Option<String>,
    pub color: Option<String>,
    /// As [`ChannelRecord::channel_arn`].
    pub channel_arn: Option<ChannelArn>,
    pub chat_room_arn: Option<String>,
    pub playback_url: Option<String>,
    pub channel_assets: BTreeMap<String, ChannelAsset>,
}

/// The attributes of a [`PublicProfile`].
pub(crate) const PUBLIC_PROFILE_ATTRIBUTES: &[&str] = &[
    attr::ID,
    attr::USERNAME,
    attr::AVATAR,
    attr::COLOR,
    attr::CHANNEL_ARN,
    attr::CHAT_ROOM_ARN,
    attr::PLAYBACK_URL,
    attr::CHANNEL_ASSETS,
];

impl PublicProfile {
    /// `channelAssetUrls` as the API returns it: each asset that has a url.
    pub fn channel_asset_urls(&self) -> BTreeMap<String, String> {
        asset_urls(&self.channel_assets)
    }

    pub(crate) fn from_item(item: &Item) -> Result<Self, DbError> {
        let id = require_s(item, attr::ID)?;
        let username = require_s(item, attr::USERNAME)?;
        let channel_arn = get_non_empty(item, attr::CHANNEL_ARN).and_then(|raw| {
            ChannelArn::parse(&raw)
                .map_err(|err| tracing::warn!(user = %id, %err, "stored channelArn is not a channel ARN"))
                .ok()
        });
        let channel_assets = get_map(item, attr::CHANNEL_ASSETS)
            .map(|assets| {
                assets
                    .iter()
                    .filter_map(|(k, v)| match v {
                        AttributeValue::M(m) => Some((k.clone(), ChannelAsset::from_item(m))),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            id,
            username,
            avatar: get_non_empty(item, attr::AVATAR),
            color: get_non_empty(item, attr::COLOR),
            channel_arn,
            chat_room_arn: get_non_empty(item, attr::CHAT_ROOM_ARN),
            playback_url: get_non_empty(item, attr::PLAYBACK_URL),
            channel_assets,
        })
    }
}

fn asset_urls(assets: &BTreeMap<String, ChannelAsset>) -> BTreeMap<String, String> {
    assets
        .iter()
        .filter_map(|(k, v)| v.url.as_ref().map(|url| (k.clone(), url.clone())))
        .collect()
}

/// One user's row in the channels table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRecord {
    /// Cognito `sub`.
    pub id: String,
    /// Current display name, case preserved.
    pub username: String,
    pub email: Option<String>,
    pub avatar: Option<String>,
    pub color: Option<String>,
    /// Name of the banner preference, when the SPA sent one.
    pub banner: Option<String>,
    /// Absent until first-login provisioning completes (and for a stored value that is not a channel
    /// ARN, which is logged).
    pub channel_arn: Option<ChannelArn>,
    pub chat_room_arn: Option<String>,
    pub ingest_endpoint: Option<String>,
    pub playback_url: Option<String>,
    pub stream_key_arn: Option<String>,
    pub stream_key_value: Option<String>,
    pub tracking_id: Option<String>,
    pub channel_asset_id: Option<String>,
    /// Keyed by asset type name (`avatar`, `banner`).
    pub channel_assets: BTreeMap<String, ChannelAsset>,
    /// Followed channel resource ids, most recent first.
    pub following_list: Vec<String>,
    pub banned_user_subs: BTreeSet<String>,
}

impl ChannelRecord {
    /// `channelAssetUrls` as the API returns it: each asset that has a url.
    pub fn channel_asset_urls(&self) -> BTreeMap<String, String> {
        asset_urls(&self.channel_assets)
    }

    /// The public part of this record, as a public read would have returned it.
    pub fn public(&self) -> PublicProfile {
        PublicProfile {
            id: self.id.clone(),
            username: self.username.clone(),
            avatar: self.avatar.clone(),
            color: self.color.clone(),
            channel_arn: self.channel_arn.clone(),
            chat_room_arn: self.chat_room_arn.clone(),
            playback_url: self.playback_url.clone(),
            channel_assets: self.channel_assets.clone(),
        }
    }

    pub fn has_banned(&self, sub: &str) -> bool {
        self.banned_user_subs.contains(sub)
    }

    pub fn is_following(&self, channel_resource_id: &str) -> bool {
        self.following_list
            .iter()
            .any(|id| id == channel_resource_id)
    }

    pub(crate) fn from_item(item: &Item) -> Result<Self, DbError> {
        let PublicProfile {
            id,
            username,
            avatar,
            color,
            channel_arn,
            chat_room_arn,
            playback_url,
            channel_assets,
        } = PublicProfile::from_item(item)?;
        let following_list = match item.get(attr::FOLLOWING_LIST) {
            Some(AttributeValue::L(list)) => list
                .iter()
                .filter_map(|v| match v {
                    AttributeValue::S(id) => Some(id.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let banned_user_subs = match item.get(attr::BANNED_USER_SUBS) {
            Some(AttributeValue::Ss(subs)) => subs.iter().cloned().collect(),
            _ => BTreeSet::new(),
        };
        Ok(Self {
            id,
            username,
            email: get_non_empty(item, attr::EMAIL),
            avatar,
            color,
            banner: get_non_empty(item, attr::BANNER),
            channel_arn,
            chat_room_arn,
            ingest_endpoint: get_non_empty(item, attr::INGEST_ENDPOINT),
            playback_url,
            stream_key_arn: get_non_empty(item, attr::STREAM_KEY_ARN),
            stream_key_value: get_non_empty(item, attr::STREAM_KEY_VALUE),
            tracking_id: get_non_empty(item, attr::TRACKING_ID),
            channel_asset_id: get_non_empty(item, attr::CHANNEL_ASSET_ID),
            channel_assets,
            following_list,
            banned_user_subs,
        })
    }
}

/// Compares two S3 event sequencers as the hexadecimal numbers they are (S3 documents that they are
/// compared after left-padding; upstream compared the raw strings, which orders `ff` after `100`).
pub fn compare_sequencers(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0').to_ascii_uppercase();
    let b = b.trim_start_matches('0').to_ascii_uppercase();
    a.len().cmp(&b.len()).then_with(|| a.cmp(&b))
}

/// Attribute names of the streams table. Upstream's unless marked "ours".
pub mod session_attr {
    pub const CHANNEL_ARN: &str = "channelArn";
    pub const ID: &str = "id";
    pub const USER_SUB: &str = "userSub";
    pub const START_TIME: &str = "startTime";
    pub const END_TIME: &str = "endTime";
    pub const IS_OPEN: &str = "isOpen";
    pub const IS_HEALTHY: &str = "isHealthy";
    pub const HAS_ERROR_EVENT: &str = "hasErrorEvent";
    pub const TRUNCATED_EVENTS: &str = "truncatedEvents";
    pub const INGEST_CONFIGURATION: &str = "ingestConfiguration";
    pub const METRICS: &str = "metrics";
    /// Ours: `"true"` while the session is live and the newest of its channel (key of `liveIndex`).
    pub const IS_LIVE: &str = "isLive";
    /// Ours: estimated number of events that fell off the capped `truncatedEvents`.
    pub const DROPPED_EVENTS: &str = "droppedEvents";
    /// Ours: the id sketch behind `droppedEvents` (binary).
    pub const SEEN_EVENTS: &str = "seenEvents";
    /// Ours: the latest stream-state and health events, kept apart because the capped list can
    /// lose them.
    pub const LATEST_STREAM_STATE: &str = "latestStreamState";
    pub const LATEST_HEALTH: &str = "latestHealth";
    /// Ours: optimistic-concurrency counter, incremented by every write of the session's state.
    pub const VERSION: &str = "version";
    /// Ours: set once a newer session of the same channel is known; such a session is never open
    /// or live again.
    pub const SUPERSEDED: &str = "superseded";

    pub const EVENT_TIME: &str = "eventTime";
    pub const EVENT_NAME: &str = "name";
    pub const EVENT_TYPE: &str = "type";
    pub const EVENT_ID: &str = "id";
}

pub(crate) fn event_to_attribute(event: &StoredEvent) -> AttributeValue {
    use session_attr as a;
    AttributeValue::M(Item::from([
        (a::EVENT_TIME.to_owned(), s(format_iso_seconds(event.time))),
        (a::EVENT_NAME.to_owned(), s(&event.name)),
        (a::EVENT_TYPE.to_owned(), s(&event.event_type)),
        (a::EVENT_ID.to_owned(), s(&event.id)),
    ]))
}

/// Upstream's events have no id; a deterministic one built from the event's fields de-duplicates
/// the copies upstream stored for redeliveries.
pub(crate) fn event_from_attribute(value: &AttributeValue) -> Option<StoredEvent> {
    use session_attr as a;
    let AttributeValue::M(map) = value else {
        return None;
    };
    let raw_time = get_s(map, a::EVENT_TIME)?;
    let time = parse_iso(raw_time)?;
    let name = get_s(map, a::EVENT_NAME)?.to_owned();
    let event_type = get_s(map, a::EVENT_TYPE)?.to_owned();
    let id = match get_s(map, a::EVENT_ID) {
        Some(id) => id.to_owned(),
        None => format!("legacy:{raw_time}:{event_type}:{name}"),
    };
    Some(StoredEvent {
        id,
        time,
        name,
        event_type,
    })
}

fn event_from_item_attr(item: &Item, name: &str) -> Option<StoredEvent> {
    item.get(name).and_then(event_from_attribute)
}

fn time_attr(item: &Item, name: &str) -> Option<OffsetDateTime> {
    get_s(item, name).and_then(parse_iso)
}

/// The session state stored in an item (upstream rows included), with the domain invariants restored.
pub(crate) fn summary_from_item(item: &Item) -> SessionSummary {
    use session_attr as a;
    let events = match item.get(a::TRUNCATED_EVENTS) {
        Some(AttributeValue::L(list)) => list.iter().filter_map(event_from_attribute).collect(),
        _ => Vec::new(),
    };
    let seen = match item.get(a::SEEN_EVENTS) {
        Some(AttributeValue::B(blob)) => IdSketch::from_bytes(blob.as_ref()).unwrap_or_default(),
        _ => IdSketch::default(),
    };
    SessionSummary {
        start_time: time_attr(item, a::START_TIME),
        end_time: time_attr(item, a::END_TIME),
        latest_stream_state: event_from_item_attr(item, a::LATEST_STREAM_STATE),
        latest_health: event_from_item_attr(item, a::LATEST_HEALTH),
        has_error: get_bool(item, a::HAS_ERROR_EVENT).unwrap_or(false),
        events,
        seen,
        dropped_events: 0,
    }
    .normalized()
}

/// `SET` and `REMOVE` parts for persisting a summary: every state attribute is written, absent
/// optional ones removed, so the item always equals the summary.
pub(crate) fn summary_attributes(
    summary: &SessionSummary,
) -> (Vec<(&'static str, AttributeValue)>, Vec<&'static str>) {
    use session_attr as a;
    let mut set = vec![
        (a::IS_HEALTHY, AttributeValue::Bool(summary.is_healthy())),
        (
            a::HAS_ERROR_EVENT,
            AttributeValue::Bool(summary.has_error()),
        ),
        (
            a::TRUNCATED_EVENTS,
            AttributeValue::L(summary.events.iter().map(event_to_attribute).collect()),
        ),
        (a::DROPPED_EVENTS, n(i64::from(summary.dropped_events))),
        (
            a::SEEN_EVENTS,
            AttributeValue::B(Blob::new(summary.seen.to_bytes())),
        ),
    ];
    let mut remove = Vec::new();
    let optional = [
        (
            a::START_TIME,
            summary.start_time.map(|t| s(format_iso_seconds(t))),
        ),
        (
            a::END_TIME,
            summary.end_time.map(|t| s(format_iso_seconds(t))),
        ),
        (
            a::LATEST_STREAM_STATE,
            summary.latest_stream_state.as_ref().map(event_to_attribute),
        ),
        (
            a::LATEST_HEALTH,
            summary.latest_health.as_ref().map(event_to_attribute),
        ),
    ];
    for (name, value) in optional {
        match value {
            Some(value) => set.push((name, value)),
            None => remove.push(name),
        }
    }
    (set, remove)
}

/// One stream session as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSession {
    pub channel_arn: ChannelArn,
    pub stream_id: StreamId,
    /// The channel owner's sub when the first event arrived (metrics access control).
    pub user_sub: Option<String>,
    pub summary: SessionSummary,
    /// A newer session of the same channel is known.
    pub superseded: bool,
    pub ingest_configuration: Option<serde_json::Value>,
    /// The metrics cache: one key `P<period>-S<start>-E<end>` → formatted metrics.
    pub metrics: BTreeMap<String, serde_json::Value>,
}

impl StoredSession {
    /// Open: Session Created received, no Session Ended, and no session of the channel started
    /// later (docs/architecture.md "Session model").
    pub fn is_open(&self) -> bool {
        self.summary.start_time.is_some() && !self.summary.is_ended() && !self.superseded
    }

    /// Live as the directory, channel page and following list use it: the session model's live,
    /// for the channel's newest session. A superseded session is not live even when its Session
    /// Ended was lost (a channel broadcasts one session at a time).
    pub fn is_live(&self) -> bool {
        live(&self.summary, self.superseded)
    }

    pub(crate) fn from_item(item: &Item) -> Result<Self, DbError> {
        use session_attr as a;
        let (channel_arn, stream_id) = session_key(item)?;
        let metrics = get_map(item, a::METRICS)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            channel_arn,
            stream_id,
            user_sub: get_non_empty(item, a::USER_SUB),
            summary: summary_from_item(item),
            superseded: get_bool(item, a::SUPERSEDED).unwrap_or(false),
            ingest_configuration: item.get(a::INGEST_CONFIGURATION).map(attribute_to_json),
            metrics,
        })
    }
}

/// The one definition of a stored session's "live": the session model's live, unless a newer
/// session of the channel superseded it.
fn live(summary: &SessionSummary, superseded: bool) -> bool {
    summary.is_live() && !superseded
}

fn session_key(item: &Item) -> Result<(ChannelArn, StreamId), DbError> {
    use session_attr as a;
    let raw_id = require_s(item, a::ID)?;
    let stream_id = StreamId::parse(&raw_id)
        .map_err(|err| DbError::other(format!("stored session id {raw_id}: {err}")))?;
    let channel_arn = ChannelArn::parse(&require_s(item, a::CHANNEL_ARN)?)
        .map_err(|err| DbError::other(format!("stored session channelArn: {err}")))?;
    Ok((channel_arn, stream_id))
}

/// What the channel page reads of a channel's newest session: whether it is live (exactly as
/// [`StoredSession::is_live`] decides) and IVS's ingest configuration. Read with
/// [`SESSION_LIVENESS_ATTRIBUTES`] only, so the session's metrics cache, id sketch and health
/// fields are never transferred or parsed for a page view.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionLiveness {
    pub channel_arn: ChannelArn,
    pub stream_id: StreamId,
    pub is_live: bool,
    pub ingest_configuration: Option<serde_json::Value>,
}

/// The attributes [`SessionLiveness`] is decided from: the state [`SessionSummary::is_live`]
/// reads (the kept events too, for upstream's rows that have no `latestStreamState`), and
/// `superseded`.
pub(crate) const SESSION_LIVENESS_ATTRIBUTES: &[&str] = &[
    session_attr::CHANNEL_ARN,
    session_attr::ID,
    session_attr::START_TIME,
    session_attr::END_TIME,
    session_attr::LATEST_STREAM_STATE,
    session_attr::TRUNCATED_EVENTS,
    session_attr::SUPERSEDED,
    session_attr::INGEST_CONFIGURATION,
];

impl SessionLiveness {
    pub(crate) fn from_item(item: &Item) -> Result<Self, DbError> {
        use session_attr as a;
        let (channel_arn, stream_id) = session_key(item)?;
        let superseded = get_bool(item, a::SUPERSEDED).unwrap_or(false);
        Ok(Self {
            channel_arn,
            stream_id,
            is_live: live(&summary_from_item(item), superseded),
            ingest_configuration: item.get(a::INGEST_CONFIGURATION).map(attribute_to_json),
        })
    }
}

/// Converts JSON (an `ingestConfiguration` or a metrics cache entry) to a DynamoDB value: objects
/// become maps, arrays lists, numbers `N`, so the stored shape is upstream's.
pub fn json_to_attribute(value: &serde_json::Value) -> AttributeValue {
    use serde_json::Value;
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(num) => AttributeValue::N(num.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(json_to_attribute).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_attribute(v)))
                .collect(),
        ),
    }
}

/// The inverse of [`json_to_attribute`]; sets become arrays, binary values are skipped.
pub fn attribute_to_json(value: &AttributeValue) -> serde_json::Value {
    use serde_json::Value;
    match value {
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(num) => serde_json::from_str::<serde_json::Number>(num)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(items) => Value::Array(items.iter().map(attribute_to_json).collect()),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                .collect(),
        ),
        AttributeValue::Ss(items) => {
            Value::Array(items.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Ns(items) => Value::Array(
            items
                .iter()
                .filter_map(|num| serde_json::from_str::<serde_json::Number>(num).ok())
                .map(Value::Number)
                .collect(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn sequencers_compare_as_numbers() {
        assert_eq!(compare_sequencers("ff", "100"), Ordering::Less);
        assert_eq!(compare_sequencers("0100", "100"), Ordering::Equal);
        assert_eq!(
            compare_sequencers("0062E99A88DC407460", "0062e99a88dc407461"),
            Ordering::Less
        );
    }

    #[test]
    fn record_reads_upstream_item() {
        let mut assets = Item::new();
        let mut avatar = Item::new();
        avatar.insert("url".into(), s("https://cdn/x/avatar?versionId=1"));
        avatar.insert(
            "lastModified".into(),
            AttributeValue::N("1686767561000.5".into()),
        );
        assets.insert("avatar".into(), AttributeValue::M(avatar));
        assets.insert("banner".into(), AttributeValue::M(Item::new()));
        let mut item = Item::new();
        item.insert("id".into(), s("sub-1"));
        item.insert("username".into(), s("old name!"));
        item.insert("chatRoomArn".into(), s(""));
        item.insert(
            "channelArn".into(),
            s("arn:aws:ivs:us-west-2:123456789012:channel/AbCd1234"),
        );
        item.insert("channelAssets".into(), AttributeValue::M(assets));
        item.insert(
            "followingList".into(),
            AttributeValue::L(vec![s("b"), s("a")]),
        );
        let record = ChannelRecord::from_item(&item).unwrap();
        assert_eq!(record.username, "old name!");
        assert_eq!(record.chat_room_arn, None);
        assert_eq!(
            record.channel_arn.as_ref().unwrap().resource_id().as_str(),
            "AbCd1234"
        );
        assert_eq!(record.channel_asset_urls().len(), 1);
        assert_eq!(
            record.channel_assets["avatar"].last_modified,
            Some(1686767561000)
        );
        assert_eq!(record.following_list, vec!["b", "a"]);
    }
}
