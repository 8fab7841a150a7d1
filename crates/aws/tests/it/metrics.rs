use aws_credential_types::Credentials;
use aws_sdk_cloudwatch::config::retry::RetryConfig;
use aws_sdk_cloudwatch::config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::error::ErrorMetadata;
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataError, GetMetricDataOutput};
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_sdk_cloudwatch::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;
use time::macros::datetime;
use ugc_aws::{MetricQuery, MetricsError, StreamMetricsClient};

fn queries() -> Vec<MetricQuery> {
    vec![
        MetricQuery::stat(
            "ingestframerate",
            "IngestFramerate",
            "AWS/IVS",
            "IngestFramerate",
            vec![("Channel".into(), "abcdABCDefgh".into())],
            5,
            "Average",
        ),
        MetricQuery::expression(
            "ingestframeratefilled",
            "IngestFramerateFilled",
            "FILL(ingestframerate, REPEAT)",
        ),
    ]
}

#[tokio::test]
async fn results_of_one_id_are_joined_across_pages() {
    let first = mock!(Client::get_metric_data)
        .match_requests(|req| req.next_token().is_none() && req.metric_data_queries().len() == 2)
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("ingestframerate")
                        .label("IngestFramerate")
                        .timestamps(DateTime::from_secs(1_654_888_020))
                        .values(30.0)
                        .build(),
                )
                .next_token("more")
                .build()
        });
    let second = mock!(Client::get_metric_data)
        .match_requests(|req| req.next_token() == Some("more"))
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("ingestframerate")
                        .label("IngestFramerate")
                        .timestamps(DateTime::from_secs(1_654_888_025))
                        .values(29.5)
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&first, &second]);
    let results = StreamMetricsClient::from_client(client)
        .get_metric_data(
            &queries(),
            datetime!(2022-06-10 19:07:00 UTC),
            datetime!(2022-06-10 19:12:05 UTC),
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].label.as_deref(), Some("IngestFramerate"));
    assert_eq!(results[0].values, [30.0, 29.5]);
    assert_eq!(
        results[0].timestamps,
        [
            datetime!(2022-06-10 19:07:00 UTC),
            datetime!(2022-06-10 19:07:05 UTC)
        ]
    );
}

#[tokio::test]
async fn throttling_is_throttled() {
    let rule = mock!(Client::get_metric_data).then_error(|| {
        GetMetricDataError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule], |c| c
        .retry_config(RetryConfig::disabled()));
    let err = StreamMetricsClient::from_client(client)
        .get_metric_data(
            &queries(),
            datetime!(2022-06-10 19:07:00 UTC),
            datetime!(2022-06-10 19:12:05 UTC),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, MetricsError::Throttled), "{err:?}");
}

#[tokio::test]
async fn unreachable_endpoint_is_unavailable() {
    // A port that was just free: connecting is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(RetryConfig::disabled())
        .build();
    let err = StreamMetricsClient::from_client(Client::from_conf(config))
        .get_metric_data(
            &queries(),
            datetime!(2022-06-10 19:07:00 UTC),
            datetime!(2022-06-10 19:12:05 UTC),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, MetricsError::Unavailable(_)), "{err:?}");
}
