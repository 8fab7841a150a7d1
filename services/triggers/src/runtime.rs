//! What every Lambda binary does at start: JSON logs on stdout (CloudWatch Logs picks them up) and
//! configuration validated before the first event, so a bad value fails the init phase with a
//! message that names the variable.

use crate::config::ConfigError;

/// JSON log lines; the level comes from `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second initialisation (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_current_span(false)
        .with_env_filter(filter)
        .try_init();
}

/// A function's configuration, or why it cannot start (logged, and returned to the runtime).
pub fn load<T>(config: Result<T, ConfigError>) -> Result<T, lambda_runtime::Error> {
    config.map_err(|err| {
        tracing::error!(variable = err.variable, reason = %err.reason, "invalid configuration");
        lambda_runtime::Error::from(format!("invalid configuration: {err}"))
    })
}

/// Runs a Cognito trigger: logging and `config` checked before the first event, then each event's
/// JSON through `handle`; an `Err` goes back to Cognito, which refuses the operation with it.
pub async fn run_trigger<C, F>(
    config: Result<C, ConfigError>,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&C, serde_json::Value) -> Result<serde_json::Value, String>,
{
    init_logging();
    let config = &load(config)?;
    let handle = &handle;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            handle(config, event.payload)
        },
    ))
    .await
}

/// Loads the shared AWS configuration (region, credentials, `AWS_ENDPOINT_URL*`) once per process.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
