//! The emulator's HTTP server: one actix-web app on one loopback port serving every service.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};

use crate::core::config::EmulatorConfig;
use crate::media::{self, MediaConfig};
use crate::{chat, cloudwatch, cognito, creators, events, ivs, s3, secrets};

/// State of every emulated service, shared by all workers. Services reach each other only through
/// these handles (e.g. the broadcast simulator drives `ivs`, CloudWatch reads `ivs` broadcasts).
pub struct Shared {
    pub config: EmulatorConfig,
    pub cognito: cognito::Cognito,
    pub secrets: secrets::Secrets,
    pub ivs: ivs::Ivs,
    pub chat: chat::Chat,
    pub cloudwatch: cloudwatch::CloudWatch,
    pub creators: creators::Creators,
    pub s3: s3::S3,
    pub events: events::Events,
    pub media: media::Media,
}

impl Shared {
    pub fn load(config: EmulatorConfig) -> anyhow::Result<Self> {
        Self::load_with_media(config, None)
    }

    /// With `media` (its RTMP address already bound), channels hand out the local RTMP ingest and
    /// HLS playback URLs and the emulator serves them.
    pub fn load_with_media(
        config: EmulatorConfig,
        media: Option<MediaConfig>,
    ) -> anyhow::Result<Self> {
        let dir = config.data_dir.as_deref();
        let endpoints = media.as_ref().map(|m| ivs::MediaEndpoints {
            ingest: m.rtmp_bind.to_string(),
            playback_origin: format!("http://{}", config.bind),
        });
        Ok(Self {
            cognito: cognito::Cognito::load(dir, &config)?,
            secrets: secrets::Secrets::load(dir, &config)?,
            ivs: ivs::Ivs::load(dir, &config)?.with_endpoints(endpoints),
            media: media::Media::new(media),
            chat: chat::Chat::load(dir, &config)?,
            cloudwatch: cloudwatch::CloudWatch::load(dir, &config)?,
            creators: creators::Creators::load(dir, &config)?,
            s3: s3::S3::load(dir, &config)?,
            events: events::Events::load(dir, &config)?,
            config,
        })
    }
}

pub struct Emulator {
    port: u16,
    rtmp: Option<std::net::SocketAddr>,
    shared: Arc<Shared>,
    server: Server,
}

impl Emulator {
    /// Loads the state and binds the listener; the server runs once `run_until_stopped` is awaited.
    pub fn build(config: EmulatorConfig) -> anyhow::Result<Self> {
        Self::build_with_media(config, None)
    }

    /// [`Emulator::build`] plus, with `media`, the RTMP listener and HLS playback.
    pub fn build_with_media(
        mut config: EmulatorConfig,
        mut media: Option<MediaConfig>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)?;
        // Services that print their own URL (Cognito's token issuer) need the real port, not 0.
        config.bind = listener.local_addr()?;
        let port = config.bind.port();
        let rtmp_listener = match media.as_mut() {
            Some(media) => {
                let rtmp = TcpListener::bind(media.rtmp_bind).map_err(|e| {
                    anyhow::anyhow!("cannot listen for RTMP on {}: {e}", media.rtmp_bind)
                })?;
                media.rtmp_bind = rtmp.local_addr()?;
                Some(rtmp)
            }
            None => None,
        };
        let rtmp = media.as_ref().map(|m| m.rtmp_bind);
        let shared = Arc::new(Shared::load_with_media(config, media)?);
        if let Some(listener) = rtmp_listener {
            media::spawn_listener(shared.clone(), listener)?;
        }
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .configure(configure)
        })
        .workers(2)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            rtmp,
            shared,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The RTMP listener's address, when media is served.
    pub fn rtmp_addr(&self) -> Option<std::net::SocketAddr> {
        self.rtmp
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Route table. Order matters: specific guards first, S3's path-style catch-all last.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cognito::configure(cfg);
    secrets::configure(cfg);
    cloudwatch::configure(cfg);
    ivs::configure(cfg);
    chat::configure(cfg);
    events::configure(cfg);
    media::configure(cfg);
    creators::configure(cfg);
    s3::configure(cfg);
}
