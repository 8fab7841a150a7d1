//! The broadcast simulator and EventBridge (`docs/wire-protocols.md` §9).
//!
//! A simulated encoder changes a channel's IVS stream (start, stop, starve, recover, breach, fail);
//! each change yields the IVS events AWS documents, which are wrapped in the EventBridge envelope
//! and pushed to the configured target (event-ingest) the way an API destination would: POST, the
//! configured auth header, retries with backoff from an in-memory queue. A chaos mode duplicates
//! and reorders deliveries, so receivers can be tested against EventBridge's best-effort delivery.

mod delivery;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc::UnboundedSender;

use crate::core::config::{EmulatorConfig, EventTarget};
use crate::core::error::AwsError;
use crate::ivs::{BroadcastAction, BroadcastChange, IvsEvent};
use crate::server::Shared;

/// Most events `GET /_emulator/events` remembers; the oldest are forgotten first.
const EVENT_LOG_CAPACITY: usize = 10_000;

pub struct Events {
    region: String,
    account_id: String,
    target: Arc<RwLock<Option<EventTarget>>>,
    chaos: AtomicBool,
    log: Mutex<Vec<Value>>,
    /// The delivery worker, started with the first delivery.
    sender: OnceLock<Option<UnboundedSender<Value>>>,
    pending: Arc<AtomicUsize>,
}

/// A broadcast action's result: the stream's state afterwards and the EventBridge events sent.
#[derive(Clone, Debug)]
pub struct BroadcastOutcome {
    pub change: BroadcastChange,
    pub envelopes: Vec<Value>,
}

impl Events {
    pub fn load(_dir: Option<&std::path::Path>, config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            target: Arc::new(RwLock::new(config.event_target.clone())),
            chaos: AtomicBool::new(false),
            log: Mutex::default(),
            sender: OnceLock::new(),
            pending: Arc::default(),
        })
    }

    /// Where events are pushed from now on; `None` stops pushing (events are still listed).
    pub fn set_target(&self, target: Option<EventTarget>) {
        *self
            .target
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = target;
    }

    /// Chaos mode: every batch of events is delivered in reverse order, then again in order, so
    /// each event arrives twice and out of order.
    pub fn set_chaos(&self, enabled: bool) {
        self.chaos.store(enabled, Ordering::SeqCst);
    }

    pub fn chaos(&self) -> bool {
        self.chaos.load(Ordering::SeqCst)
    }

    /// Every event produced so far (at most the last 10 000), oldest first.
    pub fn list(&self) -> Vec<Value> {
        lock(&self.log).clone()
    }

    /// Deliveries queued or being retried.
    pub fn pending_deliveries(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Wraps IVS events in EventBridge envelopes, records them and queues them for delivery.
    pub fn publish(&self, events: Vec<IvsEvent>) -> Vec<Value> {
        let envelopes: Vec<Value> = events.into_iter().map(|e| self.envelope(e)).collect();
        if envelopes.is_empty() {
            return envelopes;
        }
        {
            let mut log = lock(&self.log);
            log.extend(envelopes.iter().cloned());
            let excess = log.len().saturating_sub(EVENT_LOG_CAPACITY);
            log.drain(..excess);
        }
        let has_target = self
            .target
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some();
        if has_target {
            let order: Vec<&Value> = if self.chaos() {
                envelopes.iter().rev().chain(envelopes.iter()).collect()
            } else {
                envelopes.iter().collect()
            };
            for envelope in order {
                self.enqueue(envelope.clone());
            }
        }
        envelopes
    }

    fn enqueue(&self, envelope: Value) {
        let sender = self.sender.get_or_init(|| {
            delivery::spawn(self.target.clone(), self.pending.clone())
                .map_err(|e| tracing::error!(error = %e, "cannot start the event delivery worker"))
                .ok()
        });
        let Some(sender) = sender else { return };
        self.pending.fetch_add(1, Ordering::SeqCst);
        if sender.send(envelope).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            tracing::error!("event delivery worker stopped; event not delivered");
        }
    }

    fn envelope(&self, event: IvsEvent) -> Value {
        json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": event.detail_type,
            "source": "aws.ivs",
            "account": self.account_id,
            "time": event.time.format(&Rfc3339).unwrap_or_default(),
            "region": self.region,
            "resources": [event.channel_arn],
            "detail": event.detail,
        })
    }
}

/// Applies a simulated broadcast action to a channel (ARN, resource id or name) and publishes the
/// events it produced.
pub fn broadcast(
    shared: &Shared,
    channel: &str,
    action: BroadcastAction,
) -> Result<BroadcastOutcome, AwsError> {
    broadcast_measured(shared, channel, action, None)
}

/// [`broadcast`] from a real encoder, with what was measured (a Limit Breach's excess bitrate).
/// The RTMP ingest and the simulator share this one path to IVS state and EventBridge.
pub fn broadcast_measured(
    shared: &Shared,
    channel: &str,
    action: BroadcastAction,
    exceeded_by: Option<u64>,
) -> Result<BroadcastOutcome, AwsError> {
    let change = shared
        .ivs
        .apply_broadcast_measured(channel, action, exceeded_by)?;
    let envelopes = shared.events.publish(change.events.clone());
    Ok(BroadcastOutcome { change, envelopes })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/_emulator/broadcast").route(web::post().to(broadcast_endpoint)))
        .service(web::resource("/_emulator/events").route(web::get().to(list_endpoint)))
        .service(web::resource("/_emulator/events/chaos").route(web::post().to(chaos_endpoint)));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BroadcastRequest {
    channel_arn: Option<String>,
    channel: Option<String>,
    action: Option<String>,
}

async fn broadcast_endpoint(shared: web::Data<Shared>, body: web::Bytes) -> HttpResponse {
    let result = serde_json::from_slice::<BroadcastRequest>(&body)
        .map_err(|e| AwsError::validation(format!("Could not parse the request body: {e}")))
        .and_then(|request| {
            let channel = request
                .channel_arn
                .or(request.channel)
                .ok_or_else(|| AwsError::validation("channelArn or channel is required"))?;
            let action = request
                .action
                .as_deref()
                .and_then(BroadcastAction::parse)
                .ok_or_else(|| {
                    AwsError::validation(
                        "action must be one of start, stop, starve, recover, breach, fail",
                    )
                })?;
            broadcast(&shared, &channel, action)
        });
    match result {
        Ok(outcome) => HttpResponse::Ok().json(json!({
            "channelArn": outcome.change.channel_arn,
            "streamId": outcome.change.stream_id,
            "live": outcome.change.live,
            "health": outcome.change.health,
            "events": outcome.envelopes,
        })),
        Err(error) => error.to_rest_response(),
    }
}

async fn list_endpoint(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.events.list())
}

#[derive(Deserialize)]
struct ChaosRequest {
    enabled: bool,
}

async fn chaos_endpoint(shared: web::Data<Shared>, body: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<ChaosRequest>(&body) {
        Ok(request) => {
            shared.events.set_chaos(request.enabled);
            HttpResponse::Ok().json(json!({"enabled": request.enabled}))
        }
        Err(e) => {
            AwsError::validation(format!("Expected {{\"enabled\": bool}}: {e}")).to_rest_response()
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
