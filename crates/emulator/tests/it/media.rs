//! Real video: the committed test pattern published over RTMP with the Rust client, the lifecycle
//! events it produces, the HLS playlist and segments (parsed back with `mpeg2ts` and `m3u8-rs`),
//! timed metadata, measurements, and bad input on the RTMP port.

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::Duration;

use mpeg2ts::es::StreamType;
use mpeg2ts::pes::{PesPacketReader, ReadPesPacket};
use mpeg2ts::ts::{ReadTsPacket, TsPacketReader, TsPayload};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ugc_emulator::core::config::EventTarget;
use ugc_emulator::media::{self, publish::RtmpPublisher, FlvTag, MediaConfig};
use ugc_emulator::{Emulator, EmulatorConfig};

use crate::common::TestEmulator;
use crate::events::{local_listener, name_of, Receiver, HEADER, SECRET};

struct MediaEmulator {
    emulator: TestEmulator,
    rtmp: SocketAddr,
    receiver: Receiver,
}

async fn spawn() -> MediaEmulator {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let listener = local_listener();
    let port = listener.local_addr().unwrap().port();
    let receiver = Receiver::start(listener, &[]);
    let config = EmulatorConfig {
        event_target: Some(EventTarget {
            url: format!("http://127.0.0.1:{port}/streamEvents"),
            header_name: HEADER.to_owned(),
            header_value: SECRET.to_owned(),
        }),
        ..Default::default()
    };
    let media = MediaConfig {
        rtmp_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        starvation_after: Duration::from_millis(800),
        segment_target: Duration::from_secs(2),
        ended_linger: Duration::from_secs(1),
    };
    let emulator = Emulator::build_with_media(config.clone(), Some(media)).unwrap();
    let rtmp = emulator.rtmp_addr().unwrap();
    let port = emulator.port();
    let shared = emulator.shared();
    tokio::spawn(emulator.run_until_stopped());
    MediaEmulator {
        emulator: TestEmulator {
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            shared,
            config,
        },
        rtmp,
        receiver,
    }
}

struct Channel {
    arn: String,
    id: String,
    key: String,
    playback_url: String,
    ingest: String,
}

async fn create_channel(m: &MediaEmulator, name: &str) -> Channel {
    let client = aws_sdk_ivs::Client::new(&m.emulator.sdk_config().await);
    let created = client
        .create_channel()
        .name(name)
        .r#type(aws_sdk_ivs::types::ChannelType::BasicChannelType)
        .send()
        .await
        .unwrap();
    let channel = created.channel().unwrap();
    let arn = channel.arn().unwrap().to_owned();
    Channel {
        id: arn.rsplit('/').next().unwrap().to_owned(),
        arn,
        key: created.stream_key().unwrap().value().unwrap().to_owned(),
        playback_url: channel.playback_url().unwrap().to_owned(),
        ingest: channel.ingest_endpoint().unwrap().to_owned(),
    }
}

fn fixture() -> Vec<FlvTag> {
    media::read_flv(media::TEST_PATTERN_FLV).unwrap()
}

/// Sends the fixture once with timestamps from `base`, `speed` times faster in media time.
async fn send_loop(publisher: &mut RtmpPublisher, tags: &[FlvTag], base: u32, speed: u32) -> u32 {
    let mut last = base;
    for tag in tags {
        last = base + tag.timestamp / speed;
        publisher.send(tag, last).await.unwrap();
    }
    last + 40
}

fn events_for(receiver: &Receiver, arn: &str) -> Vec<String> {
    receiver
        .requests()
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e["resources"][0] == arn)
        .map(|e| name_of(e).to_owned())
        .collect()
}

async fn wait_for_event(receiver: &Receiver, arn: &str, name: &str) -> Vec<String> {
    for _ in 0..100 {
        let names = events_for(receiver, arn);
        if names.iter().any(|n| n == name) {
            return names;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {name} for {arn}: {:?}", events_for(receiver, arn));
}

async fn playlist(url: &str) -> Option<m3u8_rs::MediaPlaylist> {
    let response = reqwest::get(url).await.unwrap();
    if response.status() == 404 {
        return None;
    }
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "*",
        "the SPA's origin may read it"
    );
    let body = response.bytes().await.unwrap();
    Some(m3u8_rs::parse_media_playlist_res(&body).unwrap())
}

async fn wait_for_segments(url: &str, n: usize) -> m3u8_rs::MediaPlaylist {
    for _ in 0..100 {
        if let Some(p) = playlist(url).await.filter(|p| p.segments.len() >= n) {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "playlist {url} never reached {n} segments: {:?}",
        playlist(url).await
    );
}

/// What one segment holds, parsed back.
struct Parsed {
    /// Video PES timestamps (PTS, 90 kHz) in order.
    video_pts: Vec<u64>,
    first_video_is_idr: bool,
    audio_frames: usize,
    /// Payloads of the ID3 tags' `PRIV` frames owned by `metadata.live-video.net`.
    metadata: Vec<String>,
}

fn parse_segment(data: &[u8]) -> Parsed {
    assert_eq!(data.len() % 188, 0, "whole TS packets");
    // PAT first, then a PMT naming H.264, ADTS AAC and ID3 timed metadata.
    let mut packets = TsPacketReader::new(Cursor::new(data));
    let first = packets.read_ts_packet().unwrap().unwrap();
    assert!(
        matches!(first.payload, Some(TsPayload::Pat(_))),
        "PAT first"
    );
    let second = packets.read_ts_packet().unwrap().unwrap();
    let Some(TsPayload::Pmt(pmt)) = second.payload else {
        panic!("PMT second")
    };
    let types: Vec<StreamType> = pmt.es_info.iter().map(|e| e.stream_type).collect();
    assert_eq!(
        types,
        [
            StreamType::H264,
            StreamType::AdtsAac,
            StreamType::PacketizedMetadata
        ]
    );
    let mut reader = PesPacketReader::new(TsPacketReader::new(Cursor::new(data)));
    let mut parsed = Parsed {
        video_pts: Vec::new(),
        first_video_is_idr: false,
        audio_frames: 0,
        metadata: Vec::new(),
    };
    while let Some(pes) = reader.read_pes_packet().unwrap() {
        let pts = pes.header.pts.unwrap().as_u64();
        match pes.header.stream_id.as_u8() {
            0xE0 => {
                if parsed.video_pts.is_empty() {
                    parsed.first_video_is_idr =
                        nal_types(&pes.data).contains(&5) && nal_types(&pes.data).contains(&7);
                }
                parsed.video_pts.push(pts);
            }
            0xC0 => {
                assert_eq!(&pes.data[..2], &[0xFF, 0xF1], "ADTS");
                parsed.audio_frames += 1;
            }
            0xBD => {
                let tag = id3::Tag::read_from2(Cursor::new(&pes.data)).unwrap();
                assert!(tag.extended_texts().next().is_none(), "no TXXX frames");
                for frame in tag.frames() {
                    assert_eq!(frame.id(), "PRIV", "only PRIV frames");
                    let id3::Content::Private(private) = frame.content() else {
                        panic!("PRIV content")
                    };
                    assert_eq!(private.owner_identifier, "metadata.live-video.net");
                    parsed
                        .metadata
                        .push(String::from_utf8(private.private_data.clone()).unwrap());
                }
            }
            other => panic!("unexpected stream id {other:#x}"),
        }
    }
    parsed
}

/// NAL unit types of an Annex B access unit.
fn nal_types(data: &[u8]) -> Vec<u8> {
    data.windows(4)
        .filter(|w| w[..3] == [0, 0, 1])
        .map(|w| w[3] & 0x1F)
        .collect()
}

async fn segments(playlist_url: &str, playlist: &m3u8_rs::MediaPlaylist) -> Vec<Parsed> {
    let base = playlist_url.rsplit_once('/').unwrap().0;
    let mut out = Vec::new();
    for segment in &playlist.segments {
        let response = reqwest::get(format!("{base}/{}", segment.uri))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        out.push(parse_segment(&response.bytes().await.unwrap()));
    }
    out
}

#[tokio::test]
async fn a_published_stream_is_live_hls_with_events_metadata_and_measurements() {
    let m = spawn().await;
    let channel = create_channel(&m, "alice").await;
    assert_eq!(channel.ingest, m.rtmp.to_string());
    assert!(
        channel.playback_url.starts_with(&m.emulator.endpoint),
        "{}",
        channel.playback_url
    );
    assert!(
        playlist(&channel.playback_url).await.is_none(),
        "not live yet"
    );

    let tags = fixture();
    let mut publisher = RtmpPublisher::connect(m.rtmp, "app", &channel.key)
        .await
        .unwrap();
    let names = wait_for_event(&m.receiver, &channel.arn, "Stream Start").await;
    assert_eq!(names, ["Session Created", "Stream Start"]);

    // First pass, faster than real time; then a pause the ingest sees as starvation.
    let next = send_loop(&mut publisher, &tags, 0, 1).await;
    wait_for_event(&m.receiver, &channel.arn, "Starvation Start").await;

    // Timed metadata goes into the next segment.
    let payload = r#"{"name":"notice","data":{"title":"Hi"}}"#;
    let client = aws_sdk_ivs::Client::new(&m.emulator.sdk_config().await);
    client
        .put_metadata()
        .channel_arn(&channel.arn)
        .metadata(payload)
        .send()
        .await
        .unwrap();
    let next = send_loop(&mut publisher, &tags, next, 1).await;
    wait_for_event(&m.receiver, &channel.arn, "Starvation End").await;
    send_loop(&mut publisher, &tags, next, 1).await;

    let live = wait_for_segments(&channel.playback_url, 4).await;
    assert!(!live.end_list);
    let parsed = segments(&channel.playback_url, &live).await;
    let mut previous_end: Option<u64> = None;
    for (i, segment) in parsed.iter().enumerate() {
        assert!(
            segment.first_video_is_idr,
            "segment {i} starts with SPS + IDR"
        );
        assert!(segment.audio_frames > 0, "segment {i} has audio");
        let first = segment.video_pts[0];
        if let Some(end) = previous_end {
            // 25 fps: the next segment's first frame follows the last one by one frame.
            assert!(
                first > end && first - end <= 3_600 * 2,
                "PTS continuity at {i}: {end} → {first}"
            );
        }
        previous_end = segment.video_pts.iter().max().copied();
        assert!((1.9..=2.1).contains(&(live.segments[i].duration as f64)));
    }
    let metadata: Vec<&String> = parsed.iter().flat_map(|s| &s.metadata).collect();
    assert_eq!(metadata, [payload], "exactly the sent payload, once");

    // The session reports what the encoder announced and sent.
    let session = client
        .get_stream_session()
        .channel_arn(&channel.arn)
        .send()
        .await
        .unwrap();
    let video = session
        .stream_session()
        .unwrap()
        .ingest_configuration()
        .unwrap()
        .video()
        .unwrap();
    assert_eq!(video.video_width(), 320);
    assert_eq!(video.video_height(), 180);
    assert_eq!(video.target_framerate(), 25);
    assert!(video.codec().unwrap().starts_with("avc1.42"));
    assert!(
        video.encoder().unwrap().starts_with("Lavf"),
        "{:?}",
        video.encoder()
    );
    let broadcasts = m.emulator.shared.ivs.broadcasts(&channel.id);
    let measured = &broadcasts.last().unwrap().measured;
    assert!(!measured.is_empty());
    let last = measured.last().unwrap();
    assert!((24.0..=26.0).contains(&last.framerate), "{last:?}");
    assert!(
        (100_000.0..=600_000.0).contains(&last.video_bitrate),
        "{last:?}"
    );
    let interval = last.keyframe_interval.unwrap();
    assert!((0.95..=1.05).contains(&interval), "{last:?}");

    // A clean disconnect ends the stream; the playlist ends, then disappears.
    publisher.finish().await.unwrap();
    let names = wait_for_event(&m.receiver, &channel.arn, "Session Ended").await;
    assert_eq!(
        names,
        [
            "Session Created",
            "Stream Start",
            "Starvation Start",
            "Starvation End",
            "Stream End",
            "Session Ended"
        ]
    );
    let ended = playlist(&channel.playback_url).await.unwrap();
    assert!(ended.end_list);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(playlist(&channel.playback_url).await.is_none());
}

/// Writes `bytes` to the RTMP port and expects the server to close the connection.
async fn expect_closed(rtmp: SocketAddr, bytes: &[u8], then_close: bool) {
    let mut stream = tokio::net::TcpStream::connect(rtmp).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    if then_close {
        stream.shutdown().await.unwrap();
    }
    let mut buf = [0u8; 8192];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server closes the connection");
}

#[tokio::test]
async fn bad_input_is_refused_without_disturbing_a_live_stream() {
    let m = spawn().await;
    let good = create_channel(&m, "good").await;
    let other = create_channel(&m, "other").await;
    let tags = fixture();
    let mut publisher = RtmpPublisher::connect(m.rtmp, "app", &good.key)
        .await
        .unwrap();
    let mut next = send_loop(&mut publisher, &tags, 0, 1).await;

    // Garbage, and a handshake cut short.
    expect_closed(m.rtmp, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false).await;
    let mut truncated = vec![3u8];
    truncated.extend_from_slice(&[0u8; 700]);
    expect_closed(m.rtmp, &truncated, true).await;

    // A key that belongs to no channel, and a second publisher on a live channel.
    let wrong = RtmpPublisher::connect(m.rtmp, "app", "sk_us-east-1_nope").await;
    assert!(wrong.is_err());
    let second = RtmpPublisher::connect(m.rtmp, "app", &good.key).await;
    assert!(
        second.is_err(),
        "the live channel keeps its first publisher"
    );

    // HEVC is refused: the session ends right away.
    let mut hevc = RtmpPublisher::connect(m.rtmp, "app", &other.key)
        .await
        .unwrap();
    let tag = FlvTag {
        kind: 9,
        timestamp: 0,
        body: vec![0x1C, 0, 0, 0, 0, 1, 2, 3],
    };
    let _ = hevc.send(&tag, 0).await;
    let names = wait_for_event(&m.receiver, &other.arn, "Session Ended").await;
    assert_eq!(
        names,
        [
            "Session Created",
            "Stream Start",
            "Stream End",
            "Session Ended"
        ]
    );

    // The good stream went on; it now streams at 8x speed: twice the BASIC channel's limit.
    next = send_loop(&mut publisher, &tags, next, 1).await;
    for _ in 0..12 {
        next = send_loop(&mut publisher, &tags, next, 8).await;
    }
    wait_for_event(&m.receiver, &good.arn, "Ingest Bitrate").await;
    let breach = m
        .receiver
        .requests()
        .into_iter()
        .map(|(_, e)| e)
        .find(|e: &Value| e["detail-type"] == "IVS Limit Breach")
        .unwrap();
    assert!(breach["detail"]["exceeded_by"].as_u64().unwrap() > 0);

    // The encoder vanishes mid-segment: the stream ends, and every listed segment is whole.
    wait_for_segments(&good.playback_url, 4).await;
    publisher.abort();
    wait_for_event(&m.receiver, &good.arn, "Session Ended").await;
    let ended = playlist(&good.playback_url).await.unwrap();
    assert!(ended.end_list);
    // Only segments cut at a keyframe past the 2 s target are listed: the partial one (the fixture
    // at this speed leaves less than 2 s after the last cut) is dropped.
    for segment in &ended.segments {
        assert!(segment.duration >= 1.999, "{ended:?}");
    }
    for segment in segments(&good.playback_url, &ended).await {
        assert!(segment.first_video_is_idr);
    }
}
