//! What the migration adds to the streams table's schema (`liveIndex`), how a service finds out it is
//! missing, and the directory's upstream-compatible path while it is.
//!
//! A service started against upstream's tables logs [`NOT_MIGRATED_HINT`] once and answers the
//! directory by a bounded Scan of upstream's own sparse `isOpenIndex` (it holds only the open sessions,
//! at most one per channel), deciding "live" with the session model from the projected events. Nothing
//! answers 500 for a missing index.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate, IndexStatus,
    KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;
use ugc_domain::{parse_iso, ChannelArn, StreamId};

use crate::codec::{get_s, session_attr as a, summary_from_item, Item};
use crate::directory::{mirror_attr, DIRECTORY_INDEX, DIRECTORY_PROJECTION};
use crate::error::DbError;
use crate::streams::LiveSession;
use crate::tables::{IS_OPEN_INDEX, LIVE_INDEX};

/// The command that brings upstream-shaped tables to what this code needs.
pub const MIGRATE_COMMAND: &str = "ugc-admin migrate";

/// The one line a service logs when it runs on tables the migration has not prepared.
pub const NOT_MIGRATED_HINT: &str = "the streams table has no active liveIndex (upstream-shaped \
    data): run `ugc-admin migrate` (`make migrate` locally; the Migrate task definition in AWS). \
    Until then the directory is answered by a bounded scan of isOpenIndex";

/// Pages of `isOpenIndex` the fallback reads at most (1 MB each; upstream read one).
const FALLBACK_MAX_PAGES: usize = 8;

static WARNED: AtomicBool = AtomicBool::new(false);

/// Logs [`NOT_MIGRATED_HINT`] once per process.
pub(crate) fn warn_not_migrated(table: &str) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(table, "{NOT_MIGRATED_HINT}");
    }
}

/// State of `liveIndex` on a streams table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveIndexStatus {
    Active,
    /// Being created or backfilled: it cannot be queried yet.
    Building,
    Missing,
}

pub async fn live_index_status(client: &Client, table: &str) -> Result<LiveIndexStatus, DbError> {
    index_status(client, table, LIVE_INDEX).await
}

/// State of the GSI `index` of `table` (the same three states as `liveIndex`'s).
pub async fn index_status(
    client: &Client,
    table: &str,
    index: &str,
) -> Result<LiveIndexStatus, DbError> {
    let described = client.describe_table().table_name(table).send().await?;
    let index = described
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .find(|gsi| gsi.index_name() == Some(index));
    Ok(match index {
        None => LiveIndexStatus::Missing,
        Some(gsi)
            if gsi.index_status() == Some(&IndexStatus::Active)
                && gsi.backfilling() != Some(true) =>
        {
            LiveIndexStatus::Active
        }
        Some(_) => LiveIndexStatus::Building,
    })
}

/// The start-up check of a service: one warning line when the table is not migrated (and nothing
/// when it is). A failed check is logged and otherwise ignored; the requests find out themselves.
pub async fn check_migrated(client: &Client, table: &str) -> Option<LiveIndexStatus> {
    match live_index_status(client, table).await {
        Ok(LiveIndexStatus::Active) => Some(LiveIndexStatus::Active),
        Ok(status) => {
            warn_not_migrated(table);
            Some(status)
        }
        Err(err) => {
            tracing::warn!(table, error = %err, "could not describe the streams table at start-up");
            None
        }
    }
}

/// Starts creating `liveIndex` (UpdateTable). `false` when it already exists.
pub async fn create_live_index(client: &Client, table: &str) -> Result<bool, DbError> {
    create_index(
        client,
        table,
        LIVE_INDEX,
        (a::IS_LIVE, a::START_TIME),
        &[a::USER_SUB],
    )
    .await
}

/// Starts creating the channels table's `directoryIndex` (crate::directory). `false` when it
/// already exists.
pub async fn create_directory_index(client: &Client, table: &str) -> Result<bool, DbError> {
    create_index(
        client,
        table,
        DIRECTORY_INDEX,
        (mirror_attr::IS_LIVE, mirror_attr::START_TIME),
        DIRECTORY_PROJECTION,
    )
    .await
}

/// Starts creating the GSI `name` on `table` (UpdateTable): string keys (hash, range), an INCLUDE
/// projection of `include`. `false` when it already exists.
async fn create_index(
    client: &Client,
    table: &str,
    name: &str,
    (hash, range): (&str, &str),
    include: &[&str],
) -> Result<bool, DbError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let mut projection = Projection::builder().projection_type(ProjectionType::Include);
    for attribute in include {
        projection = projection.non_key_attributes(*attribute);
    }
    let action = CreateGlobalSecondaryIndexAction::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(projection.build())
        .build()?;
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let result = client
        .update_table()
        .table_name(table)
        .attribute_definitions(attr(hash)?)
        .attribute_definitions(attr(range)?)
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(action).build(),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        // Another run (or a concurrent one) created it already.
        Err(err) if is_existing_index(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

fn is_existing_index<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    let message = err.message().unwrap_or_default();
    matches!(
        err.code(),
        Some("ValidationException" | "ResourceInUseException")
    ) && message.contains("already exists")
}

/// Waits until the table is ACTIVE and its GSI `index` ACTIVE and backfilled, polling every `poll`,
/// for at most `timeout`.
pub async fn wait_index(
    client: &Client,
    table: &str,
    index: &str,
    poll: Duration,
    timeout: Duration,
) -> Result<(), DbError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let described = client.describe_table().table_name(table).send().await?;
        let table_active =
            described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active);
        if table_active && index_status(client, table, index).await? == LiveIndexStatus::Active {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DbError::Unavailable(
                format!("{index} of {table} is not ACTIVE after {timeout:?}").into(),
            ));
        }
        tokio::time::sleep(poll).await;
    }
}

/// True when a Query failed because the index does not exist or is still backfilling.
pub(crate) fn is_index_unavailable<E: ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
) -> bool {
    let message = err.message().unwrap_or_default().to_ascii_lowercase();
    err.code() == Some("ValidationException")
        && (message.contains("specified index") || message.contains("backfilling"))
}

/// The directory without `liveIndex`: a bounded Scan of `isOpenIndex` (projection `channelArn, id,
/// startTime, endTime, truncatedEvents`), live by the session model, newest first, one per channel.
pub(crate) async fn live_directory_from_open_index(
    client: &Client,
    table: &str,
    limit: usize,
) -> Result<Vec<LiveSession>, DbError> {
    warn_not_migrated(table);
    let mut live = Vec::new();
    let mut start_key = None;
    for _ in 0..FALLBACK_MAX_PAGES {
        let out = client
            .scan()
            .table_name(table)
            .index_name(IS_OPEN_INDEX)
            .set_exclusive_start_key(start_key)
            .send()
            .await?;
        live.extend(out.items().iter().filter_map(open_item_live_session));
        start_key = out.last_evaluated_key().cloned();
        if start_key.is_none() {
            break;
        }
    }
    if start_key.is_some() {
        tracing::warn!(
            table,
            pages = FALLBACK_MAX_PAGES,
            "isOpenIndex is larger than the fallback reads; the directory may miss channels until \
             the migration has run"
        );
    }
    live.sort_by(|x, y| {
        y.start_time
            .cmp(&x.start_time)
            .then_with(|| y.stream_id.as_str().cmp(x.stream_id.as_str()))
    });
    let mut seen = std::collections::HashSet::new();
    live.retain(|session| seen.insert(session.channel_arn.clone()));
    live.truncate(limit);
    Ok(live)
}

fn open_item_live_session(item: &Item) -> Option<LiveSession> {
    let summary = summary_from_item(item);
    if !summary.is_live() {
        return None;
    }
    Some(LiveSession {
        channel_arn: ChannelArn::parse(get_s(item, a::CHANNEL_ARN)?).ok()?,
        stream_id: StreamId::parse(get_s(item, a::ID)?).ok()?,
        start_time: get_s(item, a::START_TIME).and_then(parse_iso)?,
        // Not projected into isOpenIndex: the directory finds the owner by channel ARN.
        user_sub: None,
    })
}
