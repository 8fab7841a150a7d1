//! The channels table: one profile item per user, keyed by Cognito `sub`, plus one username marker
//! item per taken name (see [`ChannelsRepo::create_profile`]).
//!
//! Every write that can race is a single conditional operation or a transaction with conditions;
//! the few read-then-write operations (unfollow, rename, asset versions) write with a condition on what
//! they read and retry when it changed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use ugc_domain::{
    AssetType, Avatar, ChannelArn, ChannelResourceId, ChatRoomArn, Color, Email, Username,
};

use crate::codec::{
    attr, compare_sequencers, get_map, get_s, n, s, ChannelAsset, ChannelRecord, Item,
    PublicProfile, PUBLIC_PROFILE_ATTRIBUTES,
};
use crate::error::{transaction_failure, DbError, TxFailure};
use crate::table::{batch_keys, first_item, project_query, Table};
use crate::tables::{CHANNEL_ARN_INDEX, CHANNEL_ASSET_ID_INDEX, EMAIL_INDEX, USERNAME_INDEX};

/// How often an operation re-reads and retries after losing an optimistic race before giving up.
const MAX_ATTEMPTS: u32 = 12;

/// The profile written on registration.
#[derive(Clone, Debug)]
pub struct NewProfile {
    pub sub: String,
    pub username: Username,
    pub email: Email,
    pub avatar: Avatar,
    pub color: Color,
}

/// The IVS and chat resources recorded when first-login provisioning completes.
#[derive(Clone, Debug)]
pub struct ChannelResources {
    pub channel_arn: ChannelArn,
    pub chat_room_arn: ChatRoomArn,
    pub ingest_endpoint: String,
    pub playback_url: String,
    pub stream_key_arn: String,
    pub stream_key_value: String,
    pub tracking_id: String,
    pub channel_asset_id: String,
}

/// Outcome of [`ChannelsRepo::claim_provisioning`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisioningClaim {
    /// This caller holds the claim and must create the resources, then complete or release it.
    Claimed,
    /// The user already has a channel; nothing to create.
    AlreadyProvisioned,
    /// Another request holds an unexpired claim; it is creating the resources now.
    InProgress,
}

/// The name preferences a user can set (docs/architecture.md: only `color`, `avatar`, `banner`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferenceNames {
    pub color: Option<Color>,
    pub avatar: Option<Avatar>,
    pub banner: Option<String>,
}

/// Outcome of an asset write that is ordered by upload time or S3 sequencer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetWrite {
    Applied,
    /// The stored entry is newer (or the same); it stays and nothing was written.
    Stale,
}

/// Outcome of [`ChannelsRepo::record_asset_version`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetVersionOutcome {
    Applied,
    /// The stored version is the same or newer (S3 delivers out of order and more than once).
    Stale,
    /// No user has this `channelAssetId` (the account was deleted).
    UnknownAsset,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowOutcome {
    Followed,
    AlreadyFollowing,
}

#[derive(Clone, Debug)]
pub struct ChannelsRepo {
    table: Table,
}

/// Username markers share the table with profiles: `id = "username#<lowercase name>"`, `userSub =
/// <owner>`. DynamoDB has no case-insensitive unique index, so uniqueness is an item per folded name,
/// written with `attribute_not_exists(id)` in the same transaction as the profile put or rename (and
/// deleted with the profile). Markers carry none of the GSI key attributes, so the indexes never see
/// them, and no code path scans the table.
/// The marker id of a username, folded the way `Username::lowercase` folds it (the cleanup Lambda
/// frees markers with it too).
pub fn username_marker_id(username: &str) -> String {
    format!("username#{}", username.to_ascii_lowercase())
}

/// Most keys one `BatchGetItem` takes.
pub const BATCH_GET_MAX: usize = 100;
/// Most requests one `BatchWriteItem` takes.
pub const BATCH_WRITE_MAX: usize = 25;

/// Who an item of the channels table belongs to: a profile names its `username`, a username marker
/// its owner's sub (`userSub`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemOwnership {
    pub id: String,
    /// On a profile: its username.
    pub username: Option<String>,
    /// On a username marker: the sub that owns the name.
    pub user_sub: Option<String>,
}

/// What a batch read found; DynamoDB may leave some keys for a later call (`UnprocessedKeys`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnershipBatch {
    pub rows: Vec<ItemOwnership>,
    /// Ids DynamoDB did not read this time; ask again after a backoff.
    pub unprocessed: Vec<String>,
}

/// One `BatchWriteItem` delete request per key.
pub(crate) fn delete_requests(
    keys: impl IntoIterator<Item = Item>,
) -> Result<Vec<WriteRequest>, DbError> {
    keys.into_iter()
        .map(|key| {
            let delete = DeleteRequest::builder().set_key(Some(key)).build()?;
            Ok(WriteRequest::builder().delete_request(delete).build())
        })
        .collect()
}

/// Transactions that kept colliding with concurrent writers: worth retrying later.
fn contention() -> DbError {
    DbError::Unavailable("transaction kept conflicting with concurrent writes".into())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A short pause before retrying a transaction that collided with another one.
pub(crate) async fn conflict_backoff(attempt: u32) {
    let base = 10u64.saturating_mul(1u64 << attempt.min(4));
    // Full jitter from the clock's low bits: writers that collided once should not collide again.
    let jitter = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_micros()) % base)
        .unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(base / 2 + jitter)).await;
}

/// Splits an UpdateItem result into success, "condition failed" (with the item as it was, when the
/// request asked for it) and other errors.
pub(crate) enum Conditional<T> {
    Done(T),
    Failed(Option<Item>),
}

pub(crate) fn conditional_update(
    result: Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>>,
) -> Result<Conditional<UpdateItemOutput>, DbError> {
    match result {
        Ok(out) => Ok(Conditional::Done(out)),
        Err(err) => {
            if let SdkError::ServiceError(ctx) = &err {
                if let UpdateItemError::ConditionalCheckFailedException(e) = ctx.err() {
                    return Ok(Conditional::Failed(e.item().cloned()));
                }
            }
            Err(err.into())
        }
    }
}

/// Sends a conditional update whose refused condition means there is nothing to do.
pub(crate) async fn update_if(request: UpdateItemFluentBuilder) -> Result<(), DbError> {
    conditional_update(request.send().await).map(|_| ())
}

impl ChannelsRepo {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    pub(crate) fn table_ref(&self) -> &Table {
        &self.table
    }

    pub fn table(&self) -> &str {
        &self.table.name
    }

    pub(crate) fn key(sub: &str) -> Item {
        Item::from([(attr::ID.to_owned(), s(sub))])
    }

    fn marker_put(&self, lowercase: &str, sub: &str) -> Result<TransactWriteItem, DbError> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table.name)
                    .item(attr::ID, s(username_marker_id(lowercase)))
                    .item(attr::USER_SUB, s(sub))
                    .condition_expression("attribute_not_exists(id) OR userSub = :sub")
                    .expression_attribute_values(":sub", s(sub))
                    .build()?,
            )
            .build())
    }

    fn marker_delete(&self, lowercase: &str, sub: &str) -> Result<TransactWriteItem, DbError> {
        Ok(TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(&self.table.name)
                    .set_key(Some(Self::key(&username_marker_id(lowercase))))
                    .condition_expression("attribute_not_exists(id) OR userSub = :sub")
                    .expression_attribute_values(":sub", s(sub))
                    .build()?,
            )
            .build())
    }

    /// Registration: writes `{id, username, email, avatar, color}` and claims the username for every
    /// casing. `ConditionFailed` when the sub already has a profile or the name (any case) is taken.
    pub async fn create_profile(&self, profile: &NewProfile) -> Result<(), DbError> {
        let put_profile = TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table.name)
                    .item(attr::ID, s(&profile.sub))
                    .item(attr::USERNAME, s(profile.username.as_str()))
                    .item(attr::EMAIL, s(profile.email.as_str()))
                    .item(attr::AVATAR, s(profile.avatar.as_str()))
                    .item(attr::COLOR, s(profile.color.as_str()))
                    .condition_expression("attribute_not_exists(id)")
                    .build()?,
            )
            .build();
        let claim_name = TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table.name)
                    .item(
                        attr::ID,
                        s(username_marker_id(&profile.username.lowercase())),
                    )
                    .item(attr::USER_SUB, s(&profile.sub))
                    .condition_expression("attribute_not_exists(id)")
                    .build()?,
            )
            .build();
        let mut attempt = 0;
        loop {
            let result = self
                .table
                .client
                .transact_write_items()
                .transact_items(put_profile.clone())
                .transact_items(claim_name.clone())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(err) => match transaction_failure(err) {
                    TxFailure::Condition(_) => return Err(DbError::ConditionFailed),
                    TxFailure::Conflict if attempt < MAX_ATTEMPTS => {
                        conflict_backoff(attempt).await;
                        attempt += 1;
                    }
                    TxFailure::Conflict => return Err(contention()),
                    TxFailure::Db(err) => return Err(err),
                },
            }
        }
    }

    /// The caller's own profile, read strongly consistent (it may have just changed it).
    pub async fn get(&self, sub: &str) -> Result<Option<ChannelRecord>, DbError> {
        let out = self.table.get(Self::key(sub)).send().await?;
        out.item().map(ChannelRecord::from_item).transpose()
    }

    /// Two profiles (strongly consistent) in one BatchGetItem: a page or chat token for a signed-in
    /// viewer needs the owner's and the viewer's, and one call costs less than two (one request to
    /// sign, send and parse; one DynamoDB request). `None` for a sub without a profile.
    pub async fn get_two(
        &self,
        first: &str,
        second: &str,
    ) -> Result<(Option<ChannelRecord>, Option<ChannelRecord>), DbError> {
        let records = self
            .get_many(&[first.to_owned(), second.to_owned()])
            .await?;
        let find = |sub: &str| records.iter().find(|r| r.id == sub).cloned();
        Ok((find(first), find(second)))
    }

    /// Profiles by sub in `BatchGetItem`s of up to [`BATCH_GET_MAX`] keys (retrying unprocessed
    /// keys): one call for fifty profiles instead of fifty `GetItem`s, strongly consistent, for
    /// reads that must see every acknowledged write (ban lists, see [`crate::batch`]). Subs
    /// without a profile are simply absent; the order of the result is not the order of `subs`.
    pub async fn get_many(&self, subs: &[String]) -> Result<Vec<ChannelRecord>, DbError> {
        self.batch_read(subs, true, None)
            .await?
            .iter()
            .map(ChannelRecord::from_item)
            .collect()
    }

    /// The public part of profiles by sub, as [`ChannelsRepo::get_many`] but eventually
    /// consistent and projected to [`PublicProfile`]'s attributes (the live directory).
    pub async fn get_many_public(&self, subs: &[String]) -> Result<Vec<PublicProfile>, DbError> {
        self.batch_read(subs, false, Some(PUBLIC_PROFILE_ATTRIBUTES))
            .await?
            .iter()
            .map(PublicProfile::from_item)
            .collect()
    }

    async fn batch_read(
        &self,
        subs: &[String],
        consistent: bool,
        attributes: Option<&[&str]>,
    ) -> Result<Vec<Item>, DbError> {
        let mut unique: Vec<&String> = subs.iter().collect();
        unique.sort();
        unique.dedup();
        let mut items = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_GET_MAX) {
            let mut keys = Some(batch_keys(
                chunk.iter().map(|sub| Self::key(sub)).collect(),
                consistent,
                attributes,
            )?);
            for attempt in 0..MAX_ATTEMPTS {
                let Some(pending) = keys.take() else {
                    break;
                };
                let (found, unread) = self.table.batch_get(pending).await?;
                items.extend(found);
                keys = unread;
                if keys.is_some() {
                    conflict_backoff(attempt.min(4)).await;
                }
            }
            if keys.is_some() {
                return Err(DbError::Throttled);
            }
        }
        Ok(items)
    }

    /// The query of the items whose `attribute` (the hash key of `index`) is `value`.
    fn by_index(&self, index: &str, attribute: &str, value: &str) -> QueryFluentBuilder {
        self.table.partition(index, attribute, value)
    }

    async fn get_by_index(
        &self,
        index: &str,
        attribute: &str,
        value: &str,
    ) -> Result<Option<ChannelRecord>, DbError> {
        first_item(self.by_index(index, attribute, value))
            .await?
            .as_ref()
            .map(ChannelRecord::from_item)
            .transpose()
    }

    /// The public part of the profile holding exactly (case-sensitive) `username`, through
    /// `usernameIndex` and projected to [`PublicProfile`]'s attributes (the channel page).
    pub async fn public_by_username(
        &self,
        username: &str,
    ) -> Result<Option<PublicProfile>, DbError> {
        let query = self.by_index(USERNAME_INDEX, attr::USERNAME, username);
        first_item(project_query(query, PUBLIC_PROFILE_ATTRIBUTES))
            .await?
            .as_ref()
            .map(PublicProfile::from_item)
            .transpose()
    }

    /// Exact (case-sensitive) username lookup through `usernameIndex`.
    pub async fn get_by_username(&self, username: &str) -> Result<Option<ChannelRecord>, DbError> {
        self.get_by_index(USERNAME_INDEX, attr::USERNAME, username)
            .await
    }

    pub async fn get_by_email(&self, email: &str) -> Result<Option<ChannelRecord>, DbError> {
        self.get_by_index(EMAIL_INDEX, attr::EMAIL, email).await
    }

    pub async fn get_by_channel_arn(
        &self,
        channel_arn: &ChannelArn,
    ) -> Result<Option<ChannelRecord>, DbError> {
        self.get_by_index(CHANNEL_ARN_INDEX, attr::CHANNEL_ARN, channel_arn.as_str())
            .await
    }

    /// The sub that holds this name in any casing, from its marker (strongly consistent).
    pub async fn username_owner(&self, username: &Username) -> Result<Option<String>, DbError> {
        let out = self
            .table
            .get(Self::key(&username_marker_id(&username.lowercase())))
            .send()
            .await?;
        Ok(out
            .item()
            .and_then(|item| get_s(item, attr::USER_SUB))
            .map(str::to_owned))
    }

    /// Renames the user. One transaction: the profile's `username` (conditional on the name we read),
    /// the new marker (`attribute_not_exists` unless it is already ours) and the removal of the old
    /// marker. `NotFound` without a profile; `ConditionFailed` when another user holds the name in any
    /// casing. A change of case only keeps the same marker.
    pub async fn rename(&self, sub: &str, new_username: &Username) -> Result<(), DbError> {
        let mut attempt = 0;
        loop {
            let current = self.get(sub).await?.ok_or(DbError::NotFound)?;
            if current.username == new_username.as_str() {
                return Ok(());
            }
            let old_lower = current.username.to_ascii_lowercase();
            let new_lower = new_username.lowercase();
            let update_profile = TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table.name)
                        .key(attr::ID, s(sub))
                        .update_expression("SET username = :new")
                        .condition_expression("username = :old")
                        .expression_attribute_values(":new", s(new_username.as_str()))
                        .expression_attribute_values(":old", s(&current.username))
                        .build()?,
                )
                .build();
            let mut request = self
                .table
                .client
                .transact_write_items()
                .transact_items(update_profile)
                .transact_items(self.marker_put(&new_lower, sub)?);
            if old_lower != new_lower {
                request = request.transact_items(self.marker_delete(&old_lower, sub)?);
            }
            match request.send().await {
                Ok(_) => return Ok(()),
                Err(err) => match transaction_failure(err) {
                    // The profile changed since we read it: read again.
                    TxFailure::Condition(0) | TxFailure::Conflict if attempt < MAX_ATTEMPTS => {
                        conflict_backoff(attempt).await;
                        attempt += 1;
                    }
                    TxFailure::Condition(1) => return Err(DbError::ConditionFailed),
                    TxFailure::Condition(_) => {
                        return Err(DbError::other(format!(
                            "the marker of {sub}'s current username belongs to another user"
                        )))
                    }
                    TxFailure::Conflict => return Err(contention()),
                    TxFailure::Db(err) => return Err(err),
                },
            }
        }
    }

    /// First-login provisioning, step 1. Sets a claim token (valid for `lease`) only when the user has
    /// a profile, no channel and no unexpired claim, so two concurrent first logins create one IVS
    /// channel: the winner creates the resources and calls [`Self::complete_provisioning`] (or
    /// [`Self::release_provisioning`] on failure); the loser answers from `InProgress`. The lease
    /// bounds how long a crashed winner blocks the user. `NotFound` without a profile.
    pub async fn claim_provisioning(
        &self,
        sub: &str,
        token: &str,
        lease: Duration,
    ) -> Result<ProvisioningClaim, DbError> {
        let now = now_ms();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let result = self
            .table
            .update(Self::key(sub))
            .update_expression("SET provisioningToken = :t, provisioningExpiresAt = :exp")
            .condition_expression(
                "attribute_exists(id) AND attribute_not_exists(channelArn) AND \
                 (attribute_not_exists(provisioningToken) OR provisioningExpiresAt < :now)",
            )
            .expression_attribute_values(":t", s(token))
            .expression_attribute_values(":exp", n(now.saturating_add(lease_ms)))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match conditional_update(result)? {
            Conditional::Done(_) => Ok(ProvisioningClaim::Claimed),
            Conditional::Failed(None) => Err(DbError::NotFound),
            Conditional::Failed(Some(old)) if old.contains_key(attr::CHANNEL_ARN) => {
                Ok(ProvisioningClaim::AlreadyProvisioned)
            }
            Conditional::Failed(Some(_)) => Ok(ProvisioningClaim::InProgress),
        }
    }

    /// First-login provisioning, step 2: records the resources and drops the claim, only while
    /// `token` still holds it. `ConditionFailed` means the claim was lost (lease expired and another
    /// request took over): the caller must delete the resources it created.
    pub async fn complete_provisioning(
        &self,
        sub: &str,
        token: &str,
        resources: &ChannelResources,
    ) -> Result<(), DbError> {
        let result = self
            .table
            .update(Self::key(sub))
            .update_expression(
                "SET channelArn = :arn, chatRoomArn = :room, ingestEndpoint = :ingest, \
                 playbackUrl = :playback, streamKeyArn = :keyArn, streamKeyValue = :keyValue, \
                 trackingId = :tracking, channelAssetId = :assetId, \
                 channelAssets = if_not_exists(channelAssets, :emptyMap) \
                 REMOVE provisioningToken, provisioningExpiresAt",
            )
            .condition_expression("provisioningToken = :t AND attribute_not_exists(channelArn)")
            .expression_attribute_values(":arn", s(resources.channel_arn.as_str()))
            .expression_attribute_values(":room", s(resources.chat_room_arn.as_str()))
            .expression_attribute_values(":ingest", s(&resources.ingest_endpoint))
            .expression_attribute_values(":playback", s(&resources.playback_url))
            .expression_attribute_values(":keyArn", s(&resources.stream_key_arn))
            .expression_attribute_values(":keyValue", s(&resources.stream_key_value))
            .expression_attribute_values(":tracking", s(&resources.tracking_id))
            .expression_attribute_values(":assetId", s(&resources.channel_asset_id))
            .expression_attribute_values(":emptyMap", AttributeValue::M(Item::new()))
            .expression_attribute_values(":t", s(token))
            .send()
            .await;
        match conditional_update(result)? {
            Conditional::Done(_) => Ok(()),
            Conditional::Failed(_) => Err(DbError::ConditionFailed),
        }
    }

    /// Drops a claim after a failed provisioning attempt so the next login can retry at once. A claim
    /// that is no longer ours is left alone.
    pub async fn release_provisioning(&self, sub: &str, token: &str) -> Result<(), DbError> {
        // A claim that is no longer ours (a refused condition) is left alone.
        update_if(
            self.table
                .update(Self::key(sub))
                .update_expression("REMOVE provisioningToken, provisioningExpiresAt")
                .condition_expression("provisioningToken = :t")
                .expression_attribute_values(":t", s(token)),
        )
        .await
    }

    /// Single update of an existing profile; a missing profile is `NotFound`.
    async fn update_existing(
        &self,
        sub: &str,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), DbError> {
        let mut request = self
            .table
            .update(Self::key(sub))
            .update_expression(expression)
            .condition_expression("attribute_exists(id)");
        for (placeholder, value) in values {
            request = request.expression_attribute_values(placeholder, value);
        }
        match conditional_update(request.send().await)? {
            Conditional::Done(_) => Ok(()),
            Conditional::Failed(_) => Err(DbError::NotFound),
        }
    }

    pub async fn update_stream_key(
        &self,
        sub: &str,
        stream_key_arn: &str,
        stream_key_value: &str,
    ) -> Result<(), DbError> {
        self.update_existing(
            sub,
            "SET streamKeyArn = :arn, streamKeyValue = :value",
            vec![(":arn", s(stream_key_arn)), (":value", s(stream_key_value))],
        )
        .await
    }

    /// Sets the given name preferences in one update. Nothing to set is a no-op.
    pub async fn update_preferences(
        &self,
        sub: &str,
        names: &PreferenceNames,
    ) -> Result<(), DbError> {
        let mut sets = Vec::new();
        let mut values = Vec::new();
        if let Some(color) = names.color {
            sets.push("color = :color");
            values.push((":color", s(color.as_str())));
        }
        if let Some(avatar) = names.avatar {
            sets.push("avatar = :avatar");
            values.push((":avatar", s(avatar.as_str())));
        }
        if let Some(banner) = &names.banner {
            sets.push("banner = :banner");
            values.push((":banner", s(banner)));
        }
        if sets.is_empty() {
            return Ok(());
        }
        self.update_existing(sub, &format!("SET {}", sets.join(", ")), values)
            .await
    }

    /// Records an uploaded asset's preview url (and, for `avatar`, the top-level name, e.g.
    /// `custom`), ordered by upload time: when the stored entry's `lastModified` is the same or newer,
    /// nothing changes and the result is `Stale` (upstream answered 500). The entry's S3 `sequencer`
    /// is kept. `NotFound` without a profile.
    pub async fn set_asset_url(
        &self,
        sub: &str,
        asset: AssetType,
        url: &str,
        last_modified_ms: i64,
        name: Option<&str>,
    ) -> Result<AssetWrite, DbError> {
        for _ in 0..4 {
            let mut expression = "SET #assets.#k.#url = :url, #assets.#k.#lm = :lm".to_owned();
            let mut request = self
                .table
                .update(Self::key(sub))
                .condition_expression(
                    "attribute_exists(#assets.#k) AND \
                     (attribute_not_exists(#assets.#k.#lm) OR #assets.#k.#lm < :lm)",
                )
                .expression_attribute_names("#assets", attr::CHANNEL_ASSETS)
                .expression_attribute_names("#k", asset.as_str())
                .expression_attribute_names("#url", attr::URL)
                .expression_attribute_names("#lm", attr::LAST_MODIFIED)
                .expression_attribute_values(":url", s(url))
                .expression_attribute_values(":lm", n(last_modified_ms))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            if let Some(name) = name {
                expression.push_str(", #k = :name");
                request = request.expression_attribute_values(":name", s(name));
            }
            let old = match conditional_update(request.update_expression(expression).send().await)?
            {
                Conditional::Done(_) => return Ok(AssetWrite::Applied),
                Conditional::Failed(None) => return Err(DbError::NotFound),
                Conditional::Failed(Some(old)) => old,
            };
            let assets = get_map(&old, attr::CHANNEL_ASSETS);
            match assets.and_then(|a| a.get(asset.as_str())) {
                Some(AttributeValue::M(_)) => return Ok(AssetWrite::Stale),
                Some(_) => {
                    return Err(DbError::other(format!(
                        "channelAssets.{} of {sub} is not a map",
                        asset.as_str()
                    )))
                }
                None => {}
            }
            // The entry (or the whole map, on rows written before assets existed) is missing: create
            // it empty, idempotently, then retry the ordered write.
            let init = if assets.is_none() {
                self.table
                    .update(Self::key(sub))
                    .update_expression("SET #assets = if_not_exists(#assets, :empty)")
                    .condition_expression("attribute_exists(id)")
                    .expression_attribute_names("#assets", attr::CHANNEL_ASSETS)
                    .expression_attribute_values(":empty", AttributeValue::M(Item::new()))
            } else {
                self.set_asset_entry(
                    sub,
                    asset,
                    "SET #assets.#k = if_not_exists(#assets.#k, :empty)",
                )
            };
            match conditional_update(init.send().await)? {
                Conditional::Done(_) => {}
                Conditional::Failed(_) if assets.is_none() => return Err(DbError::NotFound),
                Conditional::Failed(_) => {}
            }
        }
        Err(DbError::other(format!(
            "channelAssets.{} of {sub} kept changing",
            asset.as_str()
        )))
    }

    /// An update of the user's `channelAssets` entry `#k` (= `asset`) by `expression`, which may
    /// use `:empty` (`{}`), on a user whose `channelAssets` map exists.
    fn set_asset_entry(
        &self,
        sub: &str,
        asset: AssetType,
        expression: &str,
    ) -> UpdateItemFluentBuilder {
        self.table
            .update(Self::key(sub))
            .update_expression(expression)
            .condition_expression("attribute_exists(#assets)")
            .expression_attribute_names("#assets", attr::CHANNEL_ASSETS)
            .expression_attribute_names("#k", asset.as_str())
            .expression_attribute_values(":empty", AttributeValue::M(Item::new()))
    }

    /// Resets an asset entry to `{}` after its object was deleted. A user without assets is fine;
    /// `NotFound` without a profile.
    pub async fn clear_asset(&self, sub: &str, asset: AssetType) -> Result<(), DbError> {
        let result = self
            .set_asset_entry(sub, asset, "SET #assets.#k = :empty")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match conditional_update(result)? {
            Conditional::Done(_) | Conditional::Failed(Some(_)) => Ok(()),
            Conditional::Failed(None) => Err(DbError::NotFound),
        }
    }

    /// The S3 trigger: records the CDN url of a new object version unless a newer one (by S3
    /// sequencer, compared as numbers) is already stored. Compare-and-set on the sequencer read, so
    /// concurrent deliveries keep the newest.
    pub async fn record_asset_version(
        &self,
        channel_asset_id: &str,
        asset: AssetType,
        url: &str,
        sequencer: &str,
    ) -> Result<AssetVersionOutcome, DbError> {
        let out = self
            .table
            .query()
            .index_name(CHANNEL_ASSET_ID_INDEX)
            .key_condition_expression("channelAssetId = :id")
            .expression_attribute_values(":id", s(channel_asset_id))
            .limit(1)
            .send()
            .await?;
        let Some(sub) = out
            .items()
            .first()
            .and_then(|item| get_s(item, attr::ID))
            .map(str::to_owned)
        else {
            return Ok(AssetVersionOutcome::UnknownAsset);
        };
        let entry = ChannelAsset {
            url: Some(url.to_owned()),
            sequencer: Some(sequencer.to_owned()),
            last_modified: Some(now_ms()),
        };
        for attempt in 0..MAX_ATTEMPTS {
            let current = self
                .table
                .get(Self::key(&sub))
                .projection_expression("id, channelAssets")
                .send()
                .await?;
            let Some(item) = current.item() else {
                return Ok(AssetVersionOutcome::UnknownAsset);
            };
            let assets = get_map(item, attr::CHANNEL_ASSETS);
            let previous = assets
                .and_then(|a| get_map(a, asset.as_str()))
                .and_then(|entry| get_s(entry, attr::SEQUENCER))
                .filter(|seq| !seq.is_empty());
            if previous.is_some_and(|prev| compare_sequencers(prev, sequencer).is_ge()) {
                return Ok(AssetVersionOutcome::Stale);
            }
            let request = self
                .table
                .update(Self::key(&sub))
                .expression_attribute_names("#assets", attr::CHANNEL_ASSETS);
            let request = match (assets, previous) {
                (None, _) => request
                    .update_expression("SET #assets = :assets")
                    .condition_expression("attribute_exists(id) AND attribute_not_exists(#assets)")
                    .expression_attribute_values(
                        ":assets",
                        AttributeValue::M(Item::from([(
                            asset.as_str().to_owned(),
                            entry.to_attribute(),
                        )])),
                    ),
                (Some(_), previous) => {
                    let request = request
                        .update_expression("SET #assets.#k = :entry")
                        .expression_attribute_names("#k", asset.as_str())
                        .expression_attribute_values(":entry", entry.to_attribute());
                    match previous {
                        Some(prev) => request
                            .condition_expression("#assets.#k.#seq = :prev")
                            .expression_attribute_names("#seq", attr::SEQUENCER)
                            .expression_attribute_values(":prev", s(prev)),
                        None => request
                            .condition_expression(
                                "attribute_exists(#assets) AND attribute_not_exists(#assets.#k.#seq)",
                            )
                            .expression_attribute_names("#seq", attr::SEQUENCER),
                    }
                }
            };
            match conditional_update(request.send().await)? {
                Conditional::Done(_) => return Ok(AssetVersionOutcome::Applied),
                Conditional::Failed(_) => conflict_backoff(attempt).await,
            }
        }
        Err(DbError::other(format!(
            "channelAssets.{} of {sub} kept changing",
            asset.as_str()
        )))
    }

    /// Prepends a channel to the following list unless it is already there: one conditional update,
    /// so concurrent follows never lose each other. `NotFound` without a profile.
    pub async fn follow(
        &self,
        sub: &str,
        channel: &ChannelResourceId,
    ) -> Result<FollowOutcome, DbError> {
        let result = self
            .table
            .update(Self::key(sub))
            .update_expression(
                "SET followingList = list_append(:one, if_not_exists(followingList, :none))",
            )
            .condition_expression("attribute_exists(id) AND NOT contains(followingList, :id)")
            .expression_attribute_values(":one", AttributeValue::L(vec![s(channel.as_str())]))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":id", s(channel.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match conditional_update(result)? {
            Conditional::Done(_) => Ok(FollowOutcome::Followed),
            Conditional::Failed(Some(_)) => Ok(FollowOutcome::AlreadyFollowing),
            Conditional::Failed(None) => Err(DbError::NotFound),
        }
    }

    /// Removes every occurrence of a channel from the following list. Each removal is by index,
    /// conditional on the element still being that channel, so a concurrent follow or unfollow makes
    /// it re-read instead of removing the wrong entry. Returns whether anything was removed.
    pub async fn unfollow(&self, sub: &str, channel: &ChannelResourceId) -> Result<bool, DbError> {
        let mut removed = false;
        for attempt in 0..MAX_ATTEMPTS * 4 {
            let record = self.get(sub).await?.ok_or(DbError::NotFound)?;
            let Some(index) = record
                .following_list
                .iter()
                .position(|id| id == channel.as_str())
            else {
                return Ok(removed);
            };
            let result = self
                .table
                .update(Self::key(sub))
                .update_expression(format!("REMOVE followingList[{index}]"))
                .condition_expression(format!("followingList[{index}] = :id"))
                .expression_attribute_values(":id", s(channel.as_str()))
                .send()
                .await;
            match conditional_update(result)? {
                Conditional::Done(_) => removed = true,
                Conditional::Failed(_) => conflict_backoff(attempt.min(4)).await,
            }
        }
        Err(DbError::other(format!(
            "followingList of {sub} kept changing"
        )))
    }

    /// `ADD bannedUserSubs {banned}` on the owner's profile.
    pub async fn ban(&self, owner_sub: &str, banned_sub: &str) -> Result<(), DbError> {
        self.change_bans(owner_sub, "ADD", banned_sub).await
    }

    /// `DELETE bannedUserSubs {banned}` (DynamoDB drops the set when it becomes empty).
    pub async fn unban(&self, owner_sub: &str, banned_sub: &str) -> Result<(), DbError> {
        self.change_bans(owner_sub, "DELETE", banned_sub).await
    }

    /// `<action> bannedUserSubs {banned}` on the owner's profile (`ADD` or `DELETE`).
    async fn change_bans(
        &self,
        owner_sub: &str,
        action: &str,
        banned_sub: &str,
    ) -> Result<(), DbError> {
        self.update_existing(
            owner_sub,
            &format!("{action} bannedUserSubs :subs"),
            vec![(":subs", AttributeValue::Ss(vec![banned_sub.to_owned()]))],
        )
        .await
    }

    /// Batch read (consistent) of who owns the items with these ids, at most [`BATCH_GET_MAX`].
    /// Missing items are simply absent; unread ids come back in `unprocessed`.
    pub async fn batch_get_ownership(&self, ids: &[String]) -> Result<OwnershipBatch, DbError> {
        let keys = KeysAndAttributes::builder()
            .set_keys(Some(ids.iter().map(|id| Self::key(id)).collect()))
            .projection_expression("#id, #u, #s")
            .expression_attribute_names("#id", attr::ID)
            .expression_attribute_names("#u", attr::USERNAME)
            .expression_attribute_names("#s", attr::USER_SUB)
            .consistent_read(true)
            .build()?;
        let (found, unread) = self.table.batch_get(keys).await?;
        let rows = found
            .iter()
            .filter_map(|item| {
                Some(ItemOwnership {
                    id: get_s(item, attr::ID)?.to_owned(),
                    username: get_s(item, attr::USERNAME).map(str::to_owned),
                    user_sub: get_s(item, attr::USER_SUB).map(str::to_owned),
                })
            })
            .collect();
        let unprocessed = unread
            .map(|k| k.keys().iter().filter_map(item_id).collect())
            .unwrap_or_default();
        Ok(OwnershipBatch { rows, unprocessed })
    }

    /// Unconditional batch delete of these ids, at most [`BATCH_WRITE_MAX`]; returns the ids
    /// DynamoDB left unprocessed. Only for items whose ownership the caller has just read and that
    /// nothing else writes (the unverified-user cleanup): `BatchWriteItem` takes no conditions.
    pub async fn batch_delete(&self, ids: &[String]) -> Result<Vec<String>, DbError> {
        let requests = delete_requests(ids.iter().map(|id| Self::key(id)))?;
        let unprocessed = self.table.batch_write(requests).await?;
        Ok(unprocessed
            .iter()
            .filter_map(|r| r.delete_request().and_then(|d| item_id(d.key())))
            .collect())
    }

    /// Deletes the profile and its username marker together. Deleting a missing profile is fine.
    pub async fn delete_user(&self, sub: &str) -> Result<(), DbError> {
        let mut attempt = 0;
        loop {
            let Some(current) = self.get(sub).await? else {
                return Ok(());
            };
            let delete_profile = TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table.name)
                        .set_key(Some(Self::key(sub)))
                        .condition_expression("username = :u")
                        .expression_attribute_values(":u", s(&current.username))
                        .build()?,
                )
                .build();
            let lower = current.username.to_ascii_lowercase();
            let result = self
                .table
                .client
                .transact_write_items()
                .transact_items(delete_profile)
                .transact_items(self.marker_delete(&lower, sub)?)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(err) => match transaction_failure(err) {
                    TxFailure::Condition(1) => {
                        // The marker belongs to someone else (rows from before markers existed):
                        // delete only the profile.
                        self.table
                            .client
                            .delete_item()
                            .table_name(&self.table.name)
                            .set_key(Some(Self::key(sub)))
                            .send()
                            .await?;
                        return Ok(());
                    }
                    TxFailure::Condition(_) | TxFailure::Conflict if attempt < MAX_ATTEMPTS => {
                        conflict_backoff(attempt).await;
                        attempt += 1;
                    }
                    TxFailure::Condition(_) | TxFailure::Conflict => return Err(contention()),
                    TxFailure::Db(err) => return Err(err),
                },
            }
        }
    }
}

/// The `id` of an item or key.
fn item_id(item: &Item) -> Option<String> {
    get_s(item, attr::ID).map(str::to_owned)
}
