//! The streams table: one item per IVS stream session (upstream's shape, plus the attributes listed
//! in [`crate::codec::session_attr`]), and one bookkeeping item per channel, `id = "#channel"`.
//!
//! **Writing a session.** The stored state is the domain's [`SessionSummary`], a pure function of
//! the session's event set. `apply_events` merges a batch of events (a no-op for redeliveries) into
//! the state it knows and writes the whole state back conditional on that state's `version`. A
//! write whose condition fails returns the item as stored (`ReturnValuesOnConditionCheckFailure`),
//! which is merged and written again (after a second failure, a pause and a fresh read), so
//! concurrent events never lose each other and any order gives the same item. The state known before the write is the caller's [`SessionCursor`] (what
//! this process wrote last; usually current, so a write needs no read) or, for a session it has not
//! seen, nothing: the first write then asks for a new item and learns the stored one if it exists.
//!
//! **Open and live, one per channel.** The channel item records the newest session by (startTime,
//! id): its "head". A session whose Session Created is known claims the head with a conditional
//! update; the claim returns the previous head, which the claimer marks `superseded` (a session that
//! finds a newer head marks itself). Head changes are linearised by DynamoDB and every displaced head
//! is superseded by its displacer, so exactly the newest session can carry `isOpen`/`isLive`,
//! whatever the arrival order; a late Session Created of an older session never closes a newer one.
//! Marking bumps `version`, so a concurrent write of the marked session re-reads and sees it.
//!
//! **Events without a session.** A Limit Breach may lack `stream_id`. It is attached to the session
//! whose [start, end] contains its time (domain [`attach`]); when none is known it is kept in the
//! channel item's `pendingEvents`. Two orderings make sure it is not stranded: the breach path writes
//! the pending entry *then* looks for the session again, and the session path writes its startTime
//! *then* reads the pending list (the head claim returns it). Whichever runs second sees the other;
//! attaching twice is harmless because events are idempotent on their id. Known limit: an event is
//! attached against the spans known when it is attached, so a Session Ended that arrives later with
//! an earlier time does not detach it.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use time::OffsetDateTime;
use ugc_domain::session::{attach, EventKind, IvsEvent, SessionSpan, SessionSummary, StoredEvent};
use ugc_domain::{format_iso_seconds, parse_iso, ChannelArn, StreamId};

use crate::channels::{
    conditional_update, conflict_backoff, delete_requests, update_if, Conditional, BATCH_WRITE_MAX,
};
use crate::codec::{
    event_from_attribute, event_to_attribute, get_bool, get_n, get_s, json_to_attribute, n, s,
    session_attr as a, summary_attributes, summary_from_item, Item, SessionLiveness, StoredSession,
    SESSION_LIVENESS_ATTRIBUTES,
};
use crate::directory::{DirectoryMirror, MirrorState};
use crate::error::DbError;
use crate::table::{first_item, project_get, project_query, Table};
use crate::tables::{LIVE_INDEX, START_TIME_INDEX};

/// Sort key of the per-channel bookkeeping item (stream ids always start with `st-`).
pub(crate) const CHANNEL_ITEM_ID: &str = "#channel";
pub(crate) const HEAD_START: &str = "headStartTime";
pub(crate) const HEAD_ID: &str = "headId";
const PENDING_EVENTS: &str = "pendingEvents";
const PENDING_IDS: &str = "pendingIds";
/// Events without a session kept per channel; beyond this they are logged and dropped.
const PENDING_CAP: i64 = 100;
pub(crate) const LIVE_VALUE: &str = "true";
/// Attempts of an optimistic session write; each lost round means another writer progressed.
const MAX_ATTEMPTS: u32 = 40;
/// Upstream's page size for the metrics session list.
pub const SESSIONS_PAGE_SIZE: i32 = 50;
/// Concurrent queries when checking a set of channels.
const CHANNEL_QUERY_CONCURRENCY: usize = 16;

/// What `apply_event` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The event was new to the session.
    Applied,
    /// A redelivery: the session already had it.
    Duplicate,
}

/// Where an event without `stream_id` went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attachment {
    Session(StreamId),
    /// No known session contains its time yet; kept for the channel.
    Pending,
}

/// A live session as listed by the directory and the following list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSession {
    pub channel_arn: ChannelArn,
    pub stream_id: StreamId,
    pub start_time: OffsetDateTime,
    pub user_sub: Option<String>,
}

/// The position after a page of sessions. Serialised as upstream's plaintext (the marshalled
/// `LastEvaluatedKey`, e.g. `{"channelArn":{"S":"…"},"id":{"S":"…"},"startTime":{"S":"…"}}`); the
/// service encrypts it into the `nextToken`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageKey(BTreeMap<String, String>);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid page key")]
pub struct InvalidPageKey;

const PAGE_KEY_ATTRS: [&str; 3] = [a::CHANNEL_ARN, a::ID, a::START_TIME];

impl PageKey {
    fn from_item(item: &Item) -> Option<Self> {
        let map: BTreeMap<String, String> = item
            .iter()
            .filter_map(|(k, v)| match v {
                AttributeValue::S(text) => Some((k.clone(), text.clone())),
                _ => None,
            })
            .collect();
        (map.len() == item.len()).then_some(Self(map))
    }

    fn to_item(&self) -> Item {
        self.0.iter().map(|(k, v)| (k.clone(), s(v))).collect()
    }

    /// The channel whose list this key continues; the service checks it against the path.
    pub fn channel_arn(&self) -> Option<&str> {
        self.0.get(a::CHANNEL_ARN).map(String::as_str)
    }

    pub fn to_json(&self) -> String {
        let object: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!({ "S": v })))
            .collect();
        serde_json::Value::Object(object).to_string()
    }

    /// Accepts exactly the keys of `startTimeIndex` with string values.
    pub fn from_json(text: &str) -> Result<Self, InvalidPageKey> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| InvalidPageKey)?;
        let object = value.as_object().ok_or(InvalidPageKey)?;
        let mut map = BTreeMap::new();
        for (k, v) in object {
            if !PAGE_KEY_ATTRS.contains(&k.as_str()) {
                return Err(InvalidPageKey);
            }
            let text = v
                .as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.get("S"))
                .and_then(|s| s.as_str())
                .ok_or(InvalidPageKey)?;
            map.insert(k.clone(), text.to_owned());
        }
        if map.len() != PAGE_KEY_ATTRS.len() {
            return Err(InvalidPageKey);
        }
        Ok(Self(map))
    }
}

/// One page of a channel's sessions, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionsPage {
    pub sessions: Vec<StoredSession>,
    pub next: Option<PageKey>,
}

/// A session's state as stored after a write of this writer: the summary, its `version` and
/// whether the session was superseded.
#[derive(Clone, Debug)]
struct Known {
    summary: SessionSummary,
    version: Option<i64>,
    superseded: bool,
}

impl Known {
    fn from_item(item: &Item) -> Self {
        Self {
            summary: summary_from_item(item),
            version: get_n(item, a::VERSION),
            superseded: get_bool(item, a::SUPERSEDED).unwrap_or(false),
        }
    }
}

/// What a writer remembers of one session between batches, so that the next write of the session
/// needs no read and no head claim. Only a hint: a stale cursor costs one failed conditional write
/// (which returns the stored item), never a wrong item. Keep one per session; a fresh
/// (`Default`) cursor is always correct.
#[derive(Clone, Debug, Default)]
pub struct SessionCursor {
    known: Option<Known>,
    /// The start time with which this session last claimed the channel head successfully, after
    /// its startTime was durable: later batches with the same start need not claim it again (see
    /// [`StreamsRepo::apply_events`]).
    claimed_start: Option<OffsetDateTime>,
    /// The (version, liveness) of this session that the directory mirror is known to reflect:
    /// written by this writer, or carried over by this writer's own later writes that left the
    /// liveness unchanged (see [`StreamsRepo::apply_events`]).
    mirrored: Option<(i64, bool)>,
}

/// The session a write goes to, with its channel's owner (stored with the first event).
#[derive(Clone, Copy)]
struct Target<'a> {
    channel_arn: &'a ChannelArn,
    stream_id: &'a StreamId,
    user_sub: &'a str,
}

impl<'a> Target<'a> {
    fn new(channel_arn: &'a ChannelArn, stream_id: &'a StreamId, user_sub: &'a str) -> Self {
        Self {
            channel_arn,
            stream_id,
            user_sub,
        }
    }
}

/// Session state after a merge, as `apply_events` needs it next.
struct Merged {
    changed: Vec<bool>,
    summary: SessionSummary,
    superseded: bool,
    /// The stored version the merge started from (`None`: no item), and the version now stored.
    prior_version: Option<i64>,
    version: i64,
}

#[derive(Clone, Debug)]
pub struct StreamsRepo {
    table: Table,
    /// Where session writes mirror the head's liveness for the directory (event-ingest's repo);
    /// `None` for readers.
    directory: Option<DirectoryMirror>,
}

pub(crate) fn session_key(channel_arn: &str, id: &str) -> Item {
    Item::from([
        (a::CHANNEL_ARN.to_owned(), s(channel_arn)),
        (a::ID.to_owned(), s(id)),
    ])
}

fn contention(what: &str) -> DbError {
    DbError::Unavailable(format!("{what} kept conflicting with concurrent writes").into())
}

impl StreamsRepo {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
            directory: None,
        }
    }

    /// Session writes also keep `directory` (the channels table's mirror of live heads) current.
    pub fn with_directory(mut self, directory: DirectoryMirror) -> Self {
        self.directory = Some(directory);
        self
    }

    pub(crate) fn table_ref(&self) -> &Table {
        &self.table
    }

    pub fn table(&self) -> &str {
        &self.table.name
    }

    /// An UpdateItem of one item of the table: a session (`id` = stream id) or the channel item.
    pub(crate) fn update(&self, channel_arn: &str, id: &str) -> UpdateItemFluentBuilder {
        self.table.update(session_key(channel_arn, id))
    }

    /// A Query of the channel's sessions by `startTimeIndex`, newest first, under `key_condition`
    /// (which names the channel `#c = :c`).
    fn newest_sessions(&self, channel_arn: &ChannelArn, key_condition: &str) -> QueryFluentBuilder {
        self.table
            .query()
            .index_name(START_TIME_INDEX)
            .key_condition_expression(key_condition)
            .expression_attribute_names("#c", a::CHANNEL_ARN)
            .expression_attribute_values(":c", s(channel_arn.as_str()))
            .scan_index_forward(false)
    }

    /// Makes (`start`, `id`) the channel's head unless a newer session (by start time, then id)
    /// holds it. As the migration claims heads too, the one definition of the order.
    pub(crate) fn head_claim(
        &self,
        channel_arn: &str,
        start: &str,
        id: &str,
    ) -> UpdateItemFluentBuilder {
        self.update(channel_arn, CHANNEL_ITEM_ID)
            .update_expression("SET #hs = :start, #hid = :id")
            .condition_expression(
                "attribute_not_exists(#hid) OR #hs < :start OR (#hs = :start AND #hid <= :id)",
            )
            .expression_attribute_names("#hs", HEAD_START)
            .expression_attribute_names("#hid", HEAD_ID)
            .expression_attribute_values(":start", s(start))
            .expression_attribute_values(":id", s(id))
    }

    /// Marks a session superseded (never open or live again) and bumps its `version`, under
    /// `condition` (which may use `#id` and `#sup`).
    pub(crate) fn supersede_update(
        &self,
        channel_arn: &str,
        id: &str,
        condition: &str,
    ) -> UpdateItemFluentBuilder {
        self.update(channel_arn, id)
            .update_expression(
                "SET #sup = :true, #ver = if_not_exists(#ver, :zero) + :one REMOVE #open, #live",
            )
            .condition_expression(condition)
            .expression_attribute_names("#sup", a::SUPERSEDED)
            .expression_attribute_names("#ver", a::VERSION)
            .expression_attribute_names("#open", a::IS_OPEN)
            .expression_attribute_names("#live", a::IS_LIVE)
            .expression_attribute_names("#id", a::ID)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
    }

    /// Applies an event that names its session. Idempotent on the event id and order-independent
    /// (see the module notes). `user_sub` is the channel owner; it is stored with the first event.
    pub async fn apply_event(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
        user_sub: &str,
        event: &IvsEvent,
    ) -> Result<ApplyOutcome, DbError> {
        let outcomes = self
            .apply_events(
                channel_arn,
                stream_id,
                user_sub,
                std::slice::from_ref(event),
                &mut SessionCursor::default(),
            )
            .await?;
        Ok(outcomes.first().copied().unwrap_or(ApplyOutcome::Duplicate))
    }

    /// Applies events that all name the same session, in one conditional write (more when it
    /// conflicts with another writer); one outcome per event, in order (an id repeated within the
    /// batch is `Duplicate` after its first occurrence). Equivalent to applying them one by one,
    /// because the session state is a function of the event set. Returns when the write holding
    /// them, the head claim and the attachment of pending events are durable.
    ///
    /// `cursor` is what this writer saw of the session last time (updated here). The head claim
    /// is skipped when the cursor says this session already claimed the head with the same start
    /// time: that claim ran after the startTime was durable and returned the pending events of the
    /// time, and any event made pending since then finds the session itself (module notes), so a
    /// repeated claim could neither change the head nor find anything to attach.
    pub async fn apply_events(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
        user_sub: &str,
        events: &[IvsEvent],
        cursor: &mut SessionCursor,
    ) -> Result<Vec<ApplyOutcome>, DbError> {
        let merged = self
            .merge_into_session(
                Target::new(channel_arn, stream_id, user_sub),
                events,
                cursor,
            )
            .await?;
        if let Some(start) = merged.summary.start_time {
            if merged.superseded {
                let channel_item = self.channel_item(channel_arn).await?;
                self.attach_pending(channel_arn, user_sub, channel_item.as_ref())
                    .await?;
            } else if cursor.claimed_start != Some(start) {
                let (claimed, channel_item) =
                    self.claim_head(channel_arn, stream_id, start).await?;
                self.attach_pending(channel_arn, user_sub, channel_item.as_ref())
                    .await?;
                cursor.claimed_start = claimed.then_some(start);
            }
            if !merged.superseded && cursor.claimed_start == Some(start) {
                self.mirror_head(
                    Target::new(channel_arn, stream_id, user_sub),
                    start,
                    &merged,
                    cursor,
                )
                .await?;
            }
        }
        Ok(merged
            .changed
            .into_iter()
            .map(|changed| {
                if changed {
                    ApplyOutcome::Applied
                } else {
                    ApplyOutcome::Duplicate
                }
            })
            .collect())
    }

    /// Copies the head session's liveness to the directory mirror ([`crate::directory`]). Skipped
    /// when this writer knows the mirror already reflects it: the merge started from the version the
    /// cursor last mirrored (no other writer came between) and left the liveness as it was. Any
    /// other writer's state in between, a failed earlier write or a fresh cursor makes it write, so
    /// the writer of a head's last liveness change, or of the first state after another writer's,
    /// always writes, and the mirror's key order makes every write safe.
    async fn mirror_head(
        &self,
        target: Target<'_>,
        start: OffsetDateTime,
        merged: &Merged,
        cursor: &mut SessionCursor,
    ) -> Result<(), DbError> {
        let Some(directory) = &self.directory else {
            return Ok(());
        };
        let live = merged.summary.is_live();
        let unchanged = merged
            .prior_version
            .is_some_and(|prior| cursor.mirrored == Some((prior, live)));
        if !unchanged {
            directory
                .record(&MirrorState {
                    user_sub: target.user_sub,
                    channel_arn: target.channel_arn.as_str(),
                    stream_id: target.stream_id.as_str(),
                    start_time: &format_iso_seconds(start),
                    version: merged.version,
                    live,
                })
                .await?;
        }
        cursor.mirrored = Some((merged.version, live));
        Ok(())
    }

    /// Applies any event of a channel: with `stream_id` like [`Self::apply_event`], without one
    /// (a Limit Breach) to the session containing its time, or kept until that session is known.
    pub async fn apply_channel_event(
        &self,
        channel_arn: &ChannelArn,
        user_sub: &str,
        event: &IvsEvent,
    ) -> Result<Attachment, DbError> {
        if let Some(stream_id) = &event.stream_id {
            self.apply_event(channel_arn, stream_id, user_sub, event)
                .await?;
            return Ok(Attachment::Session(stream_id.clone()));
        }
        if let Some(stream_id) = self.resolve_session(channel_arn, event.time).await? {
            self.merge_one(Target::new(channel_arn, &stream_id, user_sub), event)
                .await?;
            return Ok(Attachment::Session(stream_id));
        }
        self.add_pending(channel_arn, event).await?;
        // The session may have appeared between the lookup and the pending write.
        if let Some(stream_id) = self.resolve_session(channel_arn, event.time).await? {
            self.merge_one(Target::new(channel_arn, &stream_id, user_sub), event)
                .await?;
            self.remove_pending(channel_arn, &event.id).await?;
            return Ok(Attachment::Session(stream_id));
        }
        Ok(Attachment::Pending)
    }

    /// One item (strongly consistent): a session, or the channel item.
    pub(crate) async fn get_item(
        &self,
        channel_arn: &str,
        id: &str,
    ) -> Result<Option<Item>, DbError> {
        let out = self.table.get(session_key(channel_arn, id)).send().await?;
        Ok(out.item().cloned())
    }

    async fn merge_one(&self, target: Target<'_>, event: &IvsEvent) -> Result<Merged, DbError> {
        self.merge_into_session(
            target,
            std::slice::from_ref(event),
            &mut SessionCursor::default(),
        )
        .await
    }

    /// Merge into the state the cursor knows (none: a new item), conditional write on its
    /// `version`; a failed condition returns the stored item, which is merged and written again.
    async fn merge_into_session(
        &self,
        target: Target<'_>,
        events: &[IvsEvent],
        cursor: &mut SessionCursor,
    ) -> Result<Merged, DbError> {
        // The first attempt trusts the cursor; after that the state comes from DynamoDB, and a
        // conflict means another writer progressed: back off and read.
        let mut known = cursor.known.take();
        let mut from_store = false;
        for attempt in 0..MAX_ATTEMPTS {
            let (mut summary, version, superseded) = match &known {
                Some(k) => (k.summary.clone(), k.version, k.superseded),
                None => (SessionSummary::default(), None, false),
            };
            let changed: Vec<bool> = events.iter().map(|e| summary.apply(e)).collect();
            if let (Some(version), false) = (version, changed.contains(&true)) {
                cursor.known = known;
                return Ok(Merged {
                    changed,
                    summary,
                    superseded,
                    prior_version: Some(version),
                    version,
                });
            }
            let request = self
                .session_write(target, &summary, superseded, version)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            match conditional_update(request.send().await)? {
                Conditional::Done(_) => {
                    cursor.known = Some(Known {
                        summary: summary.clone(),
                        version: Some(version.unwrap_or(0) + 1),
                        superseded,
                    });
                    return Ok(Merged {
                        changed,
                        summary,
                        superseded,
                        prior_version: version,
                        version: version.unwrap_or(0) + 1,
                    });
                }
                Conditional::Failed(stored) => {
                    known = if from_store {
                        // Another writer progressed since our state was current: back off, then
                        // read (the state the failure returned is stale after the pause).
                        conflict_backoff(attempt.min(4)).await;
                        self.get_item(target.channel_arn.as_str(), target.stream_id.as_str())
                            .await?
                            .as_ref()
                            .map(Known::from_item)
                    } else {
                        // The cursor (or the guess of a new item) was stale: the failure returned
                        // the stored item, as current as a read; write again at once.
                        stored.as_ref().map(Known::from_item)
                    };
                    from_store = true;
                }
            }
        }
        Err(contention("session write"))
    }

    /// The UpdateItem that stores `summary` as the whole session state, conditional on the item
    /// being at `version` (`None`: no item yet).
    fn session_write(
        &self,
        target: Target<'_>,
        summary: &SessionSummary,
        superseded: bool,
        version: Option<i64>,
    ) -> UpdateItemFluentBuilder {
        let open = summary.start_time.is_some() && !summary.is_ended() && !superseded;
        let live = summary.start_time.is_some() && summary.is_live() && !superseded;

        let (set, remove) = summary_attributes(summary);
        let mut remove_placeholders = Vec::new();
        let mut request = self.update(target.channel_arn.as_str(), target.stream_id.as_str());
        let mut sets = Vec::new();
        for (index, (name, value)) in set.into_iter().enumerate() {
            sets.push(format!("#a{index} = :a{index}"));
            request = request
                .expression_attribute_names(format!("#a{index}"), name)
                .expression_attribute_values(format!(":a{index}"), value);
        }
        sets.push("#userSub = if_not_exists(#userSub, :sub)".to_owned());
        sets.push("#version = :newVersion".to_owned());
        if open {
            sets.push("#isOpen = :true".to_owned());
        } else {
            remove_placeholders.push("#isOpen".to_owned());
        }
        if live {
            sets.push("#isLive = :true".to_owned());
        } else {
            remove_placeholders.push("#isLive".to_owned());
        }
        if open || live {
            request = request.expression_attribute_values(":true", s(LIVE_VALUE));
        }
        let mut expression = format!("SET {}", sets.join(", "));
        for (index, name) in remove.iter().enumerate() {
            let placeholder = format!("#r{index}");
            request = request.expression_attribute_names(placeholder.clone(), *name);
            remove_placeholders.push(placeholder);
        }
        if !remove_placeholders.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove_placeholders.join(", ")));
        }
        request = request
            .update_expression(expression)
            .expression_attribute_names("#userSub", a::USER_SUB)
            .expression_attribute_names("#version", a::VERSION)
            .expression_attribute_names("#isOpen", a::IS_OPEN)
            .expression_attribute_names("#isLive", a::IS_LIVE)
            .expression_attribute_values(":sub", s(target.user_sub))
            .expression_attribute_values(":newVersion", n(version.unwrap_or(0) + 1));
        match version {
            Some(v) => request
                .condition_expression("#version = :oldVersion")
                .expression_attribute_values(":oldVersion", n(v)),
            None => request.condition_expression("attribute_not_exists(#version)"),
        }
    }

    async fn channel_item(&self, channel_arn: &ChannelArn) -> Result<Option<Item>, DbError> {
        self.get_item(channel_arn.as_str(), CHANNEL_ITEM_ID).await
    }

    /// Makes `stream_id` the channel's head unless a newer session holds it; supersedes whichever
    /// of the two is older. Returns whether this session is the head now, and the channel item as
    /// it was (for its pending events).
    async fn claim_head(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
        start: OffsetDateTime,
    ) -> Result<(bool, Option<Item>), DbError> {
        let start = format_iso_seconds(start);
        let result = self
            .head_claim(channel_arn.as_str(), &start, stream_id.as_str())
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match conditional_update(result)? {
            Conditional::Done(out) => {
                let old = out.attributes().cloned();
                let previous = old
                    .as_ref()
                    .and_then(|item| get_s(item, HEAD_ID))
                    .filter(|id| *id != stream_id.as_str())
                    .map(str::to_owned);
                if let Some(previous) = previous {
                    self.supersede(channel_arn, &previous).await?;
                }
                Ok((true, old))
            }
            Conditional::Failed(old) => {
                self.supersede(channel_arn, stream_id.as_str()).await?;
                Ok((false, old))
            }
        }
    }

    /// Marks a session as no longer the newest of its channel: never open or live again.
    async fn supersede(&self, channel_arn: &ChannelArn, id: &str) -> Result<(), DbError> {
        // A session that does not exist (a refused condition) needs no marking.
        update_if(self.supersede_update(channel_arn.as_str(), id, "attribute_exists(#id)")).await
    }

    /// The session an event without `stream_id` belongs to, from the sessions started at or
    /// before its time (strongly consistent, newest first).
    async fn resolve_session(
        &self,
        channel_arn: &ChannelArn,
        time: OffsetDateTime,
    ) -> Result<Option<StreamId>, DbError> {
        let mut start_key = None;
        for _ in 0..10 {
            let out = self
                .newest_sessions(channel_arn, "#c = :c AND #st <= :t")
                .consistent_read(true)
                .expression_attribute_names("#st", a::START_TIME)
                .expression_attribute_names("#id", a::ID)
                .expression_attribute_names("#et", a::END_TIME)
                .expression_attribute_values(":t", s(format_iso_seconds(time)))
                .projection_expression("#id, #st, #et")
                .limit(20)
                .set_exclusive_start_key(start_key)
                .send()
                .await?;
            let spans: Vec<SessionSpan> = out
                .items()
                .iter()
                .filter_map(|item| {
                    Some(SessionSpan {
                        stream_id: StreamId::parse(get_s(item, a::ID)?).ok()?,
                        start: get_s(item, a::START_TIME).and_then(parse_iso),
                        end: get_s(item, a::END_TIME).and_then(parse_iso),
                    })
                })
                .collect();
            if let Some(found) = attach(time, &spans) {
                return Ok(Some(found));
            }
            start_key = out.last_evaluated_key().cloned();
            if start_key.is_none() {
                break;
            }
        }
        Ok(None)
    }

    async fn add_pending(&self, channel_arn: &ChannelArn, event: &IvsEvent) -> Result<(), DbError> {
        let result = self
            .update(channel_arn.as_str(), CHANNEL_ITEM_ID)
            .update_expression(
                "SET #pe = list_append(if_not_exists(#pe, :none), :one) ADD #pid :ids",
            )
            .condition_expression(
                "(attribute_not_exists(#pid) OR NOT contains(#pid, :id)) AND \
                 (attribute_not_exists(#pe) OR size(#pe) < :cap)",
            )
            .expression_attribute_names("#pe", PENDING_EVENTS)
            .expression_attribute_names("#pid", PENDING_IDS)
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(
                ":one",
                AttributeValue::L(vec![event_to_attribute(&event.stored())]),
            )
            .expression_attribute_values(":ids", AttributeValue::Ss(vec![event.id.clone()]))
            .expression_attribute_values(":id", s(&event.id))
            .expression_attribute_values(":cap", n(PENDING_CAP))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match conditional_update(result)? {
            Conditional::Done(_) => Ok(()),
            Conditional::Failed(old) => {
                let duplicate = matches!(
                    old.as_ref().and_then(|item| item.get(PENDING_IDS)),
                    Some(AttributeValue::Ss(ids)) if ids.contains(&event.id)
                );
                if !duplicate {
                    tracing::warn!(
                        channel = %channel_arn,
                        event = %event.id,
                        "pending event list of the channel is full; event dropped"
                    );
                }
                Ok(())
            }
        }
    }

    async fn remove_pending(
        &self,
        channel_arn: &ChannelArn,
        event_id: &str,
    ) -> Result<(), DbError> {
        for attempt in 0..MAX_ATTEMPTS {
            let Some(item) = self.channel_item(channel_arn).await? else {
                return Ok(());
            };
            let position = match item.get(PENDING_EVENTS) {
                Some(AttributeValue::L(list)) => list.iter().position(|entry| {
                    event_from_attribute(entry).is_some_and(|e| e.id == event_id)
                }),
                _ => None,
            };
            let Some(index) = position else {
                return Ok(());
            };
            let result = self
                .update(channel_arn.as_str(), CHANNEL_ITEM_ID)
                .update_expression(format!("REMOVE #pe[{index}] DELETE #pid :ids"))
                .condition_expression(format!("#pe[{index}].#id = :id"))
                .expression_attribute_names("#pe", PENDING_EVENTS)
                .expression_attribute_names("#pid", PENDING_IDS)
                .expression_attribute_names("#id", a::EVENT_ID)
                .expression_attribute_values(":ids", AttributeValue::Ss(vec![event_id.to_owned()]))
                .expression_attribute_values(":id", s(event_id))
                .send()
                .await;
            match conditional_update(result)? {
                Conditional::Done(_) => return Ok(()),
                Conditional::Failed(_) => conflict_backoff(attempt.min(4)).await,
            }
        }
        Err(contention("pending event removal"))
    }

    /// Attaches the channel's pending events that a now-known session contains.
    async fn attach_pending(
        &self,
        channel_arn: &ChannelArn,
        user_sub: &str,
        channel_item: Option<&Item>,
    ) -> Result<(), DbError> {
        let pending: Vec<StoredEvent> = match channel_item.and_then(|item| item.get(PENDING_EVENTS))
        {
            Some(AttributeValue::L(list)) => list.iter().filter_map(event_from_attribute).collect(),
            _ => return Ok(()),
        };
        for stored in pending {
            let Some(kind) = EventKind::from_parts(&stored.event_type, &stored.name) else {
                continue;
            };
            let Some(stream_id) = self.resolve_session(channel_arn, stored.time).await? else {
                continue;
            };
            let event = IvsEvent {
                id: stored.id.clone(),
                time: stored.time,
                channel_arn: channel_arn.clone(),
                stream_id: None,
                kind,
            };
            self.merge_one(Target::new(channel_arn, &stream_id, user_sub), &event)
                .await?;
            self.remove_pending(channel_arn, &stored.id).await?;
        }
        Ok(())
    }

    /// Ends a session IVS no longer broadcasts (the reconciler). Recorded as a synthetic Session
    /// Ended event with a fixed id per session, so the state stays a function of the event set and
    /// a repeat is a no-op. `NotFound` when the session is unknown.
    pub async fn end_session(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
        at: OffsetDateTime,
    ) -> Result<ApplyOutcome, DbError> {
        let item = self
            .get_item(channel_arn.as_str(), stream_id.as_str())
            .await?
            .ok_or(DbError::NotFound)?;
        let user_sub = get_s(&item, a::USER_SUB).unwrap_or_default().to_owned();
        let event = IvsEvent {
            id: format!("reconciler:{}", stream_id.as_str()),
            time: at.replace_nanosecond(0).unwrap_or(at),
            channel_arn: channel_arn.clone(),
            stream_id: Some(stream_id.clone()),
            kind: EventKind::SessionEnded,
        };
        self.apply_event(channel_arn, stream_id, &user_sub, &event)
            .await
    }

    /// One session (strongly consistent).
    pub async fn get_session(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
    ) -> Result<Option<StoredSession>, DbError> {
        stored(
            self.get_item(channel_arn.as_str(), stream_id.as_str())
                .await?,
        )
    }

    /// The channel's newest session by start time (`startTimeIndex`, newest first, one item).
    pub async fn latest_session(
        &self,
        channel_arn: &ChannelArn,
    ) -> Result<Option<StoredSession>, DbError> {
        stored(first_item(self.newest_sessions(channel_arn, "#c = :c")).await?)
    }

    /// Whether the channel's newest session is live, reading only what decides it
    /// ([`SessionLiveness`]); the channel page's read.
    pub async fn latest_liveness(
        &self,
        channel_arn: &ChannelArn,
    ) -> Result<Option<SessionLiveness>, DbError> {
        let query = project_query(
            self.newest_sessions(channel_arn, "#c = :c"),
            SESSION_LIVENESS_ATTRIBUTES,
        );
        first_item(query)
            .await?
            .as_ref()
            .map(SessionLiveness::from_item)
            .transpose()
    }

    /// The liveness of the session `stream_id` (strongly consistent); `None` when it does not exist.
    pub(crate) async fn liveness_of(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
    ) -> Result<Option<SessionLiveness>, DbError> {
        let get = self
            .table
            .get(session_key(channel_arn.as_str(), stream_id.as_str()));
        let out = project_get(get, SESSION_LIVENESS_ATTRIBUTES).send().await?;
        out.item().map(SessionLiveness::from_item).transpose()
    }

    /// A page of the channel's sessions for the metrics list: newest first, at most
    /// [`SESSIONS_PAGE_SIZE`], continuing after `after`.
    pub async fn sessions_page(
        &self,
        channel_arn: &ChannelArn,
        after: Option<&PageKey>,
    ) -> Result<SessionsPage, DbError> {
        let out = self
            .newest_sessions(channel_arn, "#c = :c")
            .limit(SESSIONS_PAGE_SIZE)
            .set_exclusive_start_key(after.map(PageKey::to_item))
            .send()
            .await?;
        let sessions = out
            .items()
            .iter()
            .map(StoredSession::from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SessionsPage {
            sessions,
            next: out.last_evaluated_key().and_then(PageKey::from_item),
        })
    }

    /// The directory: live channels, newest session first, one entry per channel, at most `limit`.
    /// One query of the sparse `liveIndex` (no Scan).
    pub async fn live_directory(&self, limit: usize) -> Result<Vec<LiveSession>, DbError> {
        let mut seen = HashSet::new();
        let mut live = Vec::new();
        let mut start_key = None;
        loop {
            let out = self
                .table
                .newest_in_partition(LIVE_INDEX, a::IS_LIVE, LIVE_VALUE)
                // A channel has one live session at most (the head), so `limit` items give
                // `limit` channels; a page short of them (a session mid-handover) reads on.
                .limit(i32::try_from(limit - live.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key)
                .send()
                .await;
            // Upstream's tables until `ugc-admin migrate` has run: its compatible path, not a 500.
            let out = match out {
                Ok(out) => out,
                Err(err) if crate::migrate::schema::is_index_unavailable(&err) => {
                    return crate::migrate::schema::live_directory_from_open_index(
                        &self.table.client,
                        &self.table.name,
                        limit,
                    )
                    .await;
                }
                Err(err) => return Err(err.into()),
            };
            for item in out.items() {
                if live.len() >= limit {
                    return Ok(live);
                }
                if let Some(session) = live_session(item) {
                    if seen.insert(session.channel_arn.clone()) {
                        live.push(session);
                    }
                }
            }
            start_key = out.last_evaluated_key().cloned();
            if start_key.is_none() || live.len() >= limit {
                return Ok(live);
            }
        }
    }

    /// The live sessions of the given channels (the following list), newest first: one query per
    /// channel of its newest sessions, run concurrently; no limit on the number of channels.
    pub async fn live_sessions_for(
        &self,
        channels: &[ChannelArn],
    ) -> Result<Vec<LiveSession>, DbError> {
        let mut live = Vec::new();
        for chunk in channels.chunks(CHANNEL_QUERY_CONCURRENCY) {
            let mut tasks = tokio::task::JoinSet::new();
            for channel in chunk {
                let repo = self.clone();
                let channel = channel.clone();
                tasks.spawn(async move { repo.channel_live_session(&channel).await });
            }
            while let Some(joined) = tasks.join_next().await {
                let found = joined.map_err(|err| DbError::Other(Box::new(err)))??;
                live.extend(found);
            }
        }
        live.sort_by(|x, y| {
            y.start_time
                .cmp(&x.start_time)
                .then_with(|| y.channel_arn.cmp(&x.channel_arn))
        });
        Ok(live)
    }

    async fn channel_live_session(
        &self,
        channel_arn: &ChannelArn,
    ) -> Result<Option<LiveSession>, DbError> {
        // Two items: sessions sharing a start second are not ordered by id in the index, and only
        // the head can carry `isLive`.
        let out = self
            .newest_sessions(channel_arn, "#c = :c")
            .expression_attribute_names("#id", a::ID)
            .expression_attribute_names("#st", a::START_TIME)
            .expression_attribute_names("#l", a::IS_LIVE)
            .expression_attribute_names("#u", a::USER_SUB)
            .projection_expression("#c, #id, #st, #l, #u")
            .limit(2)
            .send()
            .await?;
        Ok(out.items().iter().find_map(live_session))
    }

    /// Stores IVS's ingest configuration of a session once; `false` when one is already stored or
    /// the session is unknown.
    pub async fn store_ingest_configuration(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
        configuration: &serde_json::Value,
    ) -> Result<bool, DbError> {
        self.set_on_session(
            channel_arn,
            stream_id,
            a::INGEST_CONFIGURATION,
            json_to_attribute(configuration),
            "attribute_exists(#id) AND attribute_not_exists(#v)",
        )
        .await
    }

    /// Replaces the session's metrics cache with the single entry `key → metrics`. `NotFound` when
    /// the session is unknown.
    pub async fn store_metrics(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
        key: &str,
        metrics: &serde_json::Value,
    ) -> Result<(), DbError> {
        let entry = AttributeValue::M(Item::from([(key.to_owned(), json_to_attribute(metrics))]));
        let stored = self
            .set_on_session(
                channel_arn,
                stream_id,
                a::METRICS,
                entry,
                "attribute_exists(#id)",
            )
            .await?;
        if stored {
            Ok(())
        } else {
            Err(DbError::NotFound)
        }
    }

    /// `SET attribute = value` on a session under `condition` (on `#id`, and `#v` for the
    /// attribute); `false` when the condition failed.
    async fn set_on_session(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
        attribute: &str,
        value: AttributeValue,
        condition: &str,
    ) -> Result<bool, DbError> {
        let result = self
            .update(channel_arn.as_str(), stream_id.as_str())
            .update_expression("SET #v = :v")
            .condition_expression(condition)
            .expression_attribute_names("#v", attribute)
            .expression_attribute_names("#id", a::ID)
            .expression_attribute_values(":v", value)
            .send()
            .await;
        Ok(matches!(conditional_update(result)?, Conditional::Done(_)))
    }

    /// Deletes every item of a channel (its sessions and bookkeeping), for account deletion.
    /// Returns how many items were deleted.
    pub async fn delete_channel_sessions(
        &self,
        channel_arn: &ChannelArn,
    ) -> Result<usize, DbError> {
        let mut deleted = 0;
        let mut pages = self
            .table
            .query()
            .key_condition_expression("#c = :c")
            .expression_attribute_names("#c", a::CHANNEL_ARN)
            .expression_attribute_names("#id", a::ID)
            .expression_attribute_values(":c", s(channel_arn.as_str()))
            .projection_expression("#c, #id")
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for chunk in page?.items().chunks(BATCH_WRITE_MAX) {
                let mut requests = delete_requests(chunk.iter().cloned())?;
                for attempt in 0..MAX_ATTEMPTS {
                    requests = self.table.batch_write(requests).await?;
                    if requests.is_empty() {
                        break;
                    }
                    conflict_backoff(attempt.min(5)).await;
                }
                if !requests.is_empty() {
                    return Err(DbError::Throttled);
                }
                deleted += chunk.len();
            }
        }
        Ok(deleted)
    }
}

fn stored(item: Option<Item>) -> Result<Option<StoredSession>, DbError> {
    item.as_ref().map(StoredSession::from_item).transpose()
}

fn live_session(item: &Item) -> Option<LiveSession> {
    if get_s(item, a::IS_LIVE) != Some(LIVE_VALUE) {
        return None;
    }
    Some(LiveSession {
        channel_arn: ChannelArn::parse(get_s(item, a::CHANNEL_ARN)?).ok()?,
        stream_id: StreamId::parse(get_s(item, a::ID)?).ok()?,
        start_time: get_s(item, a::START_TIME).and_then(parse_iso)?,
        user_sub: get_s(item, a::USER_SUB).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_key_round_trips_upstream_plaintext() {
        let text = r#"{"channelArn":{"S":"arn:aws:ivs:us-east-1:1:channel/a"},"id":{"S":"st-1"},"startTime":{"S":"2023-06-14T18:32:41Z"}}"#;
        let key = PageKey::from_json(text).unwrap();
        assert_eq!(key.channel_arn(), Some("arn:aws:ivs:us-east-1:1:channel/a"));
        assert_eq!(key.to_json(), text);
        assert_eq!(
            PageKey::from_json(r#"{"id":{"S":"st-1"}}"#),
            Err(InvalidPageKey)
        );
        assert_eq!(
            PageKey::from_json(
                r#"{"channelArn":{"N":"1"},"id":{"S":"st-1"},"startTime":{"S":"x"}}"#
            ),
            Err(InvalidPageKey)
        );
    }
}
