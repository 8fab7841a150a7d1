//! The stream-session model: the single definition of a session's state and of "live"
//! (docs/architecture.md "Session model").
//!
//! IVS delivers events best effort — duplicated, late, missing, out of order — so everything here
//! is a pure function of the *set* of events: [`SessionSummary`] is a join-semilattice (merge is
//! commutative, associative and idempotent) and applying an event is merging a one-event summary.
//! Whatever order the events arrive in, and however often, the state is the same.
//!
//! Events are totally ordered by `time`, then [`EventKind::rank`], then `id`; "latest" always means
//! greatest in that order.

mod event;
mod sketch;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use time::OffsetDateTime;

pub use event::{
    EventKind, EventParseError, IvsEvent, RecordingStatus, LIMIT_BREACH, RECORDING_STATE_CHANGE,
    STREAM_HEALTH_CHANGE, STREAM_STATE_CHANGE,
};
pub use sketch::IdSketch;

use crate::ivs::StreamId;

/// How many events a session keeps (the most recent in the total order). Upstream kept every
/// event in one item, which grows without bound; the attribute was always called `truncatedEvents`.
pub const EVENT_CAP: usize = 100;

/// An event as kept in a session's list (`truncatedEvents` items carry `eventTime`, `name`, `type`;
/// `id` is ours, for de-duplication).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredEvent {
    pub id: String,
    pub time: OffsetDateTime,
    /// Event name, limit name or recording status.
    pub name: String,
    /// The EventBridge detail-type.
    pub event_type: String,
}

impl StoredEvent {
    pub fn kind(&self) -> Option<EventKind> {
        EventKind::from_parts(&self.event_type, &self.name)
    }

    pub fn rank(&self) -> u8 {
        self.kind()
            .map_or(event::UNRECOGNISED_RANK, |kind| kind.rank())
    }

    /// The session model's total order: time, then rank, then id.
    pub fn cmp_order(&self, other: &Self) -> Ordering {
        self.time
            .cmp(&other.time)
            .then_with(|| self.rank().cmp(&other.rank()))
            .then_with(|| self.id.cmp(&other.id))
    }

    /// The total order, extended to the remaining fields so that even two different events sharing
    /// an id (which IVS never sends) resolve the same way in any arrival order.
    fn cmp_full(&self, other: &Self) -> Ordering {
        self.cmp_order(other)
            .then_with(|| self.name.cmp(&other.name))
            .then_with(|| self.event_type.cmp(&other.event_type))
    }
}

fn max_event(a: Option<StoredEvent>, b: Option<&StoredEvent>) -> Option<StoredEvent> {
    match (a, b) {
        (Some(a), Some(b)) if b.cmp_full(&a) == Ordering::Greater => Some(b.clone()),
        (Some(a), _) => Some(a),
        (None, b) => b.cloned(),
    }
}

fn min_time(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_time(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    a.max(b)
}

/// The state of one stream session, derived from its events.
///
/// Fields are public so the storage layer can persist them as attributes; after rebuilding one
/// from storage call [`SessionSummary::normalized`], which restores the invariants (sorted, unique,
/// capped events; state consistent with them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSummary {
    /// Time of Session Created (the earliest, should IVS ever send two).
    pub start_time: Option<OffsetDateTime>,
    /// Time of Session Ended (the latest, should IVS ever send two).
    pub end_time: Option<OffsetDateTime>,
    /// Latest of Stream Start / Stream Takeover / Stream Failure / Stream End.
    pub latest_stream_state: Option<StoredEvent>,
    /// Latest of Starvation Start / Starvation End.
    pub latest_health: Option<StoredEvent>,
    /// Any Limit Breach or Stream Failure.
    pub has_error: bool,
    /// The [`EVENT_CAP`] greatest events in the total order, ascending, unique by id.
    pub events: Vec<StoredEvent>,
    /// Every event id ever seen, for [`SessionSummary::dropped_events`].
    pub seen: IdSketch,
    /// Estimated number of distinct events that fell off `events` because of the cap: 0 exactly
    /// while the list is not full; beyond that the linear-counting estimate of [`IdSketch`] minus
    /// the cap. An exact count would need every id ever seen (unbounded storage); the estimate is
    /// still a pure function of the event set, so it is identical in every arrival order.
    pub dropped_events: u32,
}

impl SessionSummary {
    /// The summary of a set of events, in any order, with any duplicates.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a IvsEvent>) -> Self {
        let mut summary = Self::default();
        for event in events {
            summary.apply(event);
        }
        summary
    }

    /// The summary of one event.
    pub fn of_event(event: &IvsEvent) -> Self {
        Self::of_stored(event.stored())
    }

    fn of_stored(stored: StoredEvent) -> Self {
        let mut summary = Self::default();
        match stored.kind() {
            Some(EventKind::SessionCreated) => summary.start_time = Some(stored.time),
            Some(EventKind::SessionEnded) => summary.end_time = Some(stored.time),
            Some(kind) if kind.is_stream_state() => {
                summary.latest_stream_state = Some(stored.clone())
            }
            Some(kind) if kind.is_health() => summary.latest_health = Some(stored.clone()),
            _ => {}
        }
        summary.has_error = stored.kind().is_some_and(|kind| kind.is_error());
        summary.seen.insert(&stored.id);
        summary.events = vec![stored];
        summary
    }

    /// Adds an event; returns whether anything changed (false for a redelivery). Equivalent to
    /// merging [`SessionSummary::of_event`], without rebuilding the event list.
    pub fn apply(&mut self, event: &IvsEvent) -> bool {
        let stored = event.stored();
        let kind = &event.kind;
        let mut changed = false;
        match kind {
            EventKind::SessionCreated => {
                let start = min_time(self.start_time, Some(stored.time));
                changed |= start != self.start_time;
                self.start_time = start;
            }
            EventKind::SessionEnded => {
                let end = max_time(self.end_time, Some(stored.time));
                changed |= end != self.end_time;
                self.end_time = end;
            }
            _ => {}
        }
        let latest = if kind.is_stream_state() {
            Some(&mut self.latest_stream_state)
        } else if kind.is_health() {
            Some(&mut self.latest_health)
        } else {
            None
        };
        if let Some(latest) = latest {
            if latest
                .as_ref()
                .is_none_or(|current| stored.cmp_full(current) == Ordering::Greater)
            {
                *latest = Some(stored.clone());
                changed = true;
            }
        }
        if kind.is_error() && !self.has_error {
            self.has_error = true;
            changed = true;
        }
        changed |= self.seen.insert(&stored.id);
        changed |= insert_capped(&mut self.events, stored);
        let dropped = self.count_dropped();
        changed |= dropped != self.dropped_events;
        self.dropped_events = dropped;
        changed
    }

    /// Joins another summary of the same session into this one.
    pub fn merge(&mut self, other: &SessionSummary) {
        self.start_time = min_time(self.start_time, other.start_time);
        self.end_time = max_time(self.end_time, other.end_time);
        self.latest_stream_state = max_event(
            self.latest_stream_state.take(),
            other.latest_stream_state.as_ref(),
        );
        self.latest_health = max_event(self.latest_health.take(), other.latest_health.as_ref());
        self.has_error |= other.has_error;
        self.events = capped_union(&self.events, &other.events);
        self.seen.union(&other.seen);
        self.dropped_events = self.count_dropped();
    }

    /// Restores the invariants after the fields were set by hand (e.g. read from storage, including
    /// upstream rows that only have `truncatedEvents`): the state is joined with what the kept
    /// events imply, the events are sorted, de-duplicated and capped, and every kept id is in the
    /// sketch.
    pub fn normalized(mut self) -> Self {
        let events = std::mem::take(&mut self.events);
        for event in events {
            let single = Self::of_stored(event);
            self.merge(&single);
        }
        self.dropped_events = self.count_dropped();
        self
    }

    fn count_dropped(&self) -> u32 {
        if self.events.len() < EVENT_CAP {
            return 0;
        }
        let mut kept = IdSketch::default();
        for event in &self.events {
            kept.insert(&event.id);
        }
        if kept == self.seen {
            // Nothing outside the list was seen (up to a dropped id colliding with a kept one).
            return 0;
        }
        let cap = u32::try_from(EVENT_CAP).unwrap_or(u32::MAX);
        self.seen.estimate().saturating_sub(cap).max(1)
    }

    /// Live: not ended, and the latest stream-state event is Stream Start (or Stream Takeover, its
    /// family). A Stream End or Stream Failure after it means not live.
    pub fn is_live(&self) -> bool {
        self.end_time.is_none()
            && self.latest_stream_state.as_ref().is_some_and(|e| {
                matches!(
                    e.kind(),
                    Some(EventKind::StreamStart | EventKind::StreamTakeover)
                )
            })
    }

    /// Healthy: the latest starvation event is not Starvation Start (true with none).
    pub fn is_healthy(&self) -> bool {
        !self
            .latest_health
            .as_ref()
            .is_some_and(|e| e.kind() == Some(EventKind::StarvationStart))
    }

    pub fn has_error(&self) -> bool {
        self.has_error
    }

    /// Session Ended was received.
    pub fn is_ended(&self) -> bool {
        self.end_time.is_some()
    }

    /// The span used by [`attach`] and [`open_session`].
    pub fn span(&self, stream_id: &StreamId) -> SessionSpan {
        SessionSpan {
            stream_id: stream_id.clone(),
            start: self.start_time,
            end: self.end_time,
        }
    }
}

/// Inserts one event into a sorted, unique, capped list, with the same outcome as
/// [`capped_union`]; returns whether the list changed.
fn insert_capped(events: &mut Vec<StoredEvent>, event: StoredEvent) -> bool {
    if let Some(pos) = events.iter().position(|kept| kept.id == event.id) {
        if events
            .get(pos)
            .is_some_and(|kept| event.cmp_full(kept) != Ordering::Greater)
        {
            return false;
        }
        events.remove(pos);
    }
    let at = events.partition_point(|kept| kept.cmp_order(&event) == Ordering::Less);
    if events.len() >= EVENT_CAP && at == 0 {
        // Older than everything kept in a full list: it falls off at once.
        return false;
    }
    events.insert(at, event);
    let excess = events.len().saturating_sub(EVENT_CAP);
    events.drain(..excess);
    true
}

/// The union of two event lists, unique by id, sorted by the total order, keeping the
/// [`EVENT_CAP`] greatest. Keeping the greatest N of a union is the same whatever was dropped
/// earlier, which is what makes the cap order-independent.
fn capped_union(a: &[StoredEvent], b: &[StoredEvent]) -> Vec<StoredEvent> {
    let mut events = unique_sorted(a.iter().chain(b));
    let excess = events.len().saturating_sub(EVENT_CAP);
    events.drain(..excess);
    events
}

/// Unique by id (for two different events sharing an id, the greater in [`StoredEvent::cmp_full`]
/// wins, in any arrival order), sorted by the total order.
fn unique_sorted<'a>(events: impl Iterator<Item = &'a StoredEvent>) -> Vec<StoredEvent> {
    let mut by_id: BTreeMap<&str, &StoredEvent> = BTreeMap::new();
    for event in events {
        by_id
            .entry(event.id.as_str())
            .and_modify(|kept| {
                if event.cmp_full(kept) == Ordering::Greater {
                    *kept = event;
                }
            })
            .or_insert(event);
    }
    let mut events: Vec<StoredEvent> = by_id.into_values().cloned().collect();
    events.sort_by(StoredEvent::cmp_order);
    events
}

/// Where a session sits in time, for attaching events and finding the open session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSpan {
    pub stream_id: StreamId,
    /// Session Created time; `None` until it arrives.
    pub start: Option<OffsetDateTime>,
    /// Session Ended time.
    pub end: Option<OffsetDateTime>,
}

/// Newest start first; equal starts fall back to the greater stream id so the choice never
/// depends on the order sessions are listed in.
fn newer(a: &SessionSpan, b: &SessionSpan) -> Ordering {
    a.start
        .cmp(&b.start)
        .then_with(|| a.stream_id.cmp(&b.stream_id))
}

/// The session an event without `stream_id` (a Limit Breach) belongs to: the one whose
/// [start, end] contains `time` (an open-ended session contains everything after its start);
/// when several do, the newest start wins. `None` while no such session is known — the caller
/// keeps the event for the channel and attaches it once the session appears.
pub fn attach(time: OffsetDateTime, sessions: &[SessionSpan]) -> Option<StreamId> {
    sessions
        .iter()
        .filter(|s| s.start.is_some_and(|start| start <= time))
        .filter(|s| s.end.is_none_or(|end| time <= end))
        .max_by(|a, b| newer(a, b))
        .map(|s| s.stream_id.clone())
}

/// The channel's open session: the newest-started session (Session Created received), provided it
/// has no Session Ended. A session is *not* open once any session of the channel started after it,
/// even if its own Session Ended was lost, and a late Session Created of an older session never
/// closes a newer one — both fall out of choosing by start time, not by arrival.
pub fn open_session(sessions: &[SessionSpan]) -> Option<&StreamId> {
    sessions
        .iter()
        .filter(|s| s.start.is_some())
        .max_by(|a, b| newer(a, b))
        .filter(|s| s.end.is_none())
        .map(|s| &s.stream_id)
}

/// The whole model for one channel as a pure function of its event set: every session's
/// summary (events without `stream_id` attached by [`attach`] against the final spans), the open
/// session, and the events no session contains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelSessions {
    pub sessions: BTreeMap<StreamId, SessionSummary>,
    pub open: Option<StreamId>,
    /// Events without `stream_id` that fall in no known session, unique by id, in total order.
    pub unattached: Vec<StoredEvent>,
}

impl ChannelSessions {
    /// Builds the model from events of one channel, in any order, with any duplicates.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a IvsEvent>) -> Self {
        let mut sessions: BTreeMap<StreamId, SessionSummary> = BTreeMap::new();
        let mut loose: Vec<&IvsEvent> = Vec::new();
        for event in events {
            match &event.stream_id {
                Some(id) => {
                    sessions.entry(id.clone()).or_default().apply(event);
                }
                None => loose.push(event),
            }
        }
        // Attachment never moves a span (only Session Created/Ended do, and they carry stream ids),
        // so one pass over the final spans is enough.
        let spans: Vec<SessionSpan> = sessions.iter().map(|(id, s)| s.span(id)).collect();
        let mut unattached: Vec<StoredEvent> = Vec::new();
        for event in loose {
            match attach(event.time, &spans).and_then(|id| sessions.get_mut(&id)) {
                Some(summary) => {
                    summary.apply(event);
                }
                None => unattached.push(event.stored()),
            }
        }
        let unattached = unique_sorted(unattached.iter());
        let open = open_session(&spans).cloned();
        Self {
            sessions,
            open,
            unattached,
        }
    }
}

#[cfg(test)]
mod tests;
