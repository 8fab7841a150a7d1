//! The public channel page's reads: the owner's public profile and the liveness of the channel's
//! newest session, in one `BatchGetItem` when the channel has been read before.
//!
//! Read cold, the page costs two sequential Queries: the profile by `usernameIndex`, then the
//! newest session by `startTimeIndex` (its key is the channel ARN the profile holds). Each load
//! leaves a [`PageHint`] per username: the owner's sub, the channel ARN and the head session id the
//! channel item (`id = "#channel"`, see [`crate::streams`]) named. The next load reads the profile
//! by sub, the channel item and that session in one `BatchGetItem` across the two tables, and
//! checks the hint against what it read:
//! - the profile must still exist, hold the username (exact case) and the same channel ARN, else
//!   the hint is dropped and the load reads cold;
//! - the channel item must still name the hinted session as its head, else the session it names
//!   is read by key (one more call) and becomes the hint;
//! - a channel without a channel item (no session has claimed a head: never broadcast, or
//!   upstream's rows before `ugc-admin migrate`) has its newest session queried as when cold.
//!
//! So a hint never decides what the page shows; a stale one costs a call. The head is the newest
//! session by (start time, id), the order `startTimeIndex` gives, and the channel item is claimed
//! only after the session's start time is durable, so both reads name the same session except
//! while a new session's claim is in flight (at most one event's processing). Reads are eventually
//! consistent, as the index Queries of the cold path are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ugc_domain::{ChannelArn, StreamId};

use crate::codec::{
    get_s, session_attr, PublicProfile, SessionLiveness, PUBLIC_PROFILE_ATTRIBUTES,
    SESSION_LIVENESS_ATTRIBUTES,
};
use crate::error::DbError;
use crate::streams::{session_key, CHANNEL_ITEM_ID, HEAD_ID};
use crate::table::batch_keys;
use crate::{ChannelsRepo, StreamsRepo};

/// Usernames whose hint is kept at most; beyond it the hints start over (each costs one cold load).
const HINT_CAPACITY: usize = 10_000;

/// What a channel page shows from DynamoDB.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelPageData {
    pub owner: PublicProfile,
    /// The channel's newest session; `None` without a channel or a session.
    pub session: Option<SessionLiveness>,
}

/// Where the previous load found a username's page (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
struct PageHint {
    sub: String,
    channel_arn: ChannelArn,
    head: Option<StreamId>,
}

/// See the module docs. Cheap to clone (the hints are shared).
#[derive(Clone)]
pub struct PageReads {
    channels: ChannelsRepo,
    streams: StreamsRepo,
    hints: Arc<Mutex<HashMap<String, PageHint>>>,
}

impl PageReads {
    /// `channels` and `streams` must use the same client (the batch spans both tables).
    pub fn new(channels: ChannelsRepo, streams: StreamsRepo) -> Self {
        Self {
            channels,
            streams,
            hints: Arc::default(),
        }
    }

    /// The page of the profile whose username is exactly `username`; `None` when there is none.
    pub async fn load(&self, username: &str) -> Result<Option<ChannelPageData>, DbError> {
        if let Some(hint) = self.hint(username) {
            if let Some((page, head)) = self.load_hinted(username, &hint).await? {
                if head != hint.head {
                    self.remember(username, PageHint { head, ..hint });
                }
                return Ok(Some(page));
            }
            self.forget(username);
        }
        self.load_cold(username).await
    }

    /// The two index Queries (profile by username, newest session by start time); leaves a hint.
    async fn load_cold(&self, username: &str) -> Result<Option<ChannelPageData>, DbError> {
        let Some(owner) = self.channels.public_by_username(username).await? else {
            return Ok(None);
        };
        let Some(channel_arn) = owner.channel_arn.clone() else {
            return Ok(Some(ChannelPageData {
                owner,
                session: None,
            }));
        };
        let session = self.streams.latest_liveness(&channel_arn).await?;
        self.remember(
            username,
            PageHint {
                sub: owner.id.clone(),
                channel_arn,
                head: session.as_ref().map(|s| s.stream_id.clone()),
            },
        );
        Ok(Some(ChannelPageData { owner, session }))
    }

    /// One `BatchGetItem` (plus a read when the head moved): the page and the head it found, or
    /// `None` when the hint no longer holds (or DynamoDB left keys unread) and the load must go cold.
    async fn load_hinted(
        &self,
        username: &str,
        hint: &PageHint,
    ) -> Result<Option<(ChannelPageData, Option<StreamId>)>, DbError> {
        let channels = self.channels.table_ref();
        let streams = self.streams.table_ref();
        let arn = hint.channel_arn.as_str();
        let mut stream_keys = vec![session_key(arn, CHANNEL_ITEM_ID)];
        if let Some(head) = &hint.head {
            stream_keys.push(session_key(arn, head.as_str()));
        }
        let mut stream_attributes = SESSION_LIVENESS_ATTRIBUTES.to_vec();
        stream_attributes.push(HEAD_ID);
        let out = channels
            .client
            .batch_get_item()
            .request_items(
                &channels.name,
                batch_keys(
                    vec![ChannelsRepo::key(&hint.sub)],
                    false,
                    Some(PUBLIC_PROFILE_ATTRIBUTES),
                )?,
            )
            .request_items(
                &streams.name,
                batch_keys(stream_keys, false, Some(&stream_attributes))?,
            )
            .send()
            .await?;
        if out
            .unprocessed_keys()
            .is_some_and(|unread| unread.values().any(|k| !k.keys().is_empty()))
        {
            return Ok(None);
        }
        let mut responses = out.responses.unwrap_or_default();
        let profile = responses
            .remove(&channels.name)
            .unwrap_or_default()
            .into_iter()
            .next();
        let Some(owner) = profile.as_ref().map(PublicProfile::from_item).transpose()? else {
            return Ok(None);
        };
        if owner.username != username || owner.channel_arn.as_ref() != Some(&hint.channel_arn) {
            return Ok(None);
        }
        let items = responses.remove(&streams.name).unwrap_or_default();
        let find = |id: &str| {
            items
                .iter()
                .find(|item| get_s(item, session_attr::ID) == Some(id))
        };
        let head = find(CHANNEL_ITEM_ID)
            .and_then(|item| get_s(item, HEAD_ID))
            .and_then(|id| StreamId::parse(id).ok());
        let session = match &head {
            None => self.streams.latest_liveness(&hint.channel_arn).await?,
            Some(head) => match find(head.as_str()) {
                Some(item) => Some(SessionLiveness::from_item(item)?),
                None => match self.streams.liveness_of(&hint.channel_arn, head).await? {
                    Some(session) => Some(session),
                    None => self.streams.latest_liveness(&hint.channel_arn).await?,
                },
            },
        };
        Ok(Some((ChannelPageData { owner, session }, head)))
    }

    fn hint(&self, username: &str) -> Option<PageHint> {
        let hints = self.hints.lock().unwrap_or_else(PoisonError::into_inner);
        hints.get(username).cloned()
    }

    fn remember(&self, username: &str, hint: PageHint) {
        let mut hints = self.hints.lock().unwrap_or_else(PoisonError::into_inner);
        if hints.len() >= HINT_CAPACITY && !hints.contains_key(username) {
            hints.clear();
        }
        hints.insert(username.to_owned(), hint);
    }

    fn forget(&self, username: &str) {
        let mut hints = self.hints.lock().unwrap_or_else(PoisonError::into_inner);
        hints.remove(username);
    }
}
