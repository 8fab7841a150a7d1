//! Stream operations: get, list, stop, and timed metadata.

use serde::Deserialize;
use serde_json::json;

use super::super::{not_broadcasting, BroadcastAction, MAX_METADATA_BYTES};
use super::render::{playback_url, timestamp};
use super::request::{constraint, live_session, one_of, parse, required, PageRequest, Target};
use super::Reply;
use crate::core::error::AwsError;
use crate::server::Shared;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelArnInput {
    channel_arn: Option<String>,
}

pub(super) fn get_stream(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let ivs = &shared.ivs;
    let channel = Target::channel_arn(ivs, parse::<ChannelArnInput>(body)?.channel_arn)?;
    ivs.store.read(|state| {
        let found = channel.channel(state)?;
        let session = live_session(state, &channel.id).ok_or_else(not_broadcasting)?;
        Ok(Reply::Json(json!({"stream": {
            "channelArn": channel.arn,
            "streamId": session.stream_id,
            "playbackUrl": playback_url(ivs, found),
            "startTime": timestamp(session.start),
            "state": "LIVE",
            "health": session.health.as_str(),
            "viewerCount": 0,
        }})))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListStreamsInput {
    filter_by: Option<StreamFilters>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Deserialize)]
struct StreamFilters {
    health: Option<String>,
}

pub(super) fn list_streams(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ListStreamsInput = parse(body)?;
    let health = match input.filter_by.and_then(|f| f.health) {
        None => None,
        Some(h) => Some(one_of(
            Some(h),
            "filterBy.health",
            &["HEALTHY", "STARVING", "UNKNOWN"],
            "",
        )?),
    };
    let page = PageRequest::parse(input.max_results, input.next_token, 100)?;
    let ivs = &shared.ivs;
    ivs.store.read(|state| {
        let live = state
            .channels
            .keys()
            .filter_map(|id| live_session(state, id).map(|s| (id, s)))
            .filter(|(_, s)| health.as_deref().is_none_or(|h| s.health.as_str() == h));
        Ok(page.key_listing(
            "streams",
            live,
            |(id, _)| id.as_str(),
            |(id, s)| {
                json!({
                    "channelArn": ivs.channel_arn(id),
                    "streamId": s.stream_id,
                    "state": "LIVE",
                    "health": s.health.as_str(),
                    "viewerCount": 0,
                    "startTime": timestamp(s.start),
                })
            },
        ))
    })
}

pub(super) fn stop_stream(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let channel = Target::channel_arn(&shared.ivs, parse::<ChannelArnInput>(body)?.channel_arn)?;
    let change = shared
        .ivs
        .apply_broadcast(&channel.id, BroadcastAction::Stop)?;
    shared.events.publish(change.events);
    Ok(Reply::Json(json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutMetadataInput {
    channel_arn: Option<String>,
    metadata: Option<String>,
}

pub(super) fn put_metadata(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: PutMetadataInput = parse(body)?;
    let channel_arn = required(input.channel_arn, "channelArn")?;
    let metadata = required(input.metadata, "metadata")?;
    if metadata.is_empty() || metadata.len() > MAX_METADATA_BYTES {
        return Err(constraint(
            "metadata",
            "have length between 1 and 1024 bytes",
        ));
    }
    let ivs = &shared.ivs;
    let channel = Target::channel_arn(ivs, Some(channel_arn))?;
    ivs.store.read(|state| {
        channel.channel(state)?;
        live_session(state, &channel.id)
            .map(|_| ())
            .ok_or_else(not_broadcasting)
    })?;
    ivs.admit_metadata(&channel.id)?;
    shared.media.queue_metadata(&channel.id, &metadata);
    ivs.store_metadata(&channel.id, metadata);
    Ok(Reply::NoContent)
}
