//! The event-ingest service: `POST /streamEvents` (and `POST /`) plus the live-status reconciler.
//! Configuration: [`ugc_web::config`] and [`ugc_event_ingest::config`].

use actix_web::web;
use ugc_event_ingest::{configure, spawn_reconciler, AppState, Config};
use ugc_web::{Application, CommonConfig};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    ugc_web::healthcheck::run_if_requested();
    let common = CommonConfig::from_env().unwrap_or_else(|e| e.exit());
    let config = Config::from_env().unwrap_or_else(|e| e.exit());
    let telemetry = ugc_web::telemetry::init(&common)?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ugc_web::sdk_metrics::http_client())
        .load()
        .await;
    let dynamo = ugc_dynamo::client_from_config(&sdk);
    let state = web::Data::new(AppState::new(config, &sdk, dynamo).await?);
    let reconciler = spawn_reconciler(state.clone());
    let app = Application::build(common.bind()?, configure(state), &common)?;
    let served = app.run_until_stopped().await;
    reconciler.abort();
    telemetry.shutdown().await;
    served?;
    Ok(())
}
