use crate::helpers::TestDb;
use ugc_dynamo::create_tables;

#[tokio::test]
async fn create_tables_is_idempotent_and_defines_every_index() {
    let db = TestDb::new().await;
    create_tables(&db.client, &db.names).await.unwrap();

    let channels = db
        .client
        .describe_table()
        .table_name(&db.names.channels)
        .send()
        .await
        .unwrap();
    let mut gsis: Vec<String> = channels
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .map(|i| i.index_name().unwrap().to_owned())
        .collect();
    gsis.sort();
    assert_eq!(
        gsis,
        [
            "channelArnIndex",
            "channelAssetIdIndex",
            "directoryIndex",
            "emailIndex",
            "usernameIndex"
        ]
    );

    let streams = db
        .client
        .describe_table()
        .table_name(&db.names.streams)
        .send()
        .await
        .unwrap();
    let table = streams.table().unwrap();
    let mut gsis: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| i.index_name().unwrap().to_owned())
        .collect();
    gsis.sort();
    assert_eq!(gsis, ["isOpenIndex", "liveIndex"]);
    assert_eq!(
        table.local_secondary_indexes()[0].index_name(),
        Some("startTimeIndex")
    );
    db.cleanup().await;
}
