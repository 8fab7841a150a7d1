//! The event-ingest service: `POST /streamEvents` (and `POST /`) plus the live-status reconciler.
//! Configuration: [`ugc_web::config`] and [`ugc_event_ingest::config`].

use actix_web::web;
use ugc_event_ingest::{configure, spawn_reconciler, AppState, Config};
use ugc_web::{Application, Startup};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let start = Startup::begin(|_, vars| Config::from_vars(vars)).await?;
    let dynamo = ugc_dynamo::client_from_config(&start.sdk);
    let state = web::Data::new(AppState::new(start.config, &start.sdk, dynamo).await?);
    let reconciler = spawn_reconciler(state.clone());
    let app = Application::build(start.common.bind()?, configure(state), &start.common)?;
    let served = app.serve(start.telemetry).await;
    reconciler.abort();
    Ok(served?)
}
