//! The metrics service on its own (the separate-containers layout): `/metrics/*` and `/status`.
//! `metrics healthcheck` is the container health check.

use actix_web::web;
use ugc_metrics::{configure, AppState, Config};
use ugc_web::{Application, Startup, Verifier};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let start = Startup::begin(|_, vars| Config::from_vars(vars)).await?;
    let auth = start
        .common
        .require_auth()
        .unwrap_or_else(|e| e.exit())
        .clone();

    let dynamo = ugc_dynamo::client_from_config(&start.sdk);
    let state = web::Data::new(AppState::new(start.config, &start.sdk, dynamo).await?);
    let verifier = web::Data::new(Verifier::new(&auth).await?);
    let routes = configure(state);
    let docs = ugc_web::ApiDocs::new(&ugc_metrics::openapi()).configure();
    let app = Application::build(
        start.common.bind()?,
        move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(verifier.clone());
            routes(cfg);
            docs(cfg);
        },
        &start.common,
    )?;
    Ok(app.serve(start.telemetry).await?)
}
