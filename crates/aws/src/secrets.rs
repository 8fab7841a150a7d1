//! Secrets Manager `GetSecretValue` with a short in-memory cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use crate::sdk_error::{classify, transient_variants, Failure};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret {0} not found")]
    NotFound(String),
    /// The secret has no `SecretString` (binary secrets are not used here).
    #[error("secret {0} has no string value")]
    NotText(String),
    /// The secret is not the JSON the caller expects. The value itself is never included.
    #[error("secret {id} is not valid JSON: {reason}")]
    InvalidJson { id: String, reason: String },
    #[error("Secrets Manager throttled the request")]
    Throttled,
    #[error("Secrets Manager unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected Secrets Manager failure: {0}")]
    Unexpected(String),
}

transient_variants!(SecretsError);

fn from_failure(id: &str, failure: Failure) -> SecretsError {
    if failure.code() == Some("ResourceNotFoundException") {
        SecretsError::NotFound(id.to_owned())
    } else {
        SecretsError::from_failure_or(failure, |other| SecretsError::Unexpected(other.describe()))
    }
}

struct Cached {
    value: Arc<str>,
    fetched: Instant,
}

/// Cloning shares the cache.
#[derive(Clone)]
pub struct SecretsClient {
    client: aws_sdk_secretsmanager::Client,
    ttl: Duration,
    cache: Arc<RwLock<HashMap<String, Cached>>>,
}

impl std::fmt::Debug for SecretsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsClient")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsClient {
    /// Five minutes: a rotated secret is picked up soon, and a busy route reads Secrets Manager
    /// about once per five minutes instead of once per request (upstream's behaviour).
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

    pub fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Self::from_client(aws_sdk_secretsmanager::Client::new(sdk_config))
    }

    pub fn from_client(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsClient {
            client,
            ttl: Self::DEFAULT_TTL,
            cache: Arc::default(),
        }
    }

    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The secret's `SecretString` (`secret_id` is a name or an ARN), from the cache when fresh.
    pub async fn get_string(&self, secret_id: &str) -> Result<Arc<str>, SecretsError> {
        if let Some(cached) = self.cache.read().await.get(secret_id) {
            if cached.fetched.elapsed() < self.ttl {
                return Ok(Arc::clone(&cached.value));
            }
        }
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|err| from_failure(secret_id, classify(err)))?;
        let value: Arc<str> = output
            .secret_string()
            .ok_or_else(|| SecretsError::NotText(secret_id.to_owned()))?
            .into();
        self.cache.write().await.insert(
            secret_id.to_owned(),
            Cached {
                value: Arc::clone(&value),
                fetched: Instant::now(),
            },
        );
        Ok(value)
    }

    /// The secret's `SecretString` parsed as JSON.
    pub async fn get_json(&self, secret_id: &str) -> Result<serde_json::Value, SecretsError> {
        let text = self.get_string(secret_id).await?;
        serde_json::from_str(&text).map_err(|err| SecretsError::InvalidJson {
            id: secret_id.to_owned(),
            // Only the position: serde's messages can quote parts of the input.
            reason: format!("line {} column {}", err.line(), err.column()),
        })
    }

    /// Drops a cached value, e.g. after the credentials it holds were rejected.
    pub async fn invalidate(&self, secret_id: &str) {
        self.cache.write().await.remove(secret_id);
    }
}
