//! Channel operations: create, get, list, delete.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use super::super::model::{alphanumeric, hex_label, Channel, Multitrack};
use super::super::not_found;
use super::render::{channel_json, channel_summary_json, stream_key_json};
use super::request::{constraint, live_session, one_of, parse, PageRequest, Target};
use super::stream_keys::new_stream_key;
use super::tags::validate_tags;
use super::{ArnInput, Reply};
use crate::core::error::AwsError;
use crate::server::Shared;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateChannelInput {
    name: Option<String>,
    latency_mode: Option<String>,
    #[serde(rename = "type")]
    channel_type: Option<String>,
    authorized: Option<bool>,
    insecure_ingest: Option<bool>,
    preset: Option<String>,
    recording_configuration_arn: Option<String>,
    playback_restriction_policy_arn: Option<String>,
    ad_configuration_arn: Option<String>,
    container_format: Option<String>,
    multitrack_input_configuration: Option<MultitrackInput>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MultitrackInput {
    enabled: Option<bool>,
    policy: Option<String>,
    maximum_resolution: Option<String>,
}

pub(super) fn create_channel(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: CreateChannelInput = parse(body)?;
    let name = input.name.unwrap_or_default();
    validate_name(&name)?;
    let latency_mode = one_of(input.latency_mode, "latencyMode", &["NORMAL", "LOW"], "LOW")?;
    let channel_type = one_of(
        input.channel_type,
        "type",
        &["BASIC", "STANDARD", "ADVANCED_SD", "ADVANCED_HD"],
        "STANDARD",
    )?;
    let preset = preset(input.preset, channel_type.starts_with("ADVANCED"))?;
    let container_format = one_of(
        input.container_format,
        "containerFormat",
        &["TS", "FRAGMENTED_MP4"],
        "TS",
    )?;
    let multitrack = multitrack(input.multitrack_input_configuration)?;
    if multitrack.enabled && (channel_type != "STANDARD" || container_format != "FRAGMENTED_MP4") {
        return Err(AwsError::validation(
            "Multitrack input requires a STANDARD channel with the FRAGMENTED_MP4 container format",
        ));
    }
    // Recording configurations, playback restriction policies and ad configurations are not
    // emulated, so any reference to one names a resource that does not exist.
    for (field, value) in [
        (
            "recordingConfigurationArn",
            &input.recording_configuration_arn,
        ),
        (
            "playbackRestrictionPolicyArn",
            &input.playback_restriction_policy_arn,
        ),
        ("adConfigurationArn", &input.ad_configuration_arn),
    ] {
        if let Some(arn) = value.as_deref().filter(|a| !a.is_empty()) {
            return Err(not_found(format!("{field} {arn} does not exist")));
        }
    }
    let tags = input.tags.unwrap_or_default();
    validate_tags(&tags)?;

    let ivs = &shared.ivs;
    let channel = Channel {
        id: alphanumeric(12),
        name,
        latency_mode,
        channel_type,
        preset,
        authorized: input.authorized.unwrap_or(false),
        insecure_ingest: input.insecure_ingest.unwrap_or(false),
        recording_configuration_arn: String::new(),
        playback_restriction_policy_arn: String::new(),
        container_format,
        multitrack,
        host: hex_label(),
        srt_passphrase: alphanumeric(44),
        tags: tags.clone(),
    };
    let key = new_stream_key(ivs, &channel.id, tags);
    let body = json!({
        "channel": channel_json(ivs, &channel),
        "streamKey": stream_key_json(ivs, &key, true),
    });
    ivs.store.write(|state| {
        state.stream_keys.insert(key.id.clone(), key);
        state.channels.insert(channel.id.clone(), channel);
    });
    Ok(Reply::Json(body))
}

fn validate_name(name: &str) -> Result<(), AwsError> {
    if name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(constraint(
            "name",
            "satisfy regular expression pattern: ^[a-zA-Z0-9-_]*$",
        ));
    }
    Ok(())
}

/// The transcode preset: only advanced channels have one (by default
/// `HIGHER_BANDWIDTH_DELIVERY`); the other types have none.
fn preset(preset: Option<String>, advanced: bool) -> Result<String, AwsError> {
    match preset.filter(|p| !p.is_empty()) {
        None if advanced => Ok("HIGHER_BANDWIDTH_DELIVERY".to_owned()),
        None => Ok(String::new()),
        Some(_) if !advanced => Err(AwsError::validation(
            "A preset can only be set on ADVANCED_SD and ADVANCED_HD channels",
        )),
        Some(p) => one_of(
            Some(p),
            "preset",
            &[
                "HIGHER_BANDWIDTH_DELIVERY",
                "CONSTRAINED_BANDWIDTH_DELIVERY",
            ],
            "",
        ),
    }
}

fn multitrack(input: Option<MultitrackInput>) -> Result<Multitrack, AwsError> {
    let default = Multitrack::default();
    let Some(m) = input else {
        return Ok(default);
    };
    Ok(Multitrack {
        enabled: m.enabled.unwrap_or(false),
        policy: one_of(m.policy, "policy", &["ALLOW", "REQUIRE"], &default.policy)?,
        maximum_resolution: one_of(
            m.maximum_resolution,
            "maximumResolution",
            &["SD", "HD", "FULL_HD"],
            &default.maximum_resolution,
        )?,
    })
}

pub(super) fn get_channel(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let ivs = &shared.ivs;
    let target = Target::parse(ivs, parse::<ArnInput>(body)?.arn, "arn", "channel")?;
    ivs.store.read(|state| {
        let channel = target.channel(state)?;
        Ok(Reply::Json(json!({"channel": channel_json(ivs, channel)})))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListChannelsInput {
    filter_by_name: Option<String>,
    filter_by_recording_configuration_arn: Option<String>,
    filter_by_playback_restriction_policy_arn: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) fn list_channels(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ListChannelsInput = parse(body)?;
    if input.filter_by_recording_configuration_arn.is_some()
        && input.filter_by_playback_restriction_policy_arn.is_some()
    {
        return Err(AwsError::new(
            409,
            "ConflictException",
            "Only one of filterByRecordingConfigurationArn and filterByPlaybackRestrictionPolicyArn may be set",
        ));
    }
    let page = PageRequest::parse(input.max_results, input.next_token, 100)?;
    let ivs = &shared.ivs;
    ivs.store.read(|state| {
        let matching = state.channels.values().filter(|c| {
            input.filter_by_name.as_deref().is_none_or(|n| c.name == n)
                && input
                    .filter_by_recording_configuration_arn
                    .as_deref()
                    .is_none_or(|a| c.recording_configuration_arn == a)
                && input
                    .filter_by_playback_restriction_policy_arn
                    .as_deref()
                    .is_none_or(|a| c.playback_restriction_policy_arn == a)
        });
        Ok(page.key_listing(
            "channels",
            matching,
            |c| c.id.as_str(),
            |c| channel_summary_json(ivs, c),
        ))
    })
}

pub(super) fn delete_channel(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let ivs = &shared.ivs;
    let target = Target::parse(ivs, parse::<ArnInput>(body)?.arn, "arn", "channel")?;
    let id = target.id.as_str();
    ivs.store.write(|state| {
        target.channel(state)?;
        if live_session(state, id).is_some() {
            return Err(AwsError::new(
                409,
                "ConflictException",
                "Cannot delete a channel that is broadcasting; stop the stream first",
            ));
        }
        state.channels.remove(id);
        state.stream_keys.retain(|_, key| key.channel_id != id);
        state.sessions.remove(id);
        Ok(())
    })?;
    super::super::lock(&ivs.metadata).remove(id);
    super::super::lock(&ivs.metadata_rate).remove(id);
    Ok(Reply::NoContent)
}
