//! Cognito PreAuthentication trigger. No configuration.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use ugc_triggers::{pre_authentication, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_logging();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        pre_authentication::handle(event.payload)
    }))
    .await
}
