//! The public request schema of `POST /streamEvents`: the EventBridge envelope of an IVS event as
//! the API destination delivers it. The handler parses deliveries with the domain's
//! `IvsEvent::from_slice`; this type documents the wire shape (OpenAPI) and builds deliveries in
//! tests and `make bench` (see `bench_support`).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The EventBridge envelope as an API destination delivers it (docs/wire-protocols.md §9.1).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EventEnvelope {
    /// Always `"0"`.
    pub version: String,
    /// Unique per event; a redelivery carries the same id.
    #[schema(example = "6a7e8feb-b491-4cf7-a9f1-bf3703467718")]
    pub id: String,
    /// `IVS Stream State Change`, `IVS Stream Health Change`, `IVS Limit Breach` or
    /// `IVS Recording State Change`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// `aws.ivs` (other sources are acknowledged and ignored).
    pub source: String,
    pub account: String,
    /// UTC, whole seconds, e.g. `2023-11-14T22:13:20Z`.
    pub time: String,
    pub region: String,
    /// The channel ARN; empty for account-level limit events.
    pub resources: Vec<String>,
    /// `event_name` / `limit_name` / `recording_status`, `stream_id`, `channel_name`, ...
    #[schema(value_type = Object)]
    pub detail: Value,
}
