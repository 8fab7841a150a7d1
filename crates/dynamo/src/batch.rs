//! Strongly consistent profile reads shared by concurrent requests ("group commit" for reads).
//!
//! A signed-in channel page or chat token must read the owner's profile (its ban list) and the
//! caller's strongly consistent on every request. [`ProfileReads::get`] queues the subs it needs;
//! one reader task takes everything queued and reads it in one `BatchGetItem` (up to
//! [`BATCH_GET_MAX`] keys, each sub once), then the next batch, until the queue is empty. A
//! request's read is therefore always *issued after the request arrived*, so it sees every write
//! acknowledged before it (a ban shows on the next request) exactly as its own `GetItem` would,
//! while N concurrent requests for a popular channel cost one call instead of N, and the
//! channel owner's profile is read once per batch. Nothing is kept between batches.

use std::collections::HashMap;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::channels::BATCH_GET_MAX;
use crate::{ChannelRecord, ChannelsRepo, DbError};

type Reply = oneshot::Sender<Result<Option<Arc<ChannelRecord>>, DbError>>;

#[derive(Default)]
struct Queue {
    /// A reader task runs (and will look at `waiting` again before it stops).
    reading: bool,
    waiting: HashMap<String, Vec<Reply>>,
}

/// See the module docs. Cheap to clone (the queue is shared).
#[derive(Clone)]
pub struct ProfileReads {
    repo: ChannelsRepo,
    queue: Arc<Mutex<Queue>>,
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ProfileReads {
    pub fn new(repo: ChannelsRepo) -> Self {
        Self {
            repo,
            queue: Arc::default(),
        }
    }

    /// The profiles of `subs` (in that order; `None` for a sub without one), read strongly
    /// consistent by a `BatchGetItem` issued after this call. Cancelling the caller does not
    /// cancel the batch.
    pub async fn get(&self, subs: &[&str]) -> Result<Vec<Option<ChannelRecord>>, DbError> {
        let mut answers = Vec::with_capacity(subs.len());
        let start_reader = {
            let mut queue = lock(&self.queue);
            for sub in subs {
                let (reply, answer) = oneshot::channel();
                queue
                    .waiting
                    .entry((*sub).to_owned())
                    .or_default()
                    .push(reply);
                answers.push(answer);
            }
            !mem::replace(&mut queue.reading, true)
        };
        if start_reader {
            tokio::spawn(self.clone().read_all());
        }
        let mut records = Vec::with_capacity(answers.len());
        for answer in answers {
            let record = answer.await.unwrap_or_else(|_| {
                Err(DbError::Unavailable(
                    "the profile reader stopped before answering".into(),
                ))
            })?;
            records.push(record.map(|r| r.as_ref().clone()));
        }
        Ok(records)
    }

    /// The reader: batch after batch until nothing waits, then stops (under the lock, so a later
    /// request starts a new reader).
    async fn read_all(self) {
        // Should this task panic, the guard stops the reader and drops the waiters' replies (they
        // answer 503); the next request starts a fresh reader.
        let guard = ReaderGuard(&self.queue);
        loop {
            let batch: Vec<(String, Vec<Reply>)> = {
                let mut queue = lock(&self.queue);
                if queue.waiting.is_empty() {
                    queue.reading = false;
                    break;
                }
                let subs: Vec<String> = queue.waiting.keys().take(BATCH_GET_MAX).cloned().collect();
                subs.into_iter()
                    .map(|sub| {
                        let replies = queue.waiting.remove(&sub).unwrap_or_default();
                        (sub, replies)
                    })
                    .collect()
            };
            let subs: Vec<String> = batch.iter().map(|(sub, _)| sub.clone()).collect();
            match self.repo.get_many(&subs).await {
                Ok(records) => {
                    let mut by_sub: HashMap<String, Arc<ChannelRecord>> = records
                        .into_iter()
                        .map(|r| (r.id.clone(), Arc::new(r)))
                        .collect();
                    for (sub, replies) in batch {
                        let record = by_sub.remove(&sub);
                        for reply in replies {
                            let _ = reply.send(Ok(record.clone()));
                        }
                    }
                }
                Err(err) => {
                    for (_, replies) in batch {
                        for reply in replies {
                            let _ = reply.send(Err(err.replicate()));
                        }
                    }
                }
            }
        }
        mem::forget(guard);
    }
}

struct ReaderGuard<'a>(&'a Mutex<Queue>);

impl Drop for ReaderGuard<'_> {
    fn drop(&mut self) {
        let mut queue = lock(self.0);
        queue.reading = false;
        queue.waiting.clear();
    }
}
