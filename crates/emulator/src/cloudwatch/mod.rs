//! CloudWatch GetMetricData (and PutMetricData) over Smithy RPC v2 CBOR, as aws-sdk-cloudwatch
//! sends it, and over awsJson1_0, as boto3 sends it (`docs/wire-protocols.md` §5).
//!
//! `AWS/IVS` metrics (`IngestFramerate`, `IngestVideoBitrate`, `KeyframeInterval`,
//! `ConcurrentViews`, dimension `Channel`) are synthesised from the broadcast history the IVS
//! emulator keeps: plausible, deterministic values while a broadcast is live, nothing outside
//! broadcasts, and a stalled ingest while a stream is starving. Points stored by PutMetricData take
//! precedence over synthetic ones in the buckets where they exist.

mod query;
mod synthetic;
pub mod wire;

use std::collections::BTreeMap;
use std::path::Path;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::core::config::EmulatorConfig;
use crate::core::routing::TargetPrefix;
use crate::core::sigv4;
use crate::core::store::Store;
use crate::server::Shared;

use query::{Aggregate, MetricId, MetricStat, Request, Series, Source};
use wire::{CwError, Out, Protocol};

/// Stored points per metric are capped; the oldest go first.
const MAX_POINTS_PER_METRIC: usize = 100_000;

pub struct CloudWatch {
    store: Store<State>,
}

#[derive(Default, Serialize, Deserialize)]
struct State {
    metrics: Vec<StoredMetric>,
}

#[derive(Serialize, Deserialize)]
struct StoredMetric {
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
    /// (epoch seconds, aggregate), in insertion order.
    points: Vec<(f64, Aggregate)>,
}

impl Serialize for Aggregate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.sum, self.count, self.min, self.max].serialize(s)
    }
}

impl<'de> Deserialize<'de> for Aggregate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let [sum, count, min, max] = <[f64; 4]>::deserialize(d)?;
        Ok(Self {
            sum,
            count,
            min,
            max,
        })
    }
}

impl CloudWatch {
    pub fn load(dir: Option<&Path>, _config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            store: Store::open(dir, "cloudwatch")?,
        })
    }

    /// Records one datapoint (what PutMetricData does for each `MetricData` entry).
    pub fn put_point(
        &self,
        namespace: &str,
        name: &str,
        dimensions: &[(String, String)],
        time: OffsetDateTime,
        value: f64,
    ) {
        let mut dims = dimensions.to_vec();
        dims.sort();
        let id = MetricId {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions: dims,
        };
        let t = time.unix_timestamp_nanos() as f64 / 1e9;
        self.put(vec![(id, t, Aggregate::of(value))]);
    }

    fn put(&self, points: Vec<(MetricId, f64, Aggregate)>) {
        self.store.write(|s| {
            for (id, t, agg) in points {
                let pos = s.metrics.iter().position(|m| {
                    m.namespace == id.namespace
                        && m.name == id.name
                        && m.dimensions == id.dimensions
                });
                let metric = match pos {
                    Some(p) => s.metrics.get_mut(p),
                    None => {
                        s.metrics.push(StoredMetric {
                            namespace: id.namespace,
                            name: id.name,
                            dimensions: id.dimensions,
                            points: Vec::new(),
                        });
                        s.metrics.last_mut()
                    }
                };
                if let Some(metric) = metric {
                    metric.points.push((t, agg));
                    if metric.points.len() > MAX_POINTS_PER_METRIC {
                        metric.points.remove(0);
                    }
                }
            }
        });
    }

    /// Stored points of `metric` bucketed by `period` within `[start, end)`.
    fn stored(
        &self,
        metric: &MetricId,
        period: i64,
        start: f64,
        end: f64,
    ) -> BTreeMap<i64, Aggregate> {
        self.store.read(|s| {
            let mut buckets: BTreeMap<i64, Aggregate> = BTreeMap::new();
            let first = (start as i64).div_euclid(period) * period;
            for m in s.metrics.iter().filter(|m| {
                m.namespace == metric.namespace
                    && m.name == metric.name
                    && m.dimensions == metric.dimensions
            }) {
                for (t, agg) in &m.points {
                    if *t < first as f64 || *t >= end {
                        continue;
                    }
                    let bucket = (*t as i64).div_euclid(period) * period;
                    buckets
                        .entry(bucket)
                        .and_modify(|b| b.merge(agg))
                        .or_insert(*agg);
                }
            }
            buckets
        })
    }
}

/// Stored points first; synthetic IVS metrics fill the buckets without stored data.
struct Metrics<'a> {
    shared: &'a Shared,
}

impl Source for Metrics<'_> {
    fn series(&self, stat: &MetricStat, start: f64, end: f64) -> Series {
        let stored = self
            .shared
            .cloudwatch
            .stored(&stat.metric, stat.period, start, end);
        let mut series: Series = stored
            .iter()
            .map(|(t, a)| (*t, a.value(stat.stat)))
            .collect();
        if let Some(channel) = synthetic::ivs_channel(&stat.metric) {
            let broadcasts = self.shared.ivs.broadcasts(channel);
            let now = OffsetDateTime::now_utc();
            for (t, agg) in synthetic::series(
                &stat.metric.name,
                channel,
                &broadcasts,
                stat.period,
                start,
                end,
                now,
            ) {
                series.entry(t).or_insert(agg.value(stat.stat));
            }
        }
        series
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/service/GraniteServiceVersion20100801/operation/{operation}")
            .route(web::post().to(cbor_operation)),
    )
    .service(
        web::resource("/")
            .guard(TargetPrefix("GraniteServiceVersion20100801."))
            .route(web::post().to(json_operation)),
    );
}

async fn cbor_operation(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let operation = req
        .match_info()
        .get("operation")
        .unwrap_or_default()
        .to_owned();
    respond(&req, &body, &shared, &operation, Protocol::Cbor)
}

async fn json_operation(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let operation = crate::core::routing::target_operation(&req, "GraniteServiceVersion20100801.")
        .unwrap_or_default()
        .to_owned();
    respond(&req, &body, &shared, &operation, Protocol::Json)
}

fn respond(
    req: &HttpRequest,
    body: &[u8],
    shared: &Shared,
    operation: &str,
    protocol: Protocol,
) -> HttpResponse {
    match handle(req, body, shared, operation, protocol) {
        Ok(out) => wire::ok(protocol, &out),
        Err(e) => e.response(protocol),
    }
}

fn handle(
    req: &HttpRequest,
    body: &[u8],
    shared: &Shared,
    operation: &str,
    protocol: Protocol,
) -> Result<Out, CwError> {
    sigv4::verify_actix(
        req,
        body,
        &shared.config.access_key_id,
        &shared.config.secret_access_key,
    )
    .map_err(|e| CwError::new(e.status.as_u16(), e.code, e.message))?;
    if req
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"))
    {
        return Err(CwError::invalid(
            "Compressed request bodies are not supported by the emulator.",
        ));
    }
    let input = match protocol {
        Protocol::Cbor => wire::decode_cbor(body)?,
        Protocol::Json if body.is_empty() => Json::Object(serde_json::Map::new()),
        Protocol::Json => serde_json::from_slice(body).map_err(|e| {
            CwError::new(
                400,
                "SerializationException",
                format!("Malformed JSON request body: {e}"),
            )
        })?,
    };
    match operation {
        "GetMetricData" => get_metric_data(&input, shared),
        "PutMetricData" => put_metric_data(&input, shared),
        other => Err(CwError::new(
            400,
            "UnknownOperationException",
            format!("The emulator does not implement the CloudWatch operation {other}."),
        )),
    }
}

fn get_metric_data(input: &Json, shared: &Shared) -> Result<Out, CwError> {
    let request = Request::parse(input)?;
    let results = query::evaluate(&request, &Metrics { shared })?;
    let mut budget = request.max_datapoints.unwrap_or(usize::MAX);
    let results = results
        .into_iter()
        .map(|r| {
            let mut points: Vec<(i64, f64)> = r.series.into_iter().collect();
            if !request.ascending {
                points.reverse();
            }
            let complete = points.len() <= budget;
            points.truncate(budget);
            budget -= points.len();
            Out::Map(vec![
                ("Id", Out::Str(r.id)),
                ("Label", Out::Str(r.label)),
                (
                    "Timestamps",
                    Out::List(points.iter().map(|(t, _)| Out::Time(*t as f64)).collect()),
                ),
                (
                    "Values",
                    Out::List(points.iter().map(|(_, v)| Out::F64(*v)).collect()),
                ),
                (
                    "StatusCode",
                    Out::Str(if complete { "Complete" } else { "PartialData" }.to_owned()),
                ),
                ("Messages", Out::List(Vec::new())),
            ])
        })
        .collect();
    Ok(Out::Map(vec![
        ("MetricDataResults", Out::List(results)),
        ("Messages", Out::List(Vec::new())),
    ]))
}

fn put_metric_data(input: &Json, shared: &Shared) -> Result<Out, CwError> {
    let namespace = input
        .get("Namespace")
        .and_then(Json::as_str)
        .ok_or_else(|| CwError::missing("Namespace"))?;
    // Real CloudWatch reserves `AWS/`; the emulator accepts it so tests can pin `AWS/IVS` values.
    let data = input
        .get("MetricData")
        .and_then(Json::as_array)
        .ok_or_else(|| CwError::missing("MetricData"))?;
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
    let mut points = Vec::new();
    for d in data {
        let name = d
            .get("MetricName")
            .and_then(Json::as_str)
            .ok_or_else(|| CwError::missing("MetricData.member.MetricName"))?;
        let id = MetricId {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions: query::parse_dimensions(d)?,
        };
        let t = d.get("Timestamp").and_then(Json::as_f64).unwrap_or(now);
        let number = |v: &Json, field: &str| -> Result<f64, CwError> {
            v.get(field)
                .and_then(Json::as_f64)
                .ok_or_else(|| CwError::missing(&format!("MetricData.member.{field}")))
        };
        if let Some(v) = d.get("Value").filter(|v| !v.is_null()) {
            let v = v
                .as_f64()
                .ok_or_else(|| CwError::invalid("Value must be a number."))?;
            points.push((id, t, Aggregate::of(v)));
        } else if let Some(values) = d.get("Values").and_then(Json::as_array) {
            let counts = d.get("Counts").and_then(Json::as_array);
            for (i, v) in values.iter().enumerate() {
                let v = v
                    .as_f64()
                    .ok_or_else(|| CwError::invalid("Values must be numbers."))?;
                let n = counts
                    .and_then(|c| c.get(i))
                    .and_then(Json::as_f64)
                    .unwrap_or(1.0);
                points.push((
                    id.clone(),
                    t,
                    Aggregate {
                        sum: v * n,
                        count: n,
                        min: v,
                        max: v,
                    },
                ));
            }
        } else if let Some(s) = d.get("StatisticValues").filter(|s| !s.is_null()) {
            points.push((
                id,
                t,
                Aggregate {
                    sum: number(s, "Sum")?,
                    count: number(s, "SampleCount")?,
                    min: number(s, "Minimum")?,
                    max: number(s, "Maximum")?,
                },
            ));
        } else {
            return Err(CwError::new(
                400,
                "InvalidParameterCombination",
                "One of Value, Values or StatisticValues must be set in each MetricData entry.",
            ));
        }
    }
    shared.cloudwatch.put(points);
    Ok(Out::Map(Vec::new()))
}
