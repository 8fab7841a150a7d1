//! The public channel page's reads: the owner's public profile and, when the channel is live, its
//! live session; for a channel this process has read before, usually one `GetItem`.
//!
//! **Mirrored (the usual case).** Each profile carries the directory's mirror of its channel's head
//! session (`isLive`, `liveChannelArn`, `liveStreamId`; [`crate::directory`]), so the profile alone
//! says whether the channel is live and which session is. A load reads the profile with those
//! attributes: by sub (`GetItem`) when a [`PageHint`] from an earlier load names it, else by
//! `usernameIndex`. A live page also needs the session's ingest configuration (the video size):
//! it is read from the session (strongly consistent, so never older than the mirror; a session that
//! has ended meanwhile makes the page offline) and, once IVS's configuration is stored, kept in the
//! hint: a session's ingest configuration never changes. So a page whose liveness did not change
//! costs one `GetItem`, whether the channel is live or not.
//!
//! The mirror is used only once this process has seen its completeness sentinel
//! ([`crate::directory::COMPLETE_ID`], checked at most every [`MIRROR_RECHECK`] until found): on
//! tables that predate the mirror (upstream's, before `ugc-admin migrate` or the reconciler's first
//! round) the page reads the sessions instead, as below. The mirror is the directory's, so the page
//! and the directory agree on who is live; both follow a session's state once its delivery has been
//! acknowledged (event-ingest acknowledges only after the copy is durable).
//!
//! **Sessions (until the mirror is complete).** Read cold, the page costs two sequential Queries:
//! the profile by `usernameIndex`, then the newest session by `startTimeIndex` (its key is the
//! channel ARN the profile holds). The hint also records the head session id the channel item
//! (`id = "#channel"`, see [`crate::streams`]) named, and the next load reads the profile by sub,
//! the channel item and that session in one `BatchGetItem` across the two tables:
//! - the channel item must still name the hinted session as its head, else the session it names
//!   is read by key (one more call) and becomes the hint;
//! - a channel without a channel item (no session has claimed a head: never broadcast, or
//!   upstream's rows before `ugc-admin migrate`) has its newest session queried as when cold.
//!
//! The head is the newest session by (start time, id), the order `startTimeIndex` gives, and the
//! channel item is claimed only after the session's start time is durable, so both reads name the
//! same session except while a new session's claim is in flight (at most one event's processing).
//!
//! On both paths a hint never decides what the page shows: a profile that no longer exists, holds
//! the username (exact case) or the hinted channel ARN sends the load back to the index, and a
//! stale hint costs a call. Reads other than the live session's are eventually consistent, as the
//! index Queries of the cold path are.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ugc_domain::{ChannelArn, StreamId};

use crate::codec::{
    attr, get_s, session_attr, PublicProfile, SessionLiveness, PUBLIC_PROFILE_ATTRIBUTES,
    SESSION_LIVENESS_ATTRIBUTES,
};
use crate::directory::{mirror_attr, mirrored_live, DirectoryMirror};
use crate::error::DbError;
use crate::streams::{session_key, CHANNEL_ITEM_ID, HEAD_ID};
use crate::table::{batch_keys, first_item, project_get, project_query};
use crate::tables::USERNAME_INDEX;
use crate::{ChannelsRepo, StreamsRepo};

/// Usernames whose hint is kept at most; beyond it the hints start over (each costs one cold load).
const HINT_CAPACITY: usize = 10_000;

/// How often a process that has not seen the mirror's completeness sentinel looks again.
pub const MIRROR_RECHECK: Duration = Duration::from_secs(30);

/// The profile as the mirrored load reads it: the public profile and the mirror.
static PAGE_PROFILE_ATTRIBUTES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut attributes = PUBLIC_PROFILE_ATTRIBUTES.to_vec();
    attributes.extend([
        mirror_attr::IS_LIVE,
        mirror_attr::CHANNEL_ARN,
        mirror_attr::STREAM_ID,
    ]);
    attributes
});

/// What a channel page shows from DynamoDB.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelPageData {
    pub owner: PublicProfile,
    /// The channel's live session (its `is_live` is `true`); `None` while the channel is offline
    /// or has none.
    pub live: Option<Arc<SessionLiveness>>,
}

/// Where the previous load found a username's page (module docs).
#[derive(Clone, Debug, PartialEq)]
struct PageHint {
    sub: String,
    channel_arn: ChannelArn,
    /// The head session the channel item named (the sessions path).
    head: Option<StreamId>,
    /// The live session as last read, once its ingest configuration is stored (the mirrored path).
    live: Option<Arc<SessionLiveness>>,
}

/// Whether this process may use the mirror (module docs).
struct MirrorTrust {
    mirror: DirectoryMirror,
    complete: AtomicBool,
    next_check: Mutex<Instant>,
}

impl MirrorTrust {
    /// `true` once the sentinel has been seen. Otherwise one load per [`MIRROR_RECHECK`] looks
    /// (the others go on without the mirror meanwhile); a failed look only delays the next one.
    async fn complete(&self) -> bool {
        if self.complete.load(Ordering::Relaxed) {
            return true;
        }
        {
            let mut next = self
                .next_check
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            if now < *next {
                return false;
            }
            *next = now + MIRROR_RECHECK;
        }
        match self.mirror.is_complete().await {
            Ok(complete) => {
                self.complete.store(complete, Ordering::Relaxed);
                complete
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not read the directory mirror's sentinel");
                false
            }
        }
    }
}

/// See the module docs. Cheap to clone (the hints are shared).
#[derive(Clone)]
pub struct PageReads {
    channels: ChannelsRepo,
    streams: StreamsRepo,
    hints: Arc<Mutex<HashMap<String, Arc<PageHint>>>>,
    mirror: Arc<MirrorTrust>,
}

impl PageReads {
    /// `channels` and `streams` must use the same client (the batch spans both tables).
    pub fn new(channels: ChannelsRepo, streams: StreamsRepo) -> Self {
        let table = channels.table_ref();
        let mirror = DirectoryMirror::new(table.client.clone(), table.name.clone());
        Self {
            channels,
            streams,
            hints: Arc::default(),
            mirror: Arc::new(MirrorTrust {
                mirror,
                complete: AtomicBool::new(false),
                next_check: Mutex::new(Instant::now()),
            }),
        }
    }

    /// The page of the profile whose username is exactly `username`; `None` when there is none.
    pub async fn load(&self, username: &str) -> Result<Option<ChannelPageData>, DbError> {
        if self.mirror.complete().await {
            return self.load_mirrored(username).await;
        }
        if let Some(hint) = self.hint(username) {
            if let Some((page, head)) = self.load_hinted(username, &hint).await? {
                if head != hint.head {
                    self.remember(
                        username,
                        PageHint {
                            head,
                            ..PageHint::clone(&hint)
                        },
                    );
                }
                return Ok(Some(page));
            }
            self.forget(username);
        }
        self.load_cold(username).await
    }

    /// The mirrored load: the profile with its mirror (by the hinted sub, else by username), then
    /// the live session unless the hint holds it.
    async fn load_mirrored(&self, username: &str) -> Result<Option<ChannelPageData>, DbError> {
        let hint = self.hint(username);
        let hinted = match &hint {
            Some(hint) => {
                let get = self
                    .channels
                    .table_ref()
                    .get(ChannelsRepo::key(&hint.sub))
                    .consistent_read(false);
                project_get(get, &PAGE_PROFILE_ATTRIBUTES)
                    .send()
                    .await?
                    .item
                    .filter(|item| {
                        get_s(item, attr::USERNAME) == Some(username)
                            && get_s(item, attr::CHANNEL_ARN) == Some(hint.channel_arn.as_str())
                    })
            }
            None => None,
        };
        let (item, hint) = match hinted {
            Some(item) => (item, hint),
            None => {
                let query =
                    self.channels
                        .table_ref()
                        .partition(USERNAME_INDEX, attr::USERNAME, username);
                match first_item(project_query(query, &PAGE_PROFILE_ATTRIBUTES)).await? {
                    Some(item) => (item, None),
                    None => {
                        self.forget(username);
                        return Ok(None);
                    }
                }
            }
        };
        let owner = PublicProfile::from_item(&item)?;
        let Some(channel_arn) = owner.channel_arn.clone() else {
            self.forget(username);
            return Ok(Some(ChannelPageData { owner, live: None }));
        };
        let cached = hint.as_ref().and_then(|hint| hint.live.clone());
        let live = match mirrored_live(&item, &channel_arn) {
            None => None,
            Some(stream_id) => match cached.filter(|live| live.stream_id == stream_id) {
                Some(live) => Some(live),
                None => self
                    .live_session(&channel_arn, &stream_id)
                    .await?
                    .map(Arc::new),
            },
        };
        // Kept: the live session once its ingest configuration is stored (it never changes).
        let keep = live
            .clone()
            .filter(|live| live.ingest_configuration.is_some());
        // `hint` is kept only when it found this profile, so its sub and channel still hold.
        let unchanged = hint.as_ref().is_some_and(|hint| {
            hint.head.is_none()
                && match (&hint.live, &keep) {
                    (Some(kept), Some(now)) => Arc::ptr_eq(kept, now),
                    (kept, now) => kept.is_none() && now.is_none(),
                }
        });
        if !unchanged {
            self.remember(
                username,
                PageHint {
                    sub: owner.id.clone(),
                    channel_arn,
                    head: None,
                    live: keep,
                },
            );
        }
        Ok(Some(ChannelPageData { owner, live }))
    }

    /// The session the mirror says is live, read strongly consistent (the session is written
    /// before the mirror, so this read is never older than it): `None` when it is no longer live,
    /// or gone (its channel's sessions are deleted before the profile).
    async fn live_session(
        &self,
        channel_arn: &ChannelArn,
        stream_id: &StreamId,
    ) -> Result<Option<SessionLiveness>, DbError> {
        Ok(self
            .streams
            .liveness_of(channel_arn, stream_id)
            .await?
            .filter(|session| session.is_live))
    }

    /// The two index Queries (profile by username, newest session by start time); leaves a hint.
    async fn load_cold(&self, username: &str) -> Result<Option<ChannelPageData>, DbError> {
        let Some(owner) = self.channels.public_by_username(username).await? else {
            return Ok(None);
        };
        let Some(channel_arn) = owner.channel_arn.clone() else {
            return Ok(Some(ChannelPageData { owner, live: None }));
        };
        let session = self.streams.latest_liveness(&channel_arn).await?;
        self.remember(
            username,
            PageHint {
                sub: owner.id.clone(),
                channel_arn,
                head: session.as_ref().map(|s| s.stream_id.clone()),
                live: None,
            },
        );
        Ok(Some(ChannelPageData {
            owner,
            live: session.filter(|s| s.is_live).map(Arc::new),
        }))
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
        Ok(Some((
            ChannelPageData {
                owner,
                live: session.filter(|s| s.is_live).map(Arc::new),
            },
            head,
        )))
    }

    fn hint(&self, username: &str) -> Option<Arc<PageHint>> {
        let hints = self.hints.lock().unwrap_or_else(PoisonError::into_inner);
        hints.get(username).cloned()
    }

    fn remember(&self, username: &str, hint: PageHint) {
        let mut hints = self.hints.lock().unwrap_or_else(PoisonError::into_inner);
        if hints.len() >= HINT_CAPACITY && !hints.contains_key(username) {
            hints.clear();
        }
        hints.insert(username.to_owned(), Arc::new(hint));
    }

    fn forget(&self, username: &str) {
        let mut hints = self.hints.lock().unwrap_or_else(PoisonError::into_inner);
        hints.remove(username);
    }
}
