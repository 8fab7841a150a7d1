//! The scheduled unverified-user cleanup (docs/contract.md §12.5, fixed): users who never confirmed their
//! e-mail keep their username and e-mail reserved in Cognito and their rows in the channels table,
//! so after a grace period they are removed.
//!
//! 1. Cognito `ListUsers` with `cognito:user_status = "UNCONFIRMED"`, following every page.
//! 2. Users created longer ago than the grace period (`UNVERIFIED_USER_MAX_AGE_HOURS`, 24 h).
//! 3. `AdminDeleteUser` each (a few at a time; an already deleted user counts as deleted).
//! 4. Their channel records: the profile (`id = sub`) and the username marker it owns
//!    (`id = username#<lowercase name>`, `userSub = sub`, see `ugc_dynamo::ChannelsRepo`), or the
//!    freed name could never be registered again. `BatchWriteItem` deletes in chunks of 25, and
//!    unprocessed items are retried with exponential backoff (upstream's retry never ran).
//!
//! Markers are deleted only when they name the user being removed: `BatchWriteItem` has no
//! conditions, so ownership is read first (`BatchGetItem`, consistent reads). Nothing else writes a
//! marker whose owner no longer exists in Cognito, so the read stays true until the delete.
//!
//! The capabilities are two small traits ([`UserPool`], [`ChannelTable`]) so the paging,
//! partial-failure and retry rules are tested without AWS. Their production implementations only
//! delegate: the channels table has one owner, `ugc_dynamo::ChannelsRepo` (its codecs and marker
//! scheme), and Cognito another, `ugc_aws::IdentityClient`.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::Client as CognitoClient;
use aws_sdk_dynamodb::Client as DynamoClient;
use futures_util::StreamExt;
use time::OffsetDateTime;
use ugc_aws::{IdentityClient, IdentityError, UserDeletion};
use ugc_dynamo::{ChannelsRepo, DbError};

use crate::config::{self, ConfigError, Lookup};

pub use ugc_aws::{UnconfirmedPage as UsersPage, UnconfirmedUser};
pub use ugc_dynamo::{ItemOwnership as Row, OwnershipBatch as BatchGot};

/// `BatchWriteItem` takes at most 25 requests.
pub const WRITE_BATCH: usize = ugc_dynamo::channels::BATCH_WRITE_MAX;
/// `BatchGetItem` takes at most 100 keys.
pub const READ_BATCH: usize = ugc_dynamo::channels::BATCH_GET_MAX;
/// Cognito's admin write quota is modest; a few deletions at a time stay well inside it.
const DELETE_CONCURRENCY: usize = 4;

ugc_domain::env_vars! {
    pub mod var;
    CHANNELS_TABLE_NAME: required => "DynamoDB table of channels (the username markers of \
        deleted users are removed).";
    USER_POOL_ID: required => "The Cognito user pool.";
    UNVERIFIED_USER_MAX_AGE_HOURS: "`24`" => "Whole hours a user may stay unconfirmed before \
        the scheduled cleanup deletes it.";
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupConfig {
    /// `CHANNELS_TABLE_NAME`.
    pub channels_table: String,
    /// `USER_POOL_ID`.
    pub user_pool_id: String,
    /// `UNVERIFIED_USER_MAX_AGE_HOURS` (default 24): how long a user may stay unconfirmed.
    pub max_age: Duration,
}

impl CleanupConfig {
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

    pub fn from_env(env: &impl Lookup) -> Result<Self, ConfigError> {
        Ok(Self {
            channels_table: config::required(env, &var::CHANNELS_TABLE_NAME)?,
            user_pool_id: config::required(env, &var::USER_POOL_ID)?,
            max_age: config::hours(
                env,
                &var::UNVERIFIED_USER_MAX_AGE_HOURS,
                Self::DEFAULT_MAX_AGE,
            )?,
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("Cognito request failed: {0}")]
    Cognito(#[source] BoxError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("DynamoDB left {remaining} item(s) unprocessed after {attempts} attempts")]
    Unprocessed { remaining: usize, attempts: u32 },
    #[error("{} user(s) could not be deleted from Cognito: {}", .0.len(), .0.join(", "))]
    UsersNotDeleted(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    Now,
    AlreadyGone,
}

/// The Cognito calls the cleanup needs.
pub trait UserPool: Sync {
    fn list_unconfirmed(
        &self,
        pagination_token: Option<String>,
    ) -> impl Future<Output = Result<UsersPage, CleanupError>> + Send;

    fn delete_user(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Deleted, CleanupError>> + Send;
}

/// The DynamoDB calls the cleanup needs, by item `id`.
pub trait ChannelTable: Sync {
    /// At most [`READ_BATCH`] ids.
    fn batch_get(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<BatchGot, CleanupError>> + Send;

    /// At most [`WRITE_BATCH`] ids; returns the ids DynamoDB left unprocessed.
    fn batch_delete(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<String>, CleanupError>> + Send;
}

/// Retries of unprocessed batch items: `base × 2^attempt`, capped, at most `max_retries` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub max_retries: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(5),
            max_retries: 8,
        }
    }
}

impl Backoff {
    fn delay(&self, retry: u32) -> Duration {
        self.base
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.cap)
    }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Unconfirmed users listed.
    pub unconfirmed: usize,
    /// Of those, users past the grace period.
    pub expired: usize,
    /// Users removed from Cognito (or already gone).
    pub users_deleted: usize,
    /// Channel-table items deleted (profiles and username markers).
    pub records_deleted: usize,
    /// Usernames whose Cognito deletion failed; their rows were kept.
    pub failed_users: Vec<String>,
}

/// One cleanup run. A user whose Cognito deletion fails keeps its rows and is reported in
/// `failed_users` (the next run tries again); a table error fails the run.
pub async fn run(
    pool: &impl UserPool,
    table: &impl ChannelTable,
    now: OffsetDateTime,
    max_age: Duration,
    backoff: Backoff,
) -> Result<CleanupReport, CleanupError> {
    let mut report = CleanupReport::default();
    let cutoff = now - max_age;
    let mut expired = Vec::new();
    let mut token = None;
    loop {
        let page = pool.list_unconfirmed(token.take()).await?;
        report.unconfirmed += page.users.len();
        expired.extend(
            page.users
                .into_iter()
                .filter(|user| user.created_by(cutoff)),
        );
        match page.next_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    report.expired = expired.len();

    let results: Vec<(UnconfirmedUser, Result<Deleted, CleanupError>)> =
        futures_util::stream::iter(expired)
            .map(|user| async move {
                let result = pool.delete_user(&user.username).await;
                (user, result)
            })
            .buffer_unordered(DELETE_CONCURRENCY)
            .collect()
            .await;
    let mut subs = Vec::new();
    for (user, result) in results {
        match result {
            Ok(_) => {
                report.users_deleted += 1;
                match user.sub {
                    Some(sub) => subs.push(sub),
                    None => {
                        tracing::warn!(username = %user.username, "deleted user had no sub; no rows to remove")
                    }
                }
            }
            Err(err) => {
                tracing::error!(username = %user.username, error = %err, "could not delete unconfirmed user");
                report.failed_users.push(user.username);
            }
        }
    }
    report.failed_users.sort();

    let doomed = owned_rows(table, &subs, backoff).await?;
    report.records_deleted = doomed.len();
    for chunk in doomed.chunks(WRITE_BATCH) {
        delete_all(table, chunk.to_vec(), backoff).await?;
    }
    Ok(report)
}

/// The ids to delete for these subs: each existing profile and the username marker it owns.
async fn owned_rows(
    table: &impl ChannelTable,
    subs: &[String],
    backoff: Backoff,
) -> Result<Vec<String>, CleanupError> {
    let profiles = get_all(table, subs, backoff).await?;
    let markers: HashMap<String, String> = profiles
        .iter()
        .filter_map(|row| {
            let name = row.username.as_deref()?;
            Some((marker_id(name), row.id.clone()))
        })
        .collect();
    let marker_ids: Vec<String> = markers.keys().cloned().collect();
    let owned = get_all(table, &marker_ids, backoff)
        .await?
        .into_iter()
        .filter(|marker| {
            markers
                .get(&marker.id)
                .is_some_and(|sub| marker.user_sub.as_ref() == Some(sub))
        })
        .map(|marker| marker.id);
    let mut ids: Vec<String> = profiles
        .into_iter()
        .map(|row| row.id)
        .chain(owned)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The marker item id of a username: the repository's own scheme.
pub use ugc_dynamo::username_marker_id as marker_id;

async fn get_all(
    table: &impl ChannelTable,
    ids: &[String],
    backoff: Backoff,
) -> Result<Vec<Row>, CleanupError> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(READ_BATCH) {
        let mut pending = chunk.to_vec();
        let mut retry = 0;
        while !pending.is_empty() {
            if retry > 0 {
                tokio::time::sleep(backoff.delay(retry - 1)).await;
            }
            let got = table.batch_get(&pending).await?;
            rows.extend(got.rows);
            pending = got.unprocessed;
            retry += 1;
            if !pending.is_empty() && retry > backoff.max_retries {
                return Err(CleanupError::Unprocessed {
                    remaining: pending.len(),
                    attempts: retry,
                });
            }
        }
    }
    Ok(rows)
}

async fn delete_all(
    table: &impl ChannelTable,
    mut pending: Vec<String>,
    backoff: Backoff,
) -> Result<(), CleanupError> {
    let mut retry = 0;
    while !pending.is_empty() {
        if retry > 0 {
            tokio::time::sleep(backoff.delay(retry - 1)).await;
        }
        pending = table.batch_delete(&pending).await?;
        retry += 1;
        if !pending.is_empty() && retry > backoff.max_retries {
            return Err(CleanupError::Unprocessed {
                remaining: pending.len(),
                attempts: retry,
            });
        }
    }
    Ok(())
}

/// [`UserPool`] over [`IdentityClient`].
#[derive(Clone, Debug)]
pub struct CognitoUserPool {
    identity: IdentityClient,
}

impl CognitoUserPool {
    pub fn new(client: CognitoClient, pool_id: impl Into<String>) -> Self {
        Self {
            identity: IdentityClient::for_admin(client, pool_id),
        }
    }
}

fn cognito(err: IdentityError) -> CleanupError {
    CleanupError::Cognito(Box::new(err))
}

impl UserPool for CognitoUserPool {
    async fn list_unconfirmed(
        &self,
        pagination_token: Option<String>,
    ) -> Result<UsersPage, CleanupError> {
        self.identity
            .list_unconfirmed_users(pagination_token)
            .await
            .map_err(cognito)
    }

    async fn delete_user(&self, username: &str) -> Result<Deleted, CleanupError> {
        match self.identity.delete_user(username).await.map_err(cognito)? {
            UserDeletion::Deleted => Ok(Deleted::Now),
            UserDeletion::AlreadyGone => Ok(Deleted::AlreadyGone),
        }
    }
}

/// [`ChannelTable`] over [`ChannelsRepo`].
#[derive(Clone, Debug)]
pub struct DynamoChannelTable {
    repo: ChannelsRepo,
}

impl DynamoChannelTable {
    pub fn new(client: DynamoClient, table: impl Into<String>) -> Self {
        Self {
            repo: ChannelsRepo::new(client, table),
        }
    }
}

impl ChannelTable for DynamoChannelTable {
    async fn batch_get(&self, ids: &[String]) -> Result<BatchGot, CleanupError> {
        Ok(self.repo.batch_get_ownership(ids).await?)
    }

    async fn batch_delete(&self, ids: &[String]) -> Result<Vec<String>, CleanupError> {
        Ok(self.repo.batch_delete(ids).await?)
    }
}
