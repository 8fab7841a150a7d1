//! Pushes EventBridge envelopes to the target like an API destination (`docs/wire-protocols.md` §9.3).
//!
//! One worker thread with its own runtime delivers the queue in order, so it works whichever
//! runtime (actix worker, test, none) published the event. A delivery that fails with a connection
//! error, a timeout, 429 or 5xx stays at the head of the queue and is retried with exponential
//! backoff (honouring `Retry-After`), for about five minutes: long enough for the target to
//! restart, bounded so a target that is gone for good does not hold the queue forever. Other 4xx
//! answers mean the event can never be accepted; they are logged and not retried.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use crate::core::config::EventTarget;

/// EventBridge's per-attempt timeout for API destinations.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// With the backoff above, about five minutes of retrying.
const MAX_ATTEMPTS: u32 = 65;

type SharedTarget = Arc<RwLock<Option<EventTarget>>>;

pub(super) fn spawn(
    target: SharedTarget,
    pending: Arc<AtomicUsize>,
) -> std::io::Result<UnboundedSender<Value>> {
    let (sender, receiver) = unbounded_channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .user_agent("Amazon/EventBridge/ApiDestinations")
        .build()
        .map_err(std::io::Error::other)?;
    std::thread::Builder::new()
        .name("ugc-emulator-events".to_owned())
        .spawn(move || {
            runtime.block_on(
                Worker {
                    client,
                    target,
                    pending,
                }
                .run(receiver),
            );
        })?;
    Ok(sender)
}

struct Worker {
    client: reqwest::Client,
    target: SharedTarget,
    pending: Arc<AtomicUsize>,
}

enum Outcome {
    Done,
    Retry(Option<Duration>),
}

impl Worker {
    /// Runs until the emulator (the sender) is gone.
    async fn run(self, mut receiver: UnboundedReceiver<Value>) {
        let mut queue = VecDeque::new();
        let mut attempts = 0u32;
        loop {
            if queue.is_empty() {
                match receiver.recv().await {
                    Some(envelope) => queue.push_back(envelope),
                    None => return,
                }
            }
            while let Ok(envelope) = receiver.try_recv() {
                queue.push_back(envelope);
            }
            let Some(envelope) = queue.front() else {
                continue;
            };
            attempts += 1;
            let outcome = self.attempt(envelope).await;
            let wait = match outcome {
                Outcome::Retry(_) if attempts >= MAX_ATTEMPTS => {
                    tracing::error!(id = %event_id(envelope), attempts, "event dropped after retries");
                    None
                }
                Outcome::Retry(retry_after) => {
                    let backoff = backoff(attempts);
                    Some(retry_after.map_or(backoff, |after| after.max(backoff)))
                }
                Outcome::Done => None,
            };
            match wait {
                Some(wait) => {
                    // Keep accepting new events while waiting; stop if the emulator is gone.
                    let deadline = Instant::now() + wait;
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep_until(deadline) => break,
                            received = receiver.recv() => match received {
                                Some(envelope) => queue.push_back(envelope),
                                None => return,
                            },
                        }
                    }
                }
                None => {
                    queue.pop_front();
                    attempts = 0;
                    self.pending.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }

    async fn attempt(&self, envelope: &Value) -> Outcome {
        let target = self
            .target
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let Some(target) = target else {
            tracing::warn!(id = %event_id(envelope), "no event target configured; event not delivered");
            return Outcome::Done;
        };
        let body = envelope.to_string();
        let response = self
            .client
            .post(&target.url)
            .header(target.header_name.as_str(), target.header_value.as_str())
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await;
        let id = event_id(envelope);
        match response {
            Err(e) => {
                tracing::warn!(%id, url = %target.url, error = %e, "event delivery failed; will retry");
                Outcome::Retry(None)
            }
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    tracing::debug!(%id, %status, "event delivered");
                    Outcome::Done
                } else if status.is_server_error() || status.as_u16() == 429 {
                    tracing::warn!(%id, %status, "event target unavailable; will retry");
                    Outcome::Retry(retry_after(&response))
                } else {
                    tracing::error!(%id, %status, "event target refused the event; not retried");
                    Outcome::Done
                }
            }
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    let exponential = FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let jitter = Duration::from_millis(rand::random::<u64>() % 50);
    exponential.min(MAX_BACKOFF) + jitter
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

fn event_id(envelope: &Value) -> &str {
    envelope.get("id").and_then(Value::as_str).unwrap_or("")
}
