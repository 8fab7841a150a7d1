//! event-ingest: receives IVS events pushed by EventBridge (API destination, shared-secret header)
//! and stores them in the stream sessions table; a reconciler ends sessions IVS no longer
//! broadcasts. Live status everywhere (directory, channel page, following list, health page) is
//! derived from what this service stores (docs/architecture.md "Session model", "Production ingest path").
//!
//! **Answer policy.** EventBridge retries 401, 407, 409, 429, 5xx and timeouts and drops every other
//! answer, so the status says whether a retry can help:
//!
//! | Case | Answer |
//! |---|---|
//! | missing or wrong secret | 401 `UnauthorizedException` (nothing read or stored) |
//! | stored / redelivery / kept until its session is known | 200 `stored` / `duplicate` / `pending` |
//! | not JSON, required envelope member missing or mistyped | 400 `BadRequestException` + message |
//! | well-formed but never storable (other source, unknown event, no channel, unknown channel) | 200 `ignored` + log |
//! | body over `MAX_BODY` | 413 `PayloadTooLargeException` |
//! | DynamoDB throttled | 429 `TooManyRequestsException` + `Retry-After` |
//! | DynamoDB / Secrets Manager unavailable, or the delivery over its time budget | 503 `ServiceUnavailableException` + `Retry-After` |
//! | a bug or a missing table | 500 `UnexpectedException` |
//!
//! The 429 / 503 / 500 rows are the shared failure policy (`ApiError::from_failure`,
//! `docs/failure-policy.md`); only the secret and time-budget 503s are this service's own.
//!
//! Storing is idempotent on the event `id` and order-independent; the repository and the domain's
//! session model do that work (no read-modify-write here), so a retried delivery is always safe.
//! Concurrent deliveries of one session are coalesced into one write (`coalesce`); each is
//! answered only once the write holding its event is durable.

pub mod bench_support;
mod coalesce;
pub mod config;
pub mod envelope;
mod error;
mod ingest;
pub mod openapi;
mod reconcile;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::web;
use ugc_aws::secrets::SecretsClient;
use ugc_aws::video::VideoClient;
use ugc_domain::ChannelArn;
use ugc_dynamo::{ChannelsRepo, DbError, DirectoryMirror, StreamsRepo};
use ugc_web::routing::resource;

pub use config::{Config, SecretSource};
pub use ingest::{IngestResponse, IngestStatus};
pub use reconcile::{ReconcileError, ReconcileReport};

/// How long a channel's owner is remembered. A channel ARN belongs to one user for the channel's
/// whole life, so this only bounds memory, not staleness.
const OWNER_TTL: Duration = Duration::from_secs(300);
/// Most owners remembered; the cache is cleared when full (a cheap bound, refilled on demand).
const OWNER_CACHE_CAP: usize = 10_000;

pub struct AppState {
    config: Config,
    channels: ChannelsRepo,
    streams: StreamsRepo,
    /// The directory mirror, repaired (and backfilled) by the reconciler.
    directory: DirectoryMirror,
    sessions: coalesce::Coalescer,
    video: VideoClient,
    secrets: SecretsClient,
    owners: Mutex<HashMap<String, (String, Instant)>>,
    reconciler: reconcile::Tracker,
}

impl AppState {
    /// Builds the clients. With `INGEST_SECRET_ARN` the secret is fetched once now to warm the
    /// cache; a failure is logged, not fatal (deliveries answer 503 until it can be read).
    pub async fn new(
        config: Config,
        sdk: &aws_config::SdkConfig,
        dynamo: aws_sdk_dynamodb::Client,
    ) -> anyhow::Result<Self> {
        // Upstream's tables before `ugc-admin migrate`: one warning line; the reconciler degrades.
        ugc_dynamo::migrate::check_migrated(&dynamo, &config.streams_table).await;
        // Session writes keep the directory's mirror of live heads current (ugc_dynamo::directory).
        let directory = DirectoryMirror::new(dynamo.clone(), config.channels_table.clone());
        let streams = StreamsRepo::new(dynamo.clone(), config.streams_table.clone())
            .with_directory(directory.clone());
        let state = Self {
            channels: ChannelsRepo::new(dynamo, config.channels_table.clone()),
            sessions: coalesce::Coalescer::new(streams.clone()),
            streams,
            directory,
            video: VideoClient::new(sdk),
            secrets: SecretsClient::new(sdk),
            owners: Mutex::default(),
            reconciler: reconcile::Tracker::default(),
            config,
        };
        if let SecretSource::SecretsManager(id) = &state.config.secret {
            if let Err(err) = state.secrets.get_string(id).await {
                tracing::warn!(secret_id = %id, error = %err, "cannot read the ingest secret yet");
            }
        }
        Ok(state)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn streams(&self) -> &StreamsRepo {
        &self.streams
    }

    /// The directory mirror this service keeps (`ugc_dynamo::directory`).
    pub fn directory(&self) -> &DirectoryMirror {
        &self.directory
    }

    /// The channel owner's sub, from the channels table (`channelArnIndex`), cached.
    async fn owner_of(&self, channel_arn: &ChannelArn) -> Result<Option<String>, DbError> {
        if let Some((sub, at)) = lock(&self.owners).get(channel_arn.as_str()) {
            if at.elapsed() < OWNER_TTL {
                return Ok(Some(sub.clone()));
            }
        }
        let Some(record) = self.channels.get_by_channel_arn(channel_arn).await? else {
            return Ok(None);
        };
        let mut owners = lock(&self.owners);
        if owners.len() >= OWNER_CACHE_CAP {
            owners.clear();
        }
        owners.insert(
            channel_arn.as_str().to_owned(),
            (record.id.clone(), Instant::now()),
        );
        Ok(Some(record.id))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers `POST /streamEvents` and `POST /` (`GET /status` comes with
/// [`ugc_web::Application`]).
pub fn configure(
    state: web::Data<AppState>,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let docs = ugc_web::ApiDocs::new(&openapi::openapi()).configure();
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .service(resource("/streamEvents").route(web::post().to(ingest::post_stream_events)))
            .service(resource("/").route(web::post().to(ingest::post_root)))
            .configure(docs.clone());
    }
}

/// Runs the reconciler every `RECONCILE_INTERVAL` until the runtime stops (returns at once when
/// it is disabled). Several instances may run it: ending a session is idempotent.
pub fn spawn_reconciler(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(period) = state.config.reconcile_interval else {
            tracing::info!("reconciler disabled (RECONCILE_INTERVAL)");
            return;
        };
        tracing::info!(
            interval_s = period.as_secs_f64(),
            grace_s = state.config.reconcile_grace.as_secs_f64(),
            "reconciler started"
        );
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match state.reconcile_once().await {
                Ok(report) => tracing::debug!(?report, "reconciled live sessions with IVS"),
                Err(err) => tracing::warn!(error = %err, "reconciliation skipped"),
            }
        }
    })
}
