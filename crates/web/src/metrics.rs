//! Service metrics through OpenTelemetry: a small facade the services call at the points that
//! count (one line each), recorded into one OpenTelemetry meter provider.
//!
//! | Instrument | Kind | Attributes | Recorded by |
//! |---|---|---|---|
//! | `http.server.request.duration` (s) | histogram | `service`, `http.request.method`, `http.route` (the matched pattern, never the raw path), `http.response.status_code` | [`crate::telemetry::request_tracing`], every request |
//! | `ugc.ingest.events` | counter | `outcome`: `stored`, `duplicate`, `pending`, `ignored`, `refused` | [`ingest_outcome`] |
//! | `ugc.ingest.lag` (s) | histogram | — | [`ingest_lag`]: receipt time minus the event's `time` |
//! | `ugc.reconciler.corrections` | counter | `kind` | [`reconciler_correction`] |
//! | `ugc.cache.lookups` | counter | `cache`, `result`: `hit` / `miss` | [`cache_lookup`] |
//! | `ugc.rate_limit.refusals` | counter | `action` | [`rate_limited`] (the shared limiter) |
//! | `ugc.aws.throttles`, `ugc.aws.retries` | counter | `service` (`dynamodb`, `ivs`, ...) | [`crate::sdk_metrics::http_client`], every SDK attempt |
//! | `process.memory.rss` (By) | gauge | — | read from `/proc/self/status` at each collection |
//!
//! Export: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, [`crate::telemetry::init`] pushes them over
//! OTLP/HTTP (protobuf, `/v1/metrics`, cumulative) every [`EXPORT_INTERVAL`], through the same
//! exporter setup as the traces; in AWS the ADOT collector sidecar turns them into CloudWatch
//! metrics (see `deploy/lib/observability.ts`). Locally, `METRICS_LOG_INTERVAL` prints a one-line
//! summary per service ([`Summary`]) so `make run` shows them without AWS; [`summary`] reads the
//! same numbers in-process (tests).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _, ObservableGauge};
use opentelemetry::{KeyValue, StringValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};

/// How often metrics are pushed to the OTLP collector.
pub const EXPORT_INTERVAL: Duration = Duration::from_secs(60);

/// The outcome of one delivered IVS event (event-ingest's answer to EventBridge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    Stored,
    Duplicate,
    Pending,
    Ignored,
    /// Not accepted (malformed, unauthenticated, or a transient failure EventBridge retries).
    Refused,
}

impl IngestOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "duplicate",
            Self::Pending => "pending",
            Self::Ignored => "ignored",
            Self::Refused => "refused",
        }
    }
}

/// One HTTP request, by the route pattern that matched (`unmatched` for none). The labels are
/// shared or static strings: recording allocates nothing for them.
pub fn http_request(
    service: &Arc<str>,
    method: &actix_web::http::Method,
    route: Option<Cow<'static, str>>,
    status: u16,
    latency: Duration,
) {
    state().instruments.http_duration.record(
        latency.as_secs_f64(),
        &[
            KeyValue::new("service", StringValue::from(Arc::clone(service))),
            KeyValue::new("http.request.method", method_label(method)),
            KeyValue::new("http.route", route.unwrap_or(Cow::Borrowed("unmatched"))),
            KeyValue::new("http.response.status_code", i64::from(status)),
        ],
    );
}

/// A standard method's name without allocating; any other method as sent.
fn method_label(method: &actix_web::http::Method) -> StringValue {
    use actix_web::http::Method;
    let known: &'static str = match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => return StringValue::from(method.as_str().to_owned()),
    };
    StringValue::from(known)
}

/// One IVS event answered with `outcome`.
pub fn ingest_outcome(outcome: IngestOutcome) {
    state()
        .instruments
        .ingest_events
        .add(1, &[KeyValue::new("outcome", outcome.as_str())]);
}

/// How far behind the event's own time it was received (negative clock skew counts as 0).
pub fn ingest_lag(lag: Duration) {
    state()
        .instruments
        .ingest_lag
        .record(lag.as_secs_f64(), &[]);
}

/// The reconciler corrected stored state `count` times (e.g. `session_ended`: a session whose
/// channel is not live any more; `directory_mirror`: a directory entry copied again).
pub fn reconciler_correction(kind: &'static str, count: u64) {
    state()
        .instruments
        .reconciler
        .add(count, &[KeyValue::new("kind", kind)]);
}

/// A lookup in an in-process cache (`cache` names it: `channel_page`, `directory`, ...).
pub fn cache_lookup(cache: &'static str, hit: bool) {
    state().instruments.cache.add(
        1,
        &[
            KeyValue::new("cache", cache),
            KeyValue::new("result", if hit { "hit" } else { "miss" }),
        ],
    );
}

/// A request refused by a rate limit (429).
pub fn rate_limited(action: &'static str) {
    state()
        .instruments
        .rate_limited
        .add(1, &[KeyValue::new("action", action)]);
}

/// An AWS call answered with a throttling error (see [`crate::sdk_metrics`]).
pub fn aws_throttle(service: &str) {
    state()
        .instruments
        .aws_throttles
        .add(1, &[KeyValue::new("service", service.to_owned())]);
}

/// An AWS call retried by the SDK (see [`crate::sdk_metrics`]).
pub fn aws_retry(service: &str) {
    state()
        .instruments
        .aws_retries
        .add(1, &[KeyValue::new("service", service.to_owned())]);
}

// ------------------------------------------------------------------------------------------------

struct Instruments {
    http_duration: Histogram<f64>,
    ingest_events: Counter<u64>,
    ingest_lag: Histogram<f64>,
    reconciler: Counter<u64>,
    cache: Counter<u64>,
    rate_limited: Counter<u64>,
    aws_throttles: Counter<u64>,
    aws_retries: Counter<u64>,
    _rss: ObservableGauge<u64>,
}

/// The latency buckets (seconds): fine below 100 ms, where the services live.
const LATENCY_BOUNDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// The ingest-lag buckets (seconds): EventBridge usually delivers within a second or two;
/// retries stretch it to minutes or hours.
const LAG_BOUNDS: [f64; 13] = [
    0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 21600.0,
];

struct State {
    provider: SdkMeterProvider,
    reader: SharedReader,
    instruments: Instruments,
}

static STATE: OnceLock<State> = OnceLock::new();

fn state() -> &'static State {
    STATE.get_or_init(|| State::new(None))
}

impl State {
    fn new(service_name: Option<&str>) -> Self {
        let reader = SharedReader(Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        ));
        let mut resource = opentelemetry_sdk::Resource::builder();
        if let Some(name) = service_name {
            resource = resource.with_service_name(name.to_owned());
        }
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .with_resource(resource.build())
            .build();
        let meter = provider.meter("ugc");
        let instruments = Instruments {
            http_duration: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Duration of HTTP server requests, by matched route")
                .with_boundaries(LATENCY_BOUNDS.to_vec())
                .build(),
            ingest_events: meter
                .u64_counter("ugc.ingest.events")
                .with_description("IVS events received, by outcome")
                .build(),
            ingest_lag: meter
                .f64_histogram("ugc.ingest.lag")
                .with_unit("s")
                .with_description("Receipt time minus the event's time")
                .with_boundaries(LAG_BOUNDS.to_vec())
                .build(),
            reconciler: meter
                .u64_counter("ugc.reconciler.corrections")
                .with_description("Stored state corrected by the reconciler")
                .build(),
            cache: meter
                .u64_counter("ugc.cache.lookups")
                .with_description("In-process cache lookups, by cache and result")
                .build(),
            rate_limited: meter
                .u64_counter("ugc.rate_limit.refusals")
                .with_description("Requests refused by a rate limit")
                .build(),
            aws_throttles: meter
                .u64_counter("ugc.aws.throttles")
                .with_description("AWS calls answered with a throttling error")
                .build(),
            aws_retries: meter
                .u64_counter("ugc.aws.retries")
                .with_description("AWS calls retried by the SDK")
                .build(),
            _rss: meter
                .u64_observable_gauge("process.memory.rss")
                .with_unit("By")
                .with_description("Resident set size of the process")
                .with_callback(|gauge| {
                    if let Some(rss) = resident_set_bytes() {
                        gauge.observe(rss, &[]);
                    }
                })
                .build(),
        };
        Self {
            provider,
            reader,
            instruments,
        }
    }
}

/// Names the process in the metrics' resource (`service.name`); effective when called before the
/// first metric is recorded, as `telemetry::init` does.
pub(crate) fn install(service_name: &str) {
    let _ = STATE.get_or_init(|| State::new(Some(service_name)));
}

/// The resident set size, from `/proc/self/status` (Linux); `None` elsewhere.
pub fn resident_set_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Collects the current (cumulative) values of every instrument.
fn collect() -> Option<ResourceMetrics> {
    let state = state();
    let mut rm = ResourceMetrics::default();
    state.reader.collect(&mut rm).ok()?;
    Some(rm)
}

/// Pushes the current values to the OTLP exporter.
pub(crate) async fn export(
    exporter: &opentelemetry_otlp::MetricExporter,
) -> Result<(), opentelemetry_sdk::error::OTelSdkError> {
    use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
    match collect() {
        Some(rm) => exporter.export(&rm).await,
        None => Ok(()),
    }
}

/// Stops the meter provider (at process exit).
pub(crate) fn shutdown() {
    if let Some(state) = STATE.get() {
        let _ = state.provider.shutdown();
    }
}

/// A [`ManualReader`] the provider and this module share: the provider registers its pipeline,
/// the exporter task and [`summary`] collect from it.
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

// ------------------------------------------------------------------------------------------------
// The local view.

/// Requests, errors and latency of one route of one service (all methods and statuses).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteStats {
    pub requests: u64,
    /// Responses with a 5xx status.
    pub server_errors: u64,
    /// Responses with a 4xx status.
    pub client_errors: u64,
    pub latency_sum: f64,
    /// Merged latency histogram: (upper bound in seconds, count); the last bound is +inf.
    buckets: Vec<(f64, u64)>,
}

impl RouteStats {
    /// The latency below which `q` (0–1) of the requests fell, as the upper bound of the bucket
    /// that holds that rank (an over-estimate by at most one bucket).
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        if self.requests == 0 {
            return None;
        }
        // The rank of the q-quantile among the requests (1-based), rounded up.
        let rank = ((self.requests as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bound, count) in &self.buckets {
            seen += count;
            if seen >= rank {
                let secs = if bound.is_finite() {
                    *bound
                } else {
                    LATENCY_BOUNDS.last().copied().unwrap_or(10.0)
                };
                return Some(Duration::from_secs_f64(secs));
            }
        }
        None
    }
}

/// What [`summary`] reads: per service, per route; and the other counters by their attribute.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// (service, route pattern) → stats.
    pub routes: BTreeMap<(String, String), RouteStats>,
    /// `ugc.ingest.events` by outcome.
    pub ingest: BTreeMap<String, u64>,
    /// `ugc.ingest.lag`: (count, sum of seconds, max seconds).
    pub ingest_lag: (u64, f64, f64),
    pub reconciler: BTreeMap<String, u64>,
    /// (cache, `hit`|`miss`) → lookups.
    pub cache: BTreeMap<(String, String), u64>,
    pub rate_limited: BTreeMap<String, u64>,
    pub aws_throttles: BTreeMap<String, u64>,
    pub aws_retries: BTreeMap<String, u64>,
    pub rss_bytes: Option<u64>,
}

fn attr<'a>(mut attrs: impl Iterator<Item = &'a KeyValue>, key: &str) -> Option<String> {
    attrs
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

fn add_counts(data: &AggregatedMetrics, key: &str, into: &mut BTreeMap<String, u64>) -> Option<()> {
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = data else {
        return None;
    };
    for point in sum.data_points() {
        let name = attr(point.attributes(), key).unwrap_or_default();
        *into.entry(name).or_default() += point.value();
    }
    Some(())
}

/// The current cumulative values, read in-process (what `METRICS_LOG_INTERVAL` prints).
pub fn summary() -> Summary {
    let mut out = Summary::default();
    let Some(rm) = collect() else {
        return out;
    };
    for scope in rm.scope_metrics() {
        for metric in scope.metrics() {
            let data = metric.data();
            match metric.name() {
                "http.server.request.duration" => {
                    if let AggregatedMetrics::F64(MetricData::Histogram(h)) = data {
                        for point in h.data_points() {
                            let attrs: Vec<&KeyValue> = point.attributes().collect();
                            let get = |k: &str| {
                                attrs
                                    .iter()
                                    .find(|kv| kv.key.as_str() == k)
                                    .map(|kv| kv.value.as_str().into_owned())
                            };
                            let service = get("service").unwrap_or_default();
                            let route = get("http.route").unwrap_or_default();
                            let status: u16 = get("http.response.status_code")
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(0);
                            let stats = out.routes.entry((service, route)).or_default();
                            stats.requests += point.count();
                            if status >= 500 {
                                stats.server_errors += point.count();
                            } else if status >= 400 {
                                stats.client_errors += point.count();
                            }
                            stats.latency_sum += point.sum();
                            let bounds = point.bounds().chain(std::iter::once(f64::INFINITY));
                            let merged: Vec<(f64, u64)> =
                                bounds.zip(point.bucket_counts()).collect();
                            if stats.buckets.is_empty() {
                                stats.buckets = merged;
                            } else {
                                for (slot, (_, count)) in stats.buckets.iter_mut().zip(merged) {
                                    slot.1 += count;
                                }
                            }
                        }
                    }
                }
                "ugc.ingest.events" => {
                    add_counts(data, "outcome", &mut out.ingest);
                }
                "ugc.ingest.lag" => {
                    if let AggregatedMetrics::F64(MetricData::Histogram(h)) = data {
                        for point in h.data_points() {
                            out.ingest_lag.0 += point.count();
                            out.ingest_lag.1 += point.sum();
                            out.ingest_lag.2 = out.ingest_lag.2.max(point.max().unwrap_or(0.0));
                        }
                    }
                }
                "ugc.reconciler.corrections" => {
                    add_counts(data, "kind", &mut out.reconciler);
                }
                "ugc.cache.lookups" => {
                    if let AggregatedMetrics::U64(MetricData::Sum(sum)) = data {
                        for point in sum.data_points() {
                            let attrs: Vec<&KeyValue> = point.attributes().collect();
                            let cache = attr(attrs.iter().copied(), "cache");
                            let result = attr(attrs.iter().copied(), "result");
                            *out.cache
                                .entry((cache.unwrap_or_default(), result.unwrap_or_default()))
                                .or_default() += point.value();
                        }
                    }
                }
                "ugc.rate_limit.refusals" => {
                    add_counts(data, "action", &mut out.rate_limited);
                }
                "ugc.aws.throttles" => {
                    add_counts(data, "service", &mut out.aws_throttles);
                }
                "ugc.aws.retries" => {
                    add_counts(data, "service", &mut out.aws_retries);
                }
                "process.memory.rss" => {
                    if let AggregatedMetrics::U64(MetricData::Gauge(g)) = data {
                        out.rss_bytes = g.data_points().map(|p| p.value()).max();
                    }
                }
                _ => {}
            }
        }
    }
    out
}

impl Summary {
    /// Requests of every route of `service`, summed.
    pub fn service_totals(&self, service: &str) -> RouteStats {
        let mut total = RouteStats::default();
        for ((s, _), stats) in &self.routes {
            if s != service {
                continue;
            }
            total.requests += stats.requests;
            total.server_errors += stats.server_errors;
            total.client_errors += stats.client_errors;
            total.latency_sum += stats.latency_sum;
            if total.buckets.is_empty() {
                total.buckets = stats.buckets.clone();
            } else {
                for (slot, (_, count)) in total.buckets.iter_mut().zip(&stats.buckets) {
                    slot.1 += count;
                }
            }
        }
        total
    }

    /// The services that answered requests.
    pub fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = self.routes.keys().map(|(s, _)| s.clone()).collect();
        names.dedup();
        names
    }

    /// The busiest routes of `service`, most requests first.
    pub fn top_routes(&self, service: &str, n: usize) -> Vec<(&str, &RouteStats)> {
        let mut routes: Vec<(&str, &RouteStats)> = self
            .routes
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|((_, r), stats)| (r.as_str(), stats))
            .collect();
        routes.sort_by_key(|r| std::cmp::Reverse(r.1.requests));
        routes.truncate(n);
        routes
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{}ms", d.as_millis()))
        .unwrap_or_else(|| "-".to_owned())
}

/// One line per service: requests, 4xx/5xx, p50/p99, the busiest routes; then a line for the
/// ingest, cache, rate-limit, AWS and memory figures.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for service in self.services() {
            let t = self.service_totals(&service);
            write!(
                f,
                "metrics {service}: {} req, {} 4xx, {} 5xx, p50 {}, p99 {}",
                t.requests,
                t.client_errors,
                t.server_errors,
                ms(t.latency_quantile(0.5)),
                ms(t.latency_quantile(0.99)),
            )?;
            let top = self.top_routes(&service, 3);
            if !top.is_empty() {
                write!(f, " | top:")?;
                for (route, stats) in top {
                    write!(
                        f,
                        " {route} {} (p99 {})",
                        stats.requests,
                        ms(stats.latency_quantile(0.99))
                    )?;
                }
            }
            writeln!(f)?;
        }
        let join = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let ingest = join(&self.ingest);
        write!(
            f,
            "metrics ingest: {}",
            if ingest.is_empty() { "none" } else { &ingest }
        )?;
        let (count, sum, max) = self.ingest_lag;
        if count > 0 {
            write!(f, ", lag avg {:.1}s max {:.1}s", sum / count as f64, max)?;
        }
        let hits: u64 = self
            .cache
            .iter()
            .filter(|((_, r), _)| r == "hit")
            .map(|(_, v)| v)
            .sum();
        let lookups: u64 = self.cache.values().sum();
        write!(f, " | cache {hits}/{lookups} hits")?;
        write!(f, " | reconciler {}", self.reconciler.values().sum::<u64>())?;
        write!(f, " | 429s {}", self.rate_limited.values().sum::<u64>())?;
        write!(
            f,
            " | aws throttles {} retries {}",
            self.aws_throttles.values().sum::<u64>(),
            self.aws_retries.values().sum::<u64>()
        )?;
        if let Some(rss) = self.rss_bytes {
            write!(f, " | rss {} MiB", rss / (1024 * 1024))?;
        }
        Ok(())
    }
}

/// Logs the [`Summary`] every `interval` while requests or events keep coming (nothing when idle).
pub fn spawn_summary_log(interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut last = (0u64, 0u64);
        loop {
            ticker.tick().await;
            let summary = summary();
            let activity = (
                summary.routes.values().map(|r| r.requests).sum::<u64>(),
                summary.ingest.values().sum::<u64>(),
            );
            if activity == last {
                continue;
            }
            last = activity;
            for line in summary.to_string().lines() {
                tracing::info!(target: "ugc::metrics", "{line}");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_bucket_holding_the_rank() {
        let stats = RouteStats {
            requests: 100,
            buckets: vec![(0.001, 50), (0.01, 49), (0.1, 1), (f64::INFINITY, 0)],
            ..RouteStats::default()
        };
        assert_eq!(
            stats.latency_quantile(0.5),
            Some(Duration::from_secs_f64(0.001))
        );
        assert_eq!(
            stats.latency_quantile(0.99),
            Some(Duration::from_secs_f64(0.01))
        );
        assert_eq!(
            stats.latency_quantile(1.0),
            Some(Duration::from_secs_f64(0.1))
        );
        assert_eq!(RouteStats::default().latency_quantile(0.5), None);
    }

    #[test]
    fn rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_set_bytes().unwrap() > 1024 * 1024);
        }
    }
}
