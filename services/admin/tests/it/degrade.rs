//! Services started on upstream's tables before the migration degrade instead of failing: the
//! directory comes from upstream's own `isOpenIndex`, nothing answers 500, and the migration later
//! switches them to `liveIndex` without a restart.

use reqwest::StatusCode;
use ugc_dynamo::migrate::{check_migrated, LiveIndexStatus};
use ugc_testkit::TestEnv;

use crate::{demo, get, run_migration, serve, test_options};

fn names(body: &serde_json::Value) -> Vec<String> {
    body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn unmigrated_tables_answer_through_the_upstream_compatible_path_never_500() {
    let env = TestEnv::start().await;
    let demo = demo(&env).await;
    assert_eq!(
        check_migrated(&env.dynamo, &demo.tables.streams).await,
        Some(LiveIndexStatus::Missing)
    );
    let url = serve(&env, &demo.tables).await;

    // Live by the session model from the open sessions' events (no IVS check on this path), newest
    // first: bob, alice, then carol whose Session Ended was lost.
    let (status, directory) = get(&format!("{url}/channels?isLive=true"), None).await;
    assert_eq!(status, StatusCode::OK, "{directory}");
    assert_eq!(
        names(&directory),
        vec![
            demo.bob.username.clone(),
            demo.alice.username.clone(),
            demo.carol.username.clone()
        ]
    );
    for path in [
        format!("/channels/{}", demo.alice.username),
        "/channel".to_owned(),
        "/channel/followingList".to_owned(),
        format!("/metrics/{}/streamSessions", demo.alice_res.resource_id()),
    ] {
        let (status, body) = get(&format!("{url}{path}"), Some(&demo.alice.access_token)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }

    // The migration switches the running service to liveIndex (IVS-checked: carol is not live).
    run_migration(&env, &demo.tables, test_options())
        .await
        .unwrap();
    let (status, directory) = get(&format!("{url}/channels?isLive=true"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&directory),
        vec![demo.bob.username.clone(), demo.alice.username.clone()]
    );
}
