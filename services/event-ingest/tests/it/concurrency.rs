//! Many concurrent senders, shuffled deliveries with duplicates: the store ends up exactly as the
//! session model says for the set of events sent (0 lost, 0 duplicated).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::Value;
use ugc_event_ingest::bench_support::sample_events;

use crate::helpers::*;

const CHANNELS: usize = 4;
const SESSIONS_PER_CHANNEL: usize = 6;
const SENDERS: usize = 24;
const DUPLICATE_SHARE: f64 = 0.2;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_shuffled_duplicated_deliveries_converge() {
    let app = Arc::new(TestApp::spawn().await);
    let mut events: Vec<Value> = Vec::new();
    for _ in 0..CHANNELS {
        let channel = app.owned_channel().await;
        let mut channel_events = sample_events(channel.as_str(), SESSIONS_PER_CHANNEL);
        // The newest session is still broadcasting: drop its Stream End and Session Ended.
        channel_events.truncate(channel_events.len() - 2);
        events.extend(channel_events);
    }
    let mut rng = rand::rng();
    let mut deliveries: Vec<Value> = events.clone();
    let duplicates: Vec<Value> = events
        .iter()
        .filter(|_| rng.random_bool(DUPLICATE_SHARE))
        .cloned()
        .collect();
    let duplicate_count = duplicates.len();
    deliveries.extend(duplicates);
    deliveries.shuffle(&mut rng);
    let total = deliveries.len();
    let queue = Arc::new(Mutex::new(VecDeque::from(deliveries)));

    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let app = app.clone();
        let queue = queue.clone();
        senders.spawn(async move {
            let mut answers: Vec<(String, u16, String)> = Vec::new();
            loop {
                let next = queue.lock().unwrap().pop_front();
                let Some(event) = next else { break };
                let (status, body) = app.deliver_retrying(&event).await;
                answers.push((
                    event["id"].as_str().unwrap().to_owned(),
                    status,
                    body["status"].as_str().unwrap_or_default().to_owned(),
                ));
            }
            answers
        });
    }
    let mut answers = Vec::new();
    while let Some(joined) = senders.join_next().await {
        answers.extend(joined.unwrap());
    }
    let elapsed = started.elapsed();
    assert_eq!(answers.len(), total);
    assert!(
        answers.iter().all(|(_, status, _)| *status == 200),
        "every delivery acknowledged: {:?}",
        answers
            .iter()
            .filter(|a| a.1 != 200)
            .take(5)
            .collect::<Vec<_>>()
    );
    let mut by_status: HashMap<&str, usize> = HashMap::new();
    for (_, _, status) in &answers {
        *by_status.entry(status.as_str()).or_default() += 1;
    }
    let acknowledged: HashSet<&str> = answers.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(acknowledged.len(), events.len());
    let stored = by_status.get("stored").copied().unwrap_or(0);
    let duplicate = by_status.get("duplicate").copied().unwrap_or(0);
    assert_eq!(stored + duplicate, total, "{by_status:?}");
    // Each distinct event is "stored" once; a redelivery is "duplicate" (a delivery retried after
    // a 503 whose first attempt had already landed also counts as duplicate).
    assert!(
        stored <= events.len() && stored + 5 >= events.len(),
        "{by_status:?}"
    );
    assert!(duplicate >= duplicate_count, "{by_status:?}");
    eprintln!(
        "concurrency: {total} deliveries ({duplicate_count} duplicates) of {} events, {SENDERS} senders, {:.2} s, {:.0} deliveries/s",
        events.len(),
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );

    app.assert_store_matches(&events).await;
    // The directory lists exactly each channel's newest, still broadcasting session.
    let live = app.state.streams().live_directory(100).await.unwrap();
    assert_eq!(live.len(), CHANNELS);
    // And the directory mirror the deliveries kept on the profiles says the same.
    let mirrored: HashSet<String> = app
        .state
        .directory()
        .live_profiles(100)
        .await
        .unwrap()
        .expect("new tables: the mirror is complete")
        .into_iter()
        .filter_map(|profile| profile.channel_arn.map(|arn| arn.as_str().to_owned()))
        .collect();
    let expected: HashSet<String> = live
        .iter()
        .map(|session| session.channel_arn.as_str().to_owned())
        .collect();
    assert_eq!(mirrored, expected);
}
