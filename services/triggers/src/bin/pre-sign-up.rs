//! Cognito PreSignUp trigger. Env: `SIGN_UP_ALLOWED_DOMAINS`, `ENABLE_USER_AUTO_VERIFY`.

use lambda_runtime::Error;
use ugc_triggers::pre_sign_up::{self, PreSignUpConfig};
use ugc_triggers::{config, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = PreSignUpConfig::from_env(&config::process_env());
    runtime::run_trigger(config, |config, event| {
        pre_sign_up::handle(config, event).inspect_err(|reason| {
            tracing::info!(%reason, "sign-up rejected");
        })
    })
    .await
}
