//! Table and index definitions. The names and key schemas are upstream's (docs/contract.md §3.1/§3.2) so an
//! existing deployment's data keeps working; `liveIndex` is ours (see [`LIVE_INDEX`]). The same
//! definitions create the tables for `make run` and for every test, and the CDK stack mirrors them.

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;

use crate::directory::{mirror_attr, DirectoryMirror, DIRECTORY_PROJECTION};
use crate::error::DbError;

pub const EMAIL_INDEX: &str = "emailIndex";
pub const USERNAME_INDEX: &str = "usernameIndex";
pub const CHANNEL_ARN_INDEX: &str = "channelArnIndex";
pub const CHANNEL_ASSET_ID_INDEX: &str = "channelAssetIdIndex";
pub const START_TIME_INDEX: &str = "startTimeIndex";
pub const IS_OPEN_INDEX: &str = "isOpenIndex";
/// Sparse GSI of the sessions that are live right now: partition `isLive` (always `"true"`, present
/// only while the session is live), sort `startTime`. It answers the directory ("live channels, newest
/// first") with one Query instead of upstream's Scan of `isOpenIndex` on every request. One constant
/// partition is fine at this platform's scale: it holds only the live sessions, and each session writes
/// it a handful of times per broadcast.
pub const LIVE_INDEX: &str = "liveIndex";
pub use crate::directory::DIRECTORY_INDEX;

/// The two table names, as configured (`CHANNELS_TABLE_NAME`, `STREAM_TABLE_NAME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableNames {
    pub channels: String,
    pub streams: String,
}

impl TableNames {
    pub fn new(channels: impl Into<String>, streams: impl Into<String>) -> Self {
        Self {
            channels: channels.into(),
            streams: streams.into(),
        }
    }

    /// `<prefix>Channels` and `<prefix>Streams`: one pair per test run or local data directory.
    pub fn with_prefix(prefix: &str) -> Self {
        Self::new(format!("{prefix}Channels"), format!("{prefix}Streams"))
    }
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, DbError> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()?)
}

fn string_attr(name: &str) -> Result<AttributeDefinition, DbError> {
    Ok(AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()?)
}

fn projection(kind: ProjectionType, include: &[&str]) -> Projection {
    let mut builder = Projection::builder().projection_type(kind);
    for attr in include {
        builder = builder.non_key_attributes(*attr);
    }
    builder.build()
}

fn gsi(
    name: &str,
    keys: &[(&str, KeyType)],
    projection: Projection,
) -> Result<GlobalSecondaryIndex, DbError> {
    let mut builder = GlobalSecondaryIndex::builder()
        .index_name(name)
        .projection(projection);
    for (attr, kind) in keys {
        builder = builder.key_schema(key(attr, kind.clone())?);
    }
    Ok(builder.build()?)
}

/// Creates both tables with their indexes if they do not exist yet and waits until they are active.
/// New tables hold no sessions, so the directory mirror starts complete ([`crate::directory`]).
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), DbError> {
    let new_channels = create_channels_table(client, &names.channels).await?;
    create_streams_table(client, &names.streams).await?;
    wait_active(client, &names.channels).await?;
    wait_active(client, &names.streams).await?;
    if new_channels {
        DirectoryMirror::new(client.clone(), &names.channels)
            .mark_complete()
            .await?;
    }
    Ok(())
}

/// Deletes both tables; a table that does not exist is not an error.
pub async fn delete_tables(client: &Client, names: &TableNames) -> Result<(), DbError> {
    for table in [&names.channels, &names.streams] {
        match client.delete_table().table_name(table).send().await {
            Ok(_) => {}
            Err(err) if err.code() == Some("ResourceNotFoundException") => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// An on-demand table whose key and index attributes are the strings `attributes`.
fn create_table(
    client: &Client,
    table: &str,
    attributes: &[&str],
) -> Result<CreateTableFluentBuilder, DbError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest);
    for name in attributes {
        request = request.attribute_definitions(string_attr(name)?);
    }
    Ok(request)
}

/// Whether the table was created (`false`: it existed).
async fn create_channels_table(client: &Client, table: &str) -> Result<bool, DbError> {
    let all = || projection(ProjectionType::All, &[]);
    let attributes = [
        "id",
        "email",
        "username",
        "channelArn",
        "channelAssetId",
        mirror_attr::IS_LIVE,
        mirror_attr::START_TIME,
    ];
    let request = create_table(client, table, &attributes)?
        .key_schema(key("id", KeyType::Hash)?)
        .global_secondary_indexes(gsi(EMAIL_INDEX, &[("email", KeyType::Hash)], all())?)
        .global_secondary_indexes(gsi(USERNAME_INDEX, &[("username", KeyType::Hash)], all())?)
        .global_secondary_indexes(gsi(
            CHANNEL_ARN_INDEX,
            &[("channelArn", KeyType::Hash)],
            all(),
        )?)
        .global_secondary_indexes(gsi(
            CHANNEL_ASSET_ID_INDEX,
            &[("channelAssetId", KeyType::Hash)],
            projection(ProjectionType::Include, &["channelAssets"]),
        )?)
        .global_secondary_indexes(gsi(
            DIRECTORY_INDEX,
            &[
                (mirror_attr::IS_LIVE, KeyType::Hash),
                (mirror_attr::START_TIME, KeyType::Range),
            ],
            projection(ProjectionType::Include, DIRECTORY_PROJECTION),
        )?);
    ignore_existing(request.send().await)
}

async fn create_streams_table(client: &Client, table: &str) -> Result<(), DbError> {
    let attributes = ["channelArn", "id", "startTime", "isOpen", "isLive"];
    let request = create_table(client, table, &attributes)?
        .key_schema(key("channelArn", KeyType::Hash)?)
        .key_schema(key("id", KeyType::Range)?)
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(START_TIME_INDEX)
                .key_schema(key("channelArn", KeyType::Hash)?)
                .key_schema(key("startTime", KeyType::Range)?)
                .projection(projection(ProjectionType::All, &[]))
                .build()?,
        )
        .global_secondary_indexes(gsi(
            IS_OPEN_INDEX,
            &[("channelArn", KeyType::Hash), ("isOpen", KeyType::Range)],
            projection(
                ProjectionType::Include,
                &["endTime", "truncatedEvents", "channelArn", "startTime"],
            ),
        )?)
        .global_secondary_indexes(gsi(
            LIVE_INDEX,
            &[("isLive", KeyType::Hash), ("startTime", KeyType::Range)],
            projection(ProjectionType::Include, &["userSub"]),
        )?);
    ignore_existing(request.send().await).map(|_| ())
}

/// Whether the table was created: `false` when it already existed.
fn ignore_existing<T, E>(
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
) -> Result<bool, DbError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("ResourceInUseException") => Ok(false),
        Err(err) => Err(err.into()),
    }
}

async fn wait_active(client: &Client, table: &str) -> Result<(), DbError> {
    for _ in 0..300 {
        let described = client.describe_table().table_name(table).send().await?;
        let status = described.table().and_then(|t| t.table_status());
        if status == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(DbError::other(format!(
        "table {table} did not become active"
    )))
}
