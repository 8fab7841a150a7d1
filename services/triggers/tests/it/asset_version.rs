//! The asset-version updater against DynamoDB Local, fed SQS events built as SQS sends them.

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use ugc_dynamo::ChannelsRepo;
use ugc_triggers::asset_version::{AssetVersionUpdater, RecordOutcome};

use crate::helpers::{closed_port, s3_body, sdk_config, sqs_event, TestDb};

const BASE: &str = "https://d1234.cloudfront.net";

/// A profile with a channel asset id, as first-login provisioning leaves it.
async fn put_channel(db: &TestDb, sub: &str, asset_id: &str) {
    db.client
        .put_item()
        .table_name(&db.names.channels)
        .item("id", AttributeValue::S(sub.to_owned()))
        .item("username", AttributeValue::S(format!("user_{sub}")))
        .item("channelAssetId", AttributeValue::S(asset_id.to_owned()))
        .item("channelAssets", AttributeValue::M(Default::default()))
        .send()
        .await
        .unwrap();
}

fn event(messages: &[(&str, &str)]) -> SqsEvent {
    serde_json::from_value(sqs_event(messages)).unwrap()
}

fn failures(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn newer_sequencer_wins_in_either_order_compared_as_numbers() {
    let db = TestDb::new().await;
    let updater = AssetVersionUpdater::new(db.channels(), format!("{BASE}/"));
    put_channel(&db, "sub-a", "asset-a").await;
    put_channel(&db, "sub-b", "asset-b").await;
    // "0A" (10) is newer than "9": as text it would sort first.
    let older = s3_body("asset-a/avatar", "v-old", "9");
    let newer = s3_body("asset-a/avatar", "v-new", "0A");

    // Newer first, then the late older one: the older is dropped.
    let response = updater.handle_batch(event(&[("m1", &newer)])).await;
    assert!(failures(&response).is_empty());
    let response = updater.handle_batch(event(&[("m2", &older)])).await;
    assert!(
        failures(&response).is_empty(),
        "a stale version is not a failure"
    );
    let stored = db.channels().get("sub-a").await.unwrap().unwrap();
    let avatar = &stored.channel_assets["avatar"];
    assert_eq!(
        avatar.url.as_deref(),
        Some("https://d1234.cloudfront.net/asset-a/avatar?versionId=v-new")
    );
    assert_eq!(avatar.sequencer.as_deref(), Some("0A"));
    assert!(avatar.last_modified.unwrap() > 1_700_000_000_000);

    // Older first, then newer, on the other channel's banner (lengths differ the other way).
    let b_old = s3_body("asset-b/banner", "b-old", "00FF");
    let b_new = s3_body("asset-b/banner", "b-new", "100");
    assert_eq!(
        updater.apply_notification(&b_old).await.unwrap(),
        [RecordOutcome::Applied {
            url: "https://d1234.cloudfront.net/asset-b/banner?versionId=b-old".to_owned()
        }]
    );
    assert_eq!(
        updater.apply_notification(&b_new).await.unwrap(),
        [RecordOutcome::Applied {
            url: "https://d1234.cloudfront.net/asset-b/banner?versionId=b-new".to_owned()
        }]
    );
    // A redelivery of the same version changes nothing.
    assert_eq!(
        updater.apply_notification(&b_new).await.unwrap(),
        [RecordOutcome::Stale]
    );
    let stored = db.channels().get("sub-b").await.unwrap().unwrap();
    assert_eq!(
        stored.channel_assets["banner"].url.as_deref(),
        Some("https://d1234.cloudfront.net/asset-b/banner?versionId=b-new")
    );
    assert!(!stored.channel_assets.contains_key("avatar"));
    db.cleanup().await;
}

#[tokio::test]
async fn one_batch_with_both_orders_keeps_the_newest() {
    let db = TestDb::new().await;
    let updater = AssetVersionUpdater::new(db.channels(), BASE);
    put_channel(&db, "sub-c", "asset-c").await;
    let bodies: Vec<String> = ["1", "0B", "0A", "9", "2"]
        .iter()
        .map(|seq| s3_body("asset-c/avatar", &format!("v{seq}"), seq))
        .collect();
    let messages: Vec<(String, &str)> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("m{i}"), b.as_str()))
        .collect();
    let pairs: Vec<(&str, &str)> = messages.iter().map(|(id, b)| (id.as_str(), *b)).collect();
    let response = updater.handle_batch(event(&pairs)).await;
    assert!(failures(&response).is_empty());
    let stored = db.channels().get("sub-c").await.unwrap().unwrap();
    assert_eq!(
        stored.channel_assets["avatar"].sequencer.as_deref(),
        Some("0B")
    );
    assert_eq!(
        stored.channel_assets["avatar"].url.as_deref(),
        Some("https://d1234.cloudfront.net/asset-c/avatar?versionId=v0B")
    );
    db.cleanup().await;
}

#[tokio::test]
async fn unknown_channels_test_events_and_foreign_keys_are_dropped() {
    let db = TestDb::new().await;
    let updater = AssetVersionUpdater::new(db.channels(), BASE);
    let unknown = s3_body("no-such-asset/avatar", "v1", "01");
    let foreign = s3_body("asset-x/thumbnail", "v1", "01");
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2023-11-14T22:13:20.000Z","Bucket":"channel-assets","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#;
    assert_eq!(
        updater.apply_notification(&unknown).await.unwrap(),
        [RecordOutcome::UnknownChannel]
    );
    let response = updater
        .handle_batch(event(&[
            ("m1", &unknown),
            ("m2", &foreign),
            ("m3", test_event),
            ("m4", "not json"),
        ]))
        .await;
    assert!(failures(&response).is_empty());
    // The partial batch response is what the event source mapping reads.
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": []})
    );
    db.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_table_reports_each_message_for_retry() {
    let config = sdk_config(&format!("http://127.0.0.1:{}", closed_port())).await;
    let repo = ChannelsRepo::new(ugc_dynamo::client_from_config(&config), "channels");
    let updater = AssetVersionUpdater::new(repo, BASE);
    let body = s3_body("asset-a/avatar", "v1", "01");
    let err = updater.apply_notification(&body).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    let response = updater
        .handle_batch(event(&[
            ("m1", &body),
            ("m2", "not json"),
            ("m3", &s3_body("asset-b/banner", "v2", "02")),
        ]))
        .await;
    // Only the messages that needed the table come back; the malformed one is dropped.
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]})
    );
}
