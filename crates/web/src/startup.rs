//! The shape every service shares: build on a listener (port 0 in tests), read the port, run.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::web::{self, ServiceConfig};
use actix_web::{App, HttpServer};

use crate::config::CommonConfig;
use crate::env::{ConfigError, Vars};
use crate::error::{
    error_shape, json_error_handler, not_found_or_method, path_error_handler, query_error_handler,
};
use crate::extract::BodyLimit;
use crate::rate_limit::{RateLimiter, TrustedProxyHops};
use crate::routing::{normalize, status};
use crate::telemetry::{request_tracing, ServiceLabel, TelemetryError, TelemetryGuard};

/// A running HTTP server with the shared plumbing: request tracing, CORS, the error shape,
/// HEAD-as-GET, body limits, `/status`, the rate limiter (`web::Data<RateLimiter>`), the
/// trusted proxy hops (for [`crate::ClientIp`]) and 404/405 for unknown routes and methods.
/// SIGTERM/SIGINT stop accepting and drain in-flight requests for `common.shutdown_timeout`.
pub struct Application {
    port: u16,
    server: Server,
    limiter: web::Data<RateLimiter>,
}

impl Application {
    /// Builds the server on `listener`; `configure` registers the service's routes and app data
    /// (e.g. `web::Data<Verifier>`). Call it inside a Tokio or actix runtime.
    pub fn build<F>(
        listener: TcpListener,
        configure: F,
        common: &CommonConfig,
    ) -> std::io::Result<Self>
    where
        F: Fn(&mut ServiceConfig) + Clone + Send + 'static,
    {
        let port = listener.local_addr()?.port();
        let limiter = web::Data::from(Arc::new(RateLimiter::new(common.rate_limits.clone())));
        let cors = common.cors.clone();
        let body_limit = common.body_limit;
        let hops = TrustedProxyHops(common.trusted_proxy_hops);
        let app_limiter = limiter.clone();
        // `all` is the combined container (channels + metrics).
        let service = ServiceLabel(Arc::from(match common.service_name.as_deref() {
            Some("all") => "api",
            Some(name) => name,
            None => "ugc",
        }));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(BodyLimit(body_limit))
                .app_data(hops)
                .app_data(service.clone())
                .app_data(app_limiter.clone())
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(
                    web::JsonConfig::default()
                        .limit(body_limit)
                        .error_handler(json_error_handler),
                )
                .app_data(web::QueryConfig::default().error_handler(query_error_handler))
                .app_data(web::PathConfig::default().error_handler(path_error_handler))
                .route("/status", web::get().to(status))
                .configure(configure.clone())
                .default_service(web::to(not_found_or_method))
                .wrap(from_fn(normalize))
                .wrap(from_fn(error_shape))
                .wrap(from_fn(crate::cors::middleware(cors.clone())))
                .wrap(from_fn(request_tracing))
        })
        .shutdown_timeout(common.shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
        tracing::info!(port, "listening");
        Ok(Self {
            port,
            server,
            limiter,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process-wide limiter the server registered, for handlers built outside `configure`.
    pub fn rate_limiter(&self) -> web::Data<RateLimiter> {
        self.limiter.clone()
    }

    /// A handle to stop the server (`handle.stop(true)` drains first).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (or [`Application::handle`]) stops the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// A service binary's main loop: serves until stopped, then flushes `telemetry`.
    pub async fn serve(self, telemetry: TelemetryGuard) -> std::io::Result<()> {
        let served = self.run_until_stopped().await;
        telemetry.shutdown().await;
        served
    }
}

/// What every service binary starts with, in order: the container health check (`<bin>
/// healthcheck` exits here), the shared and the service's configuration (a bad value exits with
/// status 2), telemetry, and the AWS SDK configuration its clients are built from.
pub struct Startup<C> {
    pub common: CommonConfig,
    /// The service's own configuration.
    pub config: C,
    pub telemetry: TelemetryGuard,
    pub sdk: aws_config::SdkConfig,
}

impl<C> Startup<C> {
    /// Starts a service whose own configuration `config` reads from the process environment
    /// (given the shared configuration read from it).
    pub async fn begin(
        config: impl FnOnce(&CommonConfig, &Vars) -> Result<C, ConfigError>,
    ) -> Result<Self, TelemetryError> {
        crate::healthcheck::run_if_requested();
        let vars = Vars::process();
        let common = CommonConfig::from_vars(&vars).unwrap_or_else(|e| e.exit());
        let config = config(&common, &vars).unwrap_or_else(|e| e.exit());
        let telemetry = crate::telemetry::init(&common)?;
        let sdk = crate::sdk_metrics::load_sdk_config().await;
        Ok(Self {
            common,
            config,
            telemetry,
            sdk,
        })
    }
}
