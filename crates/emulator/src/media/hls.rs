//! HLS packaging: the segmenter a publisher feeds (segments cut at keyframes once the target
//! duration is reached) and the sliding-window live playlist viewers read (`m3u8-rs`).
//!
//! A segment becomes visible only once it is complete, so a viewer never reads a half-written one;
//! when the stream ends the playlist gains `#EXT-X-ENDLIST` and disappears after a while.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use m3u8_rs::{MediaPlaylist, MediaSegment};

use super::ts::{Frame, MuxError, Muxer, AUDIO_PID, METADATA_PID, VIDEO_PID};

/// Segments a live playlist lists (and the emulator keeps).
const WINDOW: usize = 6;

/// A complete segment.
#[derive(Clone)]
pub struct Segment {
    pub sequence: u64,
    pub duration: f64,
    pub data: Bytes,
}

/// What viewers of one channel see: the window of complete segments.
pub struct Published {
    pub stream_id: String,
    segments: VecDeque<Segment>,
    ended: Option<Instant>,
}

impl Published {
    pub fn new(stream_id: String) -> Self {
        Self {
            stream_id,
            segments: VecDeque::new(),
            ended: None,
        }
    }

    pub fn push(&mut self, segment: Segment) {
        self.segments.push_back(segment);
        while self.segments.len() > WINDOW {
            self.segments.pop_front();
        }
    }

    pub fn end(&mut self) {
        self.ended.get_or_insert_with(Instant::now);
    }

    /// Whether the ended playlist has been shown long enough to be forgotten.
    pub fn expired(&self, linger: Duration) -> bool {
        self.ended.is_some_and(|t| t.elapsed() >= linger)
    }

    pub fn segment(&self, sequence: u64) -> Option<Bytes> {
        self.segments
            .iter()
            .find(|s| s.sequence == sequence)
            .map(|s| s.data.clone())
    }

    /// The playlist, or `None` before the first segment is complete (nothing to play yet).
    pub fn playlist(&self, name: &str) -> Option<String> {
        let first = self.segments.front()?;
        let longest = self
            .segments
            .iter()
            .map(|s| s.duration)
            .fold(0.0f64, f64::max);
        let playlist = MediaPlaylist {
            version: Some(3),
            target_duration: longest.ceil().max(1.0) as u64,
            media_sequence: first.sequence,
            segments: self
                .segments
                .iter()
                .map(|s| MediaSegment {
                    uri: format!("{name}/{}.ts", s.sequence),
                    duration: s.duration as f32,
                    ..MediaSegment::default()
                })
                .collect(),
            end_list: self.ended.is_some(),
            ..MediaPlaylist::default()
        };
        let mut out = Vec::new();
        playlist.write_to(&mut out).ok()?;
        String::from_utf8(out).ok()
    }
}

/// Cuts one publisher's elementary streams into segments. Timestamps are 90 kHz.
pub struct Segmenter {
    target: u64,
    muxer: Muxer,
    next_sequence: u64,
    current: Option<Building>,
    last_dts: u64,
}

struct Building {
    start: u64,
    data: Vec<u8>,
}

impl Segmenter {
    pub fn new(target: Duration) -> Self {
        Self {
            target: (target.as_secs_f64() * 90_000.0) as u64,
            muxer: Muxer::default(),
            next_sequence: 0,
            current: None,
            last_dts: 0,
        }
    }

    /// A video access unit (Annex B). A keyframe past the target duration closes the segment
    /// being built, which is returned. Frames before the first keyframe are dropped: every
    /// segment starts with an IDR.
    pub fn video(
        &mut self,
        pts: u64,
        dts: u64,
        keyframe: bool,
        data: &[u8],
    ) -> Result<Option<Segment>, MuxError> {
        let mut done = None;
        if keyframe {
            let due = self
                .current
                .as_ref()
                .is_none_or(|c| dts.saturating_sub(c.start) >= self.target);
            if due {
                done = self.cut(dts);
                let mut data = Vec::with_capacity(256 * 1024);
                self.muxer.write_tables(&mut data)?;
                self.current = Some(Building { start: dts, data });
            }
        }
        if let Some(current) = self.current.as_mut() {
            self.muxer.write_frame(
                &mut current.data,
                &Frame {
                    pid: VIDEO_PID,
                    pts,
                    dts: Some(dts),
                    keyframe,
                    data,
                },
            )?;
            self.last_dts = self.last_dts.max(dts);
        }
        Ok(done)
    }

    /// An ADTS audio frame, into the segment being built (dropped before the first keyframe).
    pub fn audio(&mut self, pts: u64, data: &[u8]) -> Result<(), MuxError> {
        self.write(AUDIO_PID, pts, data)
    }

    /// An ID3 tag as timed metadata at `pts`. Returns false when no segment is being built yet.
    pub fn metadata(&mut self, pts: u64, tag: &[u8]) -> Result<bool, MuxError> {
        if self.current.is_none() {
            return Ok(false);
        }
        self.write(METADATA_PID, pts, tag)?;
        Ok(true)
    }

    fn write(&mut self, pid: u16, pts: u64, data: &[u8]) -> Result<(), MuxError> {
        if let Some(current) = self.current.as_mut() {
            self.muxer.write_frame(
                &mut current.data,
                &Frame {
                    pid,
                    pts,
                    dts: None,
                    keyframe: false,
                    data,
                },
            )?;
        }
        Ok(())
    }

    /// The segment being built, closed at `end` (90 kHz), if it holds anything.
    fn cut(&mut self, end: u64) -> Option<Segment> {
        let building = self.current.take()?;
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        Some(Segment {
            sequence,
            duration: end.saturating_sub(building.start) as f64 / 90_000.0,
            data: Bytes::from(building.data),
        })
    }

    /// Closes the last segment when the stream ends cleanly; `frame` is one frame's duration.
    pub fn finish(&mut self, frame: u64) -> Option<Segment> {
        let end = self.last_dts + frame;
        self.cut(end)
    }

    /// The 90 kHz decode time of the segment being built, if any.
    pub fn building_since(&self) -> Option<u64> {
        self.current.as_ref().map(|c| c.start)
    }
}
