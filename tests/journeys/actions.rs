//! Stream actions: timed metadata overlays while live, refused offline; a poll over chat.

use serde_json::{json, Value};

use crate::support::Platform;

/// The overlays of docs/contract.md §10, as the SPA builds them (`{"name", "data"}`). Some are sent as
/// plain JSON, some base64-encoded like lz-string output: the server forwards opaque strings.
fn overlays() -> Vec<(String, bool)> {
    let actions = [
        json!({"name": "quiz", "data": {"question": "Best IVS feature?", "answers": ["Latency", "Scale", "Chat"], "correctAnswerIndex": 0, "duration": 15}}),
        json!({"name": "product", "data": {"title": "Mug", "price": "$12", "imageUrl": "https://example.com/mug.png", "description": "A mug"}}),
        json!({"name": "notice", "data": {"title": "Heads up", "message": "Giveaway at 9", "duration": 10}}),
        json!({"name": "celebration", "data": {"duration": 10}}),
        json!({"name": "amazon_product", "data": {"title": "Camera", "price": {"displayAmount": "$499.00"}, "images": {"large": {"url": "https://m.media-amazon.com/images/I/cam.jpg"}}, "productURL": "https://www.amazon.com/dp/B000000000", "merchantInfo": {"name": "Amazon"}}}),
        Value::Null,
    ];
    actions
        .iter()
        .enumerate()
        .map(|(i, action)| {
            let text = action.to_string();
            if i % 2 == 0 {
                (text, false)
            } else {
                (base64_encode(text.as_bytes()), true)
            }
        })
        .collect()
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlays_while_live_refused_offline() {
    let p = Platform::start().await;
    let streamer = p.sign_up("act_").await;
    let own = p.own_channel(&streamer).await;
    let resource_id = own["channelResourceId"].as_str().unwrap().to_owned();
    let (quiz, _) = overlays().remove(0);

    p.post(
        "/channel/actions/send",
        Some(&streamer.token),
        json!({"metadata": quiz}),
    )
    .await
    .refused(409, "ChannelNotBroadcastingException");
    p.post(
        "/channel/actions/send",
        Some(&streamer.token),
        json!({"metadata": ""}),
    )
    .await
    .refused(400, "UnexpectedException");

    p.broadcast(&resource_id, "start").await;
    let sent = overlays();
    for (payload, _) in &sent {
        p.post(
            "/channel/actions/send",
            Some(&streamer.token),
            json!({"metadata": payload}),
        )
        .await
        .ok();
        // IVS accepts about 5 PutMetadata calls per second per channel.
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let received = p.received_metadata(&resource_id).await;
    let payloads: Vec<String> = sent.into_iter().map(|(payload, _)| payload).collect();
    assert_eq!(
        received, payloads,
        "viewers get every overlay, unchanged and in order"
    );

    p.broadcast(&resource_id, "stop").await;
    p.post(
        "/channel/actions/send",
        Some(&streamer.token),
        json!({"metadata": quiz}),
    )
    .await
    .refused(409, "ChannelNotBroadcastingException");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_round_over_chat() {
    let p = Platform::start().await;
    let host = p.sign_up("poll_").await;
    let voters = [p.sign_up("vote_").await, p.sign_up("vote_").await];
    let token = |who: &crate::support::User| {
        let who = who.clone();
        let owner = host.username.clone();
        let p = &p;
        async move {
            p.chat_token(&owner, Some(&who.token)).await.ok()["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let mut streamer = p.chat(&token(&host).await).await.unwrap();
    let mut a = p.chat(&token(&voters[0]).await).await.unwrap();
    let mut b = p.chat(&token(&voters[1]).await).await.unwrap();
    let tracking: Vec<String> = {
        let mut ids = Vec::new();
        for v in &voters {
            ids.push(
                p.own_channel(v).await["trackingId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        ids
    };

    let start_ms = 1_700_000_000_000u64;
    let poll = json!({"duration": 60, "expiry": "2030-01-01T00:01:00.000Z", "startTime": start_ms,
        "question": "Next game?", "votes": [
            {"option": "Chess", "count": 0, "key": uuid::Uuid::new_v4().to_string()},
            {"option": "Go", "count": 0, "key": uuid::Uuid::new_v4().to_string()}],
        "voters": {}, "isActive": true});
    streamer
        .say(
            "START_POLL",
            json!({"eventType": "START_POLL", "pollStreamActionData": poll.to_string()}),
        )
        .await;
    for viewer in [&mut a, &mut b] {
        let started = viewer.message("START_POLL").await;
        let data: Value = serde_json::from_str(
            started["Attributes"]["pollStreamActionData"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(data, poll, "the poll arrives intact");
    }

    for (viewer, (voter, option)) in [&mut a, &mut b]
        .into_iter()
        .zip(tracking.iter().zip(["Go", "Go"]))
    {
        viewer
            .say(
                "SUBMIT_VOTE",
                json!({"eventType": "SUBMIT_VOTE", "voter": voter, "option": option,
                       "duration": "60", "startTime": start_ms.to_string()}),
            )
            .await;
    }
    // The streamer's page tallies the votes it sees.
    let mut counts = std::collections::BTreeMap::new();
    let mut seen_voters = std::collections::BTreeSet::new();
    while seen_voters.len() < 2 {
        let vote = streamer.message("SUBMIT_VOTE").await;
        let attributes = &vote["Attributes"];
        assert_eq!(attributes["eventType"], "SUBMIT_VOTE");
        if seen_voters.insert(attributes["voter"].as_str().unwrap().to_owned()) {
            *counts
                .entry(attributes["option"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    assert_eq!(counts.get("Go"), Some(&2));
    let updated = json!([{"option": "Chess", "count": 0}, {"option": "Go", "count": 2}]);
    streamer
        .say(
            "SEND_VOTE_STATS",
            json!({"eventType": "SEND_VOTE_STATS", "updatedVotes": updated.to_string()}),
        )
        .await;
    streamer
        .say("end poll", json!({"eventType": "END_POLL"}))
        .await;
    for viewer in [&mut a, &mut b] {
        let stats = viewer.message("SEND_VOTE_STATS").await;
        let votes: Value =
            serde_json::from_str(stats["Attributes"]["updatedVotes"].as_str().unwrap()).unwrap();
        assert_eq!(votes, updated);
        let ended = viewer.message("end poll").await;
        assert_eq!(ended["Attributes"]["eventType"], "END_POLL");
        assert_eq!(
            ended["Sender"]["Attributes"]["displayName"],
            host.username.as_str()
        );
    }
    p.stop().await;
}
