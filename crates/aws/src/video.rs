//! Amazon IVS (low-latency channels): channels, stream keys, timed metadata, stream sessions.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ivs::config::retry::RetryConfig;
use aws_sdk_ivs::types::{ChannelType, TranscodePreset};
use rand::Rng;
use serde::{Deserialize, Serialize};
use ugc_domain::{ChannelArn, StreamId};

use crate::sdk_error::{already_gone_is_ok, transient_variants, Failure, FromSdk as _};

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The channel has no live stream (`ChannelNotBroadcasting`).
    #[error("channel is not broadcasting")]
    NotBroadcasting,
    #[error("IVS resource not found")]
    NotFound,
    /// IVS rejected the input; the message is IVS's own and safe to show.
    #[error("IVS validation failed: {0}")]
    Validation(String),
    /// For example deleting a channel that is live.
    #[error("IVS conflict: {0}")]
    Conflict(String),
    #[error("IVS quota exceeded: {0}")]
    QuotaExceeded(String),
    #[error("IVS throttled the request")]
    Throttled,
    #[error("IVS unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected IVS failure: {0}")]
    Unexpected(String),
}

transient_variants!(VideoError);

impl From<Failure> for VideoError {
    fn from(failure: Failure) -> Self {
        match failure.code() {
            Some("ChannelNotBroadcasting") => return VideoError::NotBroadcasting,
            Some("ValidationException") => {
                return VideoError::Validation(failure.message().to_owned())
            }
            Some("ResourceNotFoundException") => return VideoError::NotFound,
            Some("ConflictException") => return VideoError::Conflict(failure.message().to_owned()),
            Some("ServiceQuotaExceededException") => {
                return VideoError::QuotaExceeded(failure.message().to_owned())
            }
            _ => {}
        }
        Self::from_failure_or(failure, |other| VideoError::Unexpected(other.describe()))
    }
}

/// A channel ARN from an IVS answer; a malformed one is an unexpected failure of `operation`.
fn parse_channel_arn(arn: &str, operation: &str) -> Result<ChannelArn, VideoError> {
    ChannelArn::parse(arn).map_err(|e| {
        VideoError::Unexpected(format!("{operation} returned a malformed channel ARN: {e}"))
    })
}

/// Bounded exponential backoff with jitter, for calls the API retries itself (PutMetadata).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Total attempts, the first included (at least 1).
    pub max_attempts: u32,
    /// Delay ceiling before the first retry; doubles per retry up to `max_delay`.
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Backoff {
    /// 4 attempts waiting about 100, 200 and 400 ms: PutMetadata allows 5 calls per second per channel,
    /// so a throttled call usually succeeds within the next second.
    fn default() -> Self {
        Backoff {
            max_attempts: 4,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
        }
    }
}

impl Backoff {
    /// Delay before retry number `retry` (0-based): half fixed, half random ("equal jitter"), so
    /// concurrent callers spread out but never retry immediately.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        let ceiling = self
            .initial_delay
            .saturating_mul(factor)
            .min(self.max_delay);
        let half = ceiling / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if jitter_nanos == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(rand::rng().random_range(0..=jitter_nanos))
        };
        half + jitter
    }
}

/// What `CreateChannel` returns that the channels table keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedChannel {
    pub channel_arn: ChannelArn,
    pub ingest_endpoint: String,
    pub playback_url: String,
    pub stream_key_arn: String,
    pub stream_key_value: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamKey {
    pub arn: String,
    pub value: String,
}

/// A stream session's ingest configuration in the upstream shape (docs/contract.md §3.2), as stored on the
/// session and returned by the metrics API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestConfiguration {
    pub audio: AudioConfiguration,
    pub video: VideoConfiguration,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioConfiguration {
    pub channels: i64,
    pub codec: String,
    pub sample_rate: i64,
    pub target_bitrate: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoConfiguration {
    pub avc_level: String,
    pub avc_profile: String,
    pub codec: String,
    pub encoder: String,
    pub target_bitrate: i64,
    pub target_framerate: i64,
    pub video_height: i64,
    pub video_width: i64,
}

impl AudioConfiguration {
    fn has_values(&self) -> bool {
        self.channels != 0
            || !self.codec.is_empty()
            || self.sample_rate != 0
            || self.target_bitrate != 0
    }
}

impl VideoConfiguration {
    fn has_values(&self) -> bool {
        !self.avc_level.is_empty()
            || !self.avc_profile.is_empty()
            || !self.codec.is_empty()
            || !self.encoder.is_empty()
            || self.target_bitrate != 0
            || self.target_framerate != 0
            || self.video_height != 0
            || self.video_width != 0
    }
}

impl IngestConfiguration {
    /// IVS reports an empty configuration (all `""` and 0) until the encoder's settings are known;
    /// only a configuration where both parts carry some value is worth storing (docs/contract.md §6.2).
    pub fn is_known(&self) -> bool {
        self.audio.has_values() && self.video.has_values()
    }
}

/// IVS low-latency client.
#[derive(Clone, Debug)]
pub struct VideoClient {
    client: aws_sdk_ivs::Client,
    put_metadata_backoff: Backoff,
}

impl VideoClient {
    pub fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Self::from_client(aws_sdk_ivs::Client::new(sdk_config))
    }

    pub fn from_client(client: aws_sdk_ivs::Client) -> Self {
        VideoClient {
            client,
            put_metadata_backoff: Backoff::default(),
        }
    }

    pub fn with_put_metadata_backoff(mut self, backoff: Backoff) -> Self {
        self.put_metadata_backoff = backoff;
        self
    }

    /// `CreateChannel` with its stream key. `channel_type` is an IVS type name (`STANDARD`, `BASIC`,
    /// `ADVANCED_SD`, `ADVANCED_HD`); `preset` applies to advanced types only (empty = none).
    pub async fn create_channel(
        &self,
        name: &str,
        channel_type: &str,
        preset: Option<&str>,
        tags: HashMap<String, String>,
    ) -> Result<CreatedChannel, VideoError> {
        let output = self
            .client
            .create_channel()
            .name(name)
            .r#type(ChannelType::from(channel_type))
            .set_preset(preset.filter(|p| !p.is_empty()).map(TranscodePreset::from))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(VideoError::from_sdk)?;
        let channel = output.channel();
        let key = output.stream_key();
        let field = |value: Option<&str>, what: &str| {
            value
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| VideoError::Unexpected(format!("CreateChannel returned no {what}")))
        };
        let channel_arn = field(channel.and_then(|c| c.arn()), "channel ARN")?;
        Ok(CreatedChannel {
            channel_arn: parse_channel_arn(&channel_arn, "CreateChannel")?,
            ingest_endpoint: field(channel.and_then(|c| c.ingest_endpoint()), "ingest endpoint")?,
            playback_url: field(channel.and_then(|c| c.playback_url()), "playback URL")?,
            stream_key_arn: field(key.and_then(|k| k.arn()), "stream key ARN")?,
            stream_key_value: field(key.and_then(|k| k.value()), "stream key value")?,
        })
    }

    /// `DeleteChannel`. A channel that no longer exists counts as deleted; a live one is `Conflict`
    /// (stop the stream first).
    pub async fn delete_channel(&self, channel_arn: &ChannelArn) -> Result<(), VideoError> {
        let result = self
            .client
            .delete_channel()
            .arn(channel_arn.as_str())
            .send()
            .await;
        already_gone_is_ok(result.map_err(VideoError::from_sdk), |e| {
            matches!(e, VideoError::NotFound)
        })
    }

    /// `StopStream`. `Ok(false)` when the channel was not broadcasting.
    pub async fn stop_stream(&self, channel_arn: &ChannelArn) -> Result<bool, VideoError> {
        match self
            .client
            .stop_stream()
            .channel_arn(channel_arn.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) => match VideoError::from_sdk(err) {
                VideoError::NotBroadcasting => Ok(false),
                other => Err(other),
            },
        }
    }

    pub async fn create_stream_key(
        &self,
        channel_arn: &ChannelArn,
    ) -> Result<StreamKey, VideoError> {
        let output = self
            .client
            .create_stream_key()
            .channel_arn(channel_arn.as_str())
            .send()
            .await
            .map_err(VideoError::from_sdk)?;
        let key = output.stream_key();
        match (key.and_then(|k| k.arn()), key.and_then(|k| k.value())) {
            (Some(arn), Some(value)) if !arn.is_empty() && !value.is_empty() => Ok(StreamKey {
                arn: arn.to_owned(),
                value: value.to_owned(),
            }),
            _ => Err(VideoError::Unexpected(
                "CreateStreamKey returned no stream key".to_owned(),
            )),
        }
    }

    /// `DeleteStreamKey`. A key that no longer exists counts as deleted.
    pub async fn delete_stream_key(&self, stream_key_arn: &str) -> Result<(), VideoError> {
        let result = self
            .client
            .delete_stream_key()
            .arn(stream_key_arn)
            .send()
            .await;
        already_gone_is_ok(result.map_err(VideoError::from_sdk), |e| {
            matches!(e, VideoError::NotFound)
        })
    }

    /// `PutMetadata`, retried with [`Backoff`] while IVS throttles (5 TPS per channel). The SDK's own
    /// retries are switched off for this call so the attempt count is exactly `max_attempts`.
    pub async fn put_metadata(
        &self,
        channel_arn: &ChannelArn,
        metadata: &str,
    ) -> Result<(), VideoError> {
        let attempts = self.put_metadata_backoff.max_attempts.max(1);
        let mut retry = 0;
        loop {
            let result = self
                .client
                .put_metadata()
                .channel_arn(channel_arn.as_str())
                .metadata(metadata)
                .customize()
                .config_override(
                    aws_sdk_ivs::config::Config::builder().retry_config(RetryConfig::disabled()),
                )
                .send()
                .await;
            match result.map_err(VideoError::from_sdk) {
                Ok(_) => return Ok(()),
                Err(VideoError::Throttled) if retry + 1 < attempts => {
                    let delay = self.put_metadata_backoff.delay(retry);
                    tracing::debug!(retry, ?delay, "PutMetadata throttled, retrying");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The ingest configuration of one stream session; `None` when the session is unknown or IVS has
    /// no configuration for it.
    pub async fn get_stream_session(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
    ) -> Result<Option<IngestConfiguration>, VideoError> {
        let output = match self
            .client
            .get_stream_session()
            .channel_arn(channel_arn.as_str())
            .stream_id(stream_id.as_str())
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) => {
                return match VideoError::from_sdk(err) {
                    VideoError::NotFound => Ok(None),
                    other => Err(other),
                }
            }
        };
        let Some(config) = output
            .stream_session()
            .and_then(|session| session.ingest_configuration())
        else {
            return Ok(None);
        };
        let (Some(video), Some(audio)) = (config.video(), config.audio()) else {
            return Ok(None);
        };
        let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
        Ok(Some(IngestConfiguration {
            audio: AudioConfiguration {
                channels: audio.channels(),
                codec: text(audio.codec()),
                sample_rate: audio.sample_rate(),
                target_bitrate: audio.target_bitrate(),
            },
            video: VideoConfiguration {
                avc_level: text(video.avc_level()),
                avc_profile: text(video.avc_profile()),
                codec: text(video.codec()),
                encoder: text(video.encoder()),
                target_bitrate: video.target_bitrate(),
                target_framerate: video.target_framerate(),
                video_height: video.video_height(),
                video_width: video.video_width(),
            },
        }))
    }

    /// ARNs of every channel IVS reports as live (`ListStreams`, all pages), for the reconciler.
    /// A malformed ARN fails the call (leaving it out could end a live session).
    pub async fn list_live_channels(&self) -> Result<Vec<ChannelArn>, VideoError> {
        let mut pages = self
            .client
            .list_streams()
            .max_results(100)
            .into_paginator()
            .send();
        let mut arns = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(VideoError::from_sdk)?;
            for arn in page.streams().iter().filter_map(|s| s.channel_arn()) {
                arns.push(parse_channel_arn(arn, "ListStreams")?);
            }
        }
        Ok(arns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let backoff = Backoff::default();
        for (retry, ceiling) in [(0, 100), (1, 200), (2, 400), (3, 800), (10, 800)] {
            let ceiling = Duration::from_millis(ceiling);
            for _ in 0..20 {
                let delay = backoff.delay(retry);
                assert!(delay >= ceiling / 2, "{delay:?} below half of {ceiling:?}");
                assert!(delay <= ceiling, "{delay:?} above {ceiling:?}");
            }
        }
    }

    #[test]
    fn ingest_configuration_serialises_in_upstream_shape() {
        let config = IngestConfiguration {
            audio: AudioConfiguration {
                channels: 2,
                codec: "mp4a.40.2".into(),
                sample_rate: 48000,
                target_bitrate: 160000,
            },
            video: VideoConfiguration {
                avc_level: "3.0".into(),
                avc_profile: "High".into(),
                codec: "avc1.64001E".into(),
                encoder: "obs".into(),
                target_bitrate: 750000,
                target_framerate: 30,
                video_height: 432,
                video_width: 768,
            },
        };
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            serde_json::json!({
                "audio": {"channels": 2, "codec": "mp4a.40.2", "sampleRate": 48000, "targetBitrate": 160000},
                "video": {"avcLevel": "3.0", "avcProfile": "High", "codec": "avc1.64001E", "encoder": "obs",
                          "targetBitrate": 750000, "targetFramerate": 30, "videoHeight": 432, "videoWidth": 768}
            })
        );
        assert!(config.is_known());
        assert!(!IngestConfiguration::default().is_known());
    }
}
