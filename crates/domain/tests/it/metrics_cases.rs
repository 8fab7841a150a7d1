//! Upstream `getStreamSession` cases (docs/contract.md §14.14) replayed against the metrics rules: clock
//! frozen at 2022-06-10T19:12:05Z, session started 19:07:00Z.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use ugc_domain::metrics::{format_results, metric_queries, MetricResult, MetricsWindow};

const NOW: OffsetDateTime = datetime!(2022-06-10 19:12:05 UTC);
const START: OffsetDateTime = datetime!(2022-06-10 19:07:00 UTC);

const AVG_KEYFRAME: f64 = 1.9971621265228496;
const AVG_VIEWS: f64 = 1.0;
const AVG_FRAMERATE: f64 = 29.75984462169303;
const AVG_BITRATE: f64 = 1_294_593.010_717_151_2;

/// A series of `n` points every 5 s from START, newest first as CloudWatch returns them; value i
/// belongs to the i-th oldest point so ordering mistakes show.
fn series(id: &str, label: &str, n: i64) -> MetricResult {
    let timestamps: Vec<OffsetDateTime> = (0..n)
        .rev()
        .map(|i| START + Duration::seconds(5 * i))
        .collect();
    let values = (0..n).rev().map(|i| i as f64).collect();
    MetricResult {
        id: id.into(),
        label: label.into(),
        timestamps,
        values,
    }
}

fn average(id: &str, label: &str, value: f64) -> MetricResult {
    MetricResult {
        id: id.into(),
        label: label.into(),
        timestamps: vec![START],
        values: vec![value],
    }
}

/// The fixture: 62 points for each base/Avg/Filled series, 6 for ConcurrentViews.
fn fixture() -> Vec<MetricResult> {
    vec![
        series("keyframeinterval", "KeyframeInterval", 62),
        average("keyframeintervalavg", "KeyframeIntervalAvg", AVG_KEYFRAME),
        series("concurrentviews", "ConcurrentViews", 6),
        average("concurrentviewsavg", "ConcurrentViewsAvg", AVG_VIEWS),
        series("ingestframerate", "IngestFramerate", 62),
        average("ingestframerateavg", "IngestFramerateAvg", AVG_FRAMERATE),
        series("ingestframeratefilled", "IngestFramerateFilled", 62),
        series("ingestvideobitrate", "IngestVideoBitrate", 62),
        average(
            "ingestvideobitrateavg",
            "IngestVideoBitrateAvg",
            AVG_BITRATE,
        ),
        series("ingestvideobitratefilled", "IngestVideoBitrateFilled", 62),
    ]
}

fn labels(metrics: &[ugc_domain::metrics::FormattedMetric]) -> Vec<&str> {
    metrics.iter().map(|m| m.label.as_str()).collect()
}

#[test]
fn case_7_live_session() {
    let w = MetricsWindow::compute(START, None, NOW, true);
    assert_eq!(w.aligned_start, START);
    assert_eq!(w.aligned_end, NOW);
    assert_eq!(w.period, 5);
    let metrics = format_results(&fixture(), w.period, w.aligned_start, true);
    assert_eq!(
        labels(&metrics),
        [
            "KeyframeInterval",
            "ConcurrentViews",
            "IngestFramerate",
            "IngestVideoBitrate"
        ]
    );
    let json = serde_json::to_value(&metrics).unwrap();
    for m in json.as_array().unwrap() {
        assert_eq!(m["alignedStartTime"], "2022-06-10T19:07:00.000Z");
        assert_eq!(m["period"], 5);
    }
    assert_eq!(json[0]["statistics"]["average"], AVG_KEYFRAME);
    assert_eq!(json[1]["statistics"]["average"], AVG_VIEWS);
    assert_eq!(json[2]["statistics"]["average"], AVG_FRAMERATE);
    assert_eq!(json[3]["statistics"]["average"], AVG_BITRATE);
    // The six newest, unsettled points of the chart series are dropped while live.
    assert_eq!(metrics[2].data.len(), 56);
    assert_eq!(metrics[3].data.len(), 56);
    assert_eq!(metrics[0].data.len(), 62);
    assert_eq!(metrics[1].data.len(), 6);
    // Ascending by time.
    assert_eq!(metrics[2].data[..3], [0.0, 1.0, 2.0]);
    assert_eq!(*metrics[2].data.last().unwrap(), 55.0);
}

#[test]
fn case_8_offline_session_ended_now() {
    let w = MetricsWindow::compute(START, Some(NOW), NOW, false);
    assert_eq!((w.aligned_start, w.aligned_end), (START, NOW));
    assert_eq!(w.cache_key(), "P5-S1654888020000-E1654888325000");
    let metrics = format_results(&fixture(), w.period, w.aligned_start, false);
    assert_eq!(metrics.len(), 4);
    assert_eq!(metrics[2].label, "IngestFramerate");
    assert_eq!(metrics[2].data.len(), 62);
    assert_eq!(metrics[3].data.len(), 62);
}

#[test]
fn case_11_offline_session_near_the_63_day_threshold() {
    let start = datetime!(2022-04-08 19:13:00 UTC);
    let end = datetime!(2022-04-08 19:18:05 UTC);
    let w = MetricsWindow::compute(start, Some(end), NOW, false);
    assert_eq!(w.period, 300);
    // Aligning down to 19:10 would cross 63 days (no 5-minute data there), so it aligns up.
    assert_eq!(w.aligned_start, datetime!(2022-04-08 19:15:00 UTC));
    assert_eq!(w.aligned_end, datetime!(2022-04-08 19:20:00 UTC));
    assert_eq!(w.cache_key(), "P300-S1649445300000-E1649445600000");
    let metrics = format_results(&fixture(), w.period, w.aligned_start, false);
    assert_eq!(metrics.len(), 4);
    assert!(metrics.iter().all(|m| m.period == 300));
    assert!(metrics
        .iter()
        .all(|m| m.aligned_start_time == "2022-04-08T19:15:00.000Z"));
    assert_eq!(metric_queries("channelResourceId", w.period).len(), 10);
}

#[test]
fn case_15_filled_series_without_timestamps_or_values_are_skipped() {
    let mut results = fixture();
    for r in &mut results {
        if r.label == "IngestFramerateFilled" {
            r.timestamps.clear();
        }
        if r.label == "IngestVideoBitrateFilled" {
            r.values.clear();
        }
    }
    let metrics = format_results(&results, 5, START, false);
    assert_eq!(labels(&metrics), ["KeyframeInterval", "ConcurrentViews"]);
}

#[test]
fn case_16_average_without_values_is_omitted() {
    let mut results = fixture();
    for r in &mut results {
        if r.label == "IngestFramerateAvg" {
            r.values.clear();
        }
    }
    let metrics = format_results(&results, 5, START, false);
    assert_eq!(metrics.len(), 4);
    let framerate = serde_json::to_value(&metrics[2]).unwrap();
    assert_eq!(framerate["label"], "IngestFramerate");
    assert_eq!(framerate["statistics"], serde_json::json!({}));
    assert_eq!(metrics[3].statistics.average, Some(AVG_BITRATE));
}

#[test]
fn case_17_missing_average_result_is_omitted() {
    let results: Vec<MetricResult> = fixture()
        .into_iter()
        .filter(|r| r.label != "IngestFramerateAvg")
        .collect();
    let metrics = format_results(&results, 5, START, false);
    assert_eq!(metrics.len(), 4);
    assert_eq!(metrics[2].label, "IngestFramerate");
    assert_eq!(metrics[2].statistics.average, None);
}

#[test]
fn mismatched_lengths_are_skipped_and_minute_resolution_drops_one_live_point() {
    let mut results = fixture();
    results[0].values.pop();
    let metrics = format_results(&results, 60, START, true);
    assert_eq!(
        labels(&metrics),
        ["ConcurrentViews", "IngestFramerate", "IngestVideoBitrate"]
    );
    assert_eq!(metrics[1].data.len(), 61);
    assert_eq!(metrics[0].data.len(), 6);
}
