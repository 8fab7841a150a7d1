//! The metrics service on its own (the separate-containers layout): `/metrics/*` and `/status`.
//! `metrics healthcheck` is the container health check.

use actix_web::web;
use ugc_metrics::{configure, AppState, Config};
use ugc_web::{Application, CommonConfig, Verifier};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ugc_web::healthcheck::run_if_requested();
    let common = CommonConfig::from_env().unwrap_or_else(|e| e.exit());
    let config = Config::from_env().unwrap_or_else(|e| e.exit());
    let auth = common.require_auth().unwrap_or_else(|e| e.exit()).clone();
    let telemetry = ugc_web::telemetry::init(&common)?;

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ugc_web::sdk_metrics::http_client())
        .load()
        .await;
    let dynamo = ugc_dynamo::client_from_config(&sdk);
    let state = web::Data::new(AppState::new(config, &sdk, dynamo).await?);
    let verifier = web::Data::new(Verifier::new(&auth).await?);
    let routes = configure(state);
    let docs = ugc_web::ApiDocs::new(&ugc_metrics::openapi()).configure();
    let app = Application::build(
        common.bind()?,
        move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(verifier.clone());
            routes(cfg);
            docs(cfg);
        },
        &common,
    )?;
    let served = app.run_until_stopped().await;
    telemetry.shutdown().await;
    Ok(served?)
}
