//! The combined container: `SERVICE_NAME=all|channels|metrics` selects the route groups
//! (anything else serves only `/status`). `api healthcheck` is the container health check.
//! Configuration: [`ugc_web::config`], `ugc_channels::config`, `ugc_metrics::config`.

use ugc_api::{Api, ApiConfig};
use ugc_web::{Application, CommonConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ugc_web::healthcheck::run_if_requested();
    let common = CommonConfig::from_env().unwrap_or_else(|e| e.exit());
    let config =
        ApiConfig::from_parts(&common, &ugc_web::env::Vars::process()).unwrap_or_else(|e| e.exit());
    let telemetry = ugc_web::telemetry::init(&common)?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ugc_web::sdk_metrics::http_client())
        .load()
        .await;
    let dynamo = ugc_dynamo::client_from_config(&sdk);
    let api = Api::new(config, &sdk, dynamo).await?;
    let app = Application::build(common.bind()?, api.configure(), &common)?;
    let served = app.run_until_stopped().await;
    telemetry.shutdown().await;
    Ok(served?)
}
