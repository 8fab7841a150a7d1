//! Synthetic `AWS/IVS` metrics from the broadcast history.
//!
//! A sample is taken every few seconds of each bucket while a broadcast is live (never in the
//! future), and the bucket's statistic is computed over them. Values are deterministic functions of
//! (channel, stream, metric, time), so a repeated query returns the same numbers:
//! - `IngestFramerate` ≈ 30 fps, `IngestVideoBitrate` ≈ 3.5 Mbps with jitter and a slow wave; both
//!   drop to 0 while the stream is starving;
//! - `KeyframeInterval` ≈ 2 s; no samples while starving;
//! - `ConcurrentViews` grows from a handful towards ~150 over the first half hour, with noise, and
//!   keeps going while the stream is starving.
//!
//! A real broadcast (RTMP ingest) carries measurements: its `IngestFramerate`,
//! `IngestVideoBitrate` and `KeyframeInterval` are what the encoder actually sent (the latest
//! measurement at most 10 s old at each sample time), not the synthetic values.

use time::OffsetDateTime;

use super::query::{Aggregate, MetricId};
use crate::ivs::BroadcastRecord;

const METRICS: [&str; 4] = [
    "IngestFramerate",
    "IngestVideoBitrate",
    "KeyframeInterval",
    "ConcurrentViews",
];

/// The channel of an `AWS/IVS` metric the emulator synthesises (dimension `Channel` only).
pub fn ivs_channel(metric: &MetricId) -> Option<&str> {
    if metric.namespace != "AWS/IVS" || !METRICS.contains(&metric.name.as_str()) {
        return None;
    }
    match metric.dimensions.as_slice() {
        [(name, value)] if name == "Channel" => Some(value),
        _ => None,
    }
}

fn epoch(t: OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}

/// Buckets (start → aggregate) of `metric` within `[start, end)`, `period`-aligned.
pub fn series(
    metric: &str,
    channel: &str,
    broadcasts: &[BroadcastRecord],
    period: i64,
    start: f64,
    end: f64,
    now: OffsetDateTime,
) -> Vec<(i64, Aggregate)> {
    let period = period.max(1);
    let now = epoch(now);
    // One sample every 5 s (IVS's finest resolution), at most 60 per bucket.
    let step = ((period / 60).max(1) * 5).min(period) as f64;
    let first = (start as i64).div_euclid(period) * period;
    let mut out: Vec<(i64, Aggregate)> = Vec::new();
    for b in broadcasts {
        let b_start = epoch(b.start);
        let b_end = b.end.map_or(now, epoch).min(now);
        let lo = b_start.max(first as f64);
        let hi = b_end.min(end);
        if lo >= hi {
            continue;
        }
        let mut bucket = (lo as i64).div_euclid(period) * period;
        while (bucket as f64) < hi {
            let mut agg: Option<Aggregate> = None;
            let mut t = bucket as f64;
            while t < (bucket + period) as f64 {
                if t >= b_start && t < b_end && t < end {
                    if let Some(v) = sample(metric, channel, b, t) {
                        match agg.as_mut() {
                            Some(a) => a.merge(&Aggregate::of(v)),
                            None => agg = Some(Aggregate::of(v)),
                        }
                    }
                }
                t += step;
            }
            // A bucket whose only live moment falls between samples still gets one, at its start
            // of broadcast: a broadcast shorter than a step is not invisible.
            if agg.is_none() && b_start >= bucket as f64 && b_start < (bucket + period) as f64 {
                agg = sample(metric, channel, b, b_start).map(Aggregate::of);
            }
            if let Some(agg) = agg {
                match out.iter_mut().find(|(t, _)| *t == bucket) {
                    Some((_, existing)) => existing.merge(&agg),
                    None => out.push((bucket, agg)),
                }
            }
            bucket += period;
        }
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

fn starving(b: &BroadcastRecord, t: f64) -> bool {
    b.starved
        .iter()
        .any(|(s, e)| t >= epoch(*s) && e.is_none_or(|e| t < epoch(e)))
}

/// How old a measurement of a real broadcast may be to stand for a sample time.
const MEASUREMENT_VALIDITY: f64 = 10.0;

/// The measured value of an ingest metric at `t`: the latest measurement taken at or before `t`.
fn measured(metric: &str, b: &BroadcastRecord, t: f64) -> Option<f64> {
    let latest = b
        .measured
        .iter()
        .rev()
        .find(|m| epoch(m.time) <= t + 0.5)
        .filter(|m| t - epoch(m.time) <= MEASUREMENT_VALIDITY)?;
    match metric {
        "IngestFramerate" => Some(latest.framerate),
        "IngestVideoBitrate" => Some(latest.video_bitrate),
        "KeyframeInterval" => latest.keyframe_interval,
        _ => None,
    }
}

/// The value of `metric` at `t` during broadcast `b`, or `None` when IVS would publish nothing.
fn sample(metric: &str, channel: &str, b: &BroadcastRecord, t: f64) -> Option<f64> {
    if !b.measured.is_empty() && metric != "ConcurrentViews" {
        return match (metric, starving(b, t)) {
            ("KeyframeInterval", true) => None,
            (_, true) => Some(0.0),
            _ => measured(metric, b, t),
        };
    }
    let second = t.floor() as i64;
    let noise = unit(channel, &b.stream_id, metric, second);
    let starved = starving(b, t);
    let elapsed = (t - epoch(b.start)).max(0.0);
    match metric {
        "IngestFramerate" if starved => Some(0.0),
        "IngestFramerate" => Some(round2(29.5 + noise * 0.9)),
        "IngestVideoBitrate" if starved => Some(0.0),
        "IngestVideoBitrate" => {
            let wave = (elapsed / 90.0).sin() * 0.04;
            Some((3_500_000.0 * (1.0 + wave + (noise - 0.5) * 0.1)).round())
        }
        "KeyframeInterval" if starved => None,
        "KeyframeInterval" => Some(if noise > 0.9 { 2.1 } else { 2.0 }),
        "ConcurrentViews" => {
            let growth = 1.0 - (-elapsed / 600.0).exp();
            let base = 3.0 + 147.0 * growth;
            Some((base * (1.0 + (noise - 0.5) * 0.1)).round().max(0.0))
        }
        _ => None,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A deterministic value in `[0, 1)` (FNV-1a over the inputs, then a splitmix64 finaliser).
fn unit(channel: &str, stream: &str, metric: &str, second: i64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for bytes in [
        channel.as_bytes(),
        stream.as_bytes(),
        metric.as_bytes(),
        &second.to_le_bytes(),
    ] {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudwatch::query::Stat;
    use time::macros::datetime;

    fn broadcast() -> BroadcastRecord {
        BroadcastRecord {
            stream_id: "st-1".into(),
            start: datetime!(2026-01-01 12:00:00 UTC),
            end: Some(datetime!(2026-01-01 12:30:00 UTC)),
            starved: vec![(
                datetime!(2026-01-01 12:10:00 UTC),
                Some(datetime!(2026-01-01 12:12:00 UTC)),
            )],
            measured: Vec::new(),
        }
    }

    fn at(t: OffsetDateTime) -> f64 {
        epoch(t)
    }

    #[test]
    fn points_only_during_the_broadcast_and_aligned() {
        let b = [broadcast()];
        let now = datetime!(2026-01-02 00:00:00 UTC);
        let framerate = || {
            series(
                "IngestFramerate",
                "ch",
                &b,
                60,
                at(datetime!(2026-01-01 11:00:00 UTC)),
                at(datetime!(2026-01-01 13:00:00 UTC)),
                now,
            )
        };
        let s = framerate();
        assert_eq!(s.len(), 30);
        assert!(s.iter().all(|(t, _)| t % 60 == 0));
        assert_eq!(
            s.first().map(|p| p.0),
            Some(at(datetime!(2026-01-01 12:00:00 UTC)) as i64)
        );
        let fps: Vec<f64> = s.iter().map(|(_, a)| a.value(Stat::Average)).collect();
        assert!(fps.iter().filter(|v| **v > 29.0 && **v < 31.0).count() >= 27);
        // 12:10 and 12:11 are fully starved: the framerate drops to 0.
        assert_eq!(fps[10], 0.0);
        assert_eq!(fps[11], 0.0);
        // The synthetic series is a function of its inputs.
        assert_eq!(s, framerate());
    }

    #[test]
    fn keyframes_missing_while_starving_and_views_grow() {
        let b = [broadcast()];
        let now = datetime!(2026-01-02 00:00:00 UTC);
        let start = at(datetime!(2026-01-01 12:00:00 UTC));
        let kf = series("KeyframeInterval", "ch", &b, 60, start, start + 3600.0, now);
        assert_eq!(kf.len(), 28);
        let views = series("ConcurrentViews", "ch", &b, 300, start, start + 3600.0, now);
        let first = views.first().unwrap().1.value(Stat::Average);
        let last = views.last().unwrap().1.value(Stat::Average);
        assert!(last > first * 2.0, "{first} → {last}");
        let bitrate = series("IngestVideoBitrate", "ch", &b, 5, start, start + 60.0, now);
        assert_eq!(bitrate.len(), 12);
        assert!(bitrate
            .iter()
            .all(|(_, a)| (3.0e6..4.0e6).contains(&a.value(Stat::Average))));
    }

    #[test]
    fn live_broadcasts_stop_at_now() {
        let mut b = broadcast();
        b.end = None;
        let now = datetime!(2026-01-01 12:01:00 UTC);
        let start = at(datetime!(2026-01-01 11:59:00 UTC));
        let s = series("IngestFramerate", "ch", &[b], 5, start, start + 600.0, now);
        assert_eq!(s.len(), 12);
    }

    #[test]
    fn real_broadcasts_report_what_was_measured() {
        let mut b = broadcast();
        b.measured = (0..60)
            .map(|s| crate::ivs::IngestSample {
                time: datetime!(2026-01-01 12:00:00 UTC) + time::Duration::seconds(s),
                video_bitrate: 1_000_000.0,
                framerate: 25.0,
                keyframe_interval: Some(2.0),
            })
            .collect();
        let now = datetime!(2026-01-02 00:00:00 UTC);
        let start = at(datetime!(2026-01-01 12:00:00 UTC));
        let fps = series(
            "IngestFramerate",
            "ch",
            &[b.clone()],
            5,
            start,
            start + 60.0,
            now,
        );
        assert_eq!(fps.len(), 12);
        assert!(fps.iter().all(|(_, a)| a.value(Stat::Average) == 25.0));
        // No measurement after the first minute (plus its validity): no data, not synthetic data.
        let later = series(
            "IngestVideoBitrate",
            "ch",
            &[b],
            5,
            start + 120.0,
            start + 180.0,
            now,
        );
        assert!(later.is_empty());
    }

    #[test]
    fn only_channel_dimension_ivs_metrics() {
        let id = |ns: &str, name: &str, dims: Vec<(String, String)>| MetricId {
            namespace: ns.into(),
            name: name.into(),
            dimensions: dims,
        };
        let ch = vec![("Channel".to_owned(), "abc".to_owned())];
        assert_eq!(
            ivs_channel(&id("AWS/IVS", "ConcurrentViews", ch.clone())),
            Some("abc")
        );
        assert_eq!(ivs_channel(&id("AWS/IVS", "Other", ch.clone())), None);
        assert_eq!(ivs_channel(&id("Custom", "ConcurrentViews", ch)), None);
        assert_eq!(ivs_channel(&id("AWS/IVS", "ConcurrentViews", vec![])), None);
    }
}
