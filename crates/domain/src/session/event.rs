//! EventBridge IVS events: parsing the envelope and the fixed order of event names.

use serde_json::Value;
use time::OffsetDateTime;

use crate::ivs::{ChannelArn, StreamId};
use crate::time_format::parse_iso;

pub const STREAM_STATE_CHANGE: &str = "IVS Stream State Change";
pub const STREAM_HEALTH_CHANGE: &str = "IVS Stream Health Change";
pub const LIMIT_BREACH: &str = "IVS Limit Breach";
pub const RECORDING_STATE_CHANGE: &str = "IVS Recording State Change";

/// `recording_status` of an `IVS Recording State Change` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordingStatus {
    Start,
    End,
    StartFailure,
    EndFailure,
}

impl RecordingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "Recording Start",
            Self::End => "Recording End",
            Self::StartFailure => "Recording Start Failure",
            Self::EndFailure => "Recording End Failure",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Start, Self::End, Self::StartFailure, Self::EndFailure]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// What an IVS event says happened. `Stream Takeover Failure` (a rejected takeover attempt, which
/// changes nothing about the running session and has no label in the SPA) is not modelled and
/// parses as unsupported.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    SessionCreated,
    StreamStart,
    /// Another encoder took over the session's stream. The stream keeps (or starts) playing, so it
    /// belongs to the Stream Start family: it counts as "up" for liveness and sorts right after
    /// Stream Start at the same second.
    StreamTakeover,
    StarvationStart,
    StarvationEnd,
    /// `limit_name` of an `IVS Limit Breach` (e.g. `Ingest Bitrate`).
    LimitBreach(String),
    Recording(RecordingStatus),
    StreamFailure,
    StreamEnd,
    SessionEnded,
}

impl EventKind {
    /// Recognises a (detail-type, name) pair, as received or as stored (`type`, `name`).
    pub fn from_parts(detail_type: &str, name: &str) -> Option<Self> {
        match detail_type {
            STREAM_STATE_CHANGE => match name {
                "Session Created" => Some(Self::SessionCreated),
                "Stream Start" => Some(Self::StreamStart),
                "Stream Takeover" => Some(Self::StreamTakeover),
                "Stream Failure" => Some(Self::StreamFailure),
                "Stream End" => Some(Self::StreamEnd),
                "Session Ended" => Some(Self::SessionEnded),
                _ => None,
            },
            STREAM_HEALTH_CHANGE => match name {
                "Starvation Start" => Some(Self::StarvationStart),
                "Starvation End" => Some(Self::StarvationEnd),
                _ => None,
            },
            LIMIT_BREACH if !name.is_empty() => Some(Self::LimitBreach(name.to_owned())),
            RECORDING_STATE_CHANGE => RecordingStatus::parse(name).map(Self::Recording),
            _ => None,
        }
    }

    /// The name stored and shown: the event name, the limit name or the recording status.
    pub fn name(&self) -> &str {
        match self {
            Self::SessionCreated => "Session Created",
            Self::StreamStart => "Stream Start",
            Self::StreamTakeover => "Stream Takeover",
            Self::StarvationStart => "Starvation Start",
            Self::StarvationEnd => "Starvation End",
            Self::LimitBreach(limit) => limit,
            Self::Recording(status) => status.as_str(),
            Self::StreamFailure => "Stream Failure",
            Self::StreamEnd => "Stream End",
            Self::SessionEnded => "Session Ended",
        }
    }

    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::SessionCreated
            | Self::StreamStart
            | Self::StreamTakeover
            | Self::StreamFailure
            | Self::StreamEnd
            | Self::SessionEnded => STREAM_STATE_CHANGE,
            Self::StarvationStart | Self::StarvationEnd => STREAM_HEALTH_CHANGE,
            Self::LimitBreach(_) => LIMIT_BREACH,
            Self::Recording(_) => RECORDING_STATE_CHANGE,
        }
    }

    /// Position among events of the same second (docs/architecture.md "Session model"): the natural
    /// life cycle, so a session whose events all share one second still ends up ended.
    pub fn rank(&self) -> u8 {
        match self {
            Self::SessionCreated => 0,
            Self::StreamStart => 1,
            Self::StreamTakeover => 2,
            Self::StarvationStart => 3,
            Self::StarvationEnd => 4,
            Self::LimitBreach(_) => 5,
            Self::Recording(_) => 6,
            Self::StreamFailure => 7,
            Self::StreamEnd => 8,
            Self::SessionEnded => 9,
        }
    }

    /// Stream Start, Stream Takeover, Stream Failure or Stream End: the events that decide "live".
    pub fn is_stream_state(&self) -> bool {
        matches!(
            self,
            Self::StreamStart | Self::StreamTakeover | Self::StreamFailure | Self::StreamEnd
        )
    }

    /// Starvation Start or Starvation End: the events that decide "healthy".
    pub fn is_health(&self) -> bool {
        matches!(self, Self::StarvationStart | Self::StarvationEnd)
    }

    /// Any Limit Breach or Stream Failure marks the session as having an error.
    pub fn is_error(&self) -> bool {
        matches!(self, Self::LimitBreach(_) | Self::StreamFailure)
    }
}

/// Rank given to a stored event whose (type, name) is not recognised (legacy rows only): the
/// middle of its second.
pub(crate) const UNRECOGNISED_RANK: u8 = 5;

/// Why an EventBridge body was not turned into an [`IvsEvent`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventParseError {
    /// Not an EventBridge envelope of a supported IVS event: bad JSON, a required member missing or
    /// of the wrong type. Ingest answers 400.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// A well-formed event this service does not model (another source, CloudTrail, an unknown
    /// event name). Ingest acknowledges it with 2xx and logs it.
    #[error("unsupported event: {0}")]
    Unsupported(String),
    /// An account-level event (`resources` empty): no channel to attach it to. Acknowledged with 2xx
    /// and logged.
    #[error("event {id} names no channel")]
    NoChannel { id: String },
}

/// A parsed IVS event from EventBridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IvsEvent {
    /// The EventBridge `id`; a redelivery carries the same id.
    pub id: String,
    /// EventBridge `time`, whole seconds (any fraction is dropped).
    pub time: OffsetDateTime,
    /// `resources[0]`.
    pub channel_arn: ChannelArn,
    /// `detail.stream_id`; only Limit Breach events may lack it.
    pub stream_id: Option<StreamId>,
    pub kind: EventKind,
}

fn malformed(reason: impl Into<String>) -> EventParseError {
    EventParseError::Malformed(reason.into())
}

fn string_member<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, EventParseError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(malformed(format!("{key} must be a string"))),
        None => Err(malformed(format!("{key} is missing"))),
    }
}

impl IvsEvent {
    /// Parses the raw request body.
    pub fn from_slice(body: &[u8]) -> Result<Self, EventParseError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| malformed(format!("body is not JSON: {e}")))?;
        Self::from_json(&value)
    }

    /// Parses an EventBridge envelope (docs/wire-protocols.md §9.1).
    pub fn from_json(value: &Value) -> Result<Self, EventParseError> {
        let obj = value
            .as_object()
            .ok_or_else(|| malformed("event must be a JSON object"))?;
        let detail_type = string_member(obj, "detail-type")?;
        match obj.get("source") {
            // Upstream's own fixtures omit `source`; only a different one is refused.
            None => {}
            Some(Value::String(source)) if source == "aws.ivs" => {}
            Some(Value::String(source)) => {
                return Err(EventParseError::Unsupported(format!("source {source}")))
            }
            Some(_) => return Err(malformed("source must be a string")),
        }
        let name_field = match detail_type {
            STREAM_STATE_CHANGE | STREAM_HEALTH_CHANGE => "event_name",
            LIMIT_BREACH => "limit_name",
            RECORDING_STATE_CHANGE => "recording_status",
            other => return Err(EventParseError::Unsupported(format!("detail-type {other}"))),
        };

        let id = string_member(obj, "id")?;
        if id.is_empty() {
            return Err(malformed("id is empty"));
        }
        let time = parse_iso(string_member(obj, "time")?)
            .ok_or_else(|| malformed("time is not an ISO-8601 timestamp"))?;
        let time = time.replace_nanosecond(0).unwrap_or(time);

        let detail = match obj.get("detail") {
            Some(Value::Object(detail)) => detail,
            Some(_) => return Err(malformed("detail must be an object")),
            None => return Err(malformed("detail is missing")),
        };
        let name = string_member(detail, name_field)
            .map_err(|_| malformed(format!("detail.{name_field} is missing or not a string")))?;
        let kind = EventKind::from_parts(detail_type, name).ok_or_else(|| {
            EventParseError::Unsupported(format!("{detail_type} with {name_field} {name:?}"))
        })?;

        let resources = match obj.get("resources") {
            Some(Value::Array(resources)) => resources,
            Some(_) => return Err(malformed("resources must be an array")),
            None => return Err(malformed("resources is missing")),
        };
        let channel_arn = match resources.first() {
            None => return Err(EventParseError::NoChannel { id: id.to_owned() }),
            Some(Value::String(arn)) => ChannelArn::parse(arn)
                .map_err(|_| malformed("resources[0] is not an IVS channel ARN"))?,
            Some(_) => return Err(malformed("resources[0] must be a string")),
        };

        let stream_id = match detail.get("stream_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                StreamId::parse(s).map_err(|_| malformed("detail.stream_id is not a stream id"))?,
            ),
            Some(_) => return Err(malformed("detail.stream_id must be a string")),
        };
        if stream_id.is_none() && !matches!(kind, EventKind::LimitBreach(_)) {
            return Err(malformed("detail.stream_id is missing"));
        }

        Ok(Self {
            id: id.to_owned(),
            time,
            channel_arn,
            stream_id,
            kind,
        })
    }

    /// The form kept in a session's event list.
    pub fn stored(&self) -> super::StoredEvent {
        super::StoredEvent {
            id: self.id.clone(),
            time: self.time,
            name: self.kind.name().to_owned(),
            event_type: self.kind.detail_type().to_owned(),
        }
    }
}
