//! The combined container: `SERVICE_NAME=all|channels|metrics` selects the route groups
//! (anything else serves only `/status`). `api healthcheck` is the container health check.
//! Configuration: [`ugc_web::config`], `ugc_channels::config`, `ugc_metrics::config`.

use ugc_api::{Api, ApiConfig};
use ugc_web::{Application, Startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let start = Startup::begin(ApiConfig::from_parts).await?;
    let dynamo = ugc_dynamo::client_from_config(&start.sdk);
    let api = Api::new(start.config, &start.sdk, dynamo).await?;
    let app = Application::build(start.common.bind()?, api.configure(), &start.common)?;
    Ok(app.serve(start.telemetry).await?)
}
