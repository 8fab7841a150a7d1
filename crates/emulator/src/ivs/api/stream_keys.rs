//! Stream key operations: create, get, list, delete.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use super::super::model::{alphanumeric, StreamKey};
use super::super::{not_found, Ivs};
use super::render::stream_key_json;
use super::request::{parse, PageRequest, Target};
use super::tags::validate_tags;
use super::{ArnInput, ListByChannelInput, Reply};
use crate::core::error::AwsError;
use crate::server::Shared;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateStreamKeyInput {
    channel_arn: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

pub(super) fn create_stream_key(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: CreateStreamKeyInput = parse(body)?;
    let ivs = &shared.ivs;
    let channel = Target::channel_arn(ivs, input.channel_arn)?;
    let tags = input.tags.unwrap_or_default();
    validate_tags(&tags)?;
    ivs.store.write(|state| {
        channel.channel(state)?;
        if state
            .stream_keys
            .values()
            .any(|k| k.channel_id == channel.id)
        {
            return Err(AwsError::new(
                402,
                "ServiceQuotaExceededException",
                "Limit of 1 stream key per channel exceeded",
            ));
        }
        let key = new_stream_key(ivs, &channel.id, tags);
        let body = json!({"streamKey": stream_key_json(ivs, &key, true)});
        state.stream_keys.insert(key.id.clone(), key);
        Ok(Reply::Json(body))
    })
}

/// A stream key `arn` argument.
fn stream_key_arn(ivs: &Ivs, body: &[u8]) -> Result<Target, AwsError> {
    Target::parse(ivs, parse::<ArnInput>(body)?.arn, "arn", "stream-key")
}

fn key_not_found(target: &Target) -> AwsError {
    not_found(format!("Stream key {} does not exist", target.arn))
}

pub(super) fn get_stream_key(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let ivs = &shared.ivs;
    let target = stream_key_arn(ivs, body)?;
    ivs.store.read(|state| {
        let key = state
            .stream_keys
            .get(&target.id)
            .ok_or_else(|| key_not_found(&target))?;
        Ok(Reply::Json(
            json!({"streamKey": stream_key_json(ivs, key, true)}),
        ))
    })
}

pub(super) fn list_stream_keys(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ListByChannelInput = parse(body)?;
    let ivs = &shared.ivs;
    let channel = Target::channel_arn(ivs, input.channel_arn)?;
    let page = PageRequest::parse(input.max_results, input.next_token, 50)?;
    ivs.store.read(|state| {
        channel.channel(state)?;
        let keys = state
            .stream_keys
            .values()
            .filter(|k| k.channel_id == channel.id);
        Ok(page.key_listing(
            "streamKeys",
            keys,
            |k| k.id.as_str(),
            |k| stream_key_json(ivs, k, false),
        ))
    })
}

pub(super) fn delete_stream_key(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let ivs = &shared.ivs;
    let target = stream_key_arn(ivs, body)?;
    ivs.store.write(|state| {
        state
            .stream_keys
            .remove(&target.id)
            .map(|_| Reply::NoContent)
            .ok_or_else(|| key_not_found(&target))
    })
}

pub(super) fn new_stream_key(
    ivs: &Ivs,
    channel_id: &str,
    tags: BTreeMap<String, String>,
) -> StreamKey {
    StreamKey {
        id: alphanumeric(12),
        channel_id: channel_id.to_owned(),
        value: format!("sk_{}_{}", ivs.region, alphanumeric(28)),
        tags,
    }
}
