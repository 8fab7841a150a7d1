//! Cognito CustomMessage trigger. Env: `CLIENT_BASE_URL`.

use lambda_runtime::Error;
use ugc_triggers::custom_message::{self, CustomMessageConfig};
use ugc_triggers::{config, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = CustomMessageConfig::from_env(&config::process_env());
    runtime::run_trigger(config, custom_message::handle).await
}
