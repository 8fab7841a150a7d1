//! The ingest rows: 32 concurrent senders with 20 % duplicate deliveries, then every session's
//! stored state compared with `SessionSummary::from_events` of the distinct events sent; and the
//! latency at a paced 200 events/s.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::Rng;
use serde_json::Value;
use ugc_domain::session::{IvsEvent, SessionSummary};
use ugc_domain::{ChannelArn, StreamId};
use ugc_dynamo::{ChannelsRepo, DirectoryMirror, StreamsRepo};

pub struct Sender {
    pub http: reqwest::Client,
    pub url: String,
    pub header: String,
    pub secret: String,
}

impl Sender {
    pub async fn send(&self, event: &Value) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .http
            .post(&self.url)
            .header(&self.header, &self.secret)
            .json(event)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "ingest answered {}",
            response.status()
        );
        Ok(started.elapsed())
    }
}

pub struct Throughput {
    /// Distinct events.
    pub events: usize,
    /// Every delivery sent (duplicates included), in the order sent.
    pub deliveries: Vec<Value>,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failed: usize,
}

/// Stored state against the events delivered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Check {
    pub sessions: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub mismatched: usize,
}

pub struct Paced {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failed: usize,
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// One complete broadcast per channel, 20 % delivered twice, shuffled (so duplicates and
/// life-cycle steps arrive out of order).
pub fn shuffled_deliveries(channels: &[String]) -> (usize, Vec<Value>) {
    let mut events: Vec<Value> = channels
        .iter()
        .flat_map(|arn| ugc_event_ingest::bench_support::sample_events(arn, 1))
        .collect();
    let distinct = events.len();
    let mut rng = rand::rng();
    let mut deliveries: Vec<Value> = Vec::with_capacity(distinct * 6 / 5);
    for event in events.drain(..) {
        if rng.random_bool(0.2) {
            deliveries.push(event.clone());
        }
        deliveries.push(event);
    }
    // Fisher-Yates.
    for i in (1..deliveries.len()).rev() {
        let j = rng.random_range(0..=i);
        deliveries.swap(i, j);
    }
    (distinct, deliveries)
}

/// Sends `deliveries`, `concurrency` at a time; the latency of each that succeeded, and how many
/// failed.
pub async fn send_all(
    sender: &Arc<Sender>,
    deliveries: &[Value],
    concurrency: usize,
) -> (Vec<Duration>, usize) {
    let results: Vec<anyhow::Result<Duration>> = futures_util::stream::iter(deliveries.iter())
        .map(|event| {
            let sender = sender.clone();
            async move { sender.send(event).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let mut latencies: Vec<Duration> = results.into_iter().filter_map(Result::ok).collect();
    latencies.sort();
    (latencies, failed)
}

/// One complete broadcast per channel, shuffled, 20 % delivered twice, 32 at a time.
pub async fn throughput(sender: Arc<Sender>, channels: &[String]) -> anyhow::Result<Throughput> {
    let (events, deliveries) = shuffled_deliveries(channels);
    let started = Instant::now();
    let (latencies, failed) = send_all(&sender, &deliveries, 32).await;
    let elapsed = started.elapsed();
    Ok(Throughput {
        events,
        per_sec: deliveries.len() as f64 / elapsed.as_secs_f64(),
        deliveries,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        failed,
    })
}

/// Every session's stored state against `SessionSummary::from_events` of the distinct events
/// delivered to it.
pub async fn check(streams: &StreamsRepo, deliveries: &[Value]) -> anyhow::Result<Check> {
    let mut by_session: BTreeMap<(String, String), BTreeMap<String, IvsEvent>> = BTreeMap::new();
    for event in deliveries {
        let parsed = IvsEvent::from_json(event).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let arn = event
            .pointer("/resources/0")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let stream = event
            .pointer("/detail/stream_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
        by_session
            .entry((arn.to_owned(), stream.to_owned()))
            .or_default()
            .insert(id.to_owned(), parsed);
    }
    let mut check = Check {
        sessions: by_session.len(),
        ..Check::default()
    };
    for ((arn, stream), sent) in &by_session {
        let expected = SessionSummary::from_events(sent.values());
        let arn = ChannelArn::parse(arn).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let stream = StreamId::parse(stream).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let stored = streams.get_session(&arn, &stream).await?;
        let Some(stored) = stored else {
            check.lost += sent.len();
            check.mismatched += 1;
            continue;
        };
        let ids: Vec<&str> = stored
            .summary
            .events
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        check.duplicated += ids.len() - unique.len();
        check.lost += expected
            .events
            .iter()
            .filter(|e| !unique.contains(e.id.as_str()))
            .count();
        if stored.summary != expected {
            check.mismatched += 1;
        }
    }
    Ok(check)
}

/// The channels of `deliveries` whose directory mirror disagrees with their stored head session
/// (live or not, and which session while live), and how many channels were checked.
pub async fn check_mirror(
    channels: &ChannelsRepo,
    streams: &StreamsRepo,
    directory: &DirectoryMirror,
    deliveries: &[Value],
) -> anyhow::Result<(usize, usize)> {
    let arns: BTreeSet<&str> = deliveries
        .iter()
        .filter_map(|event| event.pointer("/resources/0").and_then(Value::as_str))
        .collect();
    let mut differ = 0;
    for arn in &arns {
        let arn = ChannelArn::parse(arn).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let owner = channels
            .get_by_channel_arn(&arn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no profile owns {arn}"))?;
        let head = streams.latest_session(&arn).await?;
        let head_live = head.as_ref().filter(|session| session.is_live());
        let mirrored = directory.mirrored(&owner.id).await?;
        let agrees = match (head_live, mirrored.filter(|m| m.live)) {
            (None, None) => true,
            (Some(session), Some(m)) => {
                m.stream_id == session.stream_id.as_str() && m.channel_arn == arn.as_str()
            }
            _ => false,
        };
        differ += usize::from(!agrees);
    }
    Ok((differ, arns.len()))
}

/// Fresh events at a fixed 200/s for `seconds`.
pub async fn paced(
    sender: Arc<Sender>,
    channels: &[String],
    seconds: u64,
) -> anyhow::Result<Paced> {
    let wanted = usize::try_from(200 * seconds).unwrap_or(1000);
    let events: Vec<Value> = channels
        .iter()
        .cycle()
        .flat_map(|arn| ugc_event_ingest::bench_support::sample_events(arn, 1))
        .take(wanted)
        .collect();
    let mut ticker = tokio::time::interval(Duration::from_millis(5));
    let mut tasks = Vec::with_capacity(events.len());
    for event in events {
        ticker.tick().await;
        let sender = sender.clone();
        tasks.push(tokio::spawn(async move { sender.send(&event).await }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failed = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(latency)) => latencies.push(latency),
            _ => failed += 1,
        }
    }
    latencies.sort();
    Ok(Paced {
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        failed,
    })
}
