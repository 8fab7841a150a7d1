//! The asset-version updater (docs/contract.md §12.4): S3 `ObjectCreated` notifications for
//! `<channelAssetId>/<avatar|banner>` reach this function through SQS, and it records the new
//! object version's CDN URL in the owner's `channelAssets`.
//!
//! S3 delivers notifications at least once and in no particular order, so a version is written
//! only when its sequencer is newer **as a number** than the stored one (upstream compared the hex
//! strings as text, so `"9"` beat `"0A"`). The compare-and-set lives in
//! [`ChannelsRepo::record_asset_version`].
//!
//! Failure policy, per SQS message: anything a retry cannot fix (a malformed body, S3's test event,
//! a key that is not an asset, a channel that no longer exists, an older version) is logged and the
//! message is deleted; a DynamoDB error is reported in `batchItemFailures`, so only that message
//! returns to the queue (and, after the queue's receive limit, to the dead-letter queue).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde::Deserialize;
use ugc_domain::AssetType;
use ugc_dynamo::{AssetVersionOutcome, ChannelsRepo, DbError};

use crate::config::{self, ConfigError, Lookup};

ugc_domain::env_vars! {
    pub mod var;
    CHANNEL_ASSETS_BASE_URL: required => "The assets CDN origin: base of the stored versioned \
        avatar and banner URLs.";
    CHANNELS_TABLE_NAME: required => "DynamoDB table of channels.";
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetVersionConfig {
    /// `CHANNEL_ASSETS_BASE_URL`: the assets CDN origin, without a trailing slash.
    pub channel_assets_base_url: String,
    /// `CHANNELS_TABLE_NAME`.
    pub channels_table: String,
}

impl AssetVersionConfig {
    pub fn from_env(env: &impl Lookup) -> Result<Self, ConfigError> {
        Ok(Self {
            channel_assets_base_url: config::base_url(env, &var::CHANNEL_ASSETS_BASE_URL)?,
            channels_table: config::required(env, &var::CHANNELS_TABLE_NAME)?,
        })
    }
}

/// What became of one S3 record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The new version's URL is stored.
    Applied { url: String },
    /// The stored version is the same or newer.
    Stale,
    /// No channel has this `channelAssetId` (the account was deleted).
    UnknownChannel,
    /// Not something this function records (test event, other event type, other key, ...).
    Ignored(String),
}

/// The updater: one per process, reused across invocations.
#[derive(Clone, Debug)]
pub struct AssetVersionUpdater {
    repo: ChannelsRepo,
    base_url: String,
}

impl AssetVersionUpdater {
    pub fn new(repo: ChannelsRepo, channel_assets_base_url: impl Into<String>) -> Self {
        Self {
            repo,
            base_url: channel_assets_base_url
                .into()
                .trim_end_matches('/')
                .to_owned(),
        }
    }

    /// Applies one S3 notification body (the JSON S3 puts on the queue, `docs/wire-protocols.md`
    /// §8.1). `Err` only for DynamoDB failures, where a retry can help; every record of the body is
    /// attempted first, and records already applied are stale on the retry.
    pub async fn apply_notification(&self, body: &str) -> Result<Vec<RecordOutcome>, DbError> {
        let records = match parse_notification(body) {
            Ok(records) => records,
            Err(reason) => return Ok(vec![RecordOutcome::Ignored(reason)]),
        };
        let mut outcomes = Vec::with_capacity(records.len());
        let mut failure = None;
        for record in records {
            match self.apply_record(record).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(err) => failure = Some(err),
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(outcomes),
        }
    }

    async fn apply_record(&self, record: S3Record) -> Result<RecordOutcome, DbError> {
        let asset = match AssetRef::from_record(&record) {
            Ok(asset) => asset,
            Err(reason) => return Ok(RecordOutcome::Ignored(reason)),
        };
        let mut url = format!(
            "{}/{}/{}",
            self.base_url,
            asset.channel_asset_id,
            asset.asset_type.as_str()
        );
        if let Some(version) = &asset.version_id {
            url.push_str("?versionId=");
            url.push_str(&form_encode(version));
        }
        let outcome = self
            .repo
            .record_asset_version(
                &asset.channel_asset_id,
                asset.asset_type,
                &url,
                &asset.sequencer,
            )
            .await?;
        Ok(match outcome {
            AssetVersionOutcome::Applied => RecordOutcome::Applied { url },
            AssetVersionOutcome::Stale => RecordOutcome::Stale,
            AssetVersionOutcome::UnknownAsset => RecordOutcome::UnknownChannel,
        })
    }

    /// The Lambda handler: every message is applied (concurrently) and the ones that hit a DynamoDB
    /// error are listed in `batchItemFailures`.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let results = futures_util::future::join_all(
            event
                .records
                .iter()
                .map(|message| self.handle_message(message)),
        )
        .await;
        let mut response = SqsBatchResponse::default();
        for (message, ok) in event.records.iter().zip(results) {
            if !ok {
                let mut failure = BatchItemFailure::default();
                // SQS always sends a message id; an empty identifier would fail the whole batch,
                // which is still the safe side.
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    async fn handle_message(&self, message: &SqsMessage) -> bool {
        let id = message.message_id.as_deref().unwrap_or_default();
        let body = message.body.as_deref().unwrap_or_default();
        match self.apply_notification(body).await {
            Ok(outcomes) => {
                for outcome in outcomes {
                    match outcome {
                        RecordOutcome::Applied { url } => {
                            tracing::info!(message_id = id, %url, "asset version recorded");
                        }
                        RecordOutcome::Stale => {
                            tracing::info!(message_id = id, "stale asset version dropped");
                        }
                        RecordOutcome::UnknownChannel => {
                            tracing::warn!(message_id = id, "no channel for this asset; dropped");
                        }
                        RecordOutcome::Ignored(reason) => {
                            tracing::warn!(message_id = id, %reason, "notification ignored");
                        }
                    }
                }
                true
            }
            Err(err) => {
                if err.is_transient() {
                    tracing::warn!(message_id = id, error = %err, "DynamoDB unavailable; message will be retried");
                } else {
                    tracing::error!(message_id = id, error = ?err, "recording the asset version failed; message will be retried");
                }
                false
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Option<Vec<S3Record>>,
    #[serde(rename = "Event")]
    event: Option<String>,
}

#[derive(Debug, Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: Option<S3Entity>,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    object: Option<S3Object>,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: Option<String>,
    #[serde(rename = "versionId")]
    version_id: Option<String>,
    sequencer: Option<String>,
}

fn parse_notification(body: &str) -> Result<Vec<S3Record>, String> {
    let notification: Notification = serde_json::from_str(body)
        .map_err(|err| format!("the message body is not an S3 notification: {err}"))?;
    match (notification.records, notification.event) {
        (Some(records), _) => Ok(records),
        (None, Some(event)) => Err(format!("S3 {event} message")),
        (None, None) => Err("the S3 notification has no Records".to_owned()),
    }
}

/// The parts of an S3 record the updater needs.
#[derive(Debug, PartialEq, Eq)]
struct AssetRef {
    channel_asset_id: String,
    asset_type: AssetType,
    version_id: Option<String>,
    sequencer: String,
}

impl AssetRef {
    fn from_record(record: &S3Record) -> Result<Self, String> {
        if !record.event_name.starts_with("ObjectCreated:") {
            return Err(format!(
                "event {:?} is not an object creation",
                record.event_name
            ));
        }
        let object = record
            .s3
            .as_ref()
            .and_then(|s3| s3.object.as_ref())
            .ok_or("the record has no s3.object")?;
        let raw_key = object.key.as_deref().ok_or("the object has no key")?;
        let key =
            form_decode(raw_key).ok_or_else(|| format!("malformed object key {raw_key:?}"))?;
        let (channel_asset_id, asset_type) = key
            .split_once('/')
            .filter(|(id, rest)| !id.is_empty() && !rest.contains('/'))
            .ok_or_else(|| format!("key {key:?} is not <channelAssetId>/<assetType>"))?;
        let asset_type =
            AssetType::parse(asset_type).map_err(|_| format!("key {key:?} is not an asset"))?;
        let sequencer = object
            .sequencer
            .as_deref()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| format!("the record for {key:?} has no valid sequencer"))?;
        Ok(Self {
            channel_asset_id: channel_asset_id.to_owned(),
            asset_type,
            version_id: object.version_id.clone().filter(|v| !v.is_empty()),
            sequencer: sequencer.to_owned(),
        })
    }
}

/// Decodes an S3 notification key: form-style URL encoding (`+` is a space, `%XX` a byte).
fn form_decode(raw: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut iter = raw.bytes();
    while let Some(b) = iter.next() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = char::from(iter.next()?).to_digit(16)?;
                let lo = char::from(iter.next()?).to_digit(16)?;
                bytes.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            _ => bytes.push(b),
        }
    }
    String::from_utf8(bytes).ok()
}

/// Percent-encodes a query value. S3 version ids use URL-safe characters today; this keeps the
/// stored URL valid if one ever does not.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(key: &str, event_name: &str) -> S3Record {
        serde_json::from_value(json!({
            "eventName": event_name,
            "s3": {"object": {"key": key, "versionId": "v1", "sequencer": "0055AED6DCD90281E5"}}
        }))
        .unwrap()
    }

    #[test]
    fn asset_keys_are_parsed_and_decoded() {
        let asset = AssetRef::from_record(&record("abc-1/avatar", "ObjectCreated:Post")).unwrap();
        assert_eq!(asset.channel_asset_id, "abc-1");
        assert_eq!(asset.asset_type, AssetType::Avatar);
        assert_eq!(asset.version_id.as_deref(), Some("v1"));
        assert_eq!(asset.sequencer, "0055AED6DCD90281E5");
        let spaced = AssetRef::from_record(&record("a%2Bb+c/banner", "ObjectCreated:Put")).unwrap();
        assert_eq!(spaced.channel_asset_id, "a+b c");
    }

    #[test]
    fn non_asset_records_are_refused() {
        for (key, name) in [
            ("abc/avatar", "ObjectRemoved:Delete"),
            ("abc/thumbnail", "ObjectCreated:Put"),
            ("abc/x/avatar", "ObjectCreated:Put"),
            ("/avatar", "ObjectCreated:Put"),
            ("avatar", "ObjectCreated:Put"),
            ("abc/%zz", "ObjectCreated:Put"),
        ] {
            assert!(
                AssetRef::from_record(&record(key, name)).is_err(),
                "{key} {name}"
            );
        }
        let no_sequencer: S3Record = serde_json::from_value(json!({
            "eventName": "ObjectCreated:Put", "s3": {"object": {"key": "a/avatar"}}
        }))
        .unwrap();
        assert!(AssetRef::from_record(&no_sequencer).is_err());
    }

    #[test]
    fn test_events_and_garbage_are_not_notifications() {
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2023-11-14T22:13:20.000Z","Bucket":"b"}"#;
        assert_eq!(
            parse_notification(test_event).unwrap_err(),
            "S3 s3:TestEvent message"
        );
        assert!(parse_notification("not json").is_err());
        assert!(parse_notification("{}").is_err());
    }

    #[test]
    fn version_ids_are_encoded_in_the_url() {
        assert_eq!(
            form_encode("096fKKXTRTtl3on89fVO.nfljtsv6qko"),
            "096fKKXTRTtl3on89fVO.nfljtsv6qko"
        );
        assert_eq!(form_encode("a b+/"), "a%20b%2B%2F");
    }
}
