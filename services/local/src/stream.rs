//! `ugc-local stream <username> [action]`: drives the broadcast simulator on a user's channel.
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
