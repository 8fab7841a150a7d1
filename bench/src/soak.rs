//! `make soak`: mixed traffic for `SOAK_MINUTES` (default 30) against the platform as separate
//! processes on 127.0.0.1 — anonymous and signed-in page views, the directory, sign-ins, chat
//! tokens, follows and unfollows, ingest rounds with 20 % duplicates (each round checked against
//! the session model), broadcasts starting and stopping. Per window (`SOAK_WINDOW_SECONDS`,
//! default 300; 30 for runs under 10 minutes) it reports the API's and event-ingest's RSS and
//! open descriptors and the p99 of the HTTP requests and of the ingest deliveries.
//!
//! Fails when any event is lost, duplicated or stored wrong, or when RSS or descriptors grow after
//! the warm-up: the first window is warm-up; the reference is the largest value of the next
//! window, and the last window may exceed it by at most 10 % + 2 MB (RSS) or 16 (descriptors, for
//! connection pools).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::ingest::{self, percentile, Check};
use crate::journey::User;
use crate::platform::Platform;
use crate::seed;

/// Requests per second of each kind of traffic (modest: the machine is shared).
const PAGE_VIEWS: u64 = 40;
const SIGNED_IN_VIEWS: u64 = 10;
const DIRECTORY_VIEWS: u64 = 10;
const CHAT_TOKENS: u64 = 5;
const FOLLOWS: u64 = 2;
/// Seconds between sign-ins, and between broadcast toggles.
const SIGN_IN_EVERY: u64 = 2;
const BROADCAST_EVERY: u64 = 10;
/// Channels per ingest round (9 events each, 20 % duplicated), sent 8 at a time.
const INGEST_ROUND_CHANNELS: usize = 10;
const INGEST_RATE: u64 = 40;

/// What one window saw.
#[derive(Default)]
struct Window {
    http: Vec<Duration>,
    http_errors: u64,
    /// Failed requests by kind of traffic.
    errors_by_kind: std::collections::BTreeMap<&'static str, u64>,
    deliveries: Vec<Duration>,
    delivery_failures: u64,
    check: Check,
}

#[derive(Clone)]
struct Shared {
    window: Arc<Mutex<Window>>,
    stop: Arc<AtomicBool>,
}

impl Shared {
    fn record(&self, kind: &'static str, result: anyhow::Result<Duration>) {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(d) => w.http.push(d),
            Err(err) => {
                w.http_errors += 1;
                let n = w.errors_by_kind.entry(kind).or_default();
                *n += 1;
                if *n <= 3 {
                    eprintln!("soak: {kind} failed: {err:#}");
                }
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

struct Sample {
    label: String,
    requests: usize,
    errors: u64,
    errors_by_kind: String,
    p99_ms: f64,
    deliveries: usize,
    delivery_failures: u64,
    ingest_p99_ms: f64,
    check: Check,
    api: (f64, usize),
    ingest: (f64, usize),
}

pub async fn run() -> anyhow::Result<()> {
    let minutes: u64 = env_number("SOAK_MINUTES", 30);
    let window = Duration::from_secs(env_number(
        "SOAK_WINDOW_SECONDS",
        if minutes < 10 { 30 } else { 300 },
    ));
    let total = Duration::from_secs(minutes * 60);
    let platform = Arc::new(Platform::start(false).await?);
    let arns = seed::channels(&platform, 200, 20).await?;
    let hot = seed::hot_channel(&platform).await?;
    let mut users = Vec::new();
    for _ in 0..4 {
        users.push(platform.journey.run("soak").await?);
    }
    let users = Arc::new(users);
    let shared = Shared {
        window: Arc::default(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    eprintln!("soak: {minutes} min, {} s windows", window.as_secs());

    let mut tasks = tokio::task::JoinSet::new();
    let api = platform.api.url.clone();
    let page = format!("{api}/channels/{}", hot.user.username);
    let http = reqwest::Client::new();
    {
        let (http, page) = (http.clone(), page.clone());
        tasks.spawn(paced(shared.clone(), "page view", PAGE_VIEWS, move |_| {
            get(http.clone(), page.clone(), None)
        }));
    }
    {
        let (http, page, users) = (http.clone(), page.clone(), users.clone());
        tasks.spawn(paced(
            shared.clone(),
            "signed-in page view",
            SIGNED_IN_VIEWS,
            move |i| get(http.clone(), page.clone(), Some(token(&users, i))),
        ));
    }
    {
        let (http, url) = (http.clone(), format!("{api}/channels?isLive=true"));
        tasks.spawn(paced(
            shared.clone(),
            "directory",
            DIRECTORY_VIEWS,
            move |_| get(http.clone(), url.clone(), None),
        ));
    }
    {
        let (http, users) = (http.clone(), users.clone());
        let (url, owner) = (
            format!("{api}/channel/chatToken/create"),
            hot.user.username.clone(),
        );
        tasks.spawn(paced(shared.clone(), "chat token", CHAT_TOKENS, move |i| {
            let request = http
                .post(url.clone())
                .header("Authorization", token(&users, i))
                .json(&json!({"chatRoomOwnerUsername": owner}));
            timed(request)
        }));
    }
    {
        let (http, users, owner) = (http.clone(), users.clone(), hot.user.username.clone());
        let api = api.clone();
        tasks.spawn(paced(shared.clone(), "follow", FOLLOWS, move |i| {
            // Alternate follow and unfollow per user, so the following lists stay bounded.
            let op = if (i / users.len().max(1) as u64).is_multiple_of(2) {
                "add"
            } else {
                "remove"
            };
            let request = http
                .put(format!("{api}/channel/followingList/{op}"))
                .header("Authorization", token(&users, i))
                .json(&json!({"followedUsername": owner}));
            timed(request)
        }));
    }
    tasks.spawn(sign_ins(shared.clone(), platform.clone(), users.clone()));
    tasks.spawn(broadcasts(shared.clone(), platform.clone(), users.clone()));
    let ingest_channels: Vec<String> = arns.iter().skip(20).cloned().collect();
    tasks.spawn(ingest_rounds(
        shared.clone(),
        platform.clone(),
        ingest_channels,
    ));

    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    while started.elapsed() < total {
        let left = total.saturating_sub(started.elapsed());
        tokio::time::sleep(window.min(left)).await;
        let w = std::mem::take(&mut *shared.window.lock().unwrap_or_else(|p| p.into_inner()));
        let sample = sample(&platform, &w, started.elapsed());
        eprintln!(
            "  {}: {} requests ({} errors), p99 {:.1} ms; ingest {} deliveries, p99 {:.1} ms, {} lost; api {:.1} MB / {} fds, ingest {:.1} MB / {} fds",
            sample.label, sample.requests, sample.errors, sample.p99_ms, sample.deliveries,
            sample.ingest_p99_ms, sample.check.lost, sample.api.0, sample.api.1, sample.ingest.0, sample.ingest.1
        );
        samples.push(sample);
    }
    shared.stop.store(true, Ordering::SeqCst);
    // The last ingest round finishes and is checked.
    while tasks.join_next().await.is_some() {}
    let tail = std::mem::take(&mut *shared.window.lock().unwrap_or_else(|p| p.into_inner()));
    if let Some(last) = samples.last_mut() {
        add_check(&mut last.check, tail.check);
    }
    let platform =
        Arc::try_unwrap(platform).map_err(|_| anyhow::anyhow!("platform still shared"))?;
    platform.stop().await;

    let (report, failures) = render(&samples, minutes, window);
    println!("{report}");
    anyhow::ensure!(failures.is_empty(), "soak failed: {}", failures.join("; "));
    Ok(())
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `i`-th user's token (round robin), or an empty one (answered 401, counted as an error).
fn token(users: &[User], i: u64) -> String {
    let n = users.len().max(1) as u64;
    usize::try_from(i % n)
        .ok()
        .and_then(|index| users.get(index))
        .map(|u| u.token.clone())
        .unwrap_or_default()
}

fn username(users: &[User], i: u64) -> String {
    let n = users.len().max(1) as u64;
    usize::try_from(i % n)
        .ok()
        .and_then(|index| users.get(index))
        .map(|u| u.username.clone())
        .unwrap_or_default()
}

async fn timed(request: reqwest::RequestBuilder) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    let _ = response.bytes().await?;
    anyhow::ensure!(status.is_success(), "answered {status}");
    Ok(started.elapsed())
}

fn get(
    http: reqwest::Client,
    url: String,
    token: Option<String>,
) -> impl std::future::Future<Output = anyhow::Result<Duration>> {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    timed(request)
}

/// Calls `make(i)` `rate` times a second (each call its own task) until stopped.
async fn paced<F, Fut>(shared: Shared, kind: &'static str, rate: u64, make: F)
where
    F: Fn(u64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Duration>> + Send + 'static,
{
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut i = 0u64;
    while !shared.stopped() {
        ticker.tick().await;
        let request = make(i);
        let shared = shared.clone();
        tokio::spawn(async move { shared.record(kind, request.await) });
        i += 1;
    }
}

/// A password sign-in through the emulator's Cognito, then `GET /channel` with the token.
async fn sign_ins(shared: Shared, platform: Arc<Platform>, users: Arc<Vec<User>>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(SIGN_IN_EVERY));
    let mut i = 0u64;
    while !shared.stopped() {
        ticker.tick().await;
        let who = username(&users, i);
        let journey = platform.journey.clone();
        let started = Instant::now();
        let result = async {
            let auth = journey
                .cognito(
                    "InitiateAuth",
                    json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": journey.client_id,
                           "AuthParameters": {"USERNAME": who, "PASSWORD": crate::journey::PASSWORD},
                           "ClientMetadata": {"submittedUsername": who}}),
                )
                .await?;
            let token = auth
                .pointer("/AuthenticationResult/AccessToken")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            timed(
                journey
                    .http
                    .get(format!("{}/channel", journey.api))
                    .header("Authorization", token),
            )
            .await?;
            anyhow::Ok(started.elapsed())
        }
        .await;
        shared.record("sign-in", result);
        i += 1;
    }
}

/// Starts and stops broadcasts on the soak users' channels, one toggle every few seconds.
async fn broadcasts(shared: Shared, platform: Arc<Platform>, users: Arc<Vec<User>>) {
    let mut arns = Vec::new();
    for u in users.iter() {
        let page: anyhow::Result<Value> = async {
            Ok(platform
                .http
                .get(format!("{}/channels/{}", platform.api.url, u.username))
                .send()
                .await?
                .json()
                .await?)
        }
        .await;
        if let Some(arn) = page.ok().and_then(|p| {
            p.get("channelArn")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }) {
            arns.push(arn);
        }
    }
    let mut live = vec![false; arns.len()];
    let mut ticker = tokio::time::interval(Duration::from_secs(BROADCAST_EVERY));
    let mut i = 0usize;
    while !shared.stopped() && !arns.is_empty() {
        ticker.tick().await;
        let index = i % arns.len();
        if let (Some(arn), Some(is_live)) = (arns.get(index), live.get_mut(index)) {
            let action = if *is_live { "stop" } else { "start" };
            let started = Instant::now();
            let result = platform
                .broadcast(arn, action)
                .await
                .map(|_| started.elapsed());
            if result.is_ok() {
                *is_live = !*is_live;
            }
            shared.record("broadcast", result);
        }
        i += 1;
    }
}

/// Rounds of complete broadcasts (fresh sessions), shuffled with 20 % duplicates, paced; each
/// round is checked against the session model when it is done.
async fn ingest_rounds(shared: Shared, platform: Arc<Platform>, channels: Vec<String>) {
    let mut offset = 0usize;
    while !shared.stopped() && !channels.is_empty() {
        let round: Vec<String> = channels
            .iter()
            .cycle()
            .skip(offset)
            .take(INGEST_ROUND_CHANNELS)
            .cloned()
            .collect();
        offset = (offset + INGEST_ROUND_CHANNELS) % channels.len();
        let (_, deliveries) = ingest::shuffled_deliveries(&round);
        let mut ticker =
            tokio::time::interval(Duration::from_micros(1_000_000 / INGEST_RATE.max(1)));
        let mut sends = tokio::task::JoinSet::new();
        for delivery in &deliveries {
            let delivery = delivery.clone();
            ticker.tick().await;
            let sender = platform.sender.clone();
            sends.spawn(async move { send_like_eventbridge(&sender, &delivery).await });
        }
        let mut latencies = Vec::new();
        let mut failures = 0u64;
        while let Some(joined) = sends.join_next().await {
            match joined {
                Ok(Ok(latency)) => latencies.push(latency),
                _ => failures += 1,
            }
        }
        let check = ingest::check(&platform.streams, &deliveries).await;
        let mut w = shared.window.lock().unwrap_or_else(|p| p.into_inner());
        w.deliveries.extend(latencies);
        w.delivery_failures += failures;
        match check {
            Ok(check) => add_check(&mut w.check, check),
            Err(err) => {
                eprintln!("soak: ingest check failed: {err:#}");
                w.check.mismatched += 1;
            }
        }
    }
}

/// Delivers like EventBridge's API destination: a failed delivery (an answer other than 2xx, or
/// none) is retried with a growing pause, a few times. So "lost" in the check means acknowledged
/// and not stored, and a delivery counts as failed only when every attempt failed.
async fn send_like_eventbridge(
    sender: &ingest::Sender,
    delivery: &Value,
) -> anyhow::Result<Duration> {
    let mut attempt = 0u64;
    loop {
        let result = sender.send(delivery).await;
        if result.is_ok() || attempt >= 4 {
            return result;
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
    }
}

fn add_check(total: &mut Check, more: Check) {
    total.sessions += more.sessions;
    total.lost += more.lost;
    total.duplicated += more.duplicated;
    total.mismatched += more.mismatched;
}

static WINDOWS: AtomicU64 = AtomicU64::new(0);

fn sample(platform: &Platform, w: &Window, at: Duration) -> Sample {
    let mut http = w.http.clone();
    http.sort();
    let mut deliveries = w.deliveries.clone();
    deliveries.sort();
    let n = WINDOWS.fetch_add(1, Ordering::SeqCst) + 1;
    Sample {
        label: format!("window {n} (to {:.1} min)", at.as_secs_f64() / 60.0),
        requests: http.len() + usize::try_from(w.http_errors).unwrap_or(0),
        errors: w.http_errors,
        errors_by_kind: w
            .errors_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        p99_ms: percentile(&http, 0.99),
        deliveries: deliveries.len(),
        delivery_failures: w.delivery_failures,
        ingest_p99_ms: percentile(&deliveries, 0.99),
        check: w.check,
        api: (platform.api.rss().0, platform.api.fds()),
        ingest: (platform.ingest.rss().0, platform.ingest.fds()),
    }
}

/// The table, and what failed.
fn render(samples: &[Sample], minutes: u64, window: Duration) -> (String, Vec<String>) {
    let mut out = format!(
        "## `make soak`\n\n{minutes} min of mixed traffic ({PAGE_VIEWS} anonymous and {SIGNED_IN_VIEWS} signed-in page views/s, \
         {DIRECTORY_VIEWS} directory views/s, {CHAT_TOKENS} chat tokens/s, {FOLLOWS} follows or unfollows/s, a sign-in every \
         {SIGN_IN_EVERY} s, a broadcast start or stop every {BROADCAST_EVERY} s, ingest at {INGEST_RATE} deliveries/s with 20 % \
         duplicates), {} s windows. p99 over the window's HTTP requests and ingest deliveries.\n\n\
         | Window | Requests (errors) | p99 | Deliveries (failed) | Ingest p99 | Sessions checked: lost / duplicated / differ | api RSS / FDs | event-ingest RSS / FDs |\n\
         |---|---|---|---|---|---|---|---|\n",
        window.as_secs()
    );
    for s in samples {
        out.push_str(&format!(
            "| {} | {} ({}{}) | {:.1} ms | {} ({}) | {:.1} ms | {}: {} / {} / {} | {:.1} MB / {} | {:.1} MB / {} |\n",
            s.label, s.requests, s.errors,
            if s.errors_by_kind.is_empty() { String::new() } else { format!(": {}", s.errors_by_kind) },
            s.p99_ms, s.deliveries, s.delivery_failures, s.ingest_p99_ms,
            s.check.sessions, s.check.lost, s.check.duplicated, s.check.mismatched,
            s.api.0, s.api.1, s.ingest.0, s.ingest.1
        ));
    }
    let mut failures = Vec::new();
    let lost: usize = samples.iter().map(|s| s.check.lost).sum();
    let duplicated: usize = samples.iter().map(|s| s.check.duplicated).sum();
    let differ: usize = samples.iter().map(|s| s.check.mismatched).sum();
    if lost + duplicated + differ > 0 {
        failures.push(format!(
            "{lost} events lost, {duplicated} duplicated, {differ} sessions differ"
        ));
    }
    // Warm-up: the first window. Reference: the second. Judged: the last (when there is a third).
    if let (Some(reference), Some(last)) =
        (samples.get(1), samples.last().filter(|_| samples.len() > 2))
    {
        for (name, (ref_rss, ref_fds), (rss, fds)) in [
            ("api", reference.api, last.api),
            ("event-ingest", reference.ingest, last.ingest),
        ] {
            if rss > ref_rss * 1.10 + 2.0 {
                failures.push(format!(
                    "{name} RSS grew from {ref_rss:.1} MB to {rss:.1} MB after warm-up"
                ));
            }
            if fds > ref_fds + 16 {
                failures.push(format!(
                    "{name} open descriptors grew from {ref_fds} to {fds} after warm-up"
                ));
            }
        }
    } else {
        failures.push("too short to judge growth: needs at least three windows".to_owned());
    }
    let verdict = if failures.is_empty() {
        "passed: no event lost, no growth after warm-up".to_owned()
    } else {
        format!("**failed**: {}", failures.join("; "))
    };
    out.push_str(&format!("\nSoak {verdict}.\n"));
    (out, failures)
}
