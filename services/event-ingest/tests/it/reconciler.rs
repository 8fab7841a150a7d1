//! The drift reconciler against the emulator's IVS (`ListStreams`).

use std::collections::HashMap;
use std::time::Duration;

use ugc_aws::video::VideoClient;
use ugc_domain::{parse_iso, ChannelArn, StreamId};
use ugc_emulator::ivs::BroadcastAction;

use crate::helpers::*;

/// A channel that exists on the emulator's IVS, owned by a fresh user.
async fn ivs_channel(app: &TestApp) -> ChannelArn {
    let video = VideoClient::new(&app.env.sdk);
    let name = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let created = video
        .create_channel(&name, "STANDARD", None, HashMap::new())
        .await
        .unwrap();
    app.register_owner(created.channel_arn.as_str()).await;
    ChannelArn::parse(created.channel_arn.as_str()).unwrap()
}

/// Stores a live session (Session Created + Stream Start) through the service.
async fn store_live(app: &TestApp, channel: &ChannelArn, stream: &str) {
    for (name, time) in [
        ("Session Created", "2024-03-01T10:00:00Z"),
        ("Stream Start", "2024-03-01T10:00:02Z"),
    ] {
        assert_eq!(
            app.deliver(&state_event(channel, stream, name, time))
                .await
                .0,
            200
        );
    }
    assert!(app.session(channel, stream).await.unwrap().is_live());
}

fn key(channel: &ChannelArn, stream: &str) -> (ChannelArn, StreamId) {
    (channel.clone(), StreamId::parse(stream).unwrap())
}

#[tokio::test]
async fn a_session_ivs_does_not_broadcast_is_ended_after_the_grace_and_a_live_one_is_untouched() {
    let app = TestApp::spawn().await;
    // Really live on IVS, and stored live.
    let live_channel = ivs_channel(&app).await;
    let started = ugc_emulator::events::broadcast(
        &app.env.emulator,
        live_channel.as_str(),
        BroadcastAction::Start,
    )
    .unwrap();
    let live_stream = started.change.stream_id.clone().unwrap();
    store_live(&app, &live_channel, &live_stream).await;
    // Stored live, but its Session Ended was lost: IVS has no stream for the channel.
    let stale_channel = ivs_channel(&app).await;
    let stale_stream = random_stream_id();
    store_live(&app, &stale_channel, &stale_stream).await;

    let first = app.state.reconcile_once().await.unwrap();
    assert_eq!(first.stored_live, 2);
    assert!(first.ivs_live >= 1);
    assert_eq!(first.suspect, vec![key(&stale_channel, &stale_stream)]);
    assert!(first.ended.is_empty(), "not before the grace period");
    assert!(app
        .session(&stale_channel, &stale_stream)
        .await
        .unwrap()
        .is_live());

    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = app.state.reconcile_once().await.unwrap();
    assert_eq!(second.ended, vec![key(&stale_channel, &stale_stream)]);
    let ended = app.session(&stale_channel, &stale_stream).await.unwrap();
    assert!(!ended.is_live());
    assert!(!ended.is_open());
    assert!(ended.summary.end_time.is_some());
    assert!(app
        .session(&live_channel, &live_stream)
        .await
        .unwrap()
        .is_live());
    let directory = app.state.streams().live_directory(50).await.unwrap();
    assert_eq!(directory.len(), 1);
    assert_eq!(directory[0].channel_arn, live_channel);
    // The directory mirror follows the synthetic Session Ended, and had nothing to repair: every
    // session reached it through event-ingest.
    let mirrored: Vec<_> = app
        .state
        .directory()
        .live_profiles(50)
        .await
        .unwrap()
        .expect("complete")
        .into_iter()
        .map(|profile| profile.channel_arn)
        .collect();
    assert_eq!(mirrored, vec![Some(live_channel.clone())]);
    assert_eq!((first.mirror_repairs, second.mirror_repairs), (0, 0));

    // Nothing left to do; a late Stream Start does not revive the ended session.
    let third = app.state.reconcile_once().await.unwrap();
    assert!(
        third.ended.is_empty() && third.suspect.is_empty(),
        "{third:?}"
    );
    app.deliver(&state_event(
        &stale_channel,
        &stale_stream,
        "Stream Start",
        "2024-03-01T10:30:00Z",
    ))
    .await;
    assert!(!app
        .session(&stale_channel, &stale_stream)
        .await
        .unwrap()
        .is_live());

    // A session ended normally leaves the reconciler's view.
    app.deliver(&state_event(
        &live_channel,
        &live_stream,
        "Session Ended",
        "2024-03-01T11:00:00Z",
    ))
    .await;
    let fourth = app.state.reconcile_once().await.unwrap();
    assert_eq!(fourth.stored_live, 0);
}

#[tokio::test]
async fn a_brief_gap_on_ivs_does_not_end_a_session() {
    let app = TestApp::spawn().await;
    let channel = ivs_channel(&app).await;
    let stream = random_stream_id();
    store_live(&app, &channel, &stream).await;

    // IVS does not list it yet (its events ran ahead of ListStreams)...
    let first = app.state.reconcile_once().await.unwrap();
    assert_eq!(first.suspect, vec![key(&channel, &stream)]);
    // ...then it does: the mark is cleared.
    ugc_emulator::events::broadcast(&app.env.emulator, channel.as_str(), BroadcastAction::Start)
        .unwrap();
    let second = app.state.reconcile_once().await.unwrap();
    assert!(second.suspect.is_empty() && second.ended.is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Off IVS again: a fresh grace period starts, nothing is ended at once.
    ugc_emulator::events::broadcast(&app.env.emulator, channel.as_str(), BroadcastAction::Stop)
        .unwrap();
    let third = app.state.reconcile_once().await.unwrap();
    assert_eq!(third.suspect, vec![key(&channel, &stream)]);
    assert!(third.ended.is_empty());
    assert!(app.session(&channel, &stream).await.unwrap().is_live());
}

#[tokio::test]
async fn the_background_reconciler_ends_drifted_sessions() {
    let env = ugc_testkit::TestEnv::start().await;
    let mut config = config_for(&env);
    config.reconcile_interval = Some(Duration::from_millis(100));
    config.reconcile_grace = Duration::from_millis(200);
    let dynamo = env.dynamo.clone();
    let app = TestApp::spawn_with(env, config, dynamo).await;
    let channel = app.owned_channel().await;
    let stream = random_stream_id();
    store_live(&app, &channel, &stream).await;

    let handle = ugc_event_ingest::spawn_reconciler(app.state.clone());
    eventually(
        "the reconciler to end the session",
        Duration::from_secs(10),
        || async { !app.session(&channel, &stream).await.unwrap().is_live() },
    )
    .await;
    let session = app.session(&channel, &stream).await.unwrap();
    // Ended at the time the drift was first seen (after the stored events).
    assert!(session.summary.end_time > parse_iso("2024-03-01T10:00:02Z"));
    assert!(!handle.is_finished(), "keeps running");
    handle.abort();
}

#[tokio::test]
async fn a_disabled_reconciler_returns_at_once() {
    let app = TestApp::spawn().await;
    let handle = ugc_event_ingest::spawn_reconciler(app.state.clone());
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .unwrap()
        .unwrap();
}
