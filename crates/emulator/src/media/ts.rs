//! MPEG-TS muxing of one HLS segment (ISO/IEC 13818-1) with the `mpeg2ts` crate: PAT and PMT at the
//! start, then PES packets for H.264 (Annex B), AAC (ADTS) and ID3 timed metadata.
//!
//! The timed-metadata stream follows Apple's "Timed Metadata for HTTP Live Streaming": stream_type
//! 0x15 (metadata in PES), stream_id 0xBD, a `metadata_pointer_descriptor` in the program info and
//! a `metadata_descriptor` on the stream, both naming the `ID3 ` format.

use std::collections::HashMap;

use mpeg2ts::es::{StreamId, StreamType};
use mpeg2ts::pes::PesHeader;
use mpeg2ts::time::{ClockReference, Timestamp};
use mpeg2ts::ts::payload::{Bytes, Pat, Pes, Pmt};
use mpeg2ts::ts::{
    AdaptationField, ContinuityCounter, Descriptor, EsInfo, Pid, ProgramAssociation,
    TransportScramblingControl, TsHeader, TsPacket, TsPacketWriter, TsPayload, VersionNumber,
    WriteTsPacket,
};

pub const PMT_PID: u16 = 0x1000;
pub const VIDEO_PID: u16 = 0x100;
pub const AUDIO_PID: u16 = 0x101;
pub const METADATA_PID: u16 = 0x102;
const PROGRAM: u16 = 1;

/// `metadata_pointer_descriptor` (tag 0x25): format `ID3 `, service 0, program 1.
const METADATA_POINTER: [u8; 15] = [
    0xFF, 0xFF, b'I', b'D', b'3', b' ', 0xFF, b'I', b'D', b'3', b' ', 0x00, 0x1F, 0x00, 0x01,
];
/// `metadata_descriptor` (tag 0x26): format `ID3 `, service 0, no decoder config.
const METADATA_DESCRIPTOR: [u8; 13] = [
    0xFF, 0xFF, b'I', b'D', b'3', b' ', 0xFF, b'I', b'D', b'3', b' ', 0x00, 0x0F,
];

#[derive(Debug, thiserror::Error)]
#[error("MPEG-TS muxing failed: {0}")]
pub struct MuxError(String);

impl From<mpeg2ts::Error> for MuxError {
    fn from(e: mpeg2ts::Error) -> Self {
        Self(e.to_string())
    }
}

/// Continuity counters per PID; they run on across segments, as one transport stream split up.
#[derive(Default)]
pub struct Muxer {
    counters: HashMap<u16, ContinuityCounter>,
}

/// One elementary-stream access unit to packetise.
pub struct Frame<'a> {
    pub pid: u16,
    pub pts: u64,
    /// Video only: the decode time when it differs from `pts`.
    pub dts: Option<u64>,
    pub keyframe: bool,
    pub data: &'a [u8],
}

impl Muxer {
    /// PAT and PMT, written at the start of every segment so each one decodes on its own.
    pub fn write_tables(&mut self, out: &mut Vec<u8>) -> Result<(), MuxError> {
        let pat = TsPayload::Pat(Pat {
            transport_stream_id: 1,
            version_number: VersionNumber::default(),
            table: vec![ProgramAssociation {
                program_num: PROGRAM,
                program_map_pid: Pid::new(PMT_PID)?,
            }],
        });
        let es = |stream_type, pid, descriptors| -> Result<EsInfo, MuxError> {
            Ok(EsInfo {
                stream_type,
                elementary_pid: Pid::new(pid)?,
                descriptors,
            })
        };
        let pmt = TsPayload::Pmt(Pmt {
            program_num: PROGRAM,
            pcr_pid: Some(Pid::new(VIDEO_PID)?),
            version_number: VersionNumber::default(),
            program_info: vec![Descriptor {
                tag: 0x25,
                data: METADATA_POINTER.to_vec(),
            }],
            es_info: vec![
                es(StreamType::H264, VIDEO_PID, vec![])?,
                es(StreamType::AdtsAac, AUDIO_PID, vec![])?,
                es(
                    StreamType::PacketizedMetadata,
                    METADATA_PID,
                    vec![Descriptor {
                        tag: 0x26,
                        data: METADATA_DESCRIPTOR.to_vec(),
                    }],
                )?,
            ],
        });
        self.packet(out, 0, None, pat)?;
        self.packet(out, PMT_PID, None, pmt)?;
        Ok(())
    }

    /// One access unit as a PES split over TS packets; a video keyframe carries the PCR and the
    /// random-access flag.
    pub fn write_frame(&mut self, out: &mut Vec<u8>, frame: &Frame<'_>) -> Result<(), MuxError> {
        let stream_id = match frame.pid {
            VIDEO_PID => StreamId::new(0xE0),
            AUDIO_PID => StreamId::new(0xC0),
            _ => StreamId::new(StreamId::PRIVATE_STREAM_1),
        };
        let header = PesHeader {
            stream_id,
            priority: false,
            data_alignment_indicator: true,
            copyright: false,
            original_or_copy: false,
            pts: Some(Timestamp::new(frame.pts % (Timestamp::MAX + 1))?),
            dts: frame
                .dts
                .filter(|dts| *dts != frame.pts)
                .map(|dts| Timestamp::new(dts % (Timestamp::MAX + 1)))
                .transpose()?,
            escr: None,
        };
        let header_len = 6 + 3 + 5 + if header.dts.is_some() { 5 } else { 0 };
        // Video PES may be unbounded (0); the others carry their length.
        let pes_packet_len = if frame.pid == VIDEO_PID {
            0
        } else {
            u16::try_from(header_len - 6 + frame.data.len())
                .map_err(|_| MuxError("PES packet too long".to_owned()))?
        };
        let adaptation = (frame.pid == VIDEO_PID).then(|| AdaptationField {
            discontinuity_indicator: false,
            random_access_indicator: frame.keyframe,
            es_priority_indicator: false,
            pcr: ClockReference::new(frame.dts.unwrap_or(frame.pts) * 300).ok(),
            opcr: None,
            splice_countdown: None,
            transport_private_data: Vec::new(),
            extension: None,
        });
        let adaptation_len = if adaptation.is_some() { 8 } else { 0 };
        let first_len = (Bytes::MAX_SIZE - header_len - adaptation_len).min(frame.data.len());
        let (first, mut rest) = frame.data.split_at(first_len);
        let start = TsPayload::PesStart(Pes {
            header,
            pes_packet_len,
            data: Bytes::new(first)?,
        });
        self.packet(out, frame.pid, adaptation, start)?;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(Bytes::MAX_SIZE.min(rest.len()));
            self.packet(
                out,
                frame.pid,
                None,
                TsPayload::PesContinuation(Bytes::new(chunk)?),
            )?;
            rest = tail;
        }
        Ok(())
    }

    fn packet(
        &mut self,
        out: &mut Vec<u8>,
        pid: u16,
        adaptation_field: Option<AdaptationField>,
        payload: TsPayload,
    ) -> Result<(), MuxError> {
        let counter = self.counters.entry(pid).or_default();
        let packet = TsPacket {
            header: TsHeader {
                transport_error_indicator: false,
                transport_priority: false,
                pid: Pid::new(pid)?,
                transport_scrambling_control: TransportScramblingControl::NotScrambled,
                continuity_counter: *counter,
            },
            adaptation_field,
            payload: Some(payload),
        };
        counter.increment();
        TsPacketWriter::new(out).write_ts_packet(&packet)?;
        Ok(())
    }
}
