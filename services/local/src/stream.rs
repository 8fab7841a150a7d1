//! `ugc-local stream <username> [action]`: publishes the test pattern over RTMP ([`publish`]), or
//! drives the broadcast simulator on a user's channel.
//! The channel is found as the SPA finds it (`GET /channels/<username>` → `channelArn`), or by its
//! IVS name `<username>s-channel` when the API does not know the user. The emulator then pushes
//! the IVS events through EventBridge to event-ingest, so the directory, the channel page and
//! the health page change as they would on AWS.

use serde_json::Value;

use crate::client::Client;

pub const ACTIONS: [&str; 6] = ["start", "stop", "starve", "recover", "breach", "fail"];

/// What one broadcast action did.
#[derive(Clone, Debug)]
pub struct Streamed {
    pub channel: String,
    pub stream_id: Option<String>,
    pub live: bool,
    pub events: Vec<String>,
}

pub async fn run(client: &Client, username: &str, action: &str) -> anyhow::Result<Streamed> {
    if !ACTIONS.contains(&action) {
        anyhow::bail!("unknown action {action:?} (one of {})", ACTIONS.join(", "));
    }
    let channel = match client.channel_arn(username).await {
        Ok(arn) => arn,
        Err(err) if crate::client::refusal_code(&err).is_some() => format!("{username}s-channel"),
        Err(err) => return Err(err),
    };
    let out = client.broadcast(&channel, action).await?;
    Ok(Streamed {
        channel: out
            .get("channelArn")
            .and_then(Value::as_str)
            .unwrap_or(&channel)
            .to_owned(),
        stream_id: out
            .get("streamId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        live: out.get("live").and_then(Value::as_bool).unwrap_or(false),
        events: out
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let detail_type = e.get("detail-type").and_then(Value::as_str).unwrap_or("");
                let name = e
                    .pointer("/detail/event_name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                format!("{detail_type}: {name}")
            })
            .collect(),
    })
}

/// The channel's RTMP ingest address (its `ingestEndpoint`, the emulator's listener) and stream
/// key, read through the IVS API as an encoder set-up would.
async fn ingest_of(client: &Client, username: &str) -> anyhow::Result<(String, String)> {
    let platform = &client.platform;
    let defaults = crate::LocalConfig::default();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&platform.emulator_url)
        .region(aws_config::Region::new(platform.region.clone()))
        .credentials_provider(aws_credential_types::Credentials::new(
            defaults.access_key_id,
            defaults.secret_access_key,
            None,
            None,
            "ugc-local",
        ))
        .load()
        .await;
    let ivs = aws_sdk_ivs::Client::new(&sdk);
    let arn = match client.channel_arn(username).await {
        Ok(arn) => arn,
        Err(err) if crate::client::refusal_code(&err).is_some() => {
            let listed = ivs
                .list_channels()
                .filter_by_name(format!("{username}s-channel"))
                .send()
                .await?;
            listed
                .channels()
                .first()
                .and_then(|c| c.arn())
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("{username} has no channel"))?
        }
        Err(err) => return Err(err),
    };
    let channel = ivs.get_channel().arn(&arn).send().await?;
    let ingest = channel
        .channel()
        .and_then(|c| c.ingest_endpoint())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("channel {arn} has no ingest endpoint"))?;
    let keys = ivs.list_stream_keys().channel_arn(&arn).send().await?;
    let key_arn = keys
        .stream_keys()
        .first()
        .and_then(|k| k.arn())
        .ok_or_else(|| anyhow::anyhow!("channel {arn} has no stream key"))?;
    let key = ivs.get_stream_key().arn(key_arn).send().await?;
    let value = key
        .stream_key()
        .and_then(|k| k.value())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("stream key {key_arn} has no value"))?;
    Ok((ingest, value))
}

/// `ugc-local stream <username>` (`make stream USER=<name>`): publishes the committed test
/// pattern over RTMP to the user's channel, in real time and in a loop, until `stop` resolves. The
/// emulator's RTMP ingest then produces the stream's events, its HLS playback and its metrics,
/// exactly as for OBS.
pub async fn publish(
    client: &Client,
    username: &str,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    use ugc_emulator::media::{self, publish::RtmpPublisher};
    let (ingest, key) = ingest_of(client, username).await?;
    let addr: std::net::SocketAddr = ingest.parse().map_err(|_| {
        anyhow::anyhow!("the channel's ingest endpoint {ingest:?} is not the local RTMP listener")
    })?;
    let tags = media::read_flv(media::TEST_PATTERN_FLV)?;
    let mut publisher = RtmpPublisher::connect(addr, "app", &key).await?;
    println!("publishing the test pattern to rtmp://{addr}/app/<streamKey> (Ctrl-C stops)");
    let sent = media::publish::publish_tags(&mut publisher, &tags, true, None, stop).await?;
    publisher.finish().await?;
    println!("stopped after {:.1} s of video", f64::from(sent) / 1000.0);
    Ok(())
}
