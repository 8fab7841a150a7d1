use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use ugc_dynamo::{
    create_tables, delete_tables, ChannelsRepo, DirectoryMirror, StreamsRepo, TableNames,
};

pub struct TestDb {
    pub client: Client,
    pub names: TableNames,
}

impl TestDb {
    pub async fn new() -> Self {
        let endpoint = std::env::var("UGC_TEST_DYNAMODB_ENDPOINT").expect(
            "UGC_TEST_DYNAMODB_ENDPOINT must point at DynamoDB Local (scripts/test.sh sets it)",
        );
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let client = ugc_dynamo::client_from_config(&config);
        let names = TableNames::with_prefix(&format!("t{}-", uuid::Uuid::new_v4().simple()));
        create_tables(&client, &names).await.expect("create tables");
        Self { client, names }
    }

    pub fn channels(&self) -> ChannelsRepo {
        ChannelsRepo::new(self.client.clone(), &self.names.channels)
    }

    pub fn streams(&self) -> StreamsRepo {
        StreamsRepo::new(self.client.clone(), &self.names.streams)
    }

    pub fn directory(&self) -> DirectoryMirror {
        DirectoryMirror::new(self.client.clone(), &self.names.channels)
    }

    /// Removes the directory mirror's completeness sentinel, as on tables that predate the mirror.
    pub async fn drop_directory_sentinel(&self) {
        self.client
            .delete_item()
            .table_name(&self.names.channels)
            .key(
                "id",
                AttributeValue::S(ugc_dynamo::directory::COMPLETE_ID.into()),
            )
            .send()
            .await
            .unwrap();
    }

    /// The item of `table` with `key` as stored (strongly consistent); empty when there is none.
    pub async fn raw_item(
        &self,
        table: &str,
        key: &[(&str, &str)],
    ) -> std::collections::HashMap<String, AttributeValue> {
        let mut get = self
            .client
            .get_item()
            .table_name(table)
            .consistent_read(true);
        for (name, value) in key {
            get = get.key(*name, AttributeValue::S((*value).to_owned()));
        }
        get.send()
            .await
            .unwrap()
            .item()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn cleanup(self) {
        delete_tables(&self.client, &self.names)
            .await
            .expect("delete tables");
    }
}

/// A deterministic permutation (xorshift), so a failing order can be reproduced from the seed.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
