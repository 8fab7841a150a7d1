//! The migration's checkpoint: one item in the channels table, `id = "migration#ugc"`, written after
//! every page of profiles. It carries no GSI key attribute and no `username`, so neither the indexes
//! nor the profile scans see it (the same scheme as the username markers).

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::codec::{get_s, s, Item};
use crate::error::DbError;

pub const CHECKPOINT_ID: &str = "migration#ugc";

const RUN_ID: &str = "runId";
const PHASE: &str = "phase";
const LAST_ID: &str = "lastId";
const UPDATED_AT: &str = "updatedAt";
const COMPLETED_AT: &str = "completedAt";
const SUMMARY: &str = "summary";

pub const PHASE_PROFILES: &str = "profiles";
pub const PHASE_COMPLETE: &str = "complete";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub run_id: String,
    pub phase: String,
    /// Last profile page's `LastEvaluatedKey` (`id`): the scan resumes after it.
    pub last_id: Option<String>,
    pub completed_at: Option<String>,
}

pub async fn load(client: &Client, table: &str) -> Result<Option<Checkpoint>, DbError> {
    let out = client
        .get_item()
        .table_name(table)
        .key("id", s(CHECKPOINT_ID))
        .consistent_read(true)
        .send()
        .await?;
    Ok(out.item().map(|item| Checkpoint {
        run_id: get_s(item, RUN_ID).unwrap_or_default().to_owned(),
        phase: get_s(item, PHASE).unwrap_or_default().to_owned(),
        last_id: get_s(item, LAST_ID).map(str::to_owned),
        completed_at: get_s(item, COMPLETED_AT).map(str::to_owned),
    }))
}

pub async fn save(
    client: &Client,
    table: &str,
    checkpoint: &Checkpoint,
    now: &str,
    summary: Option<String>,
) -> Result<(), DbError> {
    let mut item = Item::from([
        ("id".to_owned(), s(CHECKPOINT_ID)),
        (RUN_ID.to_owned(), s(&checkpoint.run_id)),
        (PHASE.to_owned(), s(&checkpoint.phase)),
        (UPDATED_AT.to_owned(), s(now)),
    ]);
    if let Some(last) = &checkpoint.last_id {
        item.insert(LAST_ID.to_owned(), s(last));
    }
    if let Some(done) = &checkpoint.completed_at {
        item.insert(COMPLETED_AT.to_owned(), s(done));
    }
    if let Some(summary) = summary {
        item.insert(SUMMARY.to_owned(), AttributeValue::S(summary));
    }
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await?;
    Ok(())
}
