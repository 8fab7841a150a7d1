//! Shared actix-web plumbing of the UGC services: typed configuration from the environment,
//! Cognito access-token verification, the `__type` error shape, CORS, `/status`, request
//! tracing and metrics with OpenTelemetry export, per-action rate limits, the [`Application`] shape with
//! graceful shutdown, and the `healthcheck` subcommand.
//!
//! A service's `main`:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use actix_web::web;
//! use ugc_web::{Application, AuthUser, CommonConfig, Verifier};
//!
//! ugc_web::healthcheck::run_if_requested();
//! let common = CommonConfig::from_env().unwrap_or_else(|e| e.exit());
//! let _telemetry = ugc_web::telemetry::init(&common)?;
//! let verifier = Verifier::new(common.require_auth().unwrap_or_else(|e| e.exit())).await?;
//! let app = Application::build(
//!     common.bind()?,
//!     move |cfg: &mut web::ServiceConfig| {
//!         cfg.app_data(web::Data::new(verifier.clone()))
//!             .route("/me", web::get().to(|user: AuthUser| async move { user.username }));
//!     },
//!     &common,
//! )?;
//! app.run_until_stopped().await?;
//! # Ok(()) }
//! ```

/// The allocator of every binary that links this crate: the services, `ugc-local`, `ugc-admin`,
/// the bench and the tests, so what is measured and tested is what runs. glibc's malloc was about
/// 13 % of the API's CPU on an uncached channel page (the SDK makes many short-lived allocations);
/// mimalloc cut that page's CPU per request by about 11 % in alternating A/B runs
/// (docs/architecture.md, "Performance"). Built with `no_thp`: transparent huge pages would round
/// each touched stretch of its segments up to 2 MiB of resident memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod auth;
pub mod config;
pub mod cors;
pub mod docs;
pub mod env;
pub mod error;
pub mod extract;
pub mod failure;
pub mod healthcheck;
pub mod metrics;
pub mod rate_limit;
pub mod routing;
pub mod sdk_metrics;
pub mod startup;
pub mod telemetry;

pub use auth::{AuthUser, MaybeAuthUser, Verifier};
pub use config::{AuthConfig, CommonConfig, LogFormat};
pub use cors::CorsConfig;
pub use docs::ApiDocs;
pub use env::ConfigError;
pub use error::ApiError;
pub use extract::Json;
pub use failure::FailWith;
pub use rate_limit::{Action, ClientIp, RateKey, RateLimitConfig, RateLimiter};
pub use startup::{Application, Startup};
