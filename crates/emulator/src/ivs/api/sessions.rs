//! Stream session operations: get one, list a channel's.

use serde::Deserialize;
use serde_json::json;

use super::super::model::{Session, State};
use super::super::not_found;
use super::render::{session_json, timestamp};
use super::request::{invalid_token, listing, parse, PageRequest, Target};
use super::{ListByChannelInput, Reply};
use crate::core::error::AwsError;
use crate::server::Shared;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetStreamSessionInput {
    channel_arn: Option<String>,
    stream_id: Option<String>,
}

/// The channel's sessions, oldest first, after checking the channel exists.
fn sessions_of<'s>(state: &'s State, channel: &Target) -> Result<&'s [Session], AwsError> {
    channel.channel(state)?;
    Ok(state
        .sessions
        .get(&channel.id)
        .map(Vec::as_slice)
        .unwrap_or_default())
}

pub(super) fn get_stream_session(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: GetStreamSessionInput = parse(body)?;
    let ivs = &shared.ivs;
    let channel = Target::channel_arn(ivs, input.channel_arn)?;
    ivs.store.read(|state| {
        let sessions = sessions_of(state, &channel)?;
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

pub(super) fn list_stream_sessions(shared: &Shared, body: &[u8]) -> Result<Reply, AwsError> {
    let input: ListByChannelInput = parse(body)?;
    let ivs = &shared.ivs;
    let channel = Target::channel_arn(ivs, input.channel_arn)?;
    let page = PageRequest::parse(input.max_results, input.next_token, 100)?;
    // Sessions are only ever appended, so their position is a stable cursor.
    let before = match page.after {
        None => None,
        Some(token) => Some(token.parse::<usize>().map_err(|_| invalid_token())?),
    };
    ivs.store.read(|state| {
        let sessions = sessions_of(state, &channel)?;
        let end = before.unwrap_or(sessions.len()).min(sessions.len());
        let start = end.saturating_sub(page.max);
        let summaries = sessions
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
        Ok(listing("streamSessions", summaries, next))
    })
}
