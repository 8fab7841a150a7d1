use actix_web::web;
use ugc_channels::{configure, AppState, Config};
use ugc_web::{Application, CommonConfig, Verifier};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ugc_web::healthcheck::run_if_requested();
    let common = CommonConfig::from_env().unwrap_or_else(|e| e.exit());
    let config = Config::from_env().unwrap_or_else(|e| e.exit());
    let _telemetry = ugc_web::telemetry::init(&common)?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ugc_web::sdk_metrics::http_client())
        .load()
        .await;
    let dynamo = ugc_dynamo::client_from_config(&sdk);
    let verifier = Verifier::new(common.require_auth().unwrap_or_else(|e| e.exit())).await?;
    let state = web::Data::new(AppState::new(config, &sdk, dynamo).await?);
    let routes = configure(state);
    let docs = ugc_web::ApiDocs::new(&ugc_channels::openapi::openapi()).configure();
    let app = Application::build(
        common.bind()?,
        move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(web::Data::new(verifier.clone()));
            routes(cfg);
            docs(cfg);
        },
        &common,
    )?;
    app.run_until_stopped().await?;
    Ok(())
}
