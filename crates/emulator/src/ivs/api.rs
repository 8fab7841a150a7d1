//! The IVS wire API: `POST /<Operation>` with a JSON body, `/tags/{resourceArn}` (shared with IVS
//! Chat, told apart by the SigV4 signing name), and a test read-out of received timed metadata.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::model::{
    alphanumeric, hex_label, ingest_configuration, Channel, Multitrack, Session, State, StreamKey,
};
use super::{not_broadcasting, not_found, BroadcastAction, Ivs, MAX_METADATA_BYTES};
use crate::core::error::AwsError;
use crate::core::routing::SigningService;
use crate::core::sigv4;
use crate::server::Shared;

/// A successful operation's response.
enum Reply {
    Json(Value),
    NoContent,
}

type Operation = fn(&Shared, &[u8]) -> Result<Reply, AwsError>;

const OPERATIONS: &[(&str, Operation)] = &[
    ("/CreateChannel", create_channel),
    ("/GetChannel", get_channel),
    ("/ListChannels", list_channels),
    ("/DeleteChannel", delete_channel),
    ("/CreateStreamKey", create_stream_key),
    ("/GetStreamKey", get_stream_key),
    ("/ListStreamKeys", list_stream_keys),
    ("/DeleteStreamKey", delete_stream_key),
    ("/GetStream", get_stream),
    ("/ListStreams", list_streams),
    ("/StopStream", stop_stream),
    ("/PutMetadata", put_metadata),
    ("/GetStreamSession", get_stream_session),
    ("/ListStreamSessions", list_stream_sessions),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    for &(path, operation) in OPERATIONS {
        cfg.service(web::resource(path).route(web::post().to(
            move |shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes| async move {
                respond(authorize(&shared, &req, &body).and_then(|()| operation(&shared, &body)))
            },
        )));
    }
    cfg.service(
        web::resource("/tags/{resourceArn:.*}")
            .guard(SigningService("ivs"))
            .route(web::get().to(list_tags_for_resource))
            .route(web::post().to(tag_resource))
            .route(web::delete().to(untag_resource)),
    );
    cfg.service(
        web::resource("/_emulator/ivs/metadata/{channelId}")
            .route(web::get().to(received_metadata)),
    );
}

/// Checks the SigV4 signature against the configured credentials and the `ivs` signing name.
fn authorize(shared: &Shared, req: &HttpRequest, body: &[u8]) -> Result<(), AwsError> {
    let config = &shared.config;
    let signature =
        sigv4::verify_actix(req, body, &config.access_key_id, &config.secret_access_key)?;
    if signature.service != "ivs" {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            format!(
                "Credential should be scoped to correct service: 'ivs'. (scoped to '{}')",
                signature.service
            ),
        ));
    }
    Ok(())
}

fn respond(result: Result<Reply, AwsError>) -> HttpResponse {
    match result {
        Ok(Reply::Json(body)) => HttpResponse::Ok()
            .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
            .json(body),
        Ok(Reply::NoContent) => HttpResponse::NoContent()
            .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
            .finish(),
        Err(error) => error.to_rest_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Channels

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

fn create_channel(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: CreateChannelInput = parse(body)?;
    let name = input.name.unwrap_or_default();
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
    let latency_mode = one_of(input.latency_mode, "latencyMode", &["NORMAL", "LOW"], "LOW")?;
    let channel_type = one_of(
        input.channel_type,
        "type",
        &["BASIC", "STANDARD", "ADVANCED_SD", "ADVANCED_HD"],
        "STANDARD",
    )?;
    let advanced = channel_type.starts_with("ADVANCED");
    let preset = match input.preset.filter(|p| !p.is_empty()) {
        None if advanced => "HIGHER_BANDWIDTH_DELIVERY".to_owned(),
        None => String::new(),
        Some(_) if !advanced => {
            return Err(AwsError::validation(
                "A preset can only be set on ADVANCED_SD and ADVANCED_HD channels",
            ))
        }
        Some(p) => one_of(
            Some(p),
            "preset",
            &[
                "HIGHER_BANDWIDTH_DELIVERY",
                "CONSTRAINED_BANDWIDTH_DELIVERY",
            ],
            "",
        )?,
    };
    let container_format = one_of(
        input.container_format,
        "containerFormat",
        &["TS", "FRAGMENTED_MP4"],
        "TS",
    )?;
    let multitrack = match input.multitrack_input_configuration {
        None => Multitrack::default(),
        Some(m) => {
            let default = Multitrack::default();
            Multitrack {
                enabled: m.enabled.unwrap_or(false),
                policy: one_of(m.policy, "policy", &["ALLOW", "REQUIRE"], &default.policy)?,
                maximum_resolution: one_of(
                    m.maximum_resolution,
                    "maximumResolution",
                    &["SD", "HD", "FULL_HD"],
                    &default.maximum_resolution,
                )?,
            }
        }
    };
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

#[derive(Deserialize)]
struct ArnInput {
    arn: Option<String>,
}

fn get_channel(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ArnInput = parse(body)?;
    let arn = required(input.arn, "arn")?;
    let ivs = &shared.ivs;
    let id = ivs.parse_arn(&arn, "channel", "arn")?;
    ivs.store.read(|state| {
        let channel = channel_by_id(state, id, &arn)?;
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

fn list_channels(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
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
    let max = max_results(input.max_results, 100)?;
    let after = decode_token(input.next_token)?;
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
        let (page, next) = key_page(matching, |c| c.id.as_str(), after.as_deref(), max);
        let channels: Vec<Value> = page.iter().map(|c| channel_summary_json(ivs, c)).collect();
        Ok(Reply::Json(with_token(json!({"channels": channels}), next)))
    })
}

fn delete_channel(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ArnInput = parse(body)?;
    let arn = required(input.arn, "arn")?;
    let ivs = &shared.ivs;
    let id = ivs.parse_arn(&arn, "channel", "arn")?;
    ivs.store.write(|state| {
        channel_by_id(state, id, &arn)?;
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
    super::lock(&ivs.metadata).remove(id);
    super::lock(&ivs.metadata_rate).remove(id);
    Ok(Reply::NoContent)
}

// ---------------------------------------------------------------------------------------------
// Stream keys

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateStreamKeyInput {
    channel_arn: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

fn create_stream_key(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: CreateStreamKeyInput = parse(body)?;
    let channel_arn = required(input.channel_arn, "channelArn")?;
    let tags = input.tags.unwrap_or_default();
    validate_tags(&tags)?;
    let ivs = &shared.ivs;
    let channel_id = ivs.parse_arn(&channel_arn, "channel", "channelArn")?;
    ivs.store.write(|state| {
        channel_by_id(state, channel_id, &channel_arn)?;
        if state
            .stream_keys
            .values()
            .any(|k| k.channel_id == channel_id)
        {
            return Err(AwsError::new(
                402,
                "ServiceQuotaExceededException",
                "Limit of 1 stream key per channel exceeded",
            ));
        }
        let key = new_stream_key(ivs, channel_id, tags);
        let body = json!({"streamKey": stream_key_json(ivs, &key, true)});
        state.stream_keys.insert(key.id.clone(), key);
        Ok(Reply::Json(body))
    })
}

fn get_stream_key(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ArnInput = parse(body)?;
    let arn = required(input.arn, "arn")?;
    let ivs = &shared.ivs;
    let id = ivs.parse_arn(&arn, "stream-key", "arn")?;
    ivs.store.read(|state| {
        let key = state
            .stream_keys
            .get(id)
            .ok_or_else(|| not_found(format!("Stream key {arn} does not exist")))?;
        Ok(Reply::Json(
            json!({"streamKey": stream_key_json(ivs, key, true)}),
        ))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListByChannelInput {
    channel_arn: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

fn list_stream_keys(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ListByChannelInput = parse(body)?;
    let channel_arn = required(input.channel_arn, "channelArn")?;
    let max = max_results(input.max_results, 50)?;
    let after = decode_token(input.next_token)?;
    let ivs = &shared.ivs;
    let channel_id = ivs.parse_arn(&channel_arn, "channel", "channelArn")?;
    ivs.store.read(|state| {
        channel_by_id(state, channel_id, &channel_arn)?;
        let keys = state
            .stream_keys
            .values()
            .filter(|k| k.channel_id == channel_id);
        let (page, next) = key_page(keys, |k| k.id.as_str(), after.as_deref(), max);
        let keys: Vec<Value> = page
            .iter()
            .map(|k| stream_key_json(ivs, k, false))
            .collect();
        Ok(Reply::Json(with_token(json!({"streamKeys": keys}), next)))
    })
}

fn delete_stream_key(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ArnInput = parse(body)?;
    let arn = required(input.arn, "arn")?;
    let ivs = &shared.ivs;
    let id = ivs.parse_arn(&arn, "stream-key", "arn")?;
    ivs.store.write(|state| {
        state
            .stream_keys
            .remove(id)
            .map(|_| Reply::NoContent)
            .ok_or_else(|| not_found(format!("Stream key {arn} does not exist")))
    })
}

fn new_stream_key(ivs: &Ivs, channel_id: &str, tags: BTreeMap<String, String>) -> StreamKey {
    StreamKey {
        id: alphanumeric(12),
        channel_id: channel_id.to_owned(),
        value: format!("sk_{}_{}", ivs.region, alphanumeric(28)),
        tags,
    }
}

// ---------------------------------------------------------------------------------------------
// Streams

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelArnInput {
    channel_arn: Option<String>,
}

fn get_stream(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ChannelArnInput = parse(body)?;
    let channel_arn = required(input.channel_arn, "channelArn")?;
    let ivs = &shared.ivs;
    let channel_id = ivs.parse_arn(&channel_arn, "channel", "channelArn")?;
    ivs.store.read(|state| {
        let channel = channel_by_id(state, channel_id, &channel_arn)?;
        let session = live_session(state, channel_id).ok_or_else(not_broadcasting)?;
        Ok(Reply::Json(json!({"stream": {
            "channelArn": channel_arn,
            "streamId": session.stream_id,
            "playbackUrl": playback_url(ivs, channel),
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

fn list_streams(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
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
    let max = max_results(input.max_results, 100)?;
    let after = decode_token(input.next_token)?;
    let ivs = &shared.ivs;
    ivs.store.read(|state| {
        let live = state
            .channels
            .keys()
            .filter_map(|id| live_session(state, id).map(|s| (id, s)))
            .filter(|(_, s)| health.as_deref().is_none_or(|h| s.health.as_str() == h));
        let (page, next) = key_page(live, |(id, _)| id.as_str(), after.as_deref(), max);
        let streams: Vec<Value> = page
            .iter()
            .map(|(id, s)| {
                json!({
                    "channelArn": ivs.channel_arn(id),
                    "streamId": s.stream_id,
                    "state": "LIVE",
                    "health": s.health.as_str(),
                    "viewerCount": 0,
                    "startTime": timestamp(s.start),
                })
            })
            .collect();
        Ok(Reply::Json(with_token(json!({"streams": streams}), next)))
    })
}

fn stop_stream(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ChannelArnInput = parse(body)?;
    let channel_arn = required(input.channel_arn, "channelArn")?;
    let channel_id = shared
        .ivs
        .parse_arn(&channel_arn, "channel", "channelArn")?;
    let change = shared
        .ivs
        .apply_broadcast(channel_id, BroadcastAction::Stop)?;
    shared.events.publish(change.events);
    Ok(Reply::Json(json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutMetadataInput {
    channel_arn: Option<String>,
    metadata: Option<String>,
}

fn put_metadata(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
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
    let channel_id = ivs.parse_arn(&channel_arn, "channel", "channelArn")?;
    ivs.store.read(|state| {
        channel_by_id(state, channel_id, &channel_arn)?;
        live_session(state, channel_id)
            .map(|_| ())
            .ok_or_else(not_broadcasting)
    })?;
    ivs.admit_metadata(channel_id)?;
    shared.media.queue_metadata(channel_id, &metadata);
    ivs.store_metadata(channel_id, metadata);
    Ok(Reply::NoContent)
}

// ---------------------------------------------------------------------------------------------
// Stream sessions

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetStreamSessionInput {
    channel_arn: Option<String>,
    stream_id: Option<String>,
}

fn get_stream_session(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: GetStreamSessionInput = parse(body)?;
    let channel_arn = required(input.channel_arn, "channelArn")?;
    let ivs = &shared.ivs;
    let channel_id = ivs.parse_arn(&channel_arn, "channel", "channelArn")?;
    ivs.store.read(|state| {
        channel_by_id(state, channel_id, &channel_arn)?;
        let sessions = state
            .sessions
            .get(channel_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let session = match input.stream_id.as_deref().filter(|s| !s.is_empty()) {
            Some(stream_id) => sessions.iter().find(|s| s.stream_id == stream_id),
            None => sessions.last(),
        }
        .ok_or_else(|| not_found("Stream session does not exist"))?;
        Ok(Reply::Json(
            json!({"streamSession": session_json(ivs, session)}),
        ))
    })
}

fn list_stream_sessions(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ListByChannelInput = parse(body)?;
    let channel_arn = required(input.channel_arn, "channelArn")?;
    let max = max_results(input.max_results, 100)?;
    // Sessions are only ever appended, so their position is a stable cursor.
    let before = match decode_token(input.next_token)? {
        None => None,
        Some(token) => Some(token.parse::<usize>().map_err(|_| invalid_token())?),
    };
    let ivs = &shared.ivs;
    let channel_id = ivs.parse_arn(&channel_arn, "channel", "channelArn")?;
    ivs.store.read(|state| {
        channel_by_id(state, channel_id, &channel_arn)?;
        let sessions = state
            .sessions
            .get(channel_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let end = before.unwrap_or(sessions.len()).min(sessions.len());
        let start = end.saturating_sub(max);
        let summaries: Vec<Value> = sessions
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .rev()
            .map(|s| {
                let mut summary = json!({
                    "streamId": s.stream_id,
                    "startTime": timestamp(s.start),
                    "hasErrorEvent": s.has_error_event,
                });
                if let (Some(end), Some(obj)) = (s.end, summary.as_object_mut()) {
                    obj.insert("endTime".to_owned(), json!(timestamp(end)));
                }
                summary
            })
            .collect();
        let next = (start > 0).then(|| start.to_string());
        Ok(Reply::Json(with_token(
            json!({"streamSessions": summaries}),
            next,
        )))
    })
}

// ---------------------------------------------------------------------------------------------
// Tags

#[derive(Deserialize)]
struct TagResourceInput {
    tags: Option<BTreeMap<String, String>>,
}

async fn list_tags_for_resource(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    respond(
        authorize(&shared, &req, b"")
            .and_then(|()| resource_arn(&req))
            .and_then(|arn| {
                shared.ivs.store.read(|state| {
                    let tags = tags_of(&shared.ivs, state, &arn)?;
                    Ok(Reply::Json(json!({"tags": tags})))
                })
            }),
    )
}

async fn tag_resource(
    shared: web::Data<Shared>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    respond((|| {
        authorize(&shared, &req, &body)?;
        let arn = resource_arn(&req)?;
        let input: TagResourceInput = parse(&body)?;
        let new_tags = required(input.tags, "tags")?;
        validate_tags(&new_tags)?;
        let ivs = &shared.ivs;
        ivs.store.write(|state| {
            let tags = tags_of_mut(ivs, state, &arn)?;
            let mut merged = tags.clone();
            merged.extend(new_tags);
            validate_tags(&merged)?;
            *tags = merged;
            Ok(Reply::Json(json!({})))
        })
    })())
}

async fn untag_resource(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    respond((|| {
        authorize(&shared, &req, b"")?;
        let arn = resource_arn(&req)?;
        let keys: Vec<String> = req
            .query_string()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(name, _)| *name == "tagKeys")
            .map(|(_, value)| percent_decode(&value.replace('+', " ")))
            .collect::<Option<_>>()
            .ok_or_else(|| AwsError::validation("Malformed tagKeys"))?;
        if keys.is_empty() {
            return Err(constraint("tagKeys", "not be null"));
        }
        let ivs = &shared.ivs;
        ivs.store.write(|state| {
            let tags = tags_of_mut(ivs, state, &arn)?;
            for key in &keys {
                tags.remove(key);
            }
            Ok(Reply::Json(json!({})))
        })
    })())
}

/// The `{resourceArn}` label, percent-decoded from the raw path (the SDK encodes `:` and `/`).
fn resource_arn(req: &HttpRequest) -> Result<String, AwsError> {
    req.uri()
        .path()
        .strip_prefix("/tags/")
        .and_then(percent_decode)
        .filter(|arn| !arn.is_empty())
        .ok_or_else(|| constraint("resourceArn", "not be null"))
}

fn tags_of<'s>(
    ivs: &Ivs,
    state: &'s State,
    arn: &str,
) -> Result<&'s BTreeMap<String, String>, AwsError> {
    let tags = if let Some(id) = ivs.resource_id(arn, "channel") {
        state.channels.get(id).map(|c| &c.tags)
    } else if let Some(id) = ivs.resource_id(arn, "stream-key") {
        state.stream_keys.get(id).map(|k| &k.tags)
    } else {
        None
    };
    tags.ok_or_else(|| not_found(format!("Resource {arn} does not exist")))
}

fn tags_of_mut<'s>(
    ivs: &Ivs,
    state: &'s mut State,
    arn: &str,
) -> Result<&'s mut BTreeMap<String, String>, AwsError> {
    let tags = if let Some(id) = ivs.resource_id(arn, "channel") {
        state.channels.get_mut(id).map(|c| &mut c.tags)
    } else if let Some(id) = ivs.resource_id(arn, "stream-key") {
        state.stream_keys.get_mut(id).map(|k| &mut k.tags)
    } else {
        None
    };
    tags.ok_or_else(|| not_found(format!("Resource {arn} does not exist")))
}

fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(constraint("tags", "have at most 50 entries"));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
            return Err(AwsError::validation(format!("Invalid tag key: {key:?}")));
        }
        if value.chars().count() > 256 {
            return Err(AwsError::validation(format!(
                "The value of tag {key:?} is longer than 256 characters"
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Test read-out

async fn received_metadata(shared: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(shared.ivs.metadata(&path))
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// A full channel: its summary plus the endpoints and ingest settings.
fn channel_json(ivs: &Ivs, c: &Channel) -> Value {
    let mut out = channel_summary_json(ivs, c);
    let details = json!({
        "ingestEndpoint": ingest_endpoint(ivs, c),
        "playbackUrl": playback_url(ivs, c),
        "srt": {
            "endpoint": format!("{}.srt.live-video.net", c.host),
            "passphrase": c.srt_passphrase,
        },
        "multitrackInputConfiguration": {
            "enabled": c.multitrack.enabled,
            "policy": c.multitrack.policy,
            "maximumResolution": c.multitrack.maximum_resolution,
        },
        "containerFormat": c.container_format,
    });
    if let (Value::Object(out), Value::Object(details)) = (&mut out, details) {
        out.extend(details);
    }
    out
}

fn channel_summary_json(ivs: &Ivs, c: &Channel) -> Value {
    json!({
        "arn": ivs.channel_arn(&c.id),
        "name": c.name,
        "latencyMode": c.latency_mode,
        "type": c.channel_type,
        "authorized": c.authorized,
        "insecureIngest": c.insecure_ingest,
        "recordingConfigurationArn": c.recording_configuration_arn,
        "playbackRestrictionPolicyArn": c.playback_restriction_policy_arn,
        "preset": c.preset,
        "tags": c.tags,
    })
}

fn stream_key_json(ivs: &Ivs, key: &StreamKey, with_value: bool) -> Value {
    let mut body = json!({
        "arn": ivs.stream_key_arn(&key.id),
        "channelArn": ivs.channel_arn(&key.channel_id),
        "tags": key.tags,
    });
    if let (true, Some(obj)) = (with_value, body.as_object_mut()) {
        obj.insert("value".to_owned(), json!(key.value));
    }
    body
}

fn session_json(ivs: &Ivs, s: &Session) -> Value {
    let ingest = s
        .ingest
        .clone()
        .unwrap_or_else(|| ingest_configuration(&s.channel.channel_type));
    let events: Vec<Value> = s
        .events
        .iter()
        .rev()
        .map(|e| {
            let mut event = json!({"name": e.name, "type": e.kind, "eventTime": timestamp(e.time)});
            if let (Some(code), Some(obj)) = (&e.code, event.as_object_mut()) {
                obj.insert("code".to_owned(), json!(code));
            }
            event
        })
        .collect();
    let mut body = json!({
        "streamId": s.stream_id,
        "startTime": timestamp(s.start),
        "channel": channel_json(ivs, &s.channel),
        "ingestConfigurations": {
            "videoConfigurations": [ingest.get("video")],
            "audioConfigurations": [ingest.get("audio")],
        },
        "ingestConfiguration": ingest,
        "truncatedEvents": events,
    });
    if let (Some(end), Some(obj)) = (s.end, body.as_object_mut()) {
        obj.insert("endTime".to_owned(), json!(timestamp(end)));
    }
    body
}

/// The channel's HLS URL: IVS's playback host, or the emulator's own origin when it serves media.
fn playback_url(ivs: &Ivs, c: &Channel) -> String {
    let origin = match &ivs.endpoints {
        Some(endpoints) => endpoints.playback_origin.clone(),
        None => format!(
            "https://{host}.{region}.playback.live-video.net",
            host = c.host,
            region = ivs.region
        ),
    };
    format!(
        "{origin}/api/video/v1/{region}.{account}.channel.{id}.m3u8",
        region = ivs.region,
        account = ivs.account_id,
        id = c.id,
    )
}

fn ingest_endpoint(ivs: &Ivs, c: &Channel) -> String {
    match &ivs.endpoints {
        Some(endpoints) => endpoints.ingest.clone(),
        None => format!("{}.global-contribute.live-video.net", c.host),
    }
}

fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Request helpers

impl Ivs {
    /// The resource id of an ARN argument: a malformed ARN is a validation error, a well-formed
    /// one of another account, region or resource type names nothing that exists.
    fn parse_arn<'a>(&self, arn: &'a str, kind: &str, field: &str) -> Result<&'a str, AwsError> {
        let well_formed = arn.len() <= 128
            && arn.starts_with("arn:")
            && arn.rsplit_once('/').is_some_and(|(_, id)| {
                !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !well_formed {
            return Err(constraint(
                field,
                "satisfy regular expression pattern: ^arn:aws:[is]vs:[a-z0-9-]+:[0-9]+:[a-z-]+/[a-zA-Z0-9-]+$",
            ));
        }
        self.resource_id(arn, kind)
            .ok_or_else(|| not_found(format!("Resource {arn} does not exist")))
    }
}

fn channel_by_id<'s>(state: &'s State, id: &str, arn: &str) -> Result<&'s Channel, AwsError> {
    state
        .channels
        .get(id)
        .ok_or_else(|| not_found(format!("Channel {arn} does not exist")))
}

fn live_session<'s>(state: &'s State, channel_id: &str) -> Option<&'s Session> {
    state
        .sessions
        .get(channel_id)?
        .iter()
        .rev()
        .find(|s| s.end.is_none())
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| AwsError::validation(format!("Could not parse the request body: {e}")))
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, AwsError> {
    value.ok_or_else(|| constraint(field, "not be null"))
}

fn constraint(field: &str, rule: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must {rule}"
    ))
}

fn one_of(
    value: Option<String>,
    field: &str,
    allowed: &[&str],
    default: &str,
) -> Result<String, AwsError> {
    match value {
        None => Ok(default.to_owned()),
        Some(v) if allowed.contains(&v.as_str()) => Ok(v),
        Some(_) => Err(constraint(
            field,
            &format!("satisfy enum value set: [{}]", allowed.join(", ")),
        )),
    }
}

fn max_results(value: Option<i64>, limit: usize) -> Result<usize, AwsError> {
    match value {
        None => Ok(limit),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=limit).contains(n))
            .ok_or_else(|| constraint("maxResults", &format!("be between 1 and {limit}"))),
    }
}

/// Pagination tokens carry the last key returned (or a position), base64url-encoded.
fn decode_token(token: Option<String>) -> Result<Option<String>, AwsError> {
    match token.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(token) => URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Some)
            .ok_or_else(invalid_token),
    }
}

fn invalid_token() -> AwsError {
    AwsError::validation("The nextToken is not valid")
}

fn with_token(mut body: Value, next: Option<String>) -> Value {
    if let (Some(next), Some(obj)) = (next, body.as_object_mut()) {
        obj.insert("nextToken".to_owned(), json!(URL_SAFE_NO_PAD.encode(next)));
    }
    body
}

/// One page of items listed in key order: those after `after`, at most `max`, and the cursor of
/// the next page when more remain. Keyed cursors stay correct when items come and go between pages.
fn key_page<T>(
    items: impl Iterator<Item = T>,
    key: impl Fn(&T) -> &str,
    after: Option<&str>,
    max: usize,
) -> (Vec<T>, Option<String>) {
    let mut rest = items.filter(|item| after.is_none_or(|a| key(item) > a));
    let page: Vec<T> = rest.by_ref().take(max).collect();
    let next = match (rest.next(), page.last()) {
        (Some(_), Some(last)) => Some(key(last).to_owned()),
        _ => None,
    };
    (page, next)
}

fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let digits = [bytes.next()?, bytes.next()?];
            out.push(*hex::decode(digits).ok()?.first()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}
