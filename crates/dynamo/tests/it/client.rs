//! The client's bound on a DynamoDB that stops answering (no DynamoDB Local needed).

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use ugc_domain::failure::{Classify, Transience};
use ugc_dynamo::client::client_with_attempt_timeout;
use ugc_dynamo::DbError;

/// An endpoint that accepts connections and never answers: every attempt times out, and once the
/// SDK's retries are spent the call fails as `Unavailable` (a 503), instead of hanging.
#[tokio::test]
async fn a_dynamodb_that_never_answers_fails_as_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let accepted = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .load()
        .await;
    let attempt = Duration::from_millis(300);
    let client = client_with_attempt_timeout(&sdk, attempt);

    let started = Instant::now();
    let call = client
        .get_item()
        .table_name("profiles")
        .key("id", AttributeValue::S("sub".to_owned()))
        .send();
    // Without the attempt timeout the call would wait forever: bound the test instead.
    let err: DbError = tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .expect("the call gives up by itself")
        .expect_err("nothing answers")
        .into();
    let took = started.elapsed();
    accepted.abort();

    assert!(matches!(err, DbError::Unavailable(_)), "{err:?}");
    assert_eq!(err.transience(), Transience::Unavailable);
    // At least one whole attempt.
    assert!(took >= attempt, "{took:?}");
}
