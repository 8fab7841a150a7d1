use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::Client;
use serde_json::{json, Value};
use ugc_dynamo::{create_tables, delete_tables, ChannelsRepo, TableNames};

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await
}

pub struct TestDb {
    pub client: Client,
    pub names: TableNames,
}

impl TestDb {
    pub async fn new() -> Self {
        let endpoint = std::env::var("UGC_TEST_DYNAMODB_ENDPOINT").expect(
            "UGC_TEST_DYNAMODB_ENDPOINT must point at DynamoDB Local (scripts/test.sh sets it)",
        );
        let client = ugc_dynamo::client_from_config(&sdk_config(&endpoint).await);
        let names = TableNames::with_prefix(&format!("t{}-", uuid::Uuid::new_v4().simple()));
        create_tables(&client, &names).await.expect("create tables");
        Self { client, names }
    }

    pub fn channels(&self) -> ChannelsRepo {
        ChannelsRepo::new(self.client.clone(), &self.names.channels)
    }

    pub async fn cleanup(self) {
        delete_tables(&self.client, &self.names)
            .await
            .expect("delete tables");
    }
}

/// A port on 127.0.0.1 nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The body S3 puts on the queue for a new object version (`docs/wire-protocols.md` §8.1).
pub fn s3_body(key: &str, version_id: &str, sequencer: &str) -> String {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-west-2",
        "eventTime": "2023-11-14T22:13:20.123Z", "eventName": "ObjectCreated:Post",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "asset-uploads",
               "bucket": {"name": "channel-assets", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::channel-assets"},
               "object": {"key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                          "versionId": version_id, "sequencer": sequencer}}
    }]})
    .to_string()
}

/// The SQS → Lambda event for these `(messageId, body)` pairs (`docs/wire-protocols.md` §8.2).
pub fn sqs_event(messages: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id,
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000123",
                               "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1700000000150"},
                "messageAttributes": {},
                "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:asset-events",
                "awsRegion": "us-west-2"
            })
        })
        .collect();
    json!({"Records": records})
}
