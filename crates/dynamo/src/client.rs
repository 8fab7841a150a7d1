//! Client construction. Endpoints, region and credentials come from the standard AWS configuration
//! chain, so DynamoDB Local is selected with `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL`) and no
//! code here knows whether it talks to AWS or to a local process.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;

/// Loads the shared AWS configuration from the environment and builds a DynamoDB client.
pub async fn client_from_env() -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    client_from_config(&config)
}

/// Builds a DynamoDB client from an already loaded configuration (services load it once and share it
/// between the SDK clients).
pub fn client_from_config(config: &SdkConfig) -> Client {
    Client::new(config)
}
