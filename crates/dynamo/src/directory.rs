//! The live directory's own index: each profile item mirrors whether its channel's head session is
//! live, so the directory is one Query of the channels table instead of a Query of the streams
//! table's `liveIndex` followed by a `BatchGetItem` of the owners' profiles (docs/architecture.md
//! "Caching and freshness"). The profile fields the directory shows come from the profile item itself
//! (the index projects them), so a rename or a new avatar shows at once; only liveness is copied.
//!
//! **The mirror.** On a profile item: `isLive = "true"` while its channel's head session is live
//! (the partition of the sparse [`DIRECTORY_INDEX`], absent otherwise), and the key of the session
//! state it reflects: `liveChannelArn`, `liveStartTime` (the index's sort key), `liveStreamId`,
//! `liveVersion`. Sessions are the source of truth; the mirror is derived from them.
//!
//! **Order-independent.** A session's states are totally ordered by (start time, stream id, version):
//! the head only moves to newer sessions and a session's `version` only grows. A mirror write
//! carries the key of the state it copies and is conditional on being at least the stored key (or on
//! the stored key naming another channel), and on the profile still owning the channel. So a write
//! of an older state can never overwrite a newer one, whatever the arrival order, and a repeated write
//! is a no-op. Who writes (see [`crate::streams::StreamsRepo::apply_events`]): the writer of a head
//! session's state, after the head claim, whenever the liveness may differ from what the mirror holds;
//! a displaced head needs no write, because its displacer's key is greater.
//!
//! **Complete or not used.** A sentinel item (`id = "directory#ugc"`) sits in the index above every
//! start time, so the directory Query returns it first. It is written when the tables are created
//! (nothing to mirror yet) and by event-ingest's reconciler after a round has mirrored every live
//! session ([`DirectoryMirror::repair`]): that is the backfill for tables that predate the mirror.
//! Without it, or without the index, the directory reads `liveIndex` and the profiles as before.
//! The reconciler's round also repairs any drift, as it does for the sessions themselves.
//!
//! The channel page reads the same mirror on the owner's profile ([`crate::page`]), so the page and
//! the directory agree on who is live.

use std::collections::HashSet;

use aws_sdk_dynamodb::Client;
use ugc_domain::{ChannelArn, StreamId};

use std::sync::Arc;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};

use crate::channels::ChannelsRepo;
use crate::codec::{attr, get_n, get_s, n, s, session_attr, Item, PublicProfile};
use crate::error::DbError;
use crate::migrate::pacer::{paced_update, units};
use crate::migrate::Pacer;
use crate::streams::session_key;
use crate::streams::{LiveSession, LIVE_VALUE};
use crate::table::{project_get, project_query, Table};
use crate::tables::CHANNEL_ARN_INDEX;

/// Sparse GSI of the channels table: the profiles whose channel is live, partition `isLive`
/// (always `"true"`), sort `liveStartTime`, projecting what the directory shows.
pub const DIRECTORY_INDEX: &str = "directoryIndex";

/// The mirror's attributes on a profile item.
pub mod mirror_attr {
    /// `"true"` while the channel's head session is live; the index's partition.
    pub const IS_LIVE: &str = "isLive";
    /// The mirrored session's start time (ISO, seconds); the index's sort key.
    pub const START_TIME: &str = "liveStartTime";
    pub const STREAM_ID: &str = "liveStreamId";
    pub const VERSION: &str = "liveVersion";
    pub const CHANNEL_ARN: &str = "liveChannelArn";
}
use mirror_attr as m;

/// The attributes [`DIRECTORY_INDEX`] projects besides its keys.
pub const DIRECTORY_PROJECTION: &[&str] = &[
    attr::USERNAME,
    attr::AVATAR,
    attr::COLOR,
    attr::CHANNEL_ASSETS,
    attr::CHANNEL_ARN,
    m::CHANNEL_ARN,
    m::STREAM_ID,
];

/// The sentinel item's id, and its sort value (above every ISO start time).
pub const COMPLETE_ID: &str = "directory#ugc";
const COMPLETE_SORT: &str = "~complete";

/// A page of the index is read past entries that no longer apply; this bounds the pages.
const MAX_PAGES: usize = 8;

/// The state of one session, as the mirror copies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MirrorState<'a> {
    pub user_sub: &'a str,
    pub channel_arn: &'a str,
    pub stream_id: &'a str,
    /// ISO start time, seconds (as stored on the session).
    pub start_time: &'a str,
    pub version: i64,
    pub live: bool,
}

/// What a repair round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Mirror entries written (copies and removals the conditions let through).
    pub written: usize,
    /// Whether the directory index exists (without it there is nothing to repair).
    pub indexed: bool,
}

/// What a profile's mirror holds: the session it copied last, and whether that was live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirrored {
    pub channel_arn: String,
    pub stream_id: String,
    pub live: bool,
}

/// The mirror's reads and writes (the channels table).
#[derive(Clone, Debug)]
pub struct DirectoryMirror {
    table: Table,
    /// Paces the repair's requests by the capacity they consume (`ugc-admin migrate`'s budget).
    pacer: Option<Arc<Pacer>>,
}

/// One entry of the index as read: the profile, and the session it mirrors.
struct Entry {
    profile: PublicProfile,
    live_channel_arn: Option<String>,
    live_stream_id: Option<String>,
}

impl Entry {
    fn from_item(item: &Item) -> Result<Self, DbError> {
        Ok(Self {
            profile: PublicProfile::from_item(item)?,
            live_channel_arn: get_s(item, m::CHANNEL_ARN).map(str::to_owned),
            live_stream_id: get_s(item, m::STREAM_ID).map(str::to_owned),
        })
    }

    /// The profile still owns the channel whose session it mirrors.
    fn applies(&self) -> bool {
        self.live_channel_arn.is_some()
            && self.profile.channel_arn.as_ref().map(ChannelArn::as_str)
                == self.live_channel_arn.as_deref()
    }
}

impl DirectoryMirror {
    pub fn new(client: Client, channels_table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, channels_table),
            pacer: None,
        }
    }

    /// Requests made through this mirror report the capacity they consume to `pacer` and wait as
    /// its budget requires (the migration's backfill beside live traffic).
    pub fn with_pacer(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }

    async fn pace(&self, read: Option<&ConsumedCapacity>, write: Option<&ConsumedCapacity>) {
        if let Some(pacer) = &self.pacer {
            pacer.consume(units(read), units(write)).await;
        }
    }

    /// Sends a conditional update (consumed capacity paced); whether its condition let it through.
    async fn written(&self, request: UpdateItemFluentBuilder) -> Result<bool, DbError> {
        let request = request.return_consumed_capacity(ReturnConsumedCapacity::Total);
        paced_update(self.pacer.as_deref(), request.send().await).await
    }

    /// Copies a session's liveness onto its owner's profile, unless the profile holds a newer state
    /// of its channel or no longer owns the channel (both refuse the write: nothing to do).
    /// Whether the copy was written.
    pub(crate) async fn record(&self, state: &MirrorState<'_>) -> Result<bool, DbError> {
        if state.user_sub.is_empty() {
            return Ok(false);
        }
        let set = "SET #ls = :start, #lid = :id, #lv = :v, #lch = :arn";
        let request = self
            .table
            .update(ChannelsRepo::key(state.user_sub))
            .condition_expression(
                "#arn = :arn AND (attribute_not_exists(#lid) OR #lch <> :arn OR #ls < :start \
                 OR (#ls = :start AND (#lid < :id OR (#lid = :id AND #lv <= :v))))",
            )
            .expression_attribute_names("#arn", attr::CHANNEL_ARN)
            .expression_attribute_names("#ls", m::START_TIME)
            .expression_attribute_names("#lid", m::STREAM_ID)
            .expression_attribute_names("#lv", m::VERSION)
            .expression_attribute_names("#lch", m::CHANNEL_ARN)
            .expression_attribute_names("#live", m::IS_LIVE)
            .expression_attribute_values(":arn", s(state.channel_arn))
            .expression_attribute_values(":start", s(state.start_time))
            .expression_attribute_values(":id", s(state.stream_id))
            .expression_attribute_values(":v", n(state.version));
        let request = if state.live {
            request
                .update_expression(format!("{set}, #live = :true"))
                .expression_attribute_values(":true", s(LIVE_VALUE))
        } else {
            request.update_expression(format!("{set} REMOVE #live"))
        };
        self.written(request).await
    }

    /// What the profile `sub` mirrors (strongly consistent); `None` before its first copy.
    pub async fn mirrored(&self, sub: &str) -> Result<Option<Mirrored>, DbError> {
        let get = self.table.get(ChannelsRepo::key(sub));
        let out = project_get(get, &[m::CHANNEL_ARN, m::STREAM_ID, m::IS_LIVE])
            .send()
            .await?;
        Ok(out.item().and_then(|item| {
            Some(Mirrored {
                channel_arn: get_s(item, m::CHANNEL_ARN)?.to_owned(),
                stream_id: get_s(item, m::STREAM_ID)?.to_owned(),
                live: get_s(item, m::IS_LIVE) == Some(LIVE_VALUE),
            })
        }))
    }

    /// Whether the sentinel that tells readers the mirror is complete is there (eventually
    /// consistent: the channel page's check, [`crate::page`]).
    pub async fn is_complete(&self) -> Result<bool, DbError> {
        let get = self
            .table
            .get(ChannelsRepo::key(COMPLETE_ID))
            .consistent_read(false);
        Ok(project_get(get, &[attr::ID]).send().await?.item.is_some())
    }

    /// Writes the sentinel that tells readers the mirror is complete (idempotent).
    pub async fn mark_complete(&self) -> Result<(), DbError> {
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item(attr::ID, s(COMPLETE_ID))
            .item(m::IS_LIVE, s(LIVE_VALUE))
            .item(m::START_TIME, s(COMPLETE_SORT))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        self.pace(None, out.consumed_capacity()).await;
        Ok(())
    }

    /// The live channels' public profiles, newest session first, at most `limit`; `None` when the
    /// mirror cannot answer (no index yet, or not known to be complete): the caller reads the
    /// sessions instead.
    pub async fn live_profiles(&self, limit: usize) -> Result<Option<Vec<PublicProfile>>, DbError> {
        let mut profiles = Vec::new();
        let mut start_key = None;
        let mut first = true;
        for _ in 0..MAX_PAGES {
            let wanted = limit - profiles.len() + usize::from(first);
            let out = match self
                .query(wanted)
                .set_exclusive_start_key(start_key)
                .send()
                .await
            {
                Ok(out) => out,
                Err(err) if crate::migrate::schema::is_index_unavailable(&err) => return Ok(None),
                Err(err) => return Err(err.into()),
            };
            let mut items = out.items().iter();
            if first {
                if items.next().and_then(|item| get_s(item, attr::ID)) != Some(COMPLETE_ID) {
                    return Ok(None);
                }
                first = false;
            }
            for item in items {
                let entry = Entry::from_item(item)?;
                if entry.applies() {
                    profiles.push(entry.profile);
                    if profiles.len() >= limit {
                        return Ok(Some(profiles));
                    }
                }
            }
            start_key = out.last_evaluated_key().cloned();
            if start_key.is_none() {
                break;
            }
        }
        Ok(Some(profiles))
    }

    fn query(
        &self,
        limit: usize,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let query = self
            .table
            .newest_in_partition(DIRECTORY_INDEX, m::IS_LIVE, LIVE_VALUE)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        let mut attributes = vec![attr::ID];
        attributes.extend_from_slice(DIRECTORY_PROJECTION);
        project_query(query, &attributes)
    }

    /// Every entry of the index (all pages; the reconciler's view), without the sentinel, and
    /// whether the sentinel is there.
    async fn entries(&self) -> Result<Option<(Vec<Entry>, bool)>, DbError> {
        let mut pages = self
            .query(1000)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        let mut entries = Vec::new();
        let mut complete = false;
        while let Some(page) = pages.next().await {
            let out = match page {
                Ok(out) => out,
                Err(err) if crate::migrate::schema::is_index_unavailable(&err) => return Ok(None),
                Err(err) => return Err(err.into()),
            };
            self.pace(out.consumed_capacity(), None).await;
            for item in out.items() {
                if get_s(item, attr::ID) == Some(COMPLETE_ID) {
                    complete = true;
                } else {
                    entries.push(Entry::from_item(item)?);
                }
            }
        }
        Ok(Some((entries, complete)))
    }

    /// One repair round (event-ingest's reconciler): `live` is every session the streams table holds
    /// as live (`liveIndex`). A live session its owner's profile does not mirror, and an entry that
    /// mirrors a session not in `live`, are copied again from the session itself (strongly
    /// consistent), by the same conditional write as event-ingest's. Then the sentinel is written
    /// if it is not there yet: every session live when the round began is mirrored.
    pub async fn repair(
        &self,
        streams: &crate::streams::StreamsRepo,
        live: &[LiveSession],
    ) -> Result<RepairReport, DbError> {
        let Some((entries, complete)) = self.entries().await? else {
            return Ok(RepairReport::default());
        };
        let mirrored: HashSet<(&str, &str)> = entries
            .iter()
            .filter(|entry| entry.applies())
            .filter_map(|entry| {
                Some((
                    entry.live_channel_arn.as_deref()?,
                    entry.live_stream_id.as_deref()?,
                ))
            })
            .collect();
        let listed: HashSet<(&str, &str)> = live
            .iter()
            .map(|session| (session.channel_arn.as_str(), session.stream_id.as_str()))
            .collect();
        let mut suspects: Vec<(String, String)> = live
            .iter()
            .map(|session| (session.channel_arn.as_str(), session.stream_id.as_str()))
            .filter(|key| !mirrored.contains(key))
            .map(|(arn, id)| (arn.to_owned(), id.to_owned()))
            .collect();
        suspects.extend(entries.iter().filter(|e| e.applies()).filter_map(|entry| {
            let key = (
                entry.live_channel_arn.as_deref()?,
                entry.live_stream_id.as_deref()?,
            );
            (!listed.contains(&key)).then(|| (key.0.to_owned(), key.1.to_owned()))
        }));
        let mut report = RepairReport {
            written: 0,
            indexed: true,
        };
        // Entries of a channel the profile no longer owns (readers skip them) leave the index.
        for entry in entries.iter().filter(|entry| !entry.applies()) {
            report.written += usize::from(self.clear_stale(entry).await?);
        }
        for (channel_arn, stream_id) in suspects {
            let (Ok(arn), Ok(id)) = (ChannelArn::parse(&channel_arn), StreamId::parse(&stream_id))
            else {
                continue;
            };
            let read = streams
                .table_ref()
                .get(session_key(arn.as_str(), id.as_str()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await?;
            self.pace(read.consumed_capacity(), None).await;
            let Some(item) = read.item else {
                continue;
            };
            let owner = match get_s(&item, session_attr::USER_SUB).filter(|sub| !sub.is_empty()) {
                Some(sub) => Some(sub.to_owned()),
                None => self.owner_of(&arn).await?,
            };
            let (Some(owner), Some(start_time)) = (owner, get_s(&item, session_attr::START_TIME))
            else {
                continue;
            };
            let copied = self
                .record(&MirrorState {
                    user_sub: &owner,
                    channel_arn: &channel_arn,
                    stream_id: &stream_id,
                    start_time,
                    version: get_n(&item, session_attr::VERSION).unwrap_or(0),
                    live: get_s(&item, session_attr::IS_LIVE) == Some(LIVE_VALUE),
                })
                .await?;
            report.written += usize::from(copied);
        }
        if !complete {
            self.mark_complete().await?;
        }
        Ok(report)
    }

    /// Takes an entry whose profile no longer owns the mirrored channel out of the index, unless
    /// the mirror moved on meanwhile (or the profile owns that channel again). Whether it was.
    async fn clear_stale(&self, entry: &Entry) -> Result<bool, DbError> {
        let (Some(channel_arn), Some(stream_id)) = (&entry.live_channel_arn, &entry.live_stream_id)
        else {
            return Ok(false);
        };
        let request = self
            .table
            .update(ChannelsRepo::key(&entry.profile.id))
            .update_expression("REMOVE #live")
            .condition_expression(
                "#lch = :arn AND #lid = :id AND (attribute_not_exists(#arn) OR #arn <> :arn)",
            )
            .expression_attribute_names("#live", m::IS_LIVE)
            .expression_attribute_names("#lch", m::CHANNEL_ARN)
            .expression_attribute_names("#lid", m::STREAM_ID)
            .expression_attribute_names("#arn", attr::CHANNEL_ARN)
            .expression_attribute_values(":arn", s(channel_arn))
            .expression_attribute_values(":id", s(stream_id));
        self.written(request).await
    }

    /// The sub of the profile that owns `channel_arn` (upstream's sessions carry no `userSub`).
    async fn owner_of(&self, channel_arn: &ChannelArn) -> Result<Option<String>, DbError> {
        let query = self
            .table
            .partition(CHANNEL_ARN_INDEX, attr::CHANNEL_ARN, channel_arn.as_str())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .limit(1);
        let out = project_query(query, &[attr::ID]).send().await?;
        self.pace(out.consumed_capacity(), None).await;
        Ok(out
            .items()
            .first()
            .and_then(|item| get_s(item, attr::ID))
            .map(str::to_owned))
    }
}

/// The stream id of the live session the profile `item` mirrors for its channel `channel_arn`;
/// `None` when the mirror says offline or names a channel the profile no longer owns.
pub(crate) fn mirrored_live(item: &Item, channel_arn: &ChannelArn) -> Option<StreamId> {
    if get_s(item, m::IS_LIVE) != Some(LIVE_VALUE)
        || get_s(item, m::CHANNEL_ARN) != Some(channel_arn.as_str())
    {
        return None;
    }
    StreamId::parse(get_s(item, m::STREAM_ID)?).ok()
}
