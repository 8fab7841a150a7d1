use actix_web::web;
use ugc_channels::{configure, AppState, Config};
use ugc_web::{Application, Startup, Verifier};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let start = Startup::begin(|_, vars| Config::from_vars(vars)).await?;
    let dynamo = ugc_dynamo::client_from_config(&start.sdk);
    let verifier = Verifier::new(start.common.require_auth().unwrap_or_else(|e| e.exit())).await?;
    let state = web::Data::new(AppState::new(start.config, &start.sdk, dynamo).await?);
    let routes = configure(state);
    let docs = ugc_web::ApiDocs::new(&ugc_channels::openapi::openapi()).configure();
    let app = Application::build(
        start.common.bind()?,
        move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(web::Data::new(verifier.clone()));
            routes(cfg);
            docs(cfg);
        },
        &start.common,
    )?;
    Ok(app.serve(start.telemetry).await?)
}
