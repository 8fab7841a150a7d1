//! The FLV payloads RTMP carries (video and audio tag bodies, E.4.3.1 and E.4.2.1 of the FLV
//! specification) turned into what MPEG-TS wants: H.264 Annex B with SPS/PPS before every IDR, and
//! AAC with ADTS headers. Also a reader of FLV files (the test-pattern fixture the simulator
//! publishes). These containers are a few fixed-layout bytes; no maintained crate parses the
//! RTMP-side tag bodies without pulling in a whole media server, so they are read here.

use std::fmt;

/// A codec the remuxer cannot pass through to HLS without transcoding.
#[derive(Debug, thiserror::Error)]
pub enum FlvError {
    #[error("unsupported video codec {0} (only H.264/AVC is accepted)")]
    VideoCodec(Codec),
    #[error("unsupported audio format {0} (only AAC is accepted)")]
    AudioCodec(u8),
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// The video codec an FLV video tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Legacy(u8),
    /// Enhanced RTMP: a FourCC such as `hvc1`, `av01`, `vp09`.
    FourCc([u8; 4]),
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Legacy(12) => write!(f, "HEVC (FLV codec id 12)"),
            Self::Legacy(id) => write!(f, "FLV codec id {id}"),
            Self::FourCc(cc) => write!(f, "{:?}", String::from_utf8_lossy(cc)),
        }
    }
}

/// The H.264 decoder configuration (`AVCDecoderConfigurationRecord`).
#[derive(Clone, Debug, Default)]
pub struct AvcConfig {
    pub profile: u8,
    pub compatibility: u8,
    pub level: u8,
    length_size: usize,
    sps: Vec<Vec<u8>>,
    pps: Vec<Vec<u8>>,
}

impl AvcConfig {
    pub fn parse(record: &[u8]) -> Result<Self, FlvError> {
        let bad = || FlvError::Malformed("AVC decoder configuration record");
        let mut r = Reader(record);
        let _version = r.u8().ok_or_else(bad)?;
        let profile = r.u8().ok_or_else(bad)?;
        let compatibility = r.u8().ok_or_else(bad)?;
        let level = r.u8().ok_or_else(bad)?;
        let length_size = usize::from(r.u8().ok_or_else(bad)? & 0x03) + 1;
        let mut sets = |mask: u8| -> Option<Vec<Vec<u8>>> {
            let count = r.u8()? & mask;
            (0..count)
                .map(|_| {
                    let len = usize::from(r.u16()?);
                    r.take(len).map(<[u8]>::to_vec)
                })
                .collect()
        };
        let sps = sets(0x1F).ok_or_else(bad)?;
        let pps = sets(0xFF).ok_or_else(bad)?;
        if sps.is_empty() || pps.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            profile,
            compatibility,
            level,
            length_size,
            sps,
            pps,
        })
    }

    /// The RFC 6381 codec string, e.g. `avc1.64001F`.
    pub fn codec(&self) -> String {
        format!(
            "avc1.{:02X}{:02X}{:02X}",
            self.profile, self.compatibility, self.level
        )
    }

    pub fn profile_name(&self) -> &'static str {
        match self.profile {
            66 => "Baseline",
            77 => "Main",
            88 => "Extended",
            100 => "High",
            110 => "High 10",
            122 => "High 4:2:2",
            244 => "High 4:4:4",
            _ => "Unknown",
        }
    }

    pub fn level_name(&self) -> String {
        format!("{}.{}", self.level / 10, self.level % 10)
    }

    /// Length-prefixed NAL units to Annex B: an access unit delimiter first, SPS and PPS before an
    /// IDR. Returns the bytes and whether the access unit holds an IDR.
    pub fn annex_b(&self, avcc: &[u8]) -> Result<(Vec<u8>, bool), FlvError> {
        const START: [u8; 4] = [0, 0, 0, 1];
        let mut nalus = Vec::new();
        let mut r = Reader(avcc);
        while !r.0.is_empty() {
            let len = r
                .uint(self.length_size)
                .ok_or(FlvError::Malformed("NAL unit length"))?;
            let nalu = r
                .take(usize::try_from(len).map_err(|_| FlvError::Malformed("NAL unit length"))?)
                .ok_or(FlvError::Malformed("truncated NAL unit"))?;
            nalus.push(nalu);
        }
        let kind = |n: &[u8]| n.first().map_or(0, |b| b & 0x1F);
        let idr = nalus.iter().any(|n| kind(n) == 5);
        let mut out = Vec::with_capacity(avcc.len() + 64);
        out.extend_from_slice(&[0, 0, 0, 1, 0x09, 0xF0]);
        if idr {
            for set in self.sps.iter().chain(&self.pps) {
                out.extend_from_slice(&START);
                out.extend_from_slice(set);
            }
        }
        for nalu in nalus.into_iter().filter(|n| kind(n) != 9) {
            out.extend_from_slice(&START);
            out.extend_from_slice(nalu);
        }
        Ok((out, idr))
    }
}

/// A parsed FLV video tag body.
pub enum Video<'a> {
    SequenceHeader(&'a [u8]),
    /// Length-prefixed NAL units; `cts` is the composition offset in milliseconds.
    Frame {
        keyframe: bool,
        cts: i32,
        data: &'a [u8],
    },
    EndOfSequence,
}

pub fn parse_video(body: &[u8]) -> Result<Video<'_>, FlvError> {
    let mut r = Reader(body);
    let first = r.u8().ok_or(FlvError::Malformed("empty video tag"))?;
    if first & 0x80 != 0 {
        // Enhanced RTMP (ex-header): the codec is a FourCC; none of them is AVC.
        let cc = r.take(4).ok_or(FlvError::Malformed("video FourCC"))?;
        let mut fourcc = [0u8; 4];
        fourcc.copy_from_slice(cc);
        return Err(FlvError::VideoCodec(Codec::FourCc(fourcc)));
    }
    let codec = first & 0x0F;
    if codec != 7 {
        return Err(FlvError::VideoCodec(Codec::Legacy(codec)));
    }
    let keyframe = first >> 4 == 1;
    let packet_type = r.u8().ok_or(FlvError::Malformed("AVC packet type"))?;
    let cts = r.uint(3).ok_or(FlvError::Malformed("composition time"))?;
    // Sign-extend the 24-bit composition offset.
    let cts = ((cts as i32) << 8) >> 8;
    match packet_type {
        0 => Ok(Video::SequenceHeader(r.0)),
        1 => Ok(Video::Frame {
            keyframe,
            cts,
            data: r.0,
        }),
        _ => Ok(Video::EndOfSequence),
    }
}

/// The AAC configuration (`AudioSpecificConfig`): what an ADTS header repeats on every frame.
#[derive(Clone, Copy, Debug)]
pub struct AacConfig {
    pub object_type: u8,
    pub frequency_index: u8,
    pub channels: u8,
}

const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

impl AacConfig {
    pub fn parse(asc: &[u8]) -> Result<Self, FlvError> {
        let bad = FlvError::Malformed("AAC audio specific config");
        let (&a, &b) = asc.first().zip(asc.get(1)).ok_or(bad)?;
        let config = Self {
            object_type: a >> 3,
            frequency_index: ((a & 0x07) << 1) | (b >> 7),
            channels: (b >> 3) & 0x0F,
        };
        if config.object_type == 0 || usize::from(config.frequency_index) >= SAMPLE_RATES.len() {
            return Err(FlvError::Malformed("AAC audio specific config"));
        }
        Ok(config)
    }

    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATES
            .get(usize::from(self.frequency_index))
            .copied()
            .unwrap_or(0)
    }

    /// One raw AAC frame with its 7-byte ADTS header.
    pub fn adts(&self, raw: &[u8]) -> Vec<u8> {
        let len = raw.len() + 7;
        let profile = self.object_type.saturating_sub(1) & 0x03;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&[
            0xFF,
            0xF1,
            (profile << 6) | (self.frequency_index << 2) | ((self.channels >> 2) & 0x01),
            ((self.channels & 0x03) << 6) | ((len >> 11) & 0x03) as u8,
            ((len >> 3) & 0xFF) as u8,
            (((len & 0x07) << 5) as u8) | 0x1F,
            0xFC,
        ]);
        out.extend_from_slice(raw);
        out
    }
}

/// A parsed FLV audio tag body.
pub enum Audio<'a> {
    SequenceHeader(&'a [u8]),
    Frame(&'a [u8]),
}

pub fn parse_audio(body: &[u8]) -> Result<Audio<'_>, FlvError> {
    let mut r = Reader(body);
    let first = r.u8().ok_or(FlvError::Malformed("empty audio tag"))?;
    let format = first >> 4;
    if format != 10 {
        return Err(FlvError::AudioCodec(format));
    }
    match r.u8().ok_or(FlvError::Malformed("AAC packet type"))? {
        0 => Ok(Audio::SequenceHeader(r.0)),
        _ => Ok(Audio::Frame(r.0)),
    }
}

/// One tag of an FLV file.
#[derive(Clone, Debug)]
pub struct Tag {
    /// 8 audio, 9 video, 18 script data.
    pub kind: u8,
    /// Milliseconds.
    pub timestamp: u32,
    pub body: Vec<u8>,
}

/// The tags of an FLV file, in file order.
pub fn read_file(file: &[u8]) -> Result<Vec<Tag>, FlvError> {
    let mut r = Reader(file);
    let header = r.take(9).ok_or(FlvError::Malformed("FLV header"))?;
    if header.get(..3) != Some(b"FLV".as_slice()) {
        return Err(FlvError::Malformed("FLV signature"));
    }
    let offset = Reader(header.get(5..9).unwrap_or_default())
        .uint(4)
        .unwrap_or(9);
    let mut r = Reader(
        file.get(usize::try_from(offset).unwrap_or(9)..)
            .unwrap_or_default(),
    );
    let mut tags = Vec::new();
    loop {
        // PreviousTagSize, then a tag header or the end of the file.
        if r.take(4).is_none() || r.0.is_empty() {
            return Ok(tags);
        }
        let bad = FlvError::Malformed("FLV tag");
        let kind = r.u8().ok_or(FlvError::Malformed("FLV tag"))? & 0x1F;
        let size = r.uint(3).ok_or(FlvError::Malformed("FLV tag"))?;
        let low = r.uint(3).ok_or(FlvError::Malformed("FLV tag"))?;
        let high = r.u8().ok_or(FlvError::Malformed("FLV tag"))?;
        let _stream_id = r.uint(3).ok_or(FlvError::Malformed("FLV tag"))?;
        let body = r
            .take(usize::try_from(size).map_err(|_| FlvError::Malformed("FLV tag"))?)
            .ok_or(bad)?;
        tags.push(Tag {
            kind,
            timestamp: (u32::from(high) << 24) | (low as u32),
            body: body.to_vec(),
        });
    }
}

/// A big-endian cursor that never panics.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        self.uint(2).map(|v| v as u16)
    }

    fn uint(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adts_header_encodes_length_and_config() {
        let config = AacConfig::parse(&[0x12, 0x10]).unwrap(); // AAC-LC, 44.1 kHz, stereo
        assert_eq!(config.sample_rate(), 44_100);
        assert_eq!(config.channels, 2);
        let frame = config.adts(&[0u8; 100]);
        assert_eq!(&frame[..2], &[0xFF, 0xF1]);
        let len = (usize::from(frame[3] & 0x03) << 11)
            | (usize::from(frame[4]) << 3)
            | usize::from(frame[5] >> 5);
        assert_eq!(len, 107);
    }

    #[test]
    fn hevc_and_enhanced_rtmp_are_refused() {
        assert!(matches!(
            parse_video(&[0x1C, 0, 0, 0, 0]),
            Err(FlvError::VideoCodec(Codec::Legacy(12)))
        ));
        assert!(matches!(
            parse_video(&[0x90, b'h', b'v', b'c', b'1']),
            Err(FlvError::VideoCodec(Codec::FourCc(_)))
        ));
        assert!(matches!(
            parse_audio(&[0x2F, 0]),
            Err(FlvError::AudioCodec(2))
        ));
    }

    #[test]
    fn annex_b_puts_parameter_sets_before_idr() {
        let record = [
            1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 2, 0x67, 1, 1, 0, 2, 0x68, 2,
        ];
        let config = AvcConfig::parse(&record).unwrap();
        assert_eq!(config.codec(), "avc1.64001F");
        let (out, idr) = config.annex_b(&[0, 0, 0, 2, 0x65, 9]).unwrap();
        assert!(idr);
        assert_eq!(
            out,
            [0, 0, 0, 1, 9, 0xF0, 0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 9]
        );
        assert!(config.annex_b(&[0, 0, 0, 9, 0x65]).is_err());
    }
}
