//! CloudWatch `GetMetricData` for the AWS/IVS stream-health metrics.

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use time::OffsetDateTime;

use crate::sdk_error::{transient_variants, Failure, FromSdk as _};
use crate::time_util::{from_smithy, to_smithy};

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("CloudWatch throttled the request")]
    Throttled,
    #[error("CloudWatch unavailable: {0}")]
    Unavailable(String),
    #[error("CloudWatch request failed: {0}")]
    Other(String),
}

transient_variants!(MetricsError);

impl From<Failure> for MetricsError {
    fn from(failure: Failure) -> Self {
        // CloudWatch says "slow down" with its own code too.
        if failure.code() == Some("LimitExceededException") {
            return MetricsError::Throttled;
        }
        Self::from_failure_or(failure, |other| MetricsError::Other(other.describe()))
    }
}

/// One `MetricDataQuery`: a metric statistic or a metric-math expression over other queries' ids.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuery {
    pub id: String,
    pub label: Option<String>,
    pub source: MetricSource,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MetricSource {
    Stat {
        namespace: String,
        metric_name: String,
        /// (name, value) pairs, e.g. `("Channel", "<channel resource id>")`.
        dimensions: Vec<(String, String)>,
        period_seconds: i32,
        stat: String,
    },
    /// e.g. `FILL(ingestframerate, REPEAT)` or `TIME_SERIES(AVG(ingestframerate))`.
    Expression(String),
}

impl MetricQuery {
    pub fn stat(
        id: impl Into<String>,
        label: impl Into<String>,
        namespace: impl Into<String>,
        metric_name: impl Into<String>,
        dimensions: Vec<(String, String)>,
        period_seconds: i32,
        stat: impl Into<String>,
    ) -> Self {
        MetricQuery {
            id: id.into(),
            label: Some(label.into()),
            source: MetricSource::Stat {
                namespace: namespace.into(),
                metric_name: metric_name.into(),
                dimensions,
                period_seconds,
                stat: stat.into(),
            },
        }
    }

    pub fn expression(
        id: impl Into<String>,
        label: impl Into<String>,
        expression: impl Into<String>,
    ) -> Self {
        MetricQuery {
            id: id.into(),
            label: Some(label.into()),
            source: MetricSource::Expression(expression.into()),
        }
    }

    fn to_sdk(&self) -> MetricDataQuery {
        let builder = MetricDataQuery::builder()
            .id(&self.id)
            .set_label(self.label.clone());
        let builder = match &self.source {
            MetricSource::Stat {
                namespace,
                metric_name,
                dimensions,
                period_seconds,
                stat,
            } => {
                let dimensions = dimensions
                    .iter()
                    .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                    .collect();
                let metric = Metric::builder()
                    .namespace(namespace)
                    .metric_name(metric_name)
                    .set_dimensions(Some(dimensions))
                    .build();
                builder.metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(*period_seconds)
                        .stat(stat)
                        .build(),
                )
            }
            MetricSource::Expression(expression) => builder.expression(expression),
        };
        builder.build()
    }
}

/// One query's data, in CloudWatch's order; `timestamps[i]` belongs to `values[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricResult {
    pub id: String,
    pub label: Option<String>,
    pub timestamps: Vec<OffsetDateTime>,
    pub values: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct StreamMetricsClient {
    client: aws_sdk_cloudwatch::Client,
}

impl StreamMetricsClient {
    pub fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Self::from_client(aws_sdk_cloudwatch::Client::new(sdk_config))
    }

    pub fn from_client(client: aws_sdk_cloudwatch::Client) -> Self {
        StreamMetricsClient { client }
    }

    /// `GetMetricData` over [start, end), all pages. A query's data points can be split across pages;
    /// they are joined so each id appears once, in the order CloudWatch first returned it.
    pub async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<Vec<MetricResult>, MetricsError> {
        let queries = queries.iter().map(MetricQuery::to_sdk).collect();
        let mut pages = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(to_smithy(start))
            .end_time(to_smithy(end))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        let mut results: Vec<MetricResult> = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(MetricsError::from_sdk)?;
            for result in page.metric_data_results() {
                let id = result.id().unwrap_or_default();
                let timestamps = result
                    .timestamps()
                    .iter()
                    .map(|at| {
                        from_smithy(at).ok_or_else(|| {
                            MetricsError::Other(format!("timestamp out of range in {id}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                match results.iter_mut().find(|known| known.id == id) {
                    Some(known) => {
                        known.timestamps.extend(timestamps);
                        known.values.extend_from_slice(result.values());
                    }
                    None => results.push(MetricResult {
                        id: id.to_owned(),
                        label: result.label().map(str::to_owned),
                        timestamps,
                        values: result.values().to_vec(),
                    }),
                }
            }
        }
        Ok(results)
    }
}
