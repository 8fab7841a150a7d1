//! Cognito CustomMessage trigger. Env: `CLIENT_BASE_URL`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use ugc_triggers::{config, custom_message, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_logging();
    let config = runtime::load(custom_message::CustomMessageConfig::from_env(
        &config::process_env(),
    ))?;
    let config = &config;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        custom_message::handle(config, event.payload)
    }))
    .await
}
