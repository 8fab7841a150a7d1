//! The bench's data: 1,000 channels written through the repositories as registration writes them,
//! the first 50 live (their broadcasts delivered to event-ingest), and a real user's "hot" channel
//! that went live once, stopped, and is live again.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde_json::{json, Value};
use ugc_domain::{Avatar, ChannelArn, ChatRoomArn, Color, Email, Username};
use ugc_dynamo::{ChannelResources, ChannelsRepo, NewProfile};

use crate::journey::User;
use crate::platform::{Platform, INGEST_SECRET};

/// Seeds `count` channels, `live` of them broadcasting; returns the channel ARNs.
pub async fn channels(
    platform: &Platform,
    count: usize,
    live: usize,
) -> anyhow::Result<Vec<String>> {
    eprintln!("seeding {count} channels ...");
    let started = Instant::now();
    let arns = seed(&platform.channels, count).await?;
    let now = time::OffsetDateTime::now_utc();
    for arn in arns.iter().take(live) {
        let stream_id = format!("st-{}", uuid::Uuid::new_v4().simple());
        for (i, name) in ["Session Created", "Stream Start"].into_iter().enumerate() {
            let envelope = ugc_event_ingest::bench_support::EventEnvelope::ivs(
                arn,
                "IVS Stream State Change",
                now + time::Duration::seconds(i64::try_from(i).unwrap_or(0)),
                json!({"event_name": name, "stream_id": stream_id, "channel_name": ""}),
            );
            let sender = &platform.sender;
            sender
                .http
                .post(&sender.url)
                .header(&sender.header, INGEST_SECRET)
                .json(&envelope.to_json())
                .send()
                .await?
                .error_for_status()?;
        }
    }
    eprintln!("seeded in {:.1}s", started.elapsed().as_secs_f64());
    Ok(arns)
}

/// A signed-up user whose channel broadcast once (offline session) and is live again.
pub struct HotChannel {
    pub user: User,
    pub arn: String,
    pub resource_id: String,
    pub live_sid: String,
    pub offline_sid: String,
}

pub async fn hot_channel(platform: &Platform) -> anyhow::Result<HotChannel> {
    let user = platform.journey.run("hot").await?;
    let page: Value = platform
        .http
        .get(format!("{}/channels/{}", platform.api.url, user.username))
        .send()
        .await?
        .json()
        .await?;
    let arn = page
        .get("channelArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let resource_id = arn.rsplit('/').next().unwrap_or_default().to_owned();
    let stream_id = |answer: Value| {
        answer
            .get("streamId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let offline_sid = stream_id(platform.broadcast(&arn, "start").await?);
    tokio::time::sleep(Duration::from_secs(1)).await;
    platform.broadcast(&arn, "stop").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let live_sid = stream_id(platform.broadcast(&arn, "start").await?);
    wait_live(platform, &user.username, true).await?;
    if let Ok(mut keys) = platform.counters.hot_keys.lock() {
        keys.extend([user.username.clone(), arn.clone(), user.sub.clone()]);
    }
    Ok(HotChannel {
        user,
        arn,
        resource_id,
        live_sid,
        offline_sid,
    })
}

/// Waits (20 s at most) until the channel page of `username` says `isLive == live`.
pub async fn wait_live(platform: &Platform, username: &str, live: bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page: Value = platform
            .http
            .get(format!("{}/channels/{username}", platform.api.url))
            .send()
            .await?
            .json()
            .await?;
        if page.get("isLive") == Some(&Value::Bool(live)) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the channel of {username} did not become {}",
            if live { "live" } else { "offline" }
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `count` channels written through the repositories, as registration and first login write them.
async fn seed(channels: &ChannelsRepo, count: usize) -> anyhow::Result<Vec<String>> {
    let results: Vec<anyhow::Result<String>> =
        futures_util::StreamExt::collect(futures_util::StreamExt::buffer_unordered(
            futures_util::stream::iter((0..count).map(|i| seed_one(channels, i))),
            32,
        ))
        .await;
    results.into_iter().collect()
}

async fn seed_one(channels: &ChannelsRepo, i: usize) -> anyhow::Result<String> {
    let sub = uuid::Uuid::new_v4().to_string();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let resource: String = id.chars().take(12).collect();
    let username = format!("seed_{i:04}");
    let e = |e: &dyn std::fmt::Debug| anyhow!("{e:?}");
    channels
        .create_profile(&NewProfile {
            sub: sub.clone(),
            username: Username::parse(&username).map_err(|x| e(&x))?,
            email: Email::parse(&format!("{username}@example.com")).map_err(|x| e(&x))?,
            avatar: Avatar::parse("bear").map_err(|x| e(&x))?,
            color: Color::parse("blue").map_err(|x| e(&x))?,
        })
        .await?;
    let token = uuid::Uuid::new_v4().to_string();
    channels
        .claim_provisioning(&sub, &token, Duration::from_secs(60))
        .await?;
    let arn = format!("arn:aws:ivs:us-east-1:123456789012:channel/{resource}");
    channels
        .complete_provisioning(
            &sub,
            &token,
            &ChannelResources {
                channel_arn: ChannelArn::parse(&arn).map_err(|x| e(&x))?,
                chat_room_arn: ChatRoomArn::parse(&format!(
                    "arn:aws:ivschat:us-east-1:123456789012:room/{resource}"
                ))
                .map_err(|x| e(&x))?,
                ingest_endpoint: format!("{resource}.global-contribute.live-video.net"),
                playback_url: format!(
                    "https://{resource}.us-east-1.playback.live-video.net/api/video/v1/x.m3u8"
                ),
                stream_key_arn: format!("arn:aws:ivs:us-east-1:123456789012:stream-key/{resource}"),
                stream_key_value: format!("sk_us-east-1_{id}"),
                tracking_id: resource.to_lowercase(),
                channel_asset_id: uuid::Uuid::new_v4().to_string(),
            },
        )
        .await?;
    Ok(arn)
}
