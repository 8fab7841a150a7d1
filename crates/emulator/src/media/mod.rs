//! Real video on the local platform: RTMP ingest, HLS playback with timed metadata.
//!
//! An encoder (OBS, ffmpeg, `ugc-local stream`) publishes `rtmp://<host>:<port>/app/<streamKey>`.
//! The publish drives the channel's IVS stream through the same path as the broadcast simulator
//! ([`crate::events::broadcast`]): Session Created + Stream Start, Starvation Start/End when media
//! stops and resumes, Limit Breach over the channel type's bitrate, Stream End + Session Ended on
//! disconnect. H.264 + AAC are remuxed without transcoding into ~2 s MPEG-TS segments served as
//! a live HLS playlist at the channel's `playbackUrl`; accepted PutMetadata payloads go into the
//! next segment as ID3 timed metadata. What the encoder sends is measured for CloudWatch and the
//! stream session's ingest configuration.
//!
//! A second publisher on a live channel is refused (IVS would take over with a Stream Takeover
//! event; refusing keeps the first broadcast intact, which is what a local test wants).

mod flv;
mod hls;
pub mod publish;
mod publisher;
mod rtmp;
mod ts;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::{web, HttpResponse};

pub use flv::{read_file as read_flv, FlvError, Tag as FlvTag};
pub use publisher::id3_tag;

/// The committed test pattern (`fixtures/README.md`): what the simulator publishes.
pub const TEST_PATTERN_FLV: &[u8] = include_bytes!("../../fixtures/test-pattern.flv");
use hls::Published;

use crate::server::Shared;

/// Where the RTMP listener binds and how streams are packaged.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// Always a loopback address; port 0 picks a free port (tests).
    pub rtmp_bind: SocketAddr,
    /// No media for this long: Starvation Start.
    pub starvation_after: Duration,
    /// Target HLS segment duration (segments are cut at the first keyframe past it).
    pub segment_target: Duration,
    /// How long an ended stream's playlist (with `#EXT-X-ENDLIST`) stays before it disappears.
    pub ended_linger: Duration,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            rtmp_bind: SocketAddr::from(([127, 0, 0, 1], 1935)),
            starvation_after: Duration::from_secs(5),
            segment_target: Duration::from_secs(2),
            ended_linger: Duration::from_secs(30),
        }
    }
}

/// The HLS side shared by publishers (writers) and the HTTP routes (readers).
#[derive(Default)]
pub struct Media {
    config: Option<MediaConfig>,
    /// By channel resource id.
    published: Mutex<HashMap<String, Published>>,
    /// PutMetadata payloads waiting for the next segment, by channel resource id.
    pending_metadata: Mutex<HashMap<String, Vec<String>>>,
}

impl Media {
    pub fn new(config: Option<MediaConfig>) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    pub fn config(&self) -> Option<&MediaConfig> {
        self.config.as_ref()
    }

    /// Queues an accepted PutMetadata payload for the channel's next segment. Without a live
    /// publisher it is dropped, as IVS drops metadata of a stream nobody is sending.
    pub fn queue_metadata(&self, channel_id: &str, payload: &str) {
        if !lock(&self.published).contains_key(channel_id) {
            return;
        }
        lock(&self.pending_metadata)
            .entry(channel_id.to_owned())
            .or_default()
            .push(payload.to_owned());
    }

    fn take_metadata(&self, channel_id: &str) -> Vec<String> {
        lock(&self.pending_metadata)
            .remove(channel_id)
            .unwrap_or_default()
    }

    fn begin(&self, channel_id: &str, stream_id: &str) {
        lock(&self.published).insert(channel_id.to_owned(), Published::new(stream_id.to_owned()));
        lock(&self.pending_metadata).remove(channel_id);
    }

    fn with_published(&self, channel_id: &str, stream_id: &str, f: impl FnOnce(&mut Published)) {
        if let Some(p) = lock(&self.published)
            .get_mut(channel_id)
            .filter(|p| p.stream_id == stream_id)
        {
            f(p);
        }
    }

    fn linger(&self) -> Duration {
        self.config
            .as_ref()
            .map_or(Duration::ZERO, |c| c.ended_linger)
    }

    /// Forgets ended streams whose playlist has been shown long enough.
    fn sweep(&self, published: &mut HashMap<String, Published>) {
        let linger = self.linger();
        published.retain(|_, p| !p.expired(linger));
    }

    pub fn playlist(&self, channel_id: &str, name: &str) -> Option<String> {
        let mut published = lock(&self.published);
        self.sweep(&mut published);
        published.get(channel_id)?.playlist(name)
    }

    pub fn segment(&self, channel_id: &str, sequence: u64) -> Option<bytes::Bytes> {
        let mut published = lock(&self.published);
        self.sweep(&mut published);
        published.get(channel_id)?.segment(sequence)
    }
}

/// Starts the RTMP listener on its own thread and runtime: encoders keep streaming whichever
/// runtime serves HTTP, and a misbehaving connection cannot stall the API.
pub fn spawn_listener(shared: Arc<Shared>, listener: TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("ugc-emulator-rtmp".to_owned())
        .spawn(move || runtime.block_on(rtmp::serve(shared, listener)))?;
    Ok(())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/video/v1/{name}.m3u8")
            .route(web::get().to(playlist_endpoint))
            .route(web::method(actix_web::http::Method::OPTIONS).to(preflight)),
    )
    .service(
        web::resource("/api/video/v1/{name}/{sequence}.ts")
            .route(web::get().to(segment_endpoint))
            .route(web::method(actix_web::http::Method::OPTIONS).to(preflight)),
    );
}

/// The channel resource id of a playback name `<region>.<account>.channel.<id>`.
fn channel_of(name: &str) -> Option<&str> {
    name.split_once(".channel.").map(|(_, id)| id)
}

fn cors(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    for (name, value) in [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET, OPTIONS"),
        ("access-control-allow-headers", "*"),
        ("cache-control", "no-cache"),
    ] {
        headers.insert(
            actix_web::http::header::HeaderName::from_static(name),
            actix_web::http::header::HeaderValue::from_static(value),
        );
    }
    response
}

async fn preflight() -> HttpResponse {
    cors(HttpResponse::NoContent().finish())
}

async fn playlist_endpoint(shared: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    let playlist = channel_of(&name).and_then(|id| shared.media.playlist(id, &name));
    cors(match playlist {
        Some(text) => HttpResponse::Ok()
            .content_type("application/vnd.apple.mpegurl")
            .body(text),
        None => HttpResponse::NotFound()
            .content_type("text/plain")
            .body("This channel is not broadcasting"),
    })
}

async fn segment_endpoint(
    shared: web::Data<Shared>,
    path: web::Path<(String, u64)>,
) -> HttpResponse {
    let (name, sequence) = path.into_inner();
    let segment = channel_of(&name).and_then(|id| shared.media.segment(id, sequence));
    cors(match segment {
        Some(data) => HttpResponse::Ok().content_type("video/mp2t").body(data),
        None => HttpResponse::NotFound()
            .content_type("text/plain")
            .body("No such segment"),
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
