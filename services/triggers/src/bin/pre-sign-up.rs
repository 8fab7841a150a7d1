//! Cognito PreSignUp trigger. Env: `SIGN_UP_ALLOWED_DOMAINS`, `ENABLE_USER_AUTO_VERIFY`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use ugc_triggers::{config, pre_sign_up, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_logging();
    let config = runtime::load(pre_sign_up::PreSignUpConfig::from_env(
        &config::process_env(),
    ))?;
    let config = &config;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        pre_sign_up::handle(config, event.payload).inspect_err(|reason| {
            tracing::info!(%reason, "sign-up rejected");
        })
    }))
    .await
}
