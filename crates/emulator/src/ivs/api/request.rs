//! Request parsing shared by the IVS operations: the JSON body, required and enumerated fields,
//! ARN arguments, and the `maxResults`/`nextToken` pagination pair.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::super::model::{Channel, Session, State};
use super::super::{not_found, Ivs};
use super::Reply;
use crate::core::error::AwsError;

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

/// A required ARN argument and the id of the `kind` resource it names.
pub(super) struct Target {
    pub(super) arn: String,
    pub(super) id: String,
}

impl Target {
    pub(super) fn parse(
        ivs: &Ivs,
        arn: Option<String>,
        field: &str,
        kind: &str,
    ) -> Result<Self, AwsError> {
        let arn = required(arn, field)?;
        let id = ivs.parse_arn(&arn, kind, field)?.to_owned();
        Ok(Self { arn, id })
    }

    /// A `channelArn` argument.
    pub(super) fn channel_arn(ivs: &Ivs, arn: Option<String>) -> Result<Self, AwsError> {
        Self::parse(ivs, arn, "channelArn", "channel")
    }

    /// The channel this ARN names, or `ResourceNotFoundException`.
    pub(super) fn channel<'s>(&self, state: &'s State) -> Result<&'s Channel, AwsError> {
        state
            .channels
            .get(&self.id)
            .ok_or_else(|| not_found(format!("Channel {} does not exist", self.arn)))
    }
}

pub(super) fn live_session<'s>(state: &'s State, channel_id: &str) -> Option<&'s Session> {
    state
        .sessions
        .get(channel_id)?
        .iter()
        .rev()
        .find(|s| s.end.is_none())
}

pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| AwsError::validation(format!("Could not parse the request body: {e}")))
}

pub(super) fn required<T>(value: Option<T>, field: &str) -> Result<T, AwsError> {
    value.ok_or_else(|| constraint(field, "not be null"))
}

pub(super) fn constraint(field: &str, rule: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must {rule}"
    ))
}

pub(super) fn one_of(
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

/// The pagination arguments of a list operation: the page size (at most `limit`, `limit` when
/// absent) and the decoded cursor.
pub(super) struct PageRequest {
    pub(super) max: usize,
    pub(super) after: Option<String>,
}

impl PageRequest {
    pub(super) fn parse(
        max_results: Option<i64>,
        next_token: Option<String>,
        limit: usize,
    ) -> Result<Self, AwsError> {
        let max = match max_results {
            None => limit,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=limit).contains(n))
                .ok_or_else(|| constraint("maxResults", &format!("be between 1 and {limit}")))?,
        };
        Ok(Self {
            max,
            after: decode_token(next_token)?,
        })
    }

    /// One page of `items` listed in key order, rendered under `field` with the next cursor.
    /// Keyed cursors stay correct when items come and go between pages.
    pub(super) fn key_listing<T>(
        &self,
        field: &str,
        items: impl Iterator<Item = T>,
        key: impl Fn(&T) -> &str,
        render: impl Fn(&T) -> Value,
    ) -> Reply {
        let after = self.after.as_deref();
        let mut rest = items.filter(|item| after.is_none_or(|a| key(item) > a));
        let page: Vec<T> = rest.by_ref().take(self.max).collect();
        let next = match (rest.next(), page.last()) {
            (Some(_), Some(last)) => Some(key(last).to_owned()),
            _ => None,
        };
        listing(field, page.iter().map(render).collect(), next)
    }
}

/// A list response: the items under `field` and, when more remain, the encoded cursor.
pub(super) fn listing(field: &str, items: Vec<Value>, next: Option<String>) -> Reply {
    let mut body = json!({ field: items });
    if let (Some(next), Some(obj)) = (next, body.as_object_mut()) {
        obj.insert("nextToken".to_owned(), json!(URL_SAFE_NO_PAD.encode(next)));
    }
    Reply::Json(body)
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

pub(super) fn invalid_token() -> AwsError {
    AwsError::validation("The nextToken is not valid")
}

pub(super) fn percent_decode(text: &str) -> Option<String> {
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
