//! End to end: the emulator's broadcast simulator pushes real EventBridge envelopes (chaos mode:
//! every batch twice, reversed first) into the running service, which ends up with the right
//! live state.

use std::collections::HashMap;
use std::time::Duration;

use ugc_aws::video::VideoClient;
use ugc_domain::ChannelArn;
use ugc_emulator::core::config::EventTarget;
use ugc_emulator::ivs::BroadcastAction;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_broadcasts_with_chaos_lead_to_the_right_live_state() {
    let app = TestApp::spawn().await;
    let video = VideoClient::new(&app.env.sdk);
    let created = video
        .create_channel("e2e", "STANDARD", None, HashMap::new())
        .await
        .unwrap();
    app.register_owner(created.channel_arn.as_str()).await;
    let channel = ChannelArn::parse(created.channel_arn.as_str()).unwrap();

    let emulator = &app.env.emulator;
    emulator.events.set_target(Some(EventTarget {
        url: format!("{}/streamEvents", app.address),
        header_name: HEADER.to_owned(),
        header_value: SECRET.to_owned(),
    }));
    emulator.events.set_chaos(true);
    let drained = || async { emulator.events.pending_deliveries() == 0 };

    // A whole broadcast: start, starve, recover, breach, stop.
    let mut first_stream = None;
    for action in [
        BroadcastAction::Start,
        BroadcastAction::Starve,
        BroadcastAction::Recover,
        BroadcastAction::Breach,
        BroadcastAction::Stop,
    ] {
        let outcome = ugc_emulator::events::broadcast(emulator, channel.as_str(), action).unwrap();
        first_stream = first_stream.or(outcome.change.stream_id);
    }
    let first_stream = first_stream.unwrap();
    eventually("deliveries", Duration::from_secs(30), drained).await;
    let first = app.session(&channel, &first_stream).await.unwrap();
    assert!(!first.is_live());
    assert!(!first.is_open());
    assert!(first.summary.has_error());
    assert!(first.summary.is_healthy());

    // A second broadcast, still running and starving. EventBridge times have whole seconds and
    // the session model orders sessions that start in the same second by stream id, so the
    // second broadcast starts in a later second, as real ones do.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second =
        ugc_emulator::events::broadcast(emulator, channel.as_str(), BroadcastAction::Start)
            .unwrap()
            .change
            .stream_id
            .unwrap();
    ugc_emulator::events::broadcast(emulator, channel.as_str(), BroadcastAction::Starve).unwrap();
    eventually("deliveries", Duration::from_secs(30), drained).await;
    let live = app.session(&channel, &second).await.unwrap();
    assert!(live.is_live());
    assert!(!live.summary.is_healthy());
    let directory = app.state.streams().live_directory(50).await.unwrap();
    assert_eq!(directory.len(), 1);
    assert_eq!(directory[0].stream_id.as_str(), second);

    // Exactly what the session model derives from every event the emulator sent, each of which
    // was delivered twice and out of order.
    let sent: Vec<_> = emulator
        .events
        .list()
        .into_iter()
        .filter(|e| e["resources"][0] == channel.as_str())
        .collect();
    assert!(sent.len() >= 8, "{}", sent.len());
    app.assert_store_matches(&sent).await;

    // IVS agrees it is live, so the reconciler leaves it alone.
    let report = app.state.reconcile_once().await.unwrap();
    assert!(
        report.suspect.is_empty() && report.ended.is_empty(),
        "{report:?}"
    );
}
