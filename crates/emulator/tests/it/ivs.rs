//! IVS through `aws-sdk-ivs`: channels, stream keys, streams, sessions, metadata and tags, with the
//! broadcast simulator standing in for an encoder.

use std::collections::HashMap;

use aws_config::retry::RetryConfig;
use aws_sdk_ivs::error::ProvideErrorMetadata;
use aws_sdk_ivs::types::{ChannelLatencyMode, ChannelType, StreamFilters, StreamHealth};
use aws_sdk_ivs::Client;
use serde_json::{json, Value};

use crate::common::{self, TestEmulator};

/// A client that does not retry, so throttling shows up as the error it is.
async fn client(emulator: &TestEmulator) -> Client {
    let config = aws_sdk_ivs::config::Builder::from(&emulator.sdk_config().await)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

async fn create_channel(client: &Client, name: &str) -> (String, String) {
    let created = client.create_channel().name(name).send().await.unwrap();
    let channel = created.channel().unwrap();
    let id = channel
        .arn()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    (channel.arn().unwrap().to_owned(), id)
}

pub async fn simulate(emulator: &TestEmulator, channel: &str, action: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/_emulator/broadcast", emulator.endpoint))
        .json(&json!({"channel": channel, "action": action}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{action}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn channels_are_created_read_listed_and_deleted() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;

    let created = client
        .create_channel()
        .name("alice")
        .r#type(ChannelType::BasicChannelType)
        .latency_mode(ChannelLatencyMode::NormalLatency)
        .tags("project", "ugc")
        .send()
        .await
        .unwrap();
    let channel = created.channel().unwrap();
    let arn = channel.arn().unwrap();
    let id = arn
        .strip_prefix("arn:aws:ivs:us-east-1:123456789012:channel/")
        .unwrap();
    assert_eq!(id.len(), 12);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(channel.name(), Some("alice"));
    assert_eq!(channel.r#type(), Some(&ChannelType::BasicChannelType));
    assert_eq!(
        channel.latency_mode(),
        Some(&ChannelLatencyMode::NormalLatency)
    );
    assert_eq!(channel.preset().map_or("", |p| p.as_str()), "");
    let ingest = channel.ingest_endpoint().unwrap();
    let host = ingest
        .strip_suffix(".global-contribute.live-video.net")
        .unwrap();
    assert!(host.len() == 12 && host.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        channel.playback_url().unwrap(),
        format!(
            "https://{host}.us-east-1.playback.live-video.net/api/video/v1/us-east-1.123456789012.channel.{id}.m3u8"
        )
    );
    assert_eq!(channel.tags().unwrap().get("project").unwrap(), "ugc");
    let key = created.stream_key().unwrap();
    assert!(key.value().unwrap().starts_with("sk_us-east-1_"));
    assert_eq!(key.channel_arn(), Some(arn));

    let read = client.get_channel().arn(arn).send().await.unwrap();
    assert_eq!(read.channel(), Some(channel));

    // Defaults: STANDARD, LOW latency; ADVANCED channels get the default preset.
    let standard = client.create_channel().name("bob").send().await.unwrap();
    let standard = standard.channel().unwrap();
    assert_eq!(standard.r#type(), Some(&ChannelType::StandardChannelType));
    assert_eq!(
        standard.latency_mode(),
        Some(&ChannelLatencyMode::LowLatency)
    );
    let advanced = client
        .create_channel()
        .name("carol")
        .r#type(ChannelType::AdvancedHdChannelType)
        .send()
        .await
        .unwrap();
    assert_eq!(
        advanced.channel().unwrap().preset().map(|p| p.as_str()),
        Some("HIGHER_BANDWIDTH_DELIVERY")
    );

    // Filter by name, then page through everything two at a time.
    let bobs = client
        .list_channels()
        .filter_by_name("bob")
        .send()
        .await
        .unwrap();
    assert_eq!(bobs.channels().len(), 1);
    assert_eq!(bobs.channels()[0].name(), Some("bob"));
    let first = client.list_channels().max_results(2).send().await.unwrap();
    assert_eq!(first.channels().len(), 2);
    let second = client
        .list_channels()
        .max_results(2)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.channels().len(), 1);
    assert_eq!(second.next_token(), None);
    let mut names: Vec<_> = first
        .channels()
        .iter()
        .chain(second.channels())
        .map(|c| c.name().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alice", "bob", "carol"]);

    // Deleting a channel deletes its stream key.
    client.delete_channel().arn(arn).send().await.unwrap();
    let gone = client.get_channel().arn(arn).send().await.unwrap_err();
    assert_eq!(gone.code(), Some("ResourceNotFoundException"));
    let key_gone = client
        .get_stream_key()
        .arn(key.arn().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(key_gone.code(), Some("ResourceNotFoundException"));
    let again = client.delete_channel().arn(arn).send().await.unwrap_err();
    assert_eq!(again.code(), Some("ResourceNotFoundException"));

    let invalid = client
        .create_channel()
        .name("not a valid name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Some("ValidationException"));
}

#[tokio::test]
async fn each_channel_has_at_most_one_stream_key() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let (arn, _) = create_channel(&client, "alice").await;

    let quota = client
        .create_stream_key()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(quota.code(), Some("ServiceQuotaExceededException"));
    assert_eq!(quota.raw_response().unwrap().status().as_u16(), 402);

    let listed = client
        .list_stream_keys()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.stream_keys().len(), 1);
    let key_arn = listed.stream_keys()[0].arn().unwrap().to_owned();
    assert!(key_arn.starts_with("arn:aws:ivs:us-east-1:123456789012:stream-key/"));
    let old_value = client
        .get_stream_key()
        .arn(&key_arn)
        .send()
        .await
        .unwrap()
        .stream_key()
        .unwrap()
        .value()
        .unwrap()
        .to_owned();

    // Resetting a key is delete + create; the new key has a new value.
    client
        .delete_stream_key()
        .arn(&key_arn)
        .send()
        .await
        .unwrap();
    let empty = client
        .list_stream_keys()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(empty.stream_keys().is_empty());
    let created = client
        .create_stream_key()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let new_key = created.stream_key().unwrap();
    assert_eq!(new_key.channel_arn(), Some(arn.as_str()));
    assert_ne!(new_key.value(), Some(old_value.as_str()));
    let fetched = client
        .get_stream_key()
        .arn(new_key.arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.stream_key(), Some(new_key));

    let missing = client
        .delete_stream_key()
        .arn(&key_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    let unknown_channel = client
        .create_stream_key()
        .channel_arn("arn:aws:ivs:us-east-1:123456789012:channel/AAAAAAAAAAAA")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown_channel.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn an_offline_channel_is_not_broadcasting() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let (arn, _) = create_channel(&client, "alice").await;

    let stream = client
        .get_stream()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(stream.code(), Some("ChannelNotBroadcasting"));
    assert_eq!(stream.raw_response().unwrap().status().as_u16(), 404);
    let stop = client
        .stop_stream()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(stop.code(), Some("ChannelNotBroadcasting"));
    let metadata = client
        .put_metadata()
        .channel_arn(&arn)
        .metadata("hello")
        .send()
        .await
        .unwrap_err();
    assert_eq!(metadata.code(), Some("ChannelNotBroadcasting"));
    let session = client
        .get_stream_session()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(session.code(), Some("ResourceNotFoundException"));
    let streams = client.list_streams().send().await.unwrap();
    assert!(streams.streams().is_empty());

    let unknown = client
        .get_stream()
        .channel_arn("arn:aws:ivs:us-east-1:123456789012:channel/AAAAAAAAAAAA")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn simulated_broadcasts_drive_streams_and_sessions() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let (arn, id) = create_channel(&client, "alice").await;
    let (other, _) = create_channel(&client, "bob").await;

    let started = simulate(&emulator, "alice", "start").await;
    assert_eq!(started["channelArn"], arn.as_str());
    assert_eq!(started["live"], true);
    let stream_id = started["streamId"].as_str().unwrap().to_owned();
    assert!(stream_id.starts_with("st-") && stream_id.len() == 26);

    let stream = client.get_stream().channel_arn(&arn).send().await.unwrap();
    let stream = stream.stream().unwrap();
    assert_eq!(stream.stream_id(), Some(stream_id.as_str()));
    assert_eq!(stream.state().map(|s| s.as_str()), Some("LIVE"));
    assert_eq!(stream.health(), Some(&StreamHealth::StreamHealthy));
    assert!(stream
        .playback_url()
        .unwrap()
        .ends_with(&format!("channel.{id}.m3u8")));

    // A second start while live is a conflict; a live channel cannot be deleted.
    let conflict = reqwest::Client::new()
        .post(format!("{}/_emulator/broadcast", emulator.endpoint))
        .json(&json!({"channelArn": arn, "action": "start"}))
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status().as_u16(), 409);
    let delete = client.delete_channel().arn(&arn).send().await.unwrap_err();
    assert_eq!(delete.code(), Some("ConflictException"));

    // Health follows starvation, and ListStreams filters on it.
    simulate(&emulator, &arn, "starve").await;
    let starving = client
        .list_streams()
        .filter_by(
            StreamFilters::builder()
                .health(StreamHealth::Starving)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(starving.streams().len(), 1);
    assert_eq!(starving.streams()[0].channel_arn(), Some(arn.as_str()));
    let healthy = client
        .list_streams()
        .filter_by(
            StreamFilters::builder()
                .health(StreamHealth::StreamHealthy)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(healthy.streams().is_empty());
    simulate(&emulator, &id, "recover").await;
    simulate(&emulator, "alice", "breach").await;

    simulate(&emulator, "bob", "start").await;
    let all = client.list_streams().max_results(1).send().await.unwrap();
    assert_eq!(all.streams().len(), 1);
    let rest = client
        .list_streams()
        .max_results(1)
        .next_token(all.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.streams().len(), 1);
    assert_eq!(rest.next_token(), None);
    let mut live: Vec<_> = all
        .streams()
        .iter()
        .chain(rest.streams())
        .map(|s| s.channel_arn().unwrap().to_owned())
        .collect();
    live.sort_unstable();
    let mut expected = vec![arn.clone(), other.clone()];
    expected.sort_unstable();
    assert_eq!(live, expected);

    let session = client
        .get_stream_session()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let session = session.stream_session().unwrap();
    assert_eq!(session.stream_id(), Some(stream_id.as_str()));
    assert!(session.end_time().is_none());
    assert!(session.recording_configuration().is_none());
    assert_eq!(session.channel().unwrap().arn(), Some(arn.as_str()));
    let ingest = session.ingest_configuration().unwrap();
    let video = ingest.video().unwrap();
    assert_eq!(video.codec(), Some("avc1.64002A"));
    assert_eq!((video.video_width(), video.video_height()), (1920, 1080));
    assert!(video.encoder().unwrap().starts_with("obs-output module"));
    let audio = ingest.audio().unwrap();
    assert_eq!(audio.codec(), Some("mp4a.40.2"));
    assert_eq!((audio.sample_rate(), audio.channels()), (48_000, 2));
    let names: Vec<_> = session
        .truncated_events()
        .iter()
        .map(|e| e.name().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Ingest Bitrate",
            "Starvation End",
            "Starvation Start",
            "Stream Start",
            "Session Created"
        ]
    );

    // StopStream ends the session.
    client.stop_stream().channel_arn(&arn).send().await.unwrap();
    let offline = client
        .get_stream()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(offline.code(), Some("ChannelNotBroadcasting"));
    let ended = client
        .get_stream_session()
        .channel_arn(&arn)
        .stream_id(&stream_id)
        .send()
        .await
        .unwrap();
    let ended = ended.stream_session().unwrap();
    assert!(ended.end_time().is_some());
    assert_eq!(ended.truncated_events()[0].name(), Some("Session Ended"));

    let records = emulator.shared.ivs.broadcasts(&id);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].stream_id, stream_id);
    assert_eq!(
        records[0].end,
        Some(ended.end_time().map(to_offset).unwrap())
    );
    assert_eq!(records[0].starved.len(), 1);
    assert!(records[0].starved[0].1.is_some());

    // A second broadcast: sessions are listed newest first, a page at a time.
    let second = simulate(&emulator, "alice", "start").await;
    let sessions = client
        .list_stream_sessions()
        .channel_arn(&arn)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(sessions.stream_sessions().len(), 1);
    let newest = &sessions.stream_sessions()[0];
    assert_eq!(newest.stream_id(), second["streamId"].as_str());
    assert!(newest.end_time().is_none());
    assert!(!newest.has_error_event());
    let older = client
        .list_stream_sessions()
        .channel_arn(&arn)
        .max_results(1)
        .next_token(sessions.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(older.stream_sessions().len(), 1);
    assert_eq!(
        older.stream_sessions()[0].stream_id(),
        Some(stream_id.as_str())
    );
    assert!(older.stream_sessions()[0].has_error_event());
    assert!(older.stream_sessions()[0].end_time().is_some());
    assert_eq!(older.next_token(), None);

    let unknown = client
        .get_stream_session()
        .channel_arn(&arn)
        .stream_id("st-0000000000000000000000x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("ResourceNotFoundException"));
}

fn to_offset(t: &aws_sdk_ivs::primitives::DateTime) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.secs()).unwrap()
}

#[tokio::test]
async fn put_metadata_is_limited_in_size_and_rate() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let (arn, id) = create_channel(&client, "alice").await;
    simulate(&emulator, "alice", "start").await;

    let oversized = client
        .put_metadata()
        .channel_arn(&arn)
        .metadata("x".repeat(1025))
        .send()
        .await
        .unwrap_err();
    assert_eq!(oversized.code(), Some("ValidationException"));

    for i in 0..5 {
        client
            .put_metadata()
            .channel_arn(&arn)
            .metadata(format!("{{\"n\":{i}}}"))
            .send()
            .await
            .unwrap();
    }
    let throttled = client
        .put_metadata()
        .channel_arn(&arn)
        .metadata("one too many")
        .send()
        .await
        .unwrap_err();
    assert_eq!(throttled.code(), Some("ThrottlingException"));
    assert_eq!(throttled.raw_response().unwrap().status().as_u16(), 429);

    // The quota is per second: a second later a full 1 KB payload goes through.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    client
        .put_metadata()
        .channel_arn(&arn)
        .metadata("y".repeat(1024))
        .send()
        .await
        .unwrap();

    let received: Vec<Value> =
        reqwest::get(format!("{}/_emulator/ivs/metadata/{id}", emulator.endpoint))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let payloads: Vec<_> = received
        .iter()
        .map(|r| r["payload"].as_str().unwrap())
        .collect();
    assert_eq!(payloads.len(), 6);
    assert_eq!(payloads[0], "{\"n\":0}");
    assert_eq!(payloads[5].len(), 1024);
    assert!(received.iter().all(|r| r["time"].is_string()));
}

#[tokio::test]
async fn tags_are_listed_added_and_removed() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let created = client
        .create_channel()
        .name("alice")
        .tags("a", "1")
        .send()
        .await
        .unwrap();
    let arn = created.channel().unwrap().arn().unwrap().to_owned();
    let key_arn = created.stream_key().unwrap().arn().unwrap().to_owned();

    client
        .tag_resource()
        .resource_arn(&arn)
        .tags("b", "2")
        .tags("c", "3")
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("a")
        .tag_keys("c")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags(),
        &HashMap::from([("b".to_owned(), "2".to_owned())])
    );

    client
        .tag_resource()
        .resource_arn(&key_arn)
        .tags("k", "v")
        .send()
        .await
        .unwrap();
    let key_tags = client
        .list_tags_for_resource()
        .resource_arn(&key_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(key_tags.tags().get("k").map(String::as_str), Some("v"));

    let missing = client
        .list_tags_for_resource()
        .resource_arn("arn:aws:ivs:us-east-1:123456789012:channel/AAAAAAAAAAAA")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn bad_requests_get_validation_errors_and_the_emulator_keeps_serving() {
    let emulator = common::spawn().await;
    let client = client(&emulator).await;
    let (arn, _) = create_channel(&client, "alice").await;

    let malformed = client
        .get_channel()
        .arn(&arn)
        .customize()
        .mutate_request(|request| {
            *request.body_mut() = "{not json".into();
            request.headers_mut().insert("content-length", "9");
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Some("ValidationException"));

    let missing_field = client
        .get_channel()
        .arn(&arn)
        .customize()
        .mutate_request(|request| {
            *request.body_mut() = "{}".into();
            request.headers_mut().insert("content-length", "2");
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing_field.code(), Some("ValidationException"));

    let wrong_type = client
        .put_metadata()
        .channel_arn(&arn)
        .metadata("x")
        .customize()
        .mutate_request(move |request| {
            let body = r#"{"channelArn":"arn:aws:ivs:us-east-1:123456789012:channel/AAAAAAAAAAAA","metadata":42}"#;
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = body.into();
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(wrong_type.code(), Some("ValidationException"));

    let bad_arn = client
        .get_channel()
        .arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_arn.code(), Some("ValidationException"));
    let bad_page = client
        .list_channels()
        .next_token("%%%")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_page.code(), Some("ValidationException"));
    let bad_max = client
        .list_channels()
        .max_results(500)
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_max.code(), Some("ValidationException"));

    // The signature is checked.
    let mut config = emulator.sdk_config().await.into_builder();
    config.set_credentials_provider(Some(
        aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("test", "wrong", None, None, "test"),
        ),
    ));
    let forged = Client::new(&config.build())
        .get_channel()
        .arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Some("InvalidSignatureException"));

    let still_there = client.get_channel().arn(&arn).send().await.unwrap();
    assert_eq!(still_there.channel().unwrap().arn(), Some(arn.as_str()));
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("ugc-emulator-ivs-{}", uuid::Uuid::new_v4()));
    let config = ugc_emulator::EmulatorConfig {
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let first = common::spawn_with(config.clone()).await;
    let first_client = client(&first).await;
    let (arn, id) = create_channel(&first_client, "alice").await;
    let started = simulate(&first, "alice", "start").await;
    simulate(&first, "alice", "starve").await;

    let second = common::spawn_with(config).await;
    let client = client(&second).await;
    let channel = client.get_channel().arn(&arn).send().await.unwrap();
    assert_eq!(channel.channel().unwrap().name(), Some("alice"));
    let keys = client
        .list_stream_keys()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(keys.stream_keys().len(), 1);
    let stream = client.get_stream().channel_arn(&arn).send().await.unwrap();
    let stream = stream.stream().unwrap();
    assert_eq!(stream.stream_id(), started["streamId"].as_str());
    assert_eq!(stream.health(), Some(&StreamHealth::Starving));
    let records = second.shared.ivs.broadcasts(&id);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].starved.len(), 1);

    std::fs::remove_dir_all(dir).unwrap();
}
