//! Client construction. Endpoints, region and credentials come from the standard AWS configuration
//! chain, so DynamoDB Local is selected with `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL`) and no
//! code here knows whether it talks to AWS or to a local process.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::StalledStreamProtectionConfig;
use aws_sdk_dynamodb::Client;

/// How long one attempt of a DynamoDB call may take before the SDK gives up on it (and retries it,
/// within its retry budget; then the call fails as a timeout: 503, docs/failure-policy.md).
/// DynamoDB answers in milliseconds; this bounds a connection that stops answering.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Loads the shared AWS configuration from the environment and builds a DynamoDB client.
pub async fn client_from_env() -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    client_from_config(&config)
}

/// Builds a DynamoDB client from an already loaded configuration (services load it once and share it
/// between the SDK clients), with an [`ATTEMPT_TIMEOUT`] per attempt instead of the SDK's stalled-stream
/// protection: DynamoDB's bodies are small JSON documents, which the attempt timeout covers whole
/// (the protection only watches a body's throughput, not the wait for an answer), and the
/// protection's throughput bookkeeping and two timers cost every call.
pub fn client_from_config(config: &SdkConfig) -> Client {
    client_with_attempt_timeout(config, ATTEMPT_TIMEOUT)
}

/// [`client_from_config`] with another attempt timeout (tests use a short one).
pub fn client_with_attempt_timeout(config: &SdkConfig, attempt_timeout: Duration) -> Client {
    let timeouts = config
        .timeout_config()
        .map(TimeoutConfig::to_builder)
        .unwrap_or_default()
        .operation_attempt_timeout(attempt_timeout)
        .build();
    let config = aws_sdk_dynamodb::config::Builder::from(config)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .timeout_config(timeouts)
        .build();
    Client::from_conf(config)
}
