//! Rendering of channels, stream keys and sessions into their IVS JSON shapes.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::super::model::{ingest_configuration, Channel, Session, StreamKey};
use super::super::Ivs;

/// A full channel: its summary plus the endpoints and ingest settings.
pub(super) fn channel_json(ivs: &Ivs, c: &Channel) -> Value {
    let mut out = channel_summary_json(ivs, c);
    let details = json!({
        "ingestEndpoint": ingest_endpoint(ivs, c),
        "playbackUrl": playback_url(ivs, c),
        "srt": {
            "endpoint": format!("{}.srt.live-video.net", c.host),
            "passphrase": c.srt_passphrase,
        },
        "multitrackInputConfiguration": {
            "enabled": c.multitrack.enabled,
            "policy": c.multitrack.policy,
            "maximumResolution": c.multitrack.maximum_resolution,
        },
        "containerFormat": c.container_format,
    });
    if let (Value::Object(out), Value::Object(details)) = (&mut out, details) {
        out.extend(details);
    }
    out
}

pub(super) fn channel_summary_json(ivs: &Ivs, c: &Channel) -> Value {
    json!({
        "arn": ivs.channel_arn(&c.id),
        "name": c.name,
        "latencyMode": c.latency_mode,
        "type": c.channel_type,
        "authorized": c.authorized,
        "insecureIngest": c.insecure_ingest,
        "recordingConfigurationArn": c.recording_configuration_arn,
        "playbackRestrictionPolicyArn": c.playback_restriction_policy_arn,
        "preset": c.preset,
        "tags": c.tags,
    })
}

pub(super) fn stream_key_json(ivs: &Ivs, key: &StreamKey, with_value: bool) -> Value {
    let mut body = json!({
        "arn": ivs.stream_key_arn(&key.id),
        "channelArn": ivs.channel_arn(&key.channel_id),
        "tags": key.tags,
    });
    if let (true, Some(obj)) = (with_value, body.as_object_mut()) {
        obj.insert("value".to_owned(), json!(key.value));
    }
    body
}

pub(super) fn session_json(ivs: &Ivs, s: &Session) -> Value {
    let ingest = s
        .ingest
        .clone()
        .unwrap_or_else(|| ingest_configuration(&s.channel.channel_type));
    let events: Vec<Value> = s
        .events
        .iter()
        .rev()
        .map(|e| {
            let mut event = json!({"name": e.name, "type": e.kind, "eventTime": timestamp(e.time)});
            if let (Some(code), Some(obj)) = (&e.code, event.as_object_mut()) {
                obj.insert("code".to_owned(), json!(code));
            }
            event
        })
        .collect();
    let mut body = json!({
        "streamId": s.stream_id,
        "startTime": timestamp(s.start),
        "channel": channel_json(ivs, &s.channel),
        "ingestConfigurations": {
            "videoConfigurations": [ingest.get("video")],
            "audioConfigurations": [ingest.get("audio")],
        },
        "ingestConfiguration": ingest,
        "truncatedEvents": events,
    });
    if let (Some(end), Some(obj)) = (s.end, body.as_object_mut()) {
        obj.insert("endTime".to_owned(), json!(timestamp(end)));
    }
    body
}

/// The channel's HLS URL: IVS's playback host, or the emulator's own origin when it serves media.
pub(super) fn playback_url(ivs: &Ivs, c: &Channel) -> String {
    let origin = match &ivs.endpoints {
        Some(endpoints) => endpoints.playback_origin.clone(),
        None => format!(
            "https://{host}.{region}.playback.live-video.net",
            host = c.host,
            region = ivs.region
        ),
    };
    format!(
        "{origin}/api/video/v1/{region}.{account}.channel.{id}.m3u8",
        region = ivs.region,
        account = ivs.account_id,
        id = c.id,
    )
}

fn ingest_endpoint(ivs: &Ivs, c: &Channel) -> String {
    match &ivs.endpoints {
        Some(endpoints) => endpoints.ingest.clone(),
        None => format!("{}.global-contribute.live-video.net", c.host),
    }
}

pub(super) fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
