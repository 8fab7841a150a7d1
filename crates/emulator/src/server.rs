//! The emulator's HTTP server: one actix-web app on one loopback port serving every service.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};

use crate::core::config::EmulatorConfig;
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
}

impl Shared {
    pub fn load(config: EmulatorConfig) -> anyhow::Result<Self> {
        let dir = config.data_dir.as_deref();
        Ok(Self {
            cognito: cognito::Cognito::load(dir, &config)?,
            secrets: secrets::Secrets::load(dir, &config)?,
            ivs: ivs::Ivs::load(dir, &config)?,
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
    shared: Arc<Shared>,
    server: Server,
}

impl Emulator {
    /// Loads the state and binds the listener; the server runs once `run_until_stopped` is awaited.
    pub fn build(mut config: EmulatorConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)?;
        // Services that print their own URL (Cognito's token issuer) need the real port, not 0.
        config.bind = listener.local_addr()?;
        let port = config.bind.port();
        let shared = Arc::new(Shared::load(config)?);
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
            shared,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
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
    creators::configure(cfg);
    s3::configure(cfg);
}
