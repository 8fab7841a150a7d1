//! One accepted publish: the stream's lifecycle events, the remux into HLS, the timed metadata and
//! the measurements of what the encoder sends.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::flv::{self, AacConfig, Audio, AvcConfig, FlvError, Video};
use super::hls::Segmenter;
use super::ts::MuxError;
use crate::core::error::AwsError;
use crate::events;
use crate::ivs::{BroadcastAction, IngestSample};
use crate::server::Shared;

/// Added to every RTMP timestamp (90 kHz) so that PTS = DTS + a negative composition offset
/// never goes below zero.
const TIMESTAMP_OFFSET: u64 = 90_000;
/// The window over which bitrate, frame rate and keyframe interval are measured (media time).
const WINDOW_MS: u32 = 5_000;
/// Measurements are recorded once per second of media.
const SAMPLE_EVERY_MS: u32 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Codec(#[from] FlvError),
    #[error(transparent)]
    Mux(#[from] MuxError),
    #[error("video frame before the AVC sequence header")]
    NoVideoConfig,
    #[error("audio frame before the AAC sequence header")]
    NoAudioConfig,
}

/// What the encoder announced in `onMetaData`.
#[derive(Default)]
pub struct Announced {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub frame_rate: Option<f32>,
    pub video_bitrate_kbps: Option<u32>,
    pub encoder: Option<String>,
}

pub struct Publisher {
    shared: Arc<Shared>,
    pub channel_id: String,
    pub stream_id: String,
    segmenter: Segmenter,
    avc: Option<AvcConfig>,
    aac: Option<AacConfig>,
    announced: Announced,
    starvation_after: Duration,
    last_media: Instant,
    starving: bool,
    limit: u64,
    breached: bool,
    /// (timestamp ms, video bytes, keyframe) of the video frames in the measuring window.
    window: VecDeque<(u32, usize, bool)>,
    last_sample: Option<u32>,
    first_video: Option<u32>,
    last_video: u32,
}

impl Publisher {
    /// Starts the channel's stream (Session Created + Stream Start). Refused when the channel is
    /// already live: the first broadcast keeps the channel.
    pub fn start(shared: Arc<Shared>, channel_id: &str) -> Result<Self, AwsError> {
        let outcome = events::broadcast(&shared, channel_id, BroadcastAction::Start)?;
        let stream_id = outcome.change.stream_id.unwrap_or_default();
        shared.media.begin(channel_id, &stream_id);
        let config = shared.media.config().cloned().unwrap_or_default();
        Ok(Self {
            limit: shared.ivs.ingest_bitrate_limit_of(channel_id),
            segmenter: Segmenter::new(config.segment_target),
            starvation_after: config.starvation_after,
            shared,
            channel_id: channel_id.to_owned(),
            stream_id,
            avc: None,
            aac: None,
            announced: Announced::default(),
            last_media: Instant::now(),
            starving: false,
            breached: false,
            window: VecDeque::new(),
            last_sample: None,
            first_video: None,
            last_video: 0,
        })
    }

    pub fn announce(&mut self, announced: Announced) {
        self.announced = announced;
        self.update_ingest_configuration();
    }

    pub fn video(&mut self, body: &[u8], timestamp: u32) -> Result<(), PublishError> {
        self.on_media();
        let (keyframe, cts, avcc) = match flv::parse_video(body)? {
            Video::SequenceHeader(record) => {
                self.avc = Some(AvcConfig::parse(record)?);
                self.update_ingest_configuration();
                return Ok(());
            }
            Video::EndOfSequence => return Ok(()),
            Video::Frame {
                keyframe,
                cts,
                data,
            } => (keyframe, cts, data),
        };
        let avc = self.avc.as_ref().ok_or(PublishError::NoVideoConfig)?;
        let (annex_b, idr) = avc.annex_b(avcc)?;
        let dts = u64::from(timestamp) * 90 + TIMESTAMP_OFFSET;
        let pts = dts.saturating_add_signed(i64::from(cts) * 90);
        if let Some(segment) = self.segmenter.video(pts, dts, idr || keyframe, &annex_b)? {
            self.shared
                .media
                .with_published(&self.channel_id, &self.stream_id, |p| p.push(segment));
        }
        if self.segmenter.building_since().is_some() {
            for payload in self.shared.media.take_metadata(&self.channel_id) {
                self.segmenter.metadata(pts, &id3_tag(&payload))?;
            }
        }
        self.measure(timestamp, avcc.len(), idr || keyframe);
        Ok(())
    }

    pub fn audio(&mut self, body: &[u8], timestamp: u32) -> Result<(), PublishError> {
        self.on_media();
        match flv::parse_audio(body)? {
            Audio::SequenceHeader(asc) => {
                self.aac = Some(AacConfig::parse(asc)?);
                self.update_ingest_configuration();
            }
            Audio::Frame(raw) => {
                let aac = self.aac.ok_or(PublishError::NoAudioConfig)?;
                let pts = u64::from(timestamp) * 90 + TIMESTAMP_OFFSET;
                self.segmenter.audio(pts, &aac.adts(raw))?;
            }
        }
        Ok(())
    }

    /// Called periodically: starvation when no media arrived for a while. Returns false when the
    /// stream was ended from outside (StopStream) and the connection should close.
    pub fn tick(&mut self) -> bool {
        if self.shared.ivs.live_stream_id(&self.channel_id).as_deref() != Some(&self.stream_id) {
            tracing::info!(channel = %self.channel_id, stream = %self.stream_id, "stream stopped through the API; closing the RTMP connection");
            return false;
        }
        if !self.starving && self.last_media.elapsed() >= self.starvation_after {
            self.starving = true;
            tracing::info!(channel = %self.channel_id, "no media from the encoder; stream is starving");
            self.event(BroadcastAction::Starve, None);
        }
        true
    }

    /// Ends the stream: the last segment is published when the encoder finished cleanly (a
    /// vanished encoder's partial segment is dropped), the playlist gains `#EXT-X-ENDLIST`, and
    /// Stream End + Session Ended are sent if the session is still this publisher's.
    pub fn finish(mut self, clean: bool) {
        let frame = self
            .announced
            .frame_rate
            .filter(|f| *f > 0.0)
            .map_or(3_000, |f| (90_000.0 / f64::from(f)) as u64);
        let last = clean.then(|| self.segmenter.finish(frame)).flatten();
        self.shared
            .media
            .with_published(&self.channel_id, &self.stream_id, |p| {
                if let Some(segment) = last {
                    p.push(segment);
                }
                p.end();
            });
        if self.shared.ivs.live_stream_id(&self.channel_id).as_deref() == Some(&self.stream_id) {
            self.event(BroadcastAction::Stop, None);
        }
    }

    fn on_media(&mut self) {
        self.last_media = Instant::now();
        if self.starving {
            self.starving = false;
            tracing::info!(channel = %self.channel_id, "media flows again");
            self.event(BroadcastAction::Recover, None);
        }
    }

    fn event(&self, action: BroadcastAction, exceeded_by: Option<u64>) {
        if let Err(e) =
            events::broadcast_measured(&self.shared, &self.channel_id, action, exceeded_by)
        {
            tracing::warn!(channel = %self.channel_id, ?action, error = %e.message, "stream event not applied");
        }
    }

    /// Bitrate, frame rate and keyframe interval over the last few seconds of media, recorded once
    /// per second of media; a bitrate over the channel type's limit is a Limit Breach (once, until
    /// the bitrate falls back under the limit).
    fn measure(&mut self, timestamp: u32, bytes: usize, keyframe: bool) {
        let first = *self.first_video.get_or_insert(timestamp);
        self.last_video = self.last_video.max(timestamp);
        self.window.push_back((timestamp, bytes, keyframe));
        while self
            .window
            .front()
            .is_some_and(|(t, _, _)| timestamp.saturating_sub(*t) > WINDOW_MS)
        {
            self.window.pop_front();
        }
        if self
            .last_sample
            .is_some_and(|last| timestamp.saturating_sub(last) < SAMPLE_EVERY_MS)
            || timestamp.saturating_sub(first) < SAMPLE_EVERY_MS
        {
            return;
        }
        self.last_sample = Some(timestamp);
        let span_ms = timestamp
            .saturating_sub(self.window.front().map_or(timestamp, |w| w.0))
            .max(1);
        let span = f64::from(span_ms) / 1000.0;
        let bytes: usize = self.window.iter().map(|w| w.1).sum();
        let bitrate = (bytes as f64 * 8.0 / span).round();
        let framerate =
            ((self.window.len().saturating_sub(1)) as f64 / span * 100.0).round() / 100.0;
        let keyframes: Vec<u32> = self.window.iter().filter(|w| w.2).map(|w| w.0).collect();
        let keyframe_interval = match (keyframes.first(), keyframes.last()) {
            (Some(a), Some(b)) if keyframes.len() > 1 => {
                Some(f64::from(b - a) / 1000.0 / (keyframes.len() - 1) as f64)
            }
            _ => None,
        };
        self.shared.ivs.record_ingest(
            &self.channel_id,
            &self.stream_id,
            IngestSample {
                time: OffsetDateTime::now_utc(),
                video_bitrate: bitrate,
                framerate,
                keyframe_interval,
            },
        );
        let bitrate = bitrate as u64;
        if bitrate > self.limit && !self.breached && span_ms >= 2_000 {
            self.breached = true;
            tracing::warn!(channel = %self.channel_id, bitrate, limit = self.limit, "ingest bitrate over the channel type's limit");
            self.event(BroadcastAction::Breach, Some(bitrate - self.limit));
        } else if bitrate < self.limit {
            self.breached = false;
        }
    }

    /// The session's ingest configuration from what was announced and received.
    fn update_ingest_configuration(&self) {
        let a = &self.announced;
        let mut video = json!({
            "encoder": a.encoder.clone().unwrap_or_default(),
            "targetBitrate": a.video_bitrate_kbps.map_or(0, |k| u64::from(k) * 1000),
            "targetFramerate": a.frame_rate.map_or(0, |f| f.round() as u64),
            "videoHeight": a.height.unwrap_or(0),
            "videoWidth": a.width.unwrap_or(0),
            "track": "Track0",
        });
        if let (Some(avc), Some(obj)) = (&self.avc, video.as_object_mut()) {
            for (k, v) in [
                ("codec", json!(avc.codec())),
                ("avcProfile", json!(avc.profile_name())),
                ("profile", json!(avc.profile_name())),
                ("avcLevel", json!(avc.level_name())),
                ("level", json!(avc.level_name())),
            ] {
                obj.insert(k.to_owned(), v);
            }
        }
        let audio = match &self.aac {
            Some(aac) => json!({
                "codec": format!("mp4a.40.{}", aac.object_type),
                "sampleRate": aac.sample_rate(),
                "channels": aac.channels,
                "targetBitrate": 0,
                "track": "Track0",
            }),
            None => Value::Null,
        };
        self.shared.ivs.set_ingest_configuration(
            &self.channel_id,
            &self.stream_id,
            json!({"video": video, "audio": audio}),
        );
    }
}

/// Owner identifier of the ID3 `PRIV` frame IVS writes PutMetadata payloads into; the IVS player
/// only surfaces `PRIV` frames of this owner as `TEXT_METADATA_CUE`.
pub const METADATA_OWNER: &str = "metadata.live-video.net";

/// An ID3v2.4 tag with one `PRIV` frame (owner [`METADATA_OWNER`]) carrying the payload bytes, as
/// IVS writes PutMetadata into the stream; the IVS player surfaces it as a `TEXT_METADATA_CUE` whose
/// text is the payload.
pub fn id3_tag(payload: &str) -> Vec<u8> {
    use id3::TagLike;
    let mut tag = id3::Tag::new();
    tag.add_frame(id3::frame::Private {
        owner_identifier: METADATA_OWNER.to_owned(),
        private_data: payload.as_bytes().to_vec(),
    });
    let mut out = Vec::new();
    if let Err(e) = tag.write_to(&mut out, id3::Version::Id3v24) {
        tracing::warn!(error = %e, "cannot encode the ID3 tag");
    }
    out
}
