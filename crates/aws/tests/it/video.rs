use std::time::Duration;

use aws_sdk_ivs::config::retry::RetryConfig;
use aws_sdk_ivs::operation::get_stream_session::GetStreamSessionOutput;
use aws_sdk_ivs::operation::list_streams::ListStreamsOutput;
use aws_sdk_ivs::operation::put_metadata::PutMetadataOutput;
use aws_sdk_ivs::types::{
    AudioConfiguration, IngestConfiguration, StreamSession, StreamSummary, VideoConfiguration,
};
use aws_sdk_ivs::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ugc_aws::{Backoff, VideoClient, VideoError};
use ugc_domain::{ChannelArn, StreamId};

const ARN: &str = "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh";

fn arn() -> ChannelArn {
    ChannelArn::parse(ARN).unwrap()
}

fn stream_id() -> StreamId {
    StreamId::parse("st-1A2b3c4D5e6F78ghij9Klmn").unwrap()
}

fn ivs_error(code: &str, message: &str) -> Option<String> {
    Some(format!(
        r#"{{"__type":"{code}","exceptionMessage":"{message}"}}"#
    ))
}

fn fast_backoff() -> Backoff {
    Backoff {
        max_attempts: 4,
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
    }
}

/// The SDK's own retries stay on (standard mode), so the tests also show that PutMetadata is
/// attempted exactly as often as our backoff says.
fn video(rules: &[&Rule]) -> VideoClient {
    let client = mock_client!(aws_sdk_ivs, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::standard()));
    VideoClient::from_client(client).with_put_metadata_backoff(fast_backoff())
}

fn video_without_sdk_retries(rules: &[&Rule]) -> VideoClient {
    let client = mock_client!(aws_sdk_ivs, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()));
    VideoClient::from_client(client)
}

#[tokio::test]
async fn put_metadata_retries_throttling_then_succeeds() {
    let rule = mock!(Client::put_metadata)
        .sequence()
        .http_status(429, ivs_error("ThrottlingException", "Rate exceeded"))
        .times(2)
        .output(|| PutMetadataOutput::builder().build())
        .build();
    video(&[&rule]).put_metadata(&arn(), "{}").await.unwrap();
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn put_metadata_gives_up_after_max_attempts() {
    let rule = mock!(Client::put_metadata)
        .sequence()
        .http_status(429, ivs_error("ThrottlingException", "Rate exceeded"))
        .times(10)
        .build();
    let err = video(&[&rule])
        .put_metadata(&arn(), "{}")
        .await
        .unwrap_err();
    assert!(matches!(err, VideoError::Throttled), "{err:?}");
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test]
async fn put_metadata_on_offline_channel_is_not_broadcasting_without_retry() {
    let rule = mock!(Client::put_metadata)
        .sequence()
        .http_status(
            404,
            ivs_error("ChannelNotBroadcasting", "Channel is not broadcasting"),
        )
        .output(|| PutMetadataOutput::builder().build())
        .build();
    let err = video(&[&rule])
        .put_metadata(&arn(), "{}")
        .await
        .unwrap_err();
    assert!(matches!(err, VideoError::NotBroadcasting), "{err:?}");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn put_metadata_validation_keeps_ivs_message() {
    let rule = mock!(Client::put_metadata)
        .sequence()
        .http_status(
            400,
            ivs_error("ValidationException", "metadata exceeds 1 KB"),
        )
        .build();
    let err = video(&[&rule]).put_metadata(&arn(), "x").await.unwrap_err();
    match err {
        VideoError::Validation(message) => assert_eq!(message, "metadata exceeds 1 KB"),
        other => panic!("expected Validation, got {other:?}"),
    }
}

#[tokio::test]
async fn server_faults_are_unavailable() {
    let rule = mock!(Client::put_metadata)
        .sequence()
        .http_status(500, ivs_error("InternalServerException", "oops"))
        .build();
    let err = video_without_sdk_retries(&[&rule])
        .put_metadata(&arn(), "x")
        .await
        .unwrap_err();
    assert!(matches!(err, VideoError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn stop_stream_on_offline_channel_is_false() {
    let rule = mock!(Client::stop_stream)
        .sequence()
        .http_status(404, ivs_error("ChannelNotBroadcasting", "not live"))
        .build();
    assert!(!video_without_sdk_retries(&[&rule])
        .stop_stream(&arn())
        .await
        .unwrap());
}

#[tokio::test]
async fn deleting_a_missing_channel_succeeds() {
    let rule = mock!(Client::delete_channel)
        .sequence()
        .http_status(404, ivs_error("ResourceNotFoundException", "gone"))
        .build();
    video_without_sdk_retries(&[&rule])
        .delete_channel(&arn())
        .await
        .unwrap();
}

#[tokio::test]
async fn stream_session_ingest_configuration() {
    let rule = mock!(Client::get_stream_session)
        .match_requests(|req| req.stream_id() == Some("st-1A2b3c4D5e6F78ghij9Klmn"))
        .then_output(|| {
            GetStreamSessionOutput::builder()
                .stream_session(
                    StreamSession::builder()
                        .ingest_configuration(
                            IngestConfiguration::builder()
                                .video(
                                    VideoConfiguration::builder()
                                        .avc_profile("High")
                                        .avc_level("3.0")
                                        .codec("avc1.64001E")
                                        .encoder("obs")
                                        .target_bitrate(750000)
                                        .target_framerate(30)
                                        .video_height(432)
                                        .video_width(768)
                                        .build(),
                                )
                                .audio(
                                    AudioConfiguration::builder()
                                        .codec("mp4a.40.2")
                                        .target_bitrate(160000)
                                        .sample_rate(48000)
                                        .channels(2)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let config = video_without_sdk_retries(&[&rule])
        .get_stream_session(&arn(), &stream_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(config.video.video_width, 768);
    assert_eq!(config.audio.sample_rate, 48000);
    assert!(config.is_known());
}

#[tokio::test]
async fn unknown_stream_session_is_none() {
    let rule = mock!(Client::get_stream_session)
        .sequence()
        .http_status(404, ivs_error("ResourceNotFoundException", "no session"))
        .build();
    let config = video_without_sdk_retries(&[&rule])
        .get_stream_session(&arn(), &stream_id())
        .await
        .unwrap();
    assert_eq!(config, None);
}

#[tokio::test]
async fn live_channels_come_from_every_page() {
    let summary = |arn: &str| StreamSummary::builder().channel_arn(arn).build();
    let first = mock!(Client::list_streams)
        .match_requests(|req| req.next_token().is_none())
        .then_output(move || {
            ListStreamsOutput::builder()
                .streams(summary("arn:aws:ivs:us-west-2:1:channel/a"))
                .streams(summary("arn:aws:ivs:us-west-2:1:channel/b"))
                .next_token("page-2")
                .build()
                .unwrap()
        });
    let second = mock!(Client::list_streams)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(move || {
            ListStreamsOutput::builder()
                .streams(summary("arn:aws:ivs:us-west-2:1:channel/c"))
                .build()
                .unwrap()
        });
    let client = mock_client!(aws_sdk_ivs, RuleMode::MatchAny, [&first, &second], |c| c
        .retry_config(RetryConfig::disabled()));
    let arns = VideoClient::from_client(client)
        .list_live_channels()
        .await
        .unwrap();
    assert_eq!(
        arns.iter().map(ChannelArn::as_str).collect::<Vec<_>>(),
        [
            "arn:aws:ivs:us-west-2:1:channel/a",
            "arn:aws:ivs:us-west-2:1:channel/b",
            "arn:aws:ivs:us-west-2:1:channel/c"
        ]
    );
}
