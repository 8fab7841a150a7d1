//! The stream-health API the SPA's health page polls (docs/contract.md §8, with the deliberate
//! deviations of docs/architecture.md):
//!
//! - `GET /metrics/{channelResourceId}/streamSessions?nextToken=` — the caller's sessions of that
//!   channel, newest first, 50 per page, with a sealed continuation token ([`token`]);
//! - `GET /metrics/{channelResourceId}/streamSessions/{streamSessionId}` — one session: its events,
//!   health, ingest configuration and the four CloudWatch `AWS/IVS` metrics.
//!
//! Both need a Cognito access token; the caller registers `web::Data<ugc_web::Verifier>`.
//!
//! # Error policy
//!
//! | Case | Answer |
//! |---|---|
//! | parameter empty or over 100 characters, malformed channel or stream id | 400 `BadRequestException` |
//! | `nextToken` that does not open (garbage, truncated, tampered, another list's) | 400 `BadRequestException` |
//! | the channel's sessions belong to another user | 404 `UserNotFoundException` |
//! | no such session, another user's session, or one without Session Created | 404 `NotFoundException` |
//! | DynamoDB or CloudWatch throttling | 429 `TooManyRequestsException` + `Retry-After` |
//! | DynamoDB or CloudWatch unavailable | 503 `ServiceUnavailableException` + `Retry-After` |
//! | anything else | 500 `UnexpectedException` |
//!
//! Dependency failures follow the shared policy (`ApiError::from_failure`, `docs/failure-policy.md`).
//! The two 404s never say whether the thing exists for somebody else. IVS `GetStreamSession`
//! failures are logged and the response simply has no `ingestConfiguration` (as upstream).

pub mod config;
pub mod handlers;
pub mod openapi;
mod recent;
pub mod token;

use actix_web::web;
use ugc_aws::{SecretsClient, StreamMetricsClient, VideoClient};
use ugc_dynamo::StreamsRepo;
use ugc_web::routing::resource;

pub use config::{Config, KeySource};
pub use openapi::openapi;
use token::{TokenCipher, TokenKey};

/// Everything the handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub(crate) streams: StreamsRepo,
    pub(crate) stream_metrics: StreamMetricsClient,
    pub(crate) video: VideoClient,
    pub(crate) tokens: std::sync::Arc<TokenCipher>,
    /// Charts fetched in the last few seconds, per window.
    pub(crate) recent: std::sync::Arc<recent::RecentMetrics>,
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) channel_type: String,
}

impl AppState {
    /// Builds the clients from `sdk` (CloudWatch, IVS, Secrets Manager) and `dynamo`; reads the
    /// pagination key from Secrets Manager when configured by ARN.
    pub async fn new(
        config: Config,
        sdk: &aws_config::SdkConfig,
        dynamo: aws_sdk_dynamodb::Client,
    ) -> anyhow::Result<Self> {
        let key = match &config.pagination_key {
            KeySource::Key(key) => key.clone(),
            KeySource::SecretArn(arn) => {
                let value = SecretsClient::new(sdk)
                    .get_string(arn)
                    .await
                    .map_err(|e| anyhow::anyhow!("PAGINATION_TOKEN_KEY_ARN: {e}"))?;
                TokenKey::parse(&value)
                    .map_err(|e| anyhow::anyhow!("PAGINATION_TOKEN_KEY_ARN: the secret: {e}"))?
            }
        };
        let tokens = TokenCipher::new(&key)?;
        Ok(Self {
            streams: StreamsRepo::new(dynamo, config.stream_table_name),
            stream_metrics: StreamMetricsClient::new(sdk),
            video: VideoClient::new(sdk),
            tokens: std::sync::Arc::new(tokens),
            recent: std::sync::Arc::default(),
            region: config.region,
            account_id: config.account_id,
            channel_type: config.channel_type,
        })
    }

    /// Replaces the CloudWatch client (e.g. one with its own endpoint or retry settings).
    pub fn with_stream_metrics(mut self, client: StreamMetricsClient) -> Self {
        self.stream_metrics = client;
        self
    }
}

/// Registers the two routes and the state. The caller registers `web::Data<Verifier>`.
pub fn configure(
    state: web::Data<AppState>,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        // `[^/]*` (not the default `[^/]+`) so an empty id reaches `check_param` and gets upstream's
        // 400 instead of a 404.
        cfg.app_data(state.clone())
            .service(
                resource("/metrics/{channelResourceId:[^/]*}/streamSessions")
                    .route(web::get().to(handlers::list_stream_sessions)),
            )
            .service(
                resource(
                    "/metrics/{channelResourceId:[^/]*}/streamSessions/{streamSessionId:[^/]*}",
                )
                .route(web::get().to(handlers::get_stream_session)),
            );
    }
}
