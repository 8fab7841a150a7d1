//! Realistic EventBridge deliveries, for tests and for the `make bench` ingest row.

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use ugc_domain::format_iso_seconds;

pub use crate::envelope::EventEnvelope;

/// Fixtures: fresh envelopes of IVS events.
impl EventEnvelope {
    /// An IVS event of `channel_arn` (region and account taken from the ARN).
    pub fn ivs(channel_arn: &str, detail_type: &str, time: OffsetDateTime, detail: Value) -> Self {
        let mut parts = channel_arn.split(':').skip(3);
        let region = parts.next().unwrap_or_default().to_owned();
        let account = parts.next().unwrap_or_default().to_owned();
        Self {
            version: "0".to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            detail_type: detail_type.to_owned(),
            source: "aws.ivs".to_owned(),
            account,
            time: format_iso_seconds(time),
            region,
            resources: vec![channel_arn.to_owned()],
            detail,
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The events of one complete broadcast, in life-cycle order, one minute apart from `start`:
/// Session Created, Stream Start, Starvation Start/End, an Ingest Bitrate breach, Recording Start/End, Stream End, Session Ended.
pub fn sample_session(
    channel_arn: &str,
    stream_id: &str,
    start: OffsetDateTime,
) -> Vec<EventEnvelope> {
    const STATE: &str = "IVS Stream State Change";
    const HEALTH: &str = "IVS Stream Health Change";
    const RECORDING: &str = "IVS Recording State Change";
    let steps: [(&str, Value); 9] = [
        (
            STATE,
            json!({"event_name": "Session Created", "stream_id": stream_id, "channel_name": ""}),
        ),
        (
            STATE,
            json!({"event_name": "Stream Start", "stream_id": stream_id, "channel_name": ""}),
        ),
        (
            HEALTH,
            json!({"event_name": "Starvation Start", "stream_id": stream_id, "channel_name": ""}),
        ),
        (
            HEALTH,
            json!({"event_name": "Starvation End", "stream_id": stream_id, "channel_name": ""}),
        ),
        (
            "IVS Limit Breach",
            json!({"limit_name": "Ingest Bitrate", "limit_value": 8_500_000, "exceeded_by": 120_000, "limit_unit": "bits per second", "stream_id": stream_id, "channel_name": ""}),
        ),
        (
            RECORDING,
            json!({"recording_status": "Recording Start", "recording_status_reason": "", "stream_id": stream_id, "recording_duration_ms": 0}),
        ),
        (
            RECORDING,
            json!({"recording_status": "Recording End", "recording_status_reason": "", "stream_id": stream_id, "recording_duration_ms": 300_000}),
        ),
        (
            STATE,
            json!({"event_name": "Stream End", "stream_id": stream_id, "channel_name": ""}),
        ),
        (
            STATE,
            json!({"event_name": "Session Ended", "stream_id": stream_id, "channel_name": ""}),
        ),
    ];
    steps
        .into_iter()
        .zip(0i64..)
        .map(|((detail_type, detail), minute)| {
            EventEnvelope::ivs(
                channel_arn,
                detail_type,
                start + Duration::minutes(minute),
                detail,
            )
        })
        .collect()
}

/// `n_sessions` consecutive complete broadcasts of one channel (two hours apart, from
/// 2024-01-01T00:00:00Z), as JSON bodies, in life-cycle order. Stream ids and event ids are fresh
/// on every call. Shuffle or duplicate them to model EventBridge.
pub fn sample_events(channel_arn: &str, n_sessions: usize) -> Vec<Value> {
    let epoch =
        OffsetDateTime::from_unix_timestamp(1_704_067_200).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    (0i64..)
        .take(n_sessions)
        .flat_map(|i| {
            let stream_id = format!("st-{}", uuid::Uuid::new_v4().simple());
            sample_session(channel_arn, &stream_id, epoch + Duration::hours(2 * i))
        })
        .map(|envelope| envelope.to_json())
        .collect()
}
