//! CloudWatch GetMetricData over RPC v2 CBOR through aws-sdk-cloudwatch, with metrics synthesised
//! from a simulated broadcast.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::{digest, hmac};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat};
use ugc_emulator::ivs::BroadcastAction;

use crate::common::{self, TestEmulator};

const METRICS: [&str; 4] = [
    "IngestFramerate",
    "IngestVideoBitrate",
    "KeyframeInterval",
    "ConcurrentViews",
];

/// The 10 queries the metrics service sends (docs/contract.md §8.2 step 10).
fn queries(channel: &str, period: i32) -> Vec<MetricDataQuery> {
    let mut out = Vec::new();
    for m in METRICS {
        let id = m.to_lowercase();
        out.push(
            MetricDataQuery::builder()
                .id(&id)
                .label(m)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/IVS")
                                .metric_name(m)
                                .dimensions(
                                    Dimension::builder().name("Channel").value(channel).build(),
                                )
                                .build(),
                        )
                        .period(period)
                        .stat("Average")
                        .build(),
                )
                .build(),
        );
        out.push(
            MetricDataQuery::builder()
                .id(format!("{id}avg"))
                .label(format!("{m}Avg"))
                .expression(format!("TIME_SERIES(AVG({id}))"))
                .build(),
        );
        if m.starts_with("Ingest") {
            out.push(
                MetricDataQuery::builder()
                    .id(format!("{id}filled"))
                    .label(format!("{m}Filled"))
                    .expression(format!("FILL({id}, REPEAT)"))
                    .build(),
            );
        }
    }
    out
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

async fn channel_id(emulator: &TestEmulator) -> String {
    let ivs = aws_sdk_ivs::Client::new(&emulator.sdk_config().await);
    let created = ivs.create_channel().name("metrics").send().await.unwrap();
    let arn = created.channel().unwrap().arn().unwrap().to_owned();
    arn.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn metrics_follow_the_simulated_broadcast() {
    let emulator = common::spawn().await;
    let channel = channel_id(&emulator).await;
    let cw = aws_sdk_cloudwatch::Client::new(&emulator.sdk_config().await);

    let before = now_secs();
    emulator
        .shared
        .ivs
        .apply_broadcast(&channel, BroadcastAction::Start)
        .unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    emulator
        .shared
        .ivs
        .apply_broadcast(&channel, BroadcastAction::Stop)
        .unwrap();
    let after = now_secs();

    for period in [5, 60] {
        let start = ((before as i64 - 120) / 60 * 60) as f64;
        let out = cw
            .get_metric_data()
            .set_metric_data_queries(Some(queries(&channel, period)))
            .start_time(DateTime::from_secs_f64(start))
            .end_time(DateTime::from_secs_f64(after + 60.0))
            .send()
            .await
            .unwrap();
        let results = out.metric_data_results();
        assert_eq!(results.len(), 10, "every query returns data");
        for r in results {
            let label = r.label().unwrap();
            let ts: Vec<f64> = r.timestamps().iter().map(|t| t.as_secs_f64()).collect();
            assert_eq!(ts.len(), r.values().len(), "{label}");
            assert!(
                !ts.is_empty(),
                "{label} at period {period} has data during the broadcast"
            );
            assert!(ts.windows(2).all(|w| w[0] > w[1]), "{label}: newest first");
            assert!(
                ts.iter().all(|t| *t as i64 % i64::from(period) == 0),
                "{label}: aligned"
            );
            if METRICS.contains(&label) {
                // Raw metric points only inside the broadcast.
                assert!(
                    ts.iter()
                        .all(|t| *t > before - f64::from(period) - 1.0 && *t <= after),
                    "{label}: {ts:?} outside [{before}, {after}]"
                );
            }
        }
        let values = |id: &str| {
            results
                .iter()
                .find(|r| r.id() == Some(id))
                .unwrap()
                .values()
                .to_vec()
        };
        assert!(values("ingestframerate")
            .iter()
            .all(|v| (29.0..31.0).contains(v)));
        assert!(values("ingestvideobitrate")
            .iter()
            .all(|v| (3.0e6..4.0e6).contains(v)));
        assert!(values("keyframeinterval")
            .iter()
            .all(|v| (1.9..2.2).contains(v)));
        assert!(values("concurrentviews").iter().all(|v| *v >= 1.0));
        let avg = values("ingestframerateavg");
        assert!(
            avg.windows(2).all(|w| w[0] == w[1]),
            "TIME_SERIES(AVG()) is constant"
        );
        // FILL covers the whole query window, not just the broadcast.
        assert!(values("ingestframeratefilled").len() > values("ingestframerate").len());
    }

    // A window before the broadcast has no points.
    let out = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries(&channel, 60)))
        .start_time(DateTime::from_secs_f64(before - 7200.0))
        .end_time(DateTime::from_secs_f64(before - 600.0))
        .send()
        .await
        .unwrap();
    assert!(out
        .metric_data_results()
        .iter()
        .all(|r| r.values().is_empty()));
}

#[tokio::test]
async fn put_metric_data_points_are_read_back() {
    let emulator = common::spawn().await;
    let cw = aws_sdk_cloudwatch::Client::new(&emulator.sdk_config().await);
    let t = (now_secs() as i64 / 60 * 60 - 120) as f64;
    for v in [4.0, 8.0] {
        cw.put_metric_data()
            .namespace("Custom/Test")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("Things")
                    .timestamp(DateTime::from_secs_f64(t + 10.0))
                    .value(v)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let out = cw
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("m")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("Custom/Test")
                                .metric_name("Things")
                                .build(),
                        )
                        .period(60)
                        .stat("Average")
                        .build(),
                )
                .build(),
        )
        .start_time(DateTime::from_secs_f64(t - 600.0))
        .end_time(DateTime::from_secs_f64(t + 600.0))
        .send()
        .await
        .unwrap();
    let r = &out.metric_data_results()[0];
    assert_eq!(r.values(), [6.0]);
    assert_eq!(r.timestamps()[0].secs(), t as i64);
}

/// A SigV4-signed POST (so the emulator gets past authentication to the body).
async fn signed_post(emulator: &TestEmulator, path: &str, body: Vec<u8>) -> reqwest::Response {
    let now = time::OffsetDateTime::now_utc();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let date = &amz_date[..8];
    let host = format!("127.0.0.1:{}", emulator.port);
    let payload_hash = hex::encode(digest::digest(&digest::SHA256, &body));
    let canonical = format!(
        "POST\n{path}\n\ncontent-type:application/cbor\nhost:{host}\nx-amz-date:{amz_date}\n\ncontent-type;host;x-amz-date\n{payload_hash}"
    );
    let region = &emulator.config.region;
    let scope = format!("{date}/{region}/monitoring/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
    );
    let mut key = hmac::Key::new(
        hmac::HMAC_SHA256,
        format!("AWS4{}", emulator.config.secret_access_key).as_bytes(),
    );
    for part in [date, region.as_str(), "monitoring", "aws4_request"] {
        key = hmac::Key::new(
            hmac::HMAC_SHA256,
            hmac::sign(&key, part.as_bytes()).as_ref(),
        );
    }
    let signature = hex::encode(hmac::sign(&key, to_sign.as_bytes()).as_ref());
    reqwest::Client::new()
        .post(format!("{}{path}", emulator.endpoint))
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("x-amz-date", &amz_date)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=content-type;host;x-amz-date, Signature={signature}",
                emulator.config.access_key_id
            ),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_cbor_gets_a_cbor_error_and_the_emulator_keeps_serving() {
    let emulator = common::spawn().await;
    let path = "/service/GraniteServiceVersion20100801/operation/GetMetricData";

    let response = signed_post(&emulator, path, vec![0xbf, 0x71, 0x4d, 0xff, 0x13]).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/cbor");
    assert_eq!(response.headers()["smithy-protocol"], "rpc-v2-cbor");
    assert_eq!(
        response.headers()["x-amzn-query-error"],
        "SerializationException;Sender"
    );
    let body: ciborium::Value =
        ciborium::from_reader(response.bytes().await.unwrap().as_ref()).unwrap();
    let map = body.as_map().unwrap();
    assert!(map.iter().any(
        |(k, v)| k.as_text() == Some("__type") && v.as_text() == Some("SerializationException")
    ));

    // A well-formed body missing its required members.
    let mut empty = Vec::new();
    ciborium::into_writer(&ciborium::Value::Map(vec![]), &mut empty).unwrap();
    let response = signed_post(&emulator, path, empty).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["x-amzn-query-error"],
        "MissingParameter;Sender"
    );

    // Unsigned requests are refused.
    let response = reqwest::Client::new()
        .post(format!("{}{path}", emulator.endpoint))
        .header("content-type", "application/cbor")
        .body(vec![0xa0])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // The SDK still works, and sees a bad NextToken as its modelled error.
    let cw = aws_sdk_cloudwatch::Client::new(&emulator.sdk_config().await);
    let q = queries("nochannel", 60);
    let ok = cw
        .get_metric_data()
        .set_metric_data_queries(Some(q.clone()))
        .start_time(DateTime::from_secs(0))
        .end_time(DateTime::from_secs(3600))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.metric_data_results().len(), 10);
    let err = cw
        .get_metric_data()
        .set_metric_data_queries(Some(q))
        .start_time(DateTime::from_secs(0))
        .end_time(DateTime::from_secs(3600))
        .next_token("bogus")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_next_token());
}
