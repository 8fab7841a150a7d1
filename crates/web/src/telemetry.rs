//! Logs, traces and the request id.
//!
//! [`init`] installs a `tracing` subscriber: JSON lines (or text) on stdout filtered by
//! `RUST_LOG` (default `info`; text is coloured only on a terminal without `NO_COLOR`), plus an OpenTelemetry layer exporting spans over OTLP/HTTP
//! (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (a collector such as the ADOT sidecar;
//! `/v1/traces` is appended as the OTLP spec says).
//!
//! [`request_tracing`] gives each request a span carrying the method, the path (never the query
//! string or headers, so no token is logged), the request id, the status and the latency, and
//! answers `x-request-id`: the caller's when it sent a sane one, else a new UUID; and records the
//! request in [`crate::metrics`] (RED by matched route pattern). The OTLP endpoint also receives
//! the metrics (`/v1/metrics`).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::{ExporterBuildError, MetricExporter, SpanExporter, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::field::Empty;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{CommonConfig, LogFormat};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: {0}")]
    Exporter(String),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

impl From<ExporterBuildError> for TelemetryError {
    fn from(err: ExporterBuildError) -> Self {
        Self::Exporter(err.to_string())
    }
}

/// Stops span export, flushing what is buffered. Keep it alive in `main` and call
/// [`TelemetryGuard::shutdown`] after the server stops; dropping it flushes too, waiting at most
/// [`SHUTDOWN_WAIT`].
#[must_use = "dropping the guard stops span export"]
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    metrics: Option<MetricsExport>,
    summary: Option<tokio::task::JoinHandle<()>>,
}

/// The periodic OTLP push of [`crate::metrics`].
#[derive(Debug)]
struct MetricsExport {
    exporter: Arc<opentelemetry_otlp::MetricExporter>,
    task: tokio::task::JoinHandle<()>,
}

/// The longest a shutdown waits for the exporter.
pub const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl TelemetryGuard {
    /// Flushes buffered spans and metrics and stops the exporters.
    pub async fn shutdown(mut self) {
        if let Some(summary) = self.summary.take() {
            summary.abort();
        }
        if let Some(metrics) = self.metrics.take() {
            metrics.task.abort();
            match tokio::time::timeout(SHUTDOWN_WAIT, crate::metrics::export(&metrics.exporter))
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("metrics export: {e}"),
                Err(_) => eprintln!("metrics export: timed out"),
            }
            crate::metrics::shutdown();
        }
        if let Some(provider) = self.provider.take() {
            let flush = tokio::task::spawn_blocking(move || provider.shutdown());
            match tokio::time::timeout(SHUTDOWN_WAIT, flush).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => eprintln!("telemetry shutdown: {e}"),
                Ok(Err(e)) => eprintln!("telemetry shutdown: {e}"),
                Err(_) => eprintln!("telemetry shutdown: timed out"),
            }
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(summary) = self.summary.take() {
            summary.abort();
        }
        if let Some(metrics) = self.metrics.take() {
            metrics.task.abort();
        }
        if let Some(provider) = self.provider.take() {
            // The batch processor runs on the Tokio runtime, which may be this very thread:
            // wait on another thread, and not forever.
            let (done, wait) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = done.send(provider.shutdown());
            });
            match wait.recv_timeout(SHUTDOWN_WAIT) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("telemetry shutdown: {e}"),
                Err(_) => eprintln!("telemetry shutdown: timed out"),
            }
        }
    }
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>): logs sent to a file or a pipe carry no ANSI codes.
fn colour_wanted(stdout_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stdout_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber. With OTLP export on, call it inside the Tokio runtime.
pub fn init(common: &CommonConfig) -> Result<TelemetryGuard, TelemetryError> {
    let service_name = common
        .service_name
        .clone()
        .map(|s| format!("ugc-{s}"))
        .unwrap_or_else(|| "ugc".to_owned());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = match common.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(colour_wanted(
                std::io::stdout().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .boxed(),
    };

    crate::metrics::install(&service_name);
    let provider = match &common.otlp_endpoint {
        Some(endpoint) => Some(tracer_provider(endpoint, &service_name)?),
        None => None,
    };
    let metrics = match &common.otlp_endpoint {
        Some(endpoint) => Some(metrics_export(endpoint)?),
        None => None,
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name.clone())));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    let summary = common
        .metrics_log_interval
        .map(crate::metrics::spawn_summary_log);
    Ok(TelemetryGuard {
        provider,
        metrics,
        summary,
    })
}

/// An OTLP/HTTP exporter of `signal` (`traces`, `metrics`) to `<endpoint>/v1/<signal>`.
fn otlp_http<B: WithExportConfig>(builder: B, endpoint: &str, signal: &str) -> B {
    builder
        .with_endpoint(format!("{}/v1/{signal}", endpoint.trim_end_matches('/')))
        .with_timeout(std::time::Duration::from_secs(10))
}

/// Pushes [`crate::metrics`] to `<endpoint>/v1/metrics` every [`crate::metrics::EXPORT_INTERVAL`].
fn metrics_export(endpoint: &str) -> Result<MetricsExport, TelemetryError> {
    let exporter = otlp_http(MetricExporter::builder().with_http(), endpoint, "metrics").build()?;
    let exporter = Arc::new(exporter);
    let pusher = Arc::clone(&exporter);
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(crate::metrics::EXPORT_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if let Err(e) = crate::metrics::export(&pusher).await {
                tracing::warn!(error = %e, "metrics export failed");
            }
        }
    });
    Ok(MetricsExport { exporter, task })
}

fn tracer_provider(
    endpoint: &str,
    service_name: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = otlp_http(SpanExporter::builder().with_http(), endpoint, "traces").build()?;
    let processor =
        opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource)
        .build())
}

/// The `service` attribute of the request metrics (`SERVICE_NAME`, or `ugc`), in the app data.
#[derive(Debug, Clone)]
pub struct ServiceLabel(pub Arc<str>);

/// The request id of the current request, in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

fn incoming_request_id(value: Option<&HeaderValue>) -> Option<String> {
    let v = value?.to_str().ok()?;
    let sane = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    sane.then(|| v.to_owned())
}

struct HeaderExtractor<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// The request-span middleware (see the module docs), for [`actix_web::middleware::from_fn`].
pub async fn request_tracing(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse, actix_web::Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(req.headers().get(REQUEST_ID_HEADER))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let service = req
        .app_data::<ServiceLabel>()
        .map(|s| s.0.clone())
        .unwrap_or_else(|| Arc::from("ugc"));
    let method = req.method().clone();
    // Named by the route pattern (`/channels/{username}`, low-cardinality) once routing has
    // picked the resource: see [`crate::routing::route_pattern`].
    let span = tracing::info_span!(
        "http_request",
        otel.kind = "server",
        http.request.method = %req.method(),
        url.path = %req.path(),
        http.route = Empty,
        http.response.status_code = Empty,
        latency_ms = Empty,
        request_id = %request_id,
    );
    if !span.is_disabled() {
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderExtractor(req.headers()))
        });
        let _ = span.set_parent(parent);
    }
    req.extensions_mut().insert(RequestId(request_id.clone()));
    async move {
        let result = next.call(req).await;
        let span = tracing::Span::current();
        // Read from the routed request: holding a clone of it during routing would stop actix
        // from writing the match info.
        let route = result
            .as_ref()
            .ok()
            .and_then(|res| crate::routing::route_pattern(res.request()));
        // A disabled span (the level filtered out) is not exported: skip naming it.
        if !span.is_disabled() {
            span.context().span().update_name(format!(
                "{} {}",
                method,
                route.as_deref().unwrap_or("unmatched")
            ));
            if let Some(route) = route.as_deref() {
                span.record("http.route", route);
            }
        }
        let mut res = result?;
        let status = res.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("http.response.status_code", status);
        span.record("latency_ms", latency_ms);
        tracing::info!(status, latency_ms, "request completed");
        crate::metrics::http_request(&service, &method, route, status, started.elapsed());
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            res.headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
        }
        Ok(res)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
    }

    #[test]
    fn request_ids_are_sanitised() {
        let ok = HeaderValue::from_static("abc-123_x.y:z");
        assert_eq!(
            incoming_request_id(Some(&ok)).as_deref(),
            Some("abc-123_x.y:z")
        );
        let bad = HeaderValue::from_static("a b");
        assert_eq!(incoming_request_id(Some(&bad)), None);
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        assert_eq!(incoming_request_id(Some(&long)), None);
        assert_eq!(incoming_request_id(None), None);
    }
}
