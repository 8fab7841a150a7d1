//! In-memory side of chat: issued tokens waiting to be redeemed, the open connections of each room
//! and the room-wide message rate windows.
//!
//! Each connection owns an unbounded channel; broadcasting only queues frames on those channels, so
//! no lock is ever held across an `.await` and one slow socket never delays the others. A frame and
//! a later close queued on the same channel reach the client in that order.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::Rng;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::rooms::Capability;

/// What a chat token grants, from CreateChatToken.
#[derive(Debug, Clone)]
pub struct Grant {
    pub room_id: String,
    pub user_id: String,
    pub attributes: BTreeMap<String, String>,
    pub capabilities: BTreeSet<Capability>,
    pub token_expiration: OffsetDateTime,
    pub session_expiration: OffsetDateTime,
}

/// Why a token cannot open a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Never issued, or already used (tokens are single use).
    Unknown,
    Expired,
}

/// An open messaging connection, as the public API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub user_id: String,
    pub capabilities: Vec<Capability>,
}

/// What the hub queues for a connection's socket task.
#[derive(Debug)]
pub enum Outbound {
    /// A text frame.
    Frame(String),
    /// A clean close (code 1000) with this reason; the task ends after sending it.
    Close(&'static str),
}

pub type ConnectionId = u64;

struct Connection {
    room_id: String,
    info: ConnectionInfo,
    outbox: mpsc::UnboundedSender<Outbound>,
}

#[derive(Default)]
struct Connections {
    next_id: ConnectionId,
    open: HashMap<ConnectionId, Connection>,
    /// Send times of the messages accepted in the last second, per room.
    recent_messages: HashMap<String, VecDeque<Instant>>,
}

/// Issued tokens not yet redeemed, and every issued token in issue order with its expiry, so that
/// forgetting expired tokens costs only the expired ones (a scan of all outstanding tokens on each
/// issue made CreateChatToken's cost grow with the number issued in the last hour).
#[derive(Default)]
struct Tokens {
    grants: HashMap<String, Grant>,
    /// `(token_expiration, token)`, oldest issue first. The expiries follow issue order (one
    /// lifetime for every token), so expired tokens are at the front; a token already redeemed
    /// or forgotten is simply no longer in `grants`.
    by_expiry: VecDeque<(OffsetDateTime, String)>,
}

impl Tokens {
    fn forget_expired(&mut self, now: OffsetDateTime) {
        while let Some((expiration, _)) = self.by_expiry.front() {
            if *expiration > now {
                break;
            }
            if let Some((_, token)) = self.by_expiry.pop_front() {
                self.grants.remove(&token);
            }
        }
    }
}

#[derive(Default)]
pub struct Hub {
    tokens: Mutex<Tokens>,
    connections: Mutex<Connections>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    /// Stores the grant under a new token: 256 random bits in unpadded base64url, so the token is
    /// a valid `Sec-WebSocket-Protocol` value.
    pub fn issue(&self, grant: Grant) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        self.issue_at(token, grant, OffsetDateTime::now_utc())
    }

    fn issue_at(&self, token: String, grant: Grant, now: OffsetDateTime) -> String {
        let mut tokens = lock(&self.tokens);
        tokens.forget_expired(now);
        tokens
            .by_expiry
            .push_back((grant.token_expiration, token.clone()));
        tokens.grants.insert(token.clone(), grant);
        token
    }

    /// Spends the token: whatever the outcome, it cannot be used again.
    pub fn redeem(&self, token: &str, now: OffsetDateTime) -> Result<Grant, Refusal> {
        let grant = lock(&self.tokens)
            .grants
            .remove(token)
            .ok_or(Refusal::Unknown)?;
        if grant.token_expiration <= now || grant.session_expiration <= now {
            return Err(Refusal::Expired);
        }
        Ok(grant)
    }

    pub fn register(&self, grant: &Grant) -> (ConnectionId, mpsc::UnboundedReceiver<Outbound>) {
        let (outbox, inbox) = mpsc::unbounded_channel();
        let capabilities: Vec<Capability> = grant.capabilities.iter().copied().collect();
        let mut connections = lock(&self.connections);
        connections.next_id += 1;
        let id = connections.next_id;
        connections.open.insert(
            id,
            Connection {
                room_id: grant.room_id.clone(),
                info: ConnectionInfo {
                    user_id: grant.user_id.clone(),
                    capabilities,
                },
                outbox,
            },
        );
        (id, inbox)
    }

    pub fn unregister(&self, id: ConnectionId) {
        lock(&self.connections).open.remove(&id);
    }

    pub fn connections(&self, room_id: &str) -> Vec<ConnectionInfo> {
        let connections = lock(&self.connections);
        let mut open: Vec<(&ConnectionId, &Connection)> = connections
            .open
            .iter()
            .filter(|(_, c)| c.room_id == room_id)
            .collect();
        open.sort_by_key(|(id, _)| **id);
        open.into_iter().map(|(_, c)| c.info.clone()).collect()
    }

    /// Queues a text frame for every connection of the room.
    pub fn broadcast(&self, room_id: &str, frame: &str) {
        let connections = lock(&self.connections);
        for connection in connections.open.values().filter(|c| c.room_id == room_id) {
            // A closed receiver means the socket task is ending and will unregister itself.
            let _ = connection.outbox.send(Outbound::Frame(frame.to_owned()));
        }
    }

    /// Closes every connection of `user_id` in the room; they get no further frames.
    pub fn disconnect_user(&self, room_id: &str, user_id: &str, reason: &'static str) {
        self.close_where(reason, |c| {
            c.room_id == room_id && c.info.user_id == user_id
        });
    }

    /// Closes every connection of a deleted room and forgets its unused tokens.
    pub fn close_room(&self, room_id: &str, reason: &'static str) {
        lock(&self.tokens)
            .grants
            .retain(|_, g| g.room_id != room_id);
        self.close_where(reason, |c| c.room_id == room_id);
        lock(&self.connections).recent_messages.remove(room_id);
    }

    fn close_where(&self, reason: &'static str, matches: impl Fn(&Connection) -> bool) {
        let mut connections = lock(&self.connections);
        let closing: Vec<ConnectionId> = connections
            .open
            .iter()
            .filter(|(_, c)| matches(c))
            .map(|(id, _)| *id)
            .collect();
        for id in closing {
            if let Some(connection) = connections.open.remove(&id) {
                let _ = connection.outbox.send(Outbound::Close(reason));
            }
        }
    }

    /// Counts a message against the room's rate: `false` when `per_second` messages were already
    /// accepted in the last second.
    pub fn admit_message(&self, room_id: &str, per_second: u32, now: Instant) -> bool {
        let mut connections = lock(&self.connections);
        let window = connections
            .recent_messages
            .entry(room_id.to_owned())
            .or_default();
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= usize::try_from(per_second).unwrap_or(usize::MAX) {
            return false;
        }
        window.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(minutes: i64) -> Grant {
        let now = OffsetDateTime::now_utc();
        Grant {
            room_id: "room".into(),
            user_id: "alice".into(),
            attributes: BTreeMap::new(),
            capabilities: BTreeSet::new(),
            token_expiration: now + time::Duration::minutes(minutes),
            session_expiration: now + time::Duration::minutes(minutes),
        }
    }

    #[test]
    fn tokens_are_url_safe_and_single_use() {
        let hub = Hub::default();
        let token = hub.issue(grant(60));
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let now = OffsetDateTime::now_utc();
        assert!(hub.redeem(&token, now).is_ok());
        assert_eq!(hub.redeem(&token, now).unwrap_err(), Refusal::Unknown);
    }

    #[test]
    fn expired_tokens_are_forgotten_when_the_next_is_issued() {
        let hub = Hub::default();
        let now = OffsetDateTime::now_utc();
        let short = hub.issue_at("short".into(), grant(1), now);
        let long = hub.issue_at("long".into(), grant(60), now);
        let redeemed = hub.issue_at("redeemed".into(), grant(1), now);
        assert!(hub.redeem(&redeemed, now).is_ok());
        hub.issue_at("later".into(), grant(60), now + time::Duration::minutes(2));
        let tokens = lock(&hub.tokens);
        assert!(!tokens.grants.contains_key(&short));
        assert!(tokens.grants.contains_key(&long));
        assert_eq!(tokens.grants.len(), 2);
        // Only the first token's expiry had passed in issue order; the rest go when theirs do.
        assert_eq!(tokens.by_expiry.len(), 3);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let hub = Hub::default();
        let token = hub.issue(grant(1));
        let later = OffsetDateTime::now_utc() + time::Duration::minutes(2);
        assert_eq!(hub.redeem(&token, later).unwrap_err(), Refusal::Expired);
    }

    #[test]
    fn the_rate_window_slides() {
        let hub = Hub::default();
        let t0 = Instant::now();
        assert!(hub.admit_message("r", 2, t0));
        assert!(hub.admit_message("r", 2, t0));
        assert!(!hub.admit_message("r", 2, t0 + Duration::from_millis(500)));
        assert!(hub.admit_message("other", 2, t0));
        assert!(hub.admit_message("r", 2, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn a_disconnect_closes_only_that_users_connections() {
        let hub = Hub::default();
        let alice = grant(60);
        let mut bob = grant(60);
        bob.user_id = "bob".into();
        let (_, mut a1) = hub.register(&alice);
        let (_, mut a2) = hub.register(&alice);
        let (_, mut b) = hub.register(&bob);
        hub.broadcast("room", "hello");
        hub.disconnect_user("room", "alice", "bye");
        for inbox in [&mut a1, &mut a2] {
            assert!(matches!(inbox.try_recv(), Ok(Outbound::Frame(f)) if f == "hello"));
            assert!(matches!(inbox.try_recv(), Ok(Outbound::Close("bye"))));
        }
        assert!(matches!(b.try_recv(), Ok(Outbound::Frame(_))));
        assert!(b.try_recv().is_err());
        assert_eq!(hub.connections("room").len(), 1);
    }
}
