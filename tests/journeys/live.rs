//! Going live: the broadcast simulator's events flow through EventBridge to event-ingest, and the
//! directory, the channel page and the following list show the channel live.

use serde_json::{json, Value};

use crate::support::{eventually, Platform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_live_appear_in_directory_and_following_list() {
    let p = Platform::start().await;
    let streamer = p.sign_up("star_").await;
    let quiet = p.sign_up("quiet_").await;
    let fan = p.sign_up("fan_").await;
    let page_path = format!("/channels/{}", streamer.username);

    let offline = p.get(&page_path, None).await.ok();
    assert_eq!(offline["isLive"], false, "{offline}");
    let channel_arn = offline["channelArn"].as_str().unwrap().to_owned();

    // The fan follows both channels (the newest follow comes first while nobody is live).
    for who in [&streamer.username, &quiet.username] {
        p.put(
            "/channel/followingList/add",
            Some(&fan.token),
            json!({"followedUsername": who}),
        )
        .await
        .ok();
    }
    let listed = p.get("/channel/followingList", Some(&fan.token)).await.ok();
    let names: Vec<&str> = listed["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{listed}");
    assert!(listed["channels"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["isLive"] == false));

    // The streamer starts broadcasting.
    let started = p.broadcast(&channel_arn, "start").await;
    assert_eq!(started["live"], true);

    let directory = eventually("the directory lists the live channel", || async {
        let list = p.get("/channels?isLive=true", None).await.ok();
        let channels = list["channels"].as_array().cloned().unwrap_or_default();
        channels
            .iter()
            .any(|c| c["username"] == streamer.username.as_str())
            .then_some(channels)
    })
    .await;
    assert_eq!(
        directory.len(),
        1,
        "only the live channel is listed: {directory:?}"
    );
    assert_eq!(directory[0]["avatar"], "bear");
    assert_eq!(directory[0]["color"], "blue");

    let page = eventually(
        "the channel page shows live with ingest configuration",
        || async {
            let page = p.get(&page_path, Some(&fan.token)).await.ok();
            (page["isLive"] == true && page.get("ingestConfiguration").is_some()).then_some(page)
        },
    )
    .await;
    let own = p.own_channel(&streamer).await;
    assert_eq!(page["playbackUrl"], own["playbackUrl"]);
    assert!(
        page["ingestConfiguration"]["video"]["videoWidth"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{page}"
    );
    assert_eq!(page["isViewerFollowing"], true);
    assert_eq!(page["isViewerBanned"], false);

    // The following list shows the live channel first.
    let following: Vec<Value> = eventually(
        "the following list shows the live channel first",
        || async {
            let list = p.get("/channel/followingList", Some(&fan.token)).await.ok();
            let channels = list["channels"].as_array().cloned().unwrap_or_default();
            channels
                .first()
                .is_some_and(|c| c["username"] == streamer.username.as_str() && c["isLive"] == true)
                .then_some(channels)
        },
    )
    .await;
    assert_eq!(following.len(), 2);
    assert_eq!(following[1]["username"], quiet.username.as_str());
    assert_eq!(following[1]["isLive"], false);

    // Unfollow, then stop: the channel leaves the directory.
    p.put(
        "/channel/followingList/remove",
        Some(&fan.token),
        json!({"followedUsername": quiet.username}),
    )
    .await
    .ok();
    let list = p.get("/channel/followingList", Some(&fan.token)).await.ok();
    assert_eq!(list["channels"].as_array().unwrap().len(), 1, "{list}");
    p.broadcast(&channel_arn, "stop").await;
    eventually("the stopped channel leaves the directory", || async {
        let list = p.get("/channels?isLive=true", None).await.ok();
        list["channels"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;
    // The public page may serve its one-second cache a moment longer.
    eventually("the channel page shows offline", || async {
        let page = p.get(&page_path, None).await.ok();
        (page["isLive"] == false).then_some(())
    })
    .await;
    p.stop().await;
}
