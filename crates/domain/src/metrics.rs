//! Stream-health metrics rules (docs/contract.md §8.2): the CloudWatch query window, resolution,
//! queries, and how results are formatted for the SPA and cached per session.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::time_format::format_iso_millis;

/// The `AWS/IVS` metrics charted, in query order.
pub const METRIC_NAMES: [&str; 4] = [
    "IngestFramerate",
    "IngestVideoBitrate",
    "KeyframeInterval",
    "ConcurrentViews",
];

/// The two chart metrics that get a gap-filled series and lose their trailing points while live.
const FILLED_METRICS: [&str; 2] = ["IngestFramerate", "IngestVideoBitrate"];

/// How far back a live session's metrics are queried (the 5-second resolution is kept 3 hours).
pub const LIVE_WINDOW: Duration = Duration::hours(3);

/// CloudWatch resolution for data starting at `start`, seen at `now`, following its retention
/// schedule: 5 s kept 3 h, 1 min 15 days, 5 min 63 days, 1 h after that. The age is counted in
/// whole seconds, rounded up.
pub fn period_for(start: OffsetDateTime, now: OffsetDateTime) -> u32 {
    let age = now - start;
    let mut secs = age.whole_seconds();
    if age.subsec_nanoseconds() > 0 {
        secs += 1;
    }
    if secs > Duration::days(63).whole_seconds() {
        3600
    } else if secs > Duration::days(15).whole_seconds() {
        300
    } else if secs > Duration::hours(3).whole_seconds() {
        60
    } else {
        5
    }
}

/// The CloudWatch window for one session's metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsWindow {
    /// Session start, clamped to `now − 3 h` for a live session. Only the query uses it; responses
    /// report the real start time.
    pub query_start: OffsetDateTime,
    pub period: u32,
    /// `GetMetricData` StartTime.
    pub aligned_start: OffsetDateTime,
    /// `GetMetricData` EndTime.
    pub aligned_end: OffsetDateTime,
}

fn period_ms(period: u32) -> i128 {
    i128::from(period) * 1000
}

fn ms(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

fn from_ms(ms: i128) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn align_down(t: OffsetDateTime, period: u32) -> OffsetDateTime {
    from_ms(ms(t).div_euclid(period_ms(period)) * period_ms(period))
}

fn align_up(t: OffsetDateTime, period: u32) -> OffsetDateTime {
    let p = period_ms(period);
    from_ms((ms(t) + p - 1).div_euclid(p) * p)
}

impl MetricsWindow {
    /// `end` is the session's end time (`None` while live or unknown, then `now` is used).
    pub fn compute(
        start: OffsetDateTime,
        end: Option<OffsetDateTime>,
        now: OffsetDateTime,
        live: bool,
    ) -> Self {
        let query_start = if live {
            start.max(now - LIVE_WINDOW)
        } else {
            start
        };
        let period = period_for(query_start, now);
        let down = align_down(query_start, period);
        // Aligning down can push the start over a retention threshold, where CloudWatch no
        // longer has data at this period; then align up instead.
        let aligned_start = if period_for(down, now) == period {
            down
        } else {
            align_up(query_start, period)
        };
        // A session shorter than one period can align to an empty window (start == end), which
        // CloudWatch refuses; the window always spans at least one period.
        let aligned_end = align_up(end.unwrap_or(now), period)
            .max(aligned_start + Duration::seconds(period.into()));
        Self {
            query_start,
            period,
            aligned_start,
            aligned_end,
        }
    }

    /// Key of the per-session metrics cache: `P<period>-S<start ms>-E<end ms>`. It changes with the
    /// period, so a cache written at a finer resolution is replaced once the session ages past a
    /// retention threshold.
    pub fn cache_key(&self) -> String {
        format!(
            "P{}-S{}-E{}",
            self.period,
            ms(self.aligned_start),
            ms(self.aligned_end)
        )
    }
}

/// One `GetMetricData` query.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuery {
    pub id: String,
    pub label: String,
    pub body: MetricQueryBody,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MetricQueryBody {
    Stat(MetricStat),
    Expression(String),
}

/// `MetricStat` with a single dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricStat {
    pub namespace: String,
    pub metric_name: String,
    pub dimension_name: String,
    pub dimension_value: String,
    pub period: u32,
    pub stat: String,
}

/// The ten queries for a channel: per metric its raw series, its average
/// (`TIME_SERIES(AVG(..))`), and for the two chart metrics a gap-filled series
/// (`FILL(.., REPEAT)`).
pub fn metric_queries(channel_resource_id: &str, period: u32) -> Vec<MetricQuery> {
    let mut queries = Vec::with_capacity(10);
    for metric in METRIC_NAMES {
        let id = metric.to_ascii_lowercase();
        queries.push(MetricQuery {
            id: id.clone(),
            label: metric.to_owned(),
            body: MetricQueryBody::Stat(MetricStat {
                namespace: "AWS/IVS".to_owned(),
                metric_name: metric.to_owned(),
                dimension_name: "Channel".to_owned(),
                dimension_value: channel_resource_id.to_owned(),
                period,
                stat: "Average".to_owned(),
            }),
        });
        queries.push(MetricQuery {
            id: format!("{id}avg"),
            label: format!("{metric}Avg"),
            body: MetricQueryBody::Expression(format!("TIME_SERIES(AVG({id}))")),
        });
        if FILLED_METRICS.contains(&metric) {
            queries.push(MetricQuery {
                id: format!("{id}filled"),
                label: format!("{metric}Filled"),
                body: MetricQueryBody::Expression(format!("FILL({id}, REPEAT)")),
            });
        }
    }
    queries
}

/// One `MetricDataResults` entry as CloudWatch returned it (missing lists are empty).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricResult {
    pub id: String,
    pub label: String,
    pub timestamps: Vec<OffsetDateTime>,
    pub values: Vec<f64>,
}

/// A metric as the SPA charts it, and as cached on an ended session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormattedMetric {
    pub aligned_start_time: String,
    pub data: Vec<f64>,
    pub label: String,
    pub period: u32,
    pub statistics: MetricStatistics,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricStatistics {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub average: Option<f64>,
}

/// Turns `GetMetricData` results into the response's `metrics` array (docs/contract.md §8.2 item 11):
/// kept in CloudWatch's order are the gap-filled chart series (labelled without `Filled`) and the
/// raw KeyframeInterval / ConcurrentViews series, each sorted by time, with its average from the
/// matching `...Avg` result. While live, the newest `round(30 / period)` points of the chart
/// series are dropped: CloudWatch has not settled them yet.
pub fn format_results(
    results: &[MetricResult],
    period: u32,
    aligned_start: OffsetDateTime,
    live: bool,
) -> Vec<FormattedMetric> {
    let aligned_start_time = format_iso_millis(aligned_start);
    results
        .iter()
        .filter(|r| {
            !r.label.is_empty()
                && !FILLED_METRICS.contains(&r.label.as_str())
                && !r.label.ends_with("Avg")
                && !r.timestamps.is_empty()
                && r.timestamps.len() == r.values.len()
        })
        .map(|r| {
            let label = r.label.replace("Filled", "");
            let mut points: Vec<(OffsetDateTime, f64)> = r
                .timestamps
                .iter()
                .copied()
                .zip(r.values.iter().copied())
                .collect();
            points.sort_by_key(|(t, _)| *t);
            let mut data: Vec<f64> = points.into_iter().map(|(_, v)| v).collect();
            if live && FILLED_METRICS.contains(&label.as_str()) {
                let unsettled = usize::try_from((30 + period / 2) / period.max(1)).unwrap_or(0);
                data.truncate(data.len().saturating_sub(unsettled));
            }
            let average = results
                .iter()
                .find(|a| a.label.ends_with("Avg") && a.label.contains(&label))
                .and_then(|a| a.values.first().copied());
            FormattedMetric {
                aligned_start_time: aligned_start_time.clone(),
                data,
                label,
                period,
                statistics: MetricStatistics { average },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2022-06-10 19:12:05 UTC);

    #[test]
    fn period_selection_matches_upstream_helpers() {
        // docs/contract.md §14.16
        assert_eq!(period_for(datetime!(2022-04-07 19:10:00 UTC), NOW), 3600);
        assert_eq!(period_for(datetime!(2022-05-15 19:12:00 UTC), NOW), 300);
        assert_eq!(period_for(datetime!(2022-06-01 19:12:00 UTC), NOW), 60);
        assert_eq!(period_for(datetime!(2022-06-10 19:07:05 UTC), NOW), 5);
    }

    #[test]
    fn period_thresholds_are_exclusive_and_round_up() {
        assert_eq!(period_for(NOW - Duration::hours(3), NOW), 5);
        assert_eq!(
            period_for(NOW - Duration::hours(3) - Duration::milliseconds(1), NOW),
            60
        );
        assert_eq!(period_for(NOW - Duration::days(15), NOW), 60);
        assert_eq!(
            period_for(NOW - Duration::days(15) - Duration::seconds(1), NOW),
            300
        );
        assert_eq!(period_for(NOW - Duration::days(63), NOW), 300);
        assert_eq!(
            period_for(NOW - Duration::days(63) - Duration::seconds(1), NOW),
            3600
        );
    }

    #[test]
    fn a_session_within_one_period_still_gets_a_non_empty_window() {
        // Created and ended in the same second, on a 5 s boundary: CloudWatch refuses an empty
        // window, so it spans one period.
        let at = datetime!(2022-06-10 19:10:00 UTC);
        let window = MetricsWindow::compute(at, Some(at), NOW, false);
        assert_eq!(window.aligned_start, at);
        assert_eq!(window.aligned_end, at + Duration::seconds(5));
    }

    #[test]
    fn live_window_is_clamped_to_three_hours() {
        let start = NOW - Duration::hours(5);
        let w = MetricsWindow::compute(start, None, NOW, true);
        assert_eq!(w.query_start, NOW - Duration::hours(3));
        assert_eq!(w.period, 5);
        assert_eq!(w.aligned_start, datetime!(2022-06-10 16:12:05 UTC));
        assert_eq!(w.aligned_end, NOW);
        // The same session, ended: the full window at 1-minute resolution.
        let w = MetricsWindow::compute(start, Some(NOW - Duration::hours(1)), NOW, false);
        assert_eq!(w.query_start, start);
        assert_eq!(w.period, 60);
        assert_eq!(w.aligned_start, datetime!(2022-06-10 14:12:00 UTC));
        assert_eq!(w.aligned_end, datetime!(2022-06-10 18:13:00 UTC));
    }

    #[test]
    fn queries_are_the_documented_ten_in_order() {
        let q = metric_queries("abcd", 60);
        let ids: Vec<&str> = q.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ingestframerate",
                "ingestframerateavg",
                "ingestframeratefilled",
                "ingestvideobitrate",
                "ingestvideobitrateavg",
                "ingestvideobitratefilled",
                "keyframeinterval",
                "keyframeintervalavg",
                "concurrentviews",
                "concurrentviewsavg",
            ]
        );
        assert_eq!(q[0].label, "IngestFramerate");
        assert_eq!(
            q[0].body,
            MetricQueryBody::Stat(MetricStat {
                namespace: "AWS/IVS".into(),
                metric_name: "IngestFramerate".into(),
                dimension_name: "Channel".into(),
                dimension_value: "abcd".into(),
                period: 60,
                stat: "Average".into(),
            })
        );
        assert_eq!(q[1].label, "IngestFramerateAvg");
        assert_eq!(
            q[1].body,
            MetricQueryBody::Expression("TIME_SERIES(AVG(ingestframerate))".into())
        );
        assert_eq!(q[2].label, "IngestFramerateFilled");
        assert_eq!(
            q[2].body,
            MetricQueryBody::Expression("FILL(ingestframerate, REPEAT)".into())
        );
        assert_eq!(q[9].label, "ConcurrentViewsAvg");
    }

    #[test]
    fn formatted_metric_serialises_like_upstream() {
        let m = FormattedMetric {
            aligned_start_time: "2022-06-10T19:07:00.000Z".into(),
            data: vec![1.0, 2.5],
            label: "ConcurrentViews".into(),
            period: 5,
            statistics: MetricStatistics { average: None },
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"alignedStartTime":"2022-06-10T19:07:00.000Z","data":[1.0,2.5],"label":"ConcurrentViews","period":5,"statistics":{}}"#
        );
        let back: FormattedMetric =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
