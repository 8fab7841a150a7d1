//! Per-session write coalescing. Deliveries of events of the same session that arrive while a write
//! of that session is in flight wait in the session's queue; one writer task takes everything
//! queued and stores it in a single conditional write ([`StreamsRepo::apply_events`]). Merging is
//! exact because a session's state is a function of its event set (the domain's
//! `SessionSummary` is a join-semilattice), and each delivery is answered only after the write
//! holding its event is durable, with the outcome of its own event. So a burst of N events of one
//! session costs about one write instead of N reads, N writes and the conflicts between them.
//!
//! Between batches the writer keeps the session's [`SessionCursor`] (the state it wrote last, and
//! whether the session holds its channel's head), so the next batch needs neither a read nor a
//! head claim. Cursors are only hints; a stale one costs one failed conditional write. Several
//! ingest instances still work: each coalesces its own deliveries, and DynamoDB's conditions order
//! the instances' writes as before.

use std::collections::HashMap;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use ugc_domain::session::IvsEvent;
use ugc_domain::{ChannelArn, StreamId};
use ugc_dynamo::{ApplyOutcome, DbError, SessionCursor, StreamsRepo};

/// Most events stored in one write (the rest wait for the next one).
const MAX_BATCH: usize = 64;
/// Most session cursors kept; cleared when full (a cheap bound: they are refilled on demand).
const CURSOR_CAP: usize = 2_048;

type Key = (ChannelArn, StreamId);
type Reply = oneshot::Sender<Result<ApplyOutcome, DbError>>;

struct Waiter {
    event: IvsEvent,
    user_sub: String,
    reply: Reply,
}

#[derive(Default)]
struct Inner {
    /// A key is present while a writer task runs for the session; its value is what waits.
    queues: HashMap<Key, Vec<Waiter>>,
    cursors: HashMap<Key, SessionCursor>,
}

/// The per-session queues and the writer tasks that drain them.
#[derive(Clone)]
pub(crate) struct Coalescer {
    streams: StreamsRepo,
    inner: Arc<Mutex<Inner>>,
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Coalescer {
    pub(crate) fn new(streams: StreamsRepo) -> Self {
        Self {
            streams,
            inner: Arc::default(),
        }
    }

    /// Stores `event` of session `stream_id` (owned by `user_sub`) and returns its outcome once
    /// the write holding it is durable. Cancelling the caller does not cancel the write.
    pub(crate) async fn apply(
        &self,
        stream_id: &StreamId,
        user_sub: &str,
        event: &IvsEvent,
    ) -> Result<ApplyOutcome, DbError> {
        let key = (event.channel_arn.clone(), stream_id.clone());
        let (reply, answer) = oneshot::channel();
        let waiter = Waiter {
            event: event.clone(),
            user_sub: user_sub.to_owned(),
            reply,
        };
        let start_writer = {
            let mut inner = lock(&self.inner);
            match inner.queues.get_mut(&key) {
                Some(queue) => {
                    queue.push(waiter);
                    false
                }
                None => {
                    inner.queues.insert(key.clone(), vec![waiter]);
                    true
                }
            }
        };
        if start_writer {
            tokio::spawn(self.clone().drain(key));
        }
        answer.await.unwrap_or_else(|_| {
            Err(DbError::Unavailable(
                "the session writer stopped before storing the event".into(),
            ))
        })
    }

    /// The writer of one session: stores what is queued, batch after batch, until the queue is
    /// empty, then removes it (under the lock, so a later delivery starts a new writer).
    async fn drain(self, key: Key) {
        // Should this task panic, the queue goes with it: its waiters' replies are dropped (they
        // answer 503, EventBridge retries) and the next delivery starts a fresh writer.
        let guard = QueueGuard {
            inner: &self.inner,
            key: &key,
        };
        loop {
            let (batch, mut cursor) = {
                let mut inner = lock(&self.inner);
                let Some(queue) = inner.queues.get_mut(&key) else {
                    break;
                };
                if queue.is_empty() {
                    inner.queues.remove(&key);
                    break;
                }
                let rest = queue.split_off(queue.len().min(MAX_BATCH));
                let batch = mem::replace(queue, rest);
                let cursor = inner.cursors.remove(&key).unwrap_or_default();
                (batch, cursor)
            };
            let events: Vec<IvsEvent> = batch.iter().map(|w| w.event.clone()).collect();
            // A channel has one owner for its whole life: every waiter names the same one.
            let user_sub = batch.first().map(|w| w.user_sub.as_str()).unwrap_or("");
            let result = self
                .streams
                .apply_events(&key.0, &key.1, user_sub, &events, &mut cursor)
                .await;
            match result {
                Ok(outcomes) => {
                    {
                        let mut inner = lock(&self.inner);
                        if inner.cursors.len() >= CURSOR_CAP {
                            inner.cursors.clear();
                        }
                        // Kept after the session ended too: shuffled redeliveries and late
                        // events of an ended session are common, and without the cursor each
                        // would cost a failed write first.
                        inner.cursors.insert(key.clone(), cursor);
                    }
                    for (waiter, outcome) in batch.into_iter().zip(outcomes) {
                        let _ = waiter.reply.send(Ok(outcome));
                    }
                }
                Err(err) => {
                    let mut waiters = batch.into_iter();
                    let first = waiters.next();
                    for waiter in waiters {
                        let _ = waiter.reply.send(Err(err.replicate()));
                    }
                    if let Some(first) = first {
                        let _ = first.reply.send(Err(err));
                    }
                }
            }
        }
        mem::forget(guard);
    }
}

/// Removes the session's queue if its writer ends abnormally (see [`Coalescer::drain`]).
struct QueueGuard<'a> {
    inner: &'a Mutex<Inner>,
    key: &'a Key,
}

impl Drop for QueueGuard<'_> {
    fn drop(&mut self) {
        lock(self.inner).queues.remove(self.key);
    }
}
