//! `make migrate-bench`: seeds upstream-shaped data (the integration tests' fixture generator) into the
//! DynamoDB Local at `UGC_TEST_DYNAMODB_ENDPOINT`, then times `ugc-admin migrate` (unpaced) and a
//! second, no-op run, printing the report with the consumed capacity.
//! Arguments: `<profiles> <sessions per channel>`.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "../tests/it/upstream.rs"]
mod upstream;

use std::sync::Arc;
use std::time::Instant;

use ugc_dynamo::migrate::{MigrateOptions, Migration, Silent};
use ugc_dynamo::TableNames;

async fn put_parallel(client: &aws_sdk_dynamodb::Client, table: &str, items: Vec<upstream::Item>) {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in items.chunks(items.len().div_ceil(8).max(1)) {
        let client = client.clone();
        let table = table.to_owned();
        let chunk = chunk.to_vec();
        tasks.spawn(async move { upstream::put_all(&client, &table, chunk).await });
    }
    while tasks.join_next().await.is_some() {}
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let profiles: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let per_channel: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let endpoint = std::env::var("UGC_TEST_DYNAMODB_ENDPOINT").expect("UGC_TEST_DYNAMODB_ENDPOINT");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let tables = TableNames::with_prefix("bench-");
    upstream::create_upstream_tables(&client, &tables).await;

    let data = upstream::bulk(profiles, per_channel, 10);
    let seeded = Instant::now();
    let sessions = data.sessions.len();
    put_parallel(&client, &tables.channels, data.profiles).await;
    put_parallel(&client, &tables.streams, data.sessions).await;
    println!(
        "seeded {profiles} profiles and {sessions} sessions in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    for run in ["first run", "second run (no-op)"] {
        let options = MigrateOptions {
            max_capacity: 0.0,
            index_poll: std::time::Duration::from_millis(200),
            ..MigrateOptions::default()
        };
        let migration = Migration::new(
            client.clone(),
            tables.clone(),
            options,
            data.live.clone(),
            Arc::new(Silent),
        );
        let report = migration.run().await.expect("migration");
        println!("\n== {run} ==\n{report}");
        let per_10k = report.elapsed.as_secs_f64() * 10_000.0 / profiles as f64;
        println!(
            "{:.1} s per 10,000 profiles ({} sessions each); {:.2} RCU + {:.2} WCU per profile",
            per_10k,
            per_channel,
            report.read_units / profiles as f64,
            report.write_units / profiles as f64
        );
    }
}
