//! `/tags/{resourceArn}`: list, add and remove the tags of a channel or stream key.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::super::model::State;
use super::super::{not_found, Ivs};
use super::request::{constraint, parse, percent_decode, required};
use super::{authorize, respond, Reply};
use crate::core::error::AwsError;
use crate::server::Shared;

#[derive(Deserialize)]
struct TagResourceInput {
    tags: Option<BTreeMap<String, String>>,
}

pub(super) async fn list_tags_for_resource(
    shared: web::Data<Shared>,
    req: HttpRequest,
) -> HttpResponse {
    respond(tagged_resource(&shared, &req, b"").and_then(|arn| {
        shared.ivs.store.read(|state| {
            let tags = tags_of(&shared.ivs, state, &arn)?;
            Ok(Reply::Json(json!({"tags": tags})))
        })
    }))
}

pub(super) async fn tag_resource(
    shared: web::Data<Shared>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    respond((|| {
        let arn = tagged_resource(&shared, &req, &body)?;
        let input: TagResourceInput = parse(&body)?;
        let new_tags = required(input.tags, "tags")?;
        validate_tags(&new_tags)?;
        update_tags(&shared.ivs, &arn, |tags| {
            let mut merged = tags.clone();
            merged.extend(new_tags);
            validate_tags(&merged)?;
            *tags = merged;
            Ok(())
        })
    })())
}

pub(super) async fn untag_resource(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    respond((|| {
        let arn = tagged_resource(&shared, &req, b"")?;
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
        update_tags(&shared.ivs, &arn, |tags| {
            for key in &keys {
                tags.remove(key);
            }
            Ok(())
        })
    })())
}

/// Authorizes a tags request and returns its `{resourceArn}` label, percent-decoded from the
/// raw path (the SDK encodes `:` and `/`).
fn tagged_resource(shared: &Shared, req: &HttpRequest, body: &[u8]) -> Result<String, AwsError> {
    authorize(shared, req, body)?;
    req.uri()
        .path()
        .strip_prefix("/tags/")
        .and_then(percent_decode)
        .filter(|arn| !arn.is_empty())
        .ok_or_else(|| constraint("resourceArn", "not be null"))
}

/// The taggable resource an ARN names.
enum Taggable<'a> {
    Channel(&'a str),
    StreamKey(&'a str),
}

fn taggable<'a>(ivs: &Ivs, arn: &'a str) -> Option<Taggable<'a>> {
    if let Some(id) = ivs.resource_id(arn, "channel") {
        Some(Taggable::Channel(id))
    } else {
        ivs.resource_id(arn, "stream-key").map(Taggable::StreamKey)
    }
}

fn resource_not_found(arn: &str) -> AwsError {
    not_found(format!("Resource {arn} does not exist"))
}

fn tags_of<'s>(
    ivs: &Ivs,
    state: &'s State,
    arn: &str,
) -> Result<&'s BTreeMap<String, String>, AwsError> {
    match taggable(ivs, arn) {
        Some(Taggable::Channel(id)) => state.channels.get(id).map(|c| &c.tags),
        Some(Taggable::StreamKey(id)) => state.stream_keys.get(id).map(|k| &k.tags),
        None => None,
    }
    .ok_or_else(|| resource_not_found(arn))
}

/// Applies `change` to the tags of the resource `arn` names, under the store's write lock.
fn update_tags(
    ivs: &Ivs,
    arn: &str,
    change: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), AwsError>,
) -> Result<Reply, AwsError> {
    ivs.store.write(|state| {
        let tags = match taggable(ivs, arn) {
            Some(Taggable::Channel(id)) => state.channels.get_mut(id).map(|c| &mut c.tags),
            Some(Taggable::StreamKey(id)) => state.stream_keys.get_mut(id).map(|k| &mut k.tags),
            None => None,
        }
        .ok_or_else(|| resource_not_found(arn))?;
        change(tags)?;
        Ok(Reply::Json(json!({})))
    })
}

pub(super) fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
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
