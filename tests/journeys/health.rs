//! Stream health: the session list and a session's detail (events, metrics) while live and after.

use serde_json::Value;

use crate::support::{eventually, Platform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_health_while_live_and_after() {
    let p = Platform::start().await;
    let streamer = p.sign_up("health_").await;
    let other = p.sign_up("nosy_").await;
    let own = p.own_channel(&streamer).await;
    let resource_id = own["channelResourceId"].as_str().unwrap().to_owned();
    let list_path = format!("/metrics/{resource_id}/streamSessions");

    let empty = p
        .get(&format!("{list_path}?nextToken="), Some(&streamer.token))
        .await
        .ok();
    assert_eq!(empty["streamSessions"], serde_json::json!([]));

    let started = p.broadcast(&resource_id, "start").await;
    let stream_id = started["streamId"].as_str().unwrap().to_owned();
    let session = eventually("the live session is listed", || async {
        let list = p
            .get(&format!("{list_path}?nextToken="), Some(&streamer.token))
            .await
            .ok();
        list["streamSessions"]
            .as_array()
            .and_then(|s| s.first().cloned())
            .filter(|s| s["isLive"] == true)
    })
    .await;
    assert_eq!(session["streamId"], stream_id.as_str());
    assert!(session.get("endTime").is_none());
    assert_eq!(session["hasErrorEvent"], false);

    p.broadcast(&resource_id, "starve").await;
    let detail_path = format!("{list_path}/{stream_id}");
    let live = eventually("the live detail shows the starvation", || async {
        let detail = p.get(&detail_path, Some(&streamer.token)).await.ok();
        (detail["isHealthy"] == false).then_some(detail)
    })
    .await;
    assert_eq!(live["isLive"], true);
    assert_eq!(live["streamId"], stream_id.as_str());
    assert!(live.get("endTime").is_none());
    assert!(live["channel"]["type"].is_string());
    let names = |detail: &Value| -> Vec<String> {
        detail["truncatedEvents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let live_names = names(&live);
    for expected in ["Session Created", "Stream Start", "Starvation Start"] {
        assert!(
            live_names.iter().any(|n| n == expected),
            "{expected} in {live_names:?}"
        );
    }
    assert!(live["metrics"].is_array());
    assert!(
        live["ingestConfiguration"]["video"]["codec"].is_string(),
        "{live}"
    );

    // Another user cannot read it.
    let refused = p.get(&detail_path, Some(&other.token)).await;
    assert!(
        !refused.status.is_success(),
        "another user's session: {}",
        refused.body
    );

    p.broadcast(&resource_id, "recover").await;
    p.broadcast(&resource_id, "stop").await;
    let ended = eventually("the ended session's detail", || async {
        let detail = p.get(&detail_path, Some(&streamer.token)).await.ok();
        (detail["isLive"] == false && detail.get("endTime").is_some()).then_some(detail)
    })
    .await;
    let ended_names = names(&ended);
    assert_eq!(
        ended_names.first().map(String::as_str),
        Some("Session Created"),
        "oldest first offline"
    );
    assert!(
        ended_names.iter().any(|n| n == "Session Ended"),
        "{ended_names:?}"
    );
    assert_eq!(ended["isHealthy"], true);
    // A broadcast of a few seconds may have no CloudWatch datapoint yet; what is there is well formed.
    for metric in ended["metrics"].as_array().unwrap() {
        let label = metric["label"].as_str().unwrap_or("");
        assert!(
            [
                "IngestFramerate",
                "IngestVideoBitrate",
                "KeyframeInterval",
                "ConcurrentViews"
            ]
            .contains(&label),
            "{metric}"
        );
        assert!(
            metric["data"].is_array() && metric["period"].is_u64(),
            "{metric}"
        );
    }
    let list = p
        .get(&format!("{list_path}?nextToken="), Some(&streamer.token))
        .await
        .ok();
    let first = &list["streamSessions"][0];
    assert_eq!(first["isLive"], false);
    assert!(first["endTime"].is_string());
    p.stop().await;
}
