//! Per-action rate limits: one token bucket per (action, caller), in memory per instance.
//!
//! The caller is the token's `sub` when authenticated, else the client IP ([`client_ip`]).
//! A budget `n/seconds` lets a caller make `n` requests in a burst, refilled evenly over
//! `seconds`. Each action's budget is set by its `RATE_LIMIT_<ACTION>` variable ([`var`]:
//! `<n>/<seconds>`, or `off` to lift it).
//!
//! Memory is bounded: buckets that have refilled completely carry no state and are dropped
//! when an action reaches [`MAX_KEYS_PER_ACTION`] keys; if that is not enough, the least
//! recently used tenth goes.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::auth::AuthUser;
use crate::env::{env_vars, ConfigError, EnvVar, Vars};
use crate::error::ApiError;

pub const MAX_KEYS_PER_ACTION: usize = 100_000;

env_vars! {
    pub mod var;
    RATE_LIMIT_SIGN_UP: "`10/600`" => "Sign-ups per client IP (`<n>/<seconds>` or `off`).";
    RATE_LIMIT_PASSWORD_RESET: "`5/600`" => "Password-reset requests per client IP.";
    RATE_LIMIT_CHAT_TOKEN: "`30/60`" => "Chat tokens minted per user.";
    RATE_LIMIT_FOLLOW: "`30/60`" => "Follows and unfollows per user.";
    RATE_LIMIT_STREAM_ACTION: "`10/10`" => "Stream actions (timed metadata) per user.";
    RATE_LIMIT_PRESIGNED_POST: "`10/60`" => "Upload presigned posts per user.";
    RATE_LIMIT_PRODUCT_SEARCH: "`30/60`" => "Product searches per user.";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    SignUp,
    PasswordReset,
    ChatToken,
    Follow,
    StreamAction,
    PresignedPost,
    ProductSearch,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::SignUp,
        Action::PasswordReset,
        Action::ChatToken,
        Action::Follow,
        Action::StreamAction,
        Action::PresignedPost,
        Action::ProductSearch,
    ];

    /// Its `RATE_LIMIT_<ACTION>` variable.
    pub fn env_var(self) -> &'static EnvVar {
        match self {
            Action::SignUp => &var::RATE_LIMIT_SIGN_UP,
            Action::PasswordReset => &var::RATE_LIMIT_PASSWORD_RESET,
            Action::ChatToken => &var::RATE_LIMIT_CHAT_TOKEN,
            Action::Follow => &var::RATE_LIMIT_FOLLOW,
            Action::StreamAction => &var::RATE_LIMIT_STREAM_ACTION,
            Action::PresignedPost => &var::RATE_LIMIT_PRESIGNED_POST,
            Action::ProductSearch => &var::RATE_LIMIT_PRODUCT_SEARCH,
        }
    }

    /// The `action` attribute of `ugc.rate_limit.refusals`.
    pub fn metric_name(self) -> &'static str {
        match self {
            Action::SignUp => "sign_up",
            Action::PasswordReset => "password_reset",
            Action::ChatToken => "chat_token",
            Action::Follow => "follow",
            Action::StreamAction => "stream_action",
            Action::PresignedPost => "presigned_post",
            Action::ProductSearch => "product_search",
        }
    }

    pub fn default_budget(self) -> Budget {
        let (burst, secs) = match self {
            Action::SignUp => (10, 600),
            Action::PasswordReset => (5, 600),
            Action::ChatToken => (30, 60),
            Action::Follow => (30, 60),
            Action::StreamAction => (10, 10),
            Action::PresignedPost => (10, 60),
            Action::ProductSearch => (30, 60),
        };
        Budget::Limited {
            burst,
            period: Duration::from_secs(secs),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How much an action allows per caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Unlimited,
    /// `burst` requests at once, refilled evenly over `period`.
    Limited {
        burst: u32,
        period: Duration,
    },
}

impl FromStr for Budget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(Budget::Unlimited);
        }
        let expected = || "expected <requests>/<seconds> or off".to_owned();
        let (n, secs) = s.split_once('/').ok_or_else(expected)?;
        let burst: u32 = n.trim().parse().map_err(|_| expected())?;
        let secs: u64 = secs.trim().parse().map_err(|_| expected())?;
        if burst == 0 || secs == 0 {
            return Err("requests and seconds must be positive".to_owned());
        }
        Ok(Budget::Limited {
            burst,
            period: Duration::from_secs(secs),
        })
    }
}

/// The budget of every action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    budgets: [Budget; 7],
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            budgets: Action::ALL.map(Action::default_budget),
        }
    }
}

impl RateLimitConfig {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        for action in Action::ALL {
            if let Some(budget) = vars.optional::<Budget>(action.env_var())? {
                config.set(action, budget);
            }
        }
        Ok(config)
    }

    pub fn budget(&self, action: Action) -> Budget {
        self.budgets
            .get(action.index())
            .copied()
            .unwrap_or(Budget::Unlimited)
    }

    pub fn set(&mut self, action: Action, budget: Budget) {
        if let Some(slot) = self.budgets.get_mut(action.index()) {
            *slot = budget;
        }
    }

    /// Every action unlimited (benchmarks).
    pub fn unlimited() -> Self {
        Self {
            budgets: [Budget::Unlimited; 7],
        }
    }
}

/// Who is being limited.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    User(String),
    Ip(IpAddr),
}

impl RateKey {
    /// The user when authenticated, else the client IP.
    pub fn new(user: Option<&AuthUser>, ip: ClientIp) -> Self {
        match user {
            Some(user) => RateKey::User(user.sub.clone()),
            None => RateKey::Ip(ip.0),
        }
    }
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateKey::User(sub) => write!(f, "user:{sub}"),
            RateKey::Ip(ip) => write!(f, "ip:{ip}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The in-memory limiter; register one per process as `web::Data<RateLimiter>`
/// ([`crate::Application`] does).
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: [Mutex<HashMap<RateKey, Bucket>>; 7],
    max_keys: usize,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        Self::with_capacity(config, MAX_KEYS_PER_ACTION)
    }

    /// A limiter that keeps at most `max_keys` callers per action.
    pub fn with_capacity(config: RateLimitConfig, max_keys: usize) -> Self {
        Self {
            config,
            buckets: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            max_keys: max_keys.max(1),
        }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Takes one token for `key`, or answers 429 with the wait until the next one.
    pub fn check(&self, action: Action, key: &RateKey) -> Result<(), ApiError> {
        self.check_at(action, key, Instant::now())
    }

    fn check_at(&self, action: Action, key: &RateKey, now: Instant) -> Result<(), ApiError> {
        let Budget::Limited { burst, period } = self.config.budget(action) else {
            return Ok(());
        };
        let Some(map) = self.buckets.get(action.index()) else {
            return Ok(());
        };
        let burst = f64::from(burst);
        let per_token = period.as_secs_f64() / burst;
        let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
        if !map.contains_key(key) && map.len() >= self.max_keys {
            evict(&mut map, now, period, self.max_keys);
        }
        let bucket = map.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed / per_token).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) * per_token);
            tracing::info!(action = ?action, key = %key, "rate limit exceeded");
            crate::metrics::rate_limited(action.metric_name());
            Err(ApiError::too_many_requests(wait))
        }
    }

    /// Callers currently tracked for `action`.
    pub fn tracked(&self, action: Action) -> usize {
        self.buckets
            .get(action.index())
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner).len())
            .unwrap_or(0)
    }
}

fn evict(map: &mut HashMap<RateKey, Bucket>, now: Instant, period: Duration, max_keys: usize) {
    // A bucket idle for a whole period is full again: forgetting it changes nothing.
    map.retain(|_, b| now.saturating_duration_since(b.updated) < period);
    if map.len() < max_keys {
        return;
    }
    let mut ages: Vec<Instant> = map.values().map(|b| b.updated).collect();
    let cut = ages.len() / 10;
    if let Some((_, nth, _)) = (cut < ages.len()).then(|| ages.select_nth_unstable(cut)) {
        let cutoff = *nth;
        map.retain(|_, b| b.updated > cutoff);
    }
}

/// How many proxies in front of the service append to `X-Forwarded-For`; registered as app
/// data by [`crate::Application`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustedProxyHops(pub usize);

/// The client's address: with `hops` trusted proxies, the `hops`-th `X-Forwarded-For` entry
/// from the right (each trusted proxy appended the address it saw, so entries further left are
/// whatever the client sent). With 0 hops, or without a usable header, the peer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// See [`ClientIp`].
pub fn client_ip(forwarded_for: &[&str], hops: usize, peer: Option<SocketAddr>) -> Option<IpAddr> {
    let peer_ip = peer.map(|p| p.ip());
    if hops == 0 {
        return peer_ip;
    }
    let entries: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    // Fewer entries than trusted hops: the leftmost is the furthest address any proxy saw.
    let entry = entries
        .len()
        .checked_sub(hops)
        .and_then(|i| entries.get(i))
        .or(entries.first());
    entry.and_then(|e| parse_ip(e)).or(peer_ip)
}

fn parse_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    // `1.2.3.4:5678` or `[::1]:5678`
    entry.parse::<SocketAddr>().ok().map(|s| s.ip())
}

impl FromRequest for ClientIp {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let hops = req.app_data::<TrustedProxyHops>().map(|h| h.0).unwrap_or(0);
        let headers: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ip = client_ip(&headers, hops, req.peer_addr())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        std::future::ready(Ok(ClientIp(ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn declared_defaults_are_the_defaults() {
        assert_eq!(var::ALL.len(), Action::ALL.len());
        for action in Action::ALL {
            let declared = action.env_var().default.unwrap().trim_matches('`');
            assert_eq!(
                declared.parse::<Budget>().unwrap(),
                action.default_budget(),
                "{}",
                action.env_var().name
            );
        }
    }

    #[test]
    fn budgets_parse() {
        assert_eq!("off".parse::<Budget>(), Ok(Budget::Unlimited));
        assert_eq!(
            "5/60".parse::<Budget>(),
            Ok(Budget::Limited {
                burst: 5,
                period: Duration::from_secs(60)
            })
        );
        for bad in ["5", "0/60", "5/0", "x/1", "5/-1"] {
            assert!(bad.parse::<Budget>().is_err(), "{bad}");
        }
        let config =
            RateLimitConfig::from_vars(&Vars::from_pairs([("RATE_LIMIT_FOLLOW", "off")])).unwrap();
        assert_eq!(config.budget(Action::Follow), Budget::Unlimited);
        assert_eq!(
            config.budget(Action::SignUp),
            Action::SignUp.default_budget()
        );
    }

    #[test]
    fn bucket_refills_over_the_period() {
        let mut config = RateLimitConfig::default();
        config.set(
            Action::ChatToken,
            Budget::Limited {
                burst: 2,
                period: Duration::from_secs(10),
            },
        );
        let limiter = RateLimiter::new(config);
        let key = RateKey::User("u".into());
        let other = RateKey::User("v".into());
        let t0 = Instant::now();
        limiter.check_at(Action::ChatToken, &key, t0).unwrap();
        limiter.check_at(Action::ChatToken, &key, t0).unwrap();
        let err = limiter.check_at(Action::ChatToken, &key, t0).unwrap_err();
        assert_eq!(err.status(), 429);
        assert_eq!(err.retry_after(), Some(5));
        // Other callers and other actions are independent.
        limiter.check_at(Action::ChatToken, &other, t0).unwrap();
        limiter.check_at(Action::Follow, &key, t0).unwrap();
        // One token comes back after period / burst.
        let t1 = t0 + Duration::from_secs(5);
        limiter.check_at(Action::ChatToken, &key, t1).unwrap();
        assert!(limiter.check_at(Action::ChatToken, &key, t1).is_err());
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = RateLimiter::with_capacity(RateLimitConfig::default(), 100);
        let t0 = Instant::now();
        for i in 0..1000u32 {
            let key = RateKey::Ip(IpAddr::from(i.to_be_bytes()));
            let now = t0 + Duration::from_millis(u64::from(i));
            limiter.check_at(Action::SignUp, &key, now).unwrap();
        }
        assert!(limiter.tracked(Action::SignUp) <= 100);
    }

    #[test]
    fn forwarded_for_hops() {
        let peer: SocketAddr = "10.0.0.9:4000".parse().unwrap();
        let xff = ["203.0.113.7, 198.51.100.1", "10.0.0.2"];
        assert_eq!(client_ip(&xff, 0, Some(peer)), Some(ip("10.0.0.9")));
        assert_eq!(client_ip(&xff, 1, Some(peer)), Some(ip("10.0.0.2")));
        assert_eq!(client_ip(&xff, 2, Some(peer)), Some(ip("198.51.100.1")));
        assert_eq!(client_ip(&xff, 3, Some(peer)), Some(ip("203.0.113.7")));
        assert_eq!(client_ip(&xff, 9, Some(peer)), Some(ip("203.0.113.7")));
        assert_eq!(client_ip(&[], 1, Some(peer)), Some(ip("10.0.0.9")));
        assert_eq!(client_ip(&["garbage"], 1, Some(peer)), Some(ip("10.0.0.9")));
        assert_eq!(
            client_ip(&["[2001:db8::1]:443"], 1, None),
            Some(ip("2001:db8::1"))
        );
    }
}
