//! Amazon IVS low-latency streaming (restJson1, `docs/wire-protocols.md` §2): channels, stream keys,
//! streams, stream sessions, timed metadata and tags, plus the broadcast state the simulator drives.
//!
//! State (channels, keys, sessions with their event history) is persisted to `<data_dir>/ivs.json`.
//! Received timed metadata and the PutMetadata rate window are kept in memory only: they are
//! test observations, not platform state.

mod api;
mod model;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::core::config::EmulatorConfig;
use crate::core::error::AwsError;
use crate::core::store::Store;

pub use api::configure;
use model::{Channel, Health, Interval, Session, State, TruncatedEvent};

/// Most events a session keeps (`truncatedEvents`); older ones are dropped first, as IVS does.
const MAX_TRUNCATED_EVENTS: usize = 500;
/// PutMetadata quota per channel (`docs/wire-protocols.md` §2.1).
const METADATA_REQUESTS_PER_SECOND: usize = 5;
/// Largest PutMetadata payload, in bytes.
pub const MAX_METADATA_BYTES: usize = 1024;

pub const STREAM_STATE_CHANGE: &str = "IVS Stream State Change";
pub const STREAM_HEALTH_CHANGE: &str = "IVS Stream Health Change";
pub const LIMIT_BREACH: &str = "IVS Limit Breach";

pub struct Ivs {
    region: String,
    account_id: String,
    store: Store<State>,
    metadata: Mutex<HashMap<String, Vec<MetadataRecord>>>,
    metadata_rate: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// What real encoders sent, by stream id (in memory: measurements, not platform state).
    ingest: Mutex<HashMap<String, Vec<IngestSample>>>,
    /// Where channels say to publish and play when the emulator serves the media itself.
    endpoints: Option<MediaEndpoints>,
}

/// The local media endpoints channels hand out instead of IVS's.
#[derive(Clone, Debug)]
pub struct MediaEndpoints {
    /// `ingestEndpoint`: the RTMP listener, `host:port`.
    pub ingest: String,
    /// The HTTP origin serving `/api/video/v1/...m3u8`, e.g. `http://127.0.0.1:4566`.
    pub playback_origin: String,
}

/// Most ingest measurements kept per stream (one a second: several hours).
const MAX_INGEST_SAMPLES: usize = 20_000;

/// One measurement of what a real encoder sends, taken by the RTMP ingest.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestSample {
    pub time: OffsetDateTime,
    /// Bits per second of video.
    pub video_bitrate: f64,
    /// Frames per second.
    pub framerate: f64,
    /// Seconds between keyframes, when at least two were seen.
    pub keyframe_interval: Option<f64>,
}

/// One broadcast (stream session) of a channel, as CloudWatch needs it to synthesise metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct BroadcastRecord {
    pub stream_id: String,
    pub start: OffsetDateTime,
    /// `None` while the channel is live.
    pub end: Option<OffsetDateTime>,
    /// Starvation intervals; the last one has no end while the stream is starving.
    pub starved: Vec<(OffsetDateTime, Option<OffsetDateTime>)>,
    /// Measurements of a real (RTMP) broadcast, oldest first; empty for a simulated one.
    pub measured: Vec<IngestSample>,
}

/// A PutMetadata payload the emulator accepted.
#[derive(Clone, Debug, Serialize)]
pub struct MetadataRecord {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub payload: String,
}

/// What the broadcast simulator can do to a channel's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BroadcastAction {
    /// An encoder connects: a new stream session goes live.
    Start,
    /// The encoder disconnects: the session ends.
    Stop,
    /// The encoder stops sending enough data: health becomes STARVING.
    Starve,
    /// Data flows again: health becomes HEALTHY.
    Recover,
    /// The encoder exceeds the channel's ingest bitrate limit.
    Breach,
    /// IVS cannot process the stream (transcode capacity): the session fails and ends.
    Fail,
}

impl BroadcastAction {
    pub fn parse(action: &str) -> Option<Self> {
        Some(match action {
            "start" => Self::Start,
            "stop" => Self::Stop,
            "starve" => Self::Starve,
            "recover" => Self::Recover,
            "breach" => Self::Breach,
            "fail" => Self::Fail,
            _ => return None,
        })
    }
}

/// An IVS event produced by a state change, before EventBridge wraps it in its envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct IvsEvent {
    pub detail_type: &'static str,
    /// Whole seconds, as EventBridge sends it.
    pub time: OffsetDateTime,
    /// The channel ARN (`resources`).
    pub channel_arn: String,
    pub detail: Value,
}

/// The result of a broadcast action: the stream's state afterwards and the events it produced.
#[derive(Clone, Debug)]
pub struct BroadcastChange {
    pub channel_arn: String,
    pub stream_id: Option<String>,
    pub live: bool,
    pub health: &'static str,
    pub events: Vec<IvsEvent>,
}

impl Ivs {
    pub fn load(dir: Option<&Path>, config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            store: Store::open(dir, "ivs")?,
            metadata: Mutex::default(),
            metadata_rate: Mutex::default(),
            ingest: Mutex::default(),
            endpoints: None,
        })
    }

    /// From now on channels report the local RTMP listener and HLS origin.
    pub fn with_endpoints(mut self, endpoints: Option<MediaEndpoints>) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Every broadcast of a channel, oldest first. Unknown channels have none.
    pub fn broadcasts(&self, channel_resource_id: &str) -> Vec<BroadcastRecord> {
        let ingest = lock(&self.ingest);
        self.store.read(|state| {
            state
                .sessions
                .get(channel_resource_id)
                .map(|sessions| {
                    sessions
                        .iter()
                        .map(|s| BroadcastRecord {
                            stream_id: s.stream_id.clone(),
                            start: s.start,
                            end: s.end,
                            starved: s.starved.iter().map(|i| (i.start, i.end)).collect(),
                            measured: ingest.get(&s.stream_id).cloned().unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// The timed metadata accepted for a channel, oldest first.
    pub fn metadata(&self, channel_resource_id: &str) -> Vec<MetadataRecord> {
        lock(&self.metadata)
            .get(channel_resource_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The ARN of the channel a reference names: a channel ARN, a resource id, or a channel name
    /// (names are not unique in IVS; an ambiguous name is refused).
    pub fn resolve_channel(&self, reference: &str) -> Result<String, AwsError> {
        self.store.read(|state| {
            self.find_channel(state, reference)
                .map(|c| self.channel_arn(&c.id))
        })
    }

    /// The resource id of the channel a stream key value belongs to.
    pub fn channel_for_stream_key(&self, value: &str) -> Option<String> {
        self.store.read(|state| {
            state
                .stream_keys
                .values()
                .find(|k| !value.is_empty() && k.value == value)
                .map(|k| k.channel_id.clone())
        })
    }

    /// The stream id of the channel's live session, if it is live.
    pub fn live_stream_id(&self, channel_resource_id: &str) -> Option<String> {
        self.store.read(|state| {
            state
                .sessions
                .get(channel_resource_id)?
                .iter()
                .rev()
                .find(|s| s.end.is_none())
                .map(|s| s.stream_id.clone())
        })
    }

    /// The ingest bitrate limit of the channel's type, in bits per second.
    pub fn ingest_bitrate_limit_of(&self, channel_resource_id: &str) -> u64 {
        self.store.read(|state| {
            state
                .channels
                .get(channel_resource_id)
                .map_or(ingest_bitrate_limit(""), |c| {
                    ingest_bitrate_limit(&c.channel_type)
                })
        })
    }

    /// Records a measurement of a real broadcast (CloudWatch's ingest metrics come from these).
    pub fn record_ingest(&self, _channel_resource_id: &str, stream_id: &str, sample: IngestSample) {
        let mut ingest = lock(&self.ingest);
        let samples = ingest.entry(stream_id.to_owned()).or_default();
        samples.push(sample);
        let excess = samples.len().saturating_sub(MAX_INGEST_SAMPLES);
        samples.drain(..excess);
    }

    /// What the encoder of a real broadcast announced and sent, as `GetStreamSession` reports it.
    pub fn set_ingest_configuration(
        &self,
        channel_resource_id: &str,
        stream_id: &str,
        value: Value,
    ) {
        self.store.write(|state| {
            if let Some(session) = state
                .sessions
                .get_mut(channel_resource_id)
                .and_then(|s| s.iter_mut().find(|s| s.stream_id == stream_id))
            {
                session.ingest = Some(value);
            }
        });
    }

    /// Changes a channel's stream as an encoder (or IVS itself) would, records the events in the
    /// session history and returns them for delivery.
    pub fn apply_broadcast(
        &self,
        channel: &str,
        action: BroadcastAction,
    ) -> Result<BroadcastChange, AwsError> {
        self.apply_broadcast_measured(channel, action, None)
    }

    /// [`Ivs::apply_broadcast`] with what was measured: by how many bits per second a Limit Breach
    /// exceeded the limit (the simulator, measuring nothing, reports 120 kbps).
    pub fn apply_broadcast_measured(
        &self,
        channel: &str,
        action: BroadcastAction,
        exceeded_by: Option<u64>,
    ) -> Result<BroadcastChange, AwsError> {
        let now = now();
        self.store.write(|state| {
            let channel = self.find_channel(state, channel)?.clone();
            let mut change = Emitter {
                channel: &channel,
                arn: self.channel_arn(&channel.id),
                now,
                events: Vec::new(),
            };
            let sessions = state.sessions.entry(channel.id.clone()).or_default();
            let live = sessions.iter_mut().rev().find(|s| s.end.is_none());
            let stream_id = match (action, live) {
                (BroadcastAction::Start, Some(_)) => {
                    return Err(AwsError::new(
                        409,
                        "ConflictException",
                        "Channel is already broadcasting",
                    ))
                }
                (BroadcastAction::Start | BroadcastAction::Fail, None) => {
                    let mut session = Session::new(channel.clone(), now);
                    change.state_change(&mut session, "Session Created");
                    if action == BroadcastAction::Start {
                        change.state_change(&mut session, "Stream Start");
                    } else {
                        change.fail(&mut session);
                    }
                    let id = session.stream_id.clone();
                    sessions.push(session);
                    id
                }
                (_, None) => return Err(not_broadcasting()),
                (BroadcastAction::Stop, Some(session)) => {
                    change.state_change(session, "Stream End");
                    change.state_change(session, "Session Ended");
                    session.finish(now);
                    session.stream_id.clone()
                }
                (BroadcastAction::Fail, Some(session)) => {
                    change.fail(session);
                    session.stream_id.clone()
                }
                (BroadcastAction::Starve, Some(session)) => {
                    if session.health == Health::Healthy {
                        session.health = Health::Starving;
                        session.starved.push(Interval {
                            start: now,
                            end: None,
                        });
                        change.health_change(session, "Starvation Start");
                    }
                    session.stream_id.clone()
                }
                (BroadcastAction::Recover, Some(session)) => {
                    if session.health == Health::Starving {
                        session.health = Health::Healthy;
                        session.close_starvation(now);
                        change.health_change(session, "Starvation End");
                    }
                    session.stream_id.clone()
                }
                (BroadcastAction::Breach, Some(session)) => {
                    change.limit_breach(session, exceeded_by.unwrap_or(120_000));
                    session.stream_id.clone()
                }
            };
            let (live, health) = sessions
                .iter()
                .rev()
                .find(|s| s.stream_id == stream_id)
                .map(|s| (s.end.is_none(), s.health.as_str()))
                .unwrap_or((false, Health::Healthy.as_str()));
            Ok(BroadcastChange {
                channel_arn: change.arn,
                stream_id: Some(stream_id),
                live,
                health,
                events: change.events,
            })
        })
    }

    fn channel_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:ivs:{}:{}:channel/{id}",
            self.region, self.account_id
        )
    }

    fn stream_key_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:ivs:{}:{}:stream-key/{id}",
            self.region, self.account_id
        )
    }

    /// The resource id of one of this account's IVS ARNs of `kind` (`channel`, `stream-key`).
    fn resource_id<'a>(&self, arn: &'a str, kind: &str) -> Option<&'a str> {
        let prefix = format!("arn:aws:ivs:{}:{}:{kind}/", self.region, self.account_id);
        arn.strip_prefix(prefix.as_str())
    }

    fn find_channel<'s>(&self, state: &'s State, reference: &str) -> Result<&'s Channel, AwsError> {
        let id = self.resource_id(reference, "channel").unwrap_or(reference);
        if let Some(channel) = state.channels.get(id) {
            return Ok(channel);
        }
        let mut named = state.channels.values().filter(|c| c.name == reference);
        match (named.next(), named.next()) {
            (Some(channel), None) => Ok(channel),
            (Some(_), Some(_)) => Err(AwsError::validation(format!(
                "Several channels are named {reference}; use the channel ARN"
            ))),
            _ => Err(not_found(format!("Channel {reference} does not exist"))),
        }
    }

    /// Admits one PutMetadata call for a channel, or refuses it past the per-second quota.
    fn admit_metadata(&self, channel_id: &str) -> Result<(), AwsError> {
        let now = Instant::now();
        let mut windows = lock(&self.metadata_rate);
        let window = windows.entry(channel_id.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= METADATA_REQUESTS_PER_SECOND {
            return Err(AwsError::new(
                429,
                "ThrottlingException",
                "Request rate exceeded for PutMetadata on this channel",
            ));
        }
        window.push_back(now);
        Ok(())
    }

    fn store_metadata(&self, channel_id: &str, payload: String) {
        lock(&self.metadata)
            .entry(channel_id.to_owned())
            .or_default()
            .push(MetadataRecord {
                time: OffsetDateTime::now_utc(),
                payload,
            });
    }
}

/// The events of one broadcast change: each is recorded in its session's history and kept for
/// delivery.
struct Emitter<'c> {
    channel: &'c Channel,
    arn: String,
    now: OffsetDateTime,
    events: Vec<IvsEvent>,
}

impl Emitter<'_> {
    fn emit(
        &mut self,
        session: &mut Session,
        detail_type: &'static str,
        name: &str,
        detail: Value,
    ) {
        session.record(TruncatedEvent {
            name: name.to_owned(),
            kind: detail_type.to_owned(),
            time: self.now,
            code: None,
        });
        self.events.push(IvsEvent {
            detail_type,
            time: self.now,
            channel_arn: self.arn.clone(),
            detail,
        });
    }

    fn detail(&self, session: &Session, name: &str) -> Value {
        json!({"event_name": name, "channel_name": self.channel.name, "stream_id": session.stream_id})
    }

    /// An `IVS Stream State Change` event named `name`.
    fn state_change(&mut self, session: &mut Session, name: &str) {
        let detail = self.detail(session, name);
        self.emit(session, STREAM_STATE_CHANGE, name, detail);
    }

    /// An `IVS Stream Health Change` event named `name`.
    fn health_change(&mut self, session: &mut Session, name: &str) {
        let detail = self.detail(session, name);
        self.emit(session, STREAM_HEALTH_CHANGE, name, detail);
    }

    /// Stream Failure followed by the session ending, as IVS reports a stream it cannot process.
    fn fail(&mut self, session: &mut Session) {
        session.has_error_event = true;
        let mut detail = self.detail(session, "Stream Failure");
        if let Value::Object(fields) = &mut detail {
            fields.insert(
                "reason".into(),
                "Transcode capacity exceeded. Please try again.".into(),
            );
        }
        self.emit(session, STREAM_STATE_CHANGE, "Stream Failure", detail);
        self.state_change(session, "Session Ended");
        session.finish(self.now);
    }

    /// An ingest-bitrate Limit Breach. It carries no stream_id: receivers attach it by time.
    fn limit_breach(&mut self, session: &mut Session, exceeded_by: u64) {
        session.has_error_event = true;
        let detail = json!({
            "limit_name": "Ingest Bitrate",
            "limit_value": ingest_bitrate_limit(&self.channel.channel_type),
            "exceeded_by": exceeded_by,
            "limit_unit": "bits per second",
            "channel_name": self.channel.name,
        });
        self.emit(session, LIMIT_BREACH, "Ingest Bitrate", detail);
    }
}

/// The ingest bitrate IVS enforces per channel type, in bits per second.
fn ingest_bitrate_limit(channel_type: &str) -> u64 {
    match channel_type {
        "BASIC" => 1_500_000,
        _ => 8_500_000,
    }
}

/// Now, in whole seconds: EventBridge times have no fraction, and session times match them.
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new(404, "ResourceNotFoundException", message)
}

fn not_broadcasting() -> AwsError {
    AwsError::new(404, "ChannelNotBroadcasting", "Channel is not broadcasting")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    fn record(&mut self, event: TruncatedEvent) {
        self.events.push(event);
        if self.events.len() > MAX_TRUNCATED_EVENTS {
            self.events.remove(0);
        }
    }

    fn finish(&mut self, now: OffsetDateTime) {
        self.close_starvation(now);
        self.end = Some(now);
    }

    fn close_starvation(&mut self, now: OffsetDateTime) {
        if let Some(open) = self.starved.iter_mut().find(|i| i.end.is_none()) {
            open.end = Some(now);
        }
    }
}
