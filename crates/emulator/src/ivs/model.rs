//! The persisted IVS state and the identifiers IVS hands out (`docs/wire-protocols.md` §2.2).

use std::collections::BTreeMap;

use rand::distr::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

#[derive(Default, Serialize, Deserialize)]
pub(super) struct State {
    /// By channel resource id.
    pub channels: BTreeMap<String, Channel>,
    /// By stream key resource id.
    pub stream_keys: BTreeMap<String, StreamKey>,
    /// By channel resource id, oldest session first.
    pub sessions: BTreeMap<String, Vec<Session>>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Channel {
    pub id: String,
    pub name: String,
    pub latency_mode: String,
    pub channel_type: String,
    pub preset: String,
    pub authorized: bool,
    pub insecure_ingest: bool,
    pub recording_configuration_arn: String,
    pub playback_restriction_policy_arn: String,
    pub container_format: String,
    pub multitrack: Multitrack,
    /// The 12-hex host label of the ingest, SRT and playback endpoints.
    pub host: String,
    pub srt_passphrase: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Multitrack {
    pub enabled: bool,
    pub policy: String,
    pub maximum_resolution: String,
}

impl Default for Multitrack {
    fn default() -> Self {
        Self {
            enabled: false,
            policy: "ALLOW".to_owned(),
            maximum_resolution: "FULL_HD".to_owned(),
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StreamKey {
    pub id: String,
    pub channel_id: String,
    pub value: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Session {
    pub stream_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    /// The channel as it was when the session started.
    pub channel: Channel,
    pub health: Health,
    pub starved: Vec<Interval>,
    /// Oldest first; rendered newest first.
    pub events: Vec<TruncatedEvent>,
    pub has_error_event: bool,
    /// The ingest configuration measured from a real encoder (`None`: a simulated broadcast).
    #[serde(default)]
    pub ingest: Option<Value>,
}

impl Session {
    pub fn new(channel: Channel, start: OffsetDateTime) -> Self {
        Self {
            stream_id: format!("st-{}", alphanumeric(23)),
            start,
            end: None,
            channel,
            health: Health::Healthy,
            starved: Vec::new(),
            events: Vec::new(),
            has_error_event: false,
            ingest: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum Health {
    Healthy,
    Starving,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "HEALTHY",
            Self::Starving => "STARVING",
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Interval {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct TruncatedEvent {
    pub name: String,
    /// The EventBridge detail-type.
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub code: Option<String>,
}

pub(super) fn alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub(super) fn hex_label() -> String {
    hex::encode(rand::random::<[u8; 6]>())
}

/// What a typical OBS encoder sends to a channel of this type, as IVS reports it in
/// `GetStreamSession` (deprecated `ingestConfiguration` shape, integers as JSON numbers).
pub(super) fn ingest_configuration(channel_type: &str) -> Value {
    let (width, height, bitrate, level, codec) = match channel_type {
        "BASIC" => (768, 432, 750_000, "3.0", "avc1.64001E"),
        "ADVANCED_SD" => (1280, 720, 3_500_000, "3.1", "avc1.64001F"),
        _ => (1920, 1080, 6_000_000, "4.2", "avc1.64002A"),
    };
    json!({
        "video": {
            "avcProfile": "High",
            "avcLevel": level,
            "codec": codec,
            "encoder": "obs-output module (libobs version 30.1.2)",
            "targetBitrate": bitrate,
            "targetFramerate": 30,
            "videoHeight": height,
            "videoWidth": width,
            "level": level,
            "profile": "High",
            "track": "Track0",
        },
        "audio": {
            "codec": "mp4a.40.2",
            "targetBitrate": 160_000,
            "sampleRate": 48_000,
            "channels": 2,
            "track": "Track0",
        },
    })
}
