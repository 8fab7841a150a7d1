//! Amazon IVS Chat: the restJson1 control plane (`docs/wire-protocols.md` §3) and the messaging
//! WebSocket the browser chat SDK connects to (§4).
//!
//! Rooms are persisted (`<data_dir>/chat.json`); chat tokens and open connections live in memory,
//! as a restart ends every real connection anyway.
//!
//! Simplifications against AWS, each harmless for the clients:
//! - message review handlers are stored and returned but never invoked (every message is allowed);
//! - logging configurations do not exist, so any `loggingConfigurationIdentifiers` is not found;
//! - the control plane is never throttled; only the room's message rate limit applies, to
//!   SEND_MESSAGE requests on the WebSocket.

mod control;
mod error;
mod frames;
mod hub;
mod input;
mod rooms;
mod ws;

use std::path::Path;

use actix_web::web;
use rand::Rng;

use crate::core::config::EmulatorConfig;
use crate::core::store::Store;

pub use hub::ConnectionInfo;
pub use rooms::{Capability, MessageReviewHandler, Room};

use hub::Hub;
use rooms::RoomState;

pub struct Chat {
    region: String,
    account_id: String,
    rooms: Store<RoomState>,
    hub: Hub,
}

impl Chat {
    pub fn load(dir: Option<&Path>, config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            rooms: Store::open(dir, "chat")?,
            hub: Hub::default(),
        })
    }

    /// Every room, oldest first.
    pub fn rooms(&self) -> Vec<Room> {
        self.rooms
            .read(|s| s.sorted().into_iter().cloned().collect())
    }

    /// The room with this ARN, if it exists.
    pub fn room(&self, arn: &str) -> Option<Room> {
        self.rooms.read(|s| s.by_arn(arn).cloned())
    }

    /// The open messaging connections of a room (user id and capabilities of each).
    pub fn connections(&self, room_arn: &str) -> Vec<ConnectionInfo> {
        match self.room(room_arn) {
            Some(room) => self.hub.connections(&room.id),
            None => Vec::new(),
        }
    }

    fn room_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:ivschat:{}:{}:room/{id}",
            self.region, self.account_id
        )
    }
}

/// Registers the control-plane operations and the messaging WebSocket.
pub fn configure(cfg: &mut web::ServiceConfig) {
    control::configure(cfg);
    ws::configure(cfg);
}

/// 12 alphanumerics: the shape of room ids, message ids and event ids.
fn random_id() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(12)
        .map(char::from)
        .collect()
}

/// ISO 8601 UTC with milliseconds, as IVS Chat writes timestamps (`2023-11-14T22:13:20.000Z`).
fn iso8601(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(format)
        .or_else(|_| utc.format(&time::format_description::well_known::Rfc3339))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_twelve_alphanumerics() {
        let id = random_id();
        assert_eq!(id.len(), 12);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn timestamps_have_milliseconds_and_zulu() {
        let t = time::macros::datetime!(2023-11-14 22:13:20.123456 +02:00);
        assert_eq!(iso8601(t), "2023-11-14T20:13:20.123Z");
    }
}
