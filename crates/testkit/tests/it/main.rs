//! The test environment itself: a user signed up through it holds an access token that the
//! services' verifier accepts, and the tables exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use ugc_testkit::{TestEnv, PASSWORD};

#[tokio::test]
async fn signed_up_user_has_a_token_the_verifier_accepts() {
    let env = TestEnv::start().await;
    let user = env
        .sign_up_user("alice_1", PASSWORD, "alice@example.com")
        .await;
    assert!(!user.sub.is_empty());

    let verified = env
        .verifier()
        .await
        .verify(&user.access_token)
        .await
        .unwrap();
    assert_eq!(verified.sub, user.sub);
    assert_eq!(verified.username, "alice_1");
    // An ID token is not an access token.
    assert!(env.verifier().await.verify(&user.id_token).await.is_err());

    // Both tables exist (ListTables pages at 100 names and the run shares one DynamoDB Local).
    for table in [&env.tables.channels, &env.tables.streams] {
        env.dynamo
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap_or_else(|e| panic!("table {table} missing: {e:?}"));
    }
}
