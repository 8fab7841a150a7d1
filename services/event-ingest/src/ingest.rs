//! `POST /streamEvents` and `POST /`: authenticate, read, parse, store one EventBridge event.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use ugc_domain::session::{EventParseError, IvsEvent};
use ugc_dynamo::{ApplyOutcome, Attachment};
use ugc_web::metrics::IngestOutcome;
use utoipa::ToSchema;

use crate::error::{error_chain, IngestError};
use crate::{AppState, SecretSource};

/// What happened to a delivered event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IngestStatus {
    /// New to its session and stored.
    Stored,
    /// A redelivery: the session already had this event id.
    Duplicate,
    /// A Limit Breach without `stream_id` whose session is not known yet; kept for the channel
    /// and attached when the session appears.
    Pending,
    /// Well-formed but never storable (another source, an unmodelled event, an account-level
    /// event, a channel no user owns). Logged; EventBridge must not retry it.
    Ignored,
}

impl IngestStatus {
    /// The `outcome` attribute of `ugc.ingest.events`.
    pub fn metric(self) -> IngestOutcome {
        match self {
            Self::Stored => IngestOutcome::Stored,
            Self::Duplicate => IngestOutcome::Duplicate,
            Self::Pending => IngestOutcome::Pending,
            Self::Ignored => IngestOutcome::Ignored,
        }
    }
}

/// 200 body of an accepted delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestResponse {
    pub status: IngestStatus,
    /// The EventBridge `id`, when the event was parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The session the event belongs to, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    /// Why an event was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl IngestResponse {
    fn new(status: IngestStatus, event: &IvsEvent, stream_id: Option<String>) -> Self {
        Self {
            status,
            event_id: Some(event.id.clone()),
            stream_id,
            reason: None,
        }
    }

    fn ignored(event_id: Option<String>, reason: impl Into<String>) -> Self {
        Self {
            status: IngestStatus::Ignored,
            event_id,
            stream_id: None,
            reason: Some(reason.into()),
        }
    }
}

/// Deliver one IVS event (the EventBridge API destination's target).
#[utoipa::path(
    post,
    path = "/streamEvents",
    tag = "events",
    request_body(content = crate::envelope::EventEnvelope, description = "An EventBridge envelope of an IVS event (aws.ivs), unchanged", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored, a redelivery, kept pending, or ignored for good", body = IngestResponse),
        (status = 400, description = "Not an EventBridge envelope of an IVS event (`BadRequestException` + message); not retried", body = serde_json::Value, example = json!({"__type": "BadRequestException", "message": "malformed event: time is missing"})),
        (status = 401, description = "Missing or wrong shared secret (`UnauthorizedException`)", body = serde_json::Value, example = json!({"__type": "UnauthorizedException"})),
        (status = 413, description = "Body over `MAX_BODY` (`PayloadTooLargeException`)", body = serde_json::Value, example = json!({"__type": "PayloadTooLargeException"})),
        (status = 429, description = "DynamoDB throttled (`TooManyRequestsException`); retry after `Retry-After`", body = serde_json::Value, example = json!({"__type": "TooManyRequestsException"})),
        (status = 500, description = "Unexpected fault (`UnexpectedException`)", body = serde_json::Value, example = json!({"__type": "UnexpectedException"})),
        (status = 503, description = "A dependency is down (`ServiceUnavailableException`); retry after `Retry-After`", body = serde_json::Value, example = json!({"__type": "ServiceUnavailableException"})),
    ),
    security(("ingestSecret" = []))
)]
pub async fn post_stream_events(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    respond(&req, payload, &state).await
}

/// The same as `POST /streamEvents`, at upstream's path (API Gateway proxied `POST /`).
#[utoipa::path(
    post,
    path = "/",
    tag = "events",
    request_body(content = crate::envelope::EventEnvelope, content_type = "application/json"),
    responses(
        (status = 200, description = "As `POST /streamEvents`", body = IngestResponse),
        (status = 400, description = "As `POST /streamEvents`", body = serde_json::Value),
        (status = 401, description = "As `POST /streamEvents`", body = serde_json::Value),
        (status = 413, description = "As `POST /streamEvents`", body = serde_json::Value),
        (status = 429, description = "As `POST /streamEvents`", body = serde_json::Value),
        (status = 500, description = "As `POST /streamEvents`", body = serde_json::Value),
        (status = 503, description = "As `POST /streamEvents`", body = serde_json::Value),
    ),
    security(("ingestSecret" = []))
)]
pub async fn post_root(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    respond(&req, payload, &state).await
}

async fn respond(req: &HttpRequest, payload: web::Payload, state: &AppState) -> HttpResponse {
    let budget = state.config.ingest_timeout;
    let outcome = match tokio::time::timeout(budget, handle(req, payload, state)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(IngestError::Unavailable(format!(
            "delivery not done within {} ms",
            budget.as_millis()
        ))),
    };
    match outcome {
        Ok(body) => {
            ugc_web::metrics::ingest_outcome(body.status.metric());
            HttpResponse::Ok().json(body)
        }
        Err(err) => {
            ugc_web::metrics::ingest_outcome(IngestOutcome::Refused);
            err.into_response()
        }
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<IngestResponse, IngestError> {
    // Nothing of the body is read before the caller is authenticated.
    authenticate(state, req.headers()).await?;
    let body = read_body(req.headers(), payload, state.config.max_body).await?;
    let event = match IvsEvent::from_slice(&body) {
        Ok(event) => event,
        Err(EventParseError::Malformed(reason)) => {
            tracing::info!(%reason, "malformed event rejected");
            return Err(IngestError::BadRequest(format!(
                "malformed event: {reason}"
            )));
        }
        Err(EventParseError::Unsupported(reason)) => {
            tracing::info!(%reason, "unsupported event ignored");
            return Ok(IngestResponse::ignored(
                None,
                format!("unsupported event: {reason}"),
            ));
        }
        Err(EventParseError::NoChannel { id }) => {
            tracing::info!(event_id = %id, "account-level event (no channel) ignored");
            return Ok(IngestResponse::ignored(
                Some(id),
                "the event names no channel",
            ));
        }
    };
    let lag = time::OffsetDateTime::now_utc() - event.time;
    ugc_web::metrics::ingest_lag(if lag.is_positive() {
        lag.unsigned_abs()
    } else {
        std::time::Duration::ZERO
    });
    store(state, &event).await
}

async fn store(state: &AppState, event: &IvsEvent) -> Result<IngestResponse, IngestError> {
    let Some(owner) = state.owner_of(&event.channel_arn).await? else {
        tracing::warn!(
            event_id = %event.id,
            channel_arn = %event.channel_arn,
            "event for a channel no user owns ignored"
        );
        return Ok(IngestResponse::ignored(
            Some(event.id.clone()),
            "no user owns this channel",
        ));
    };
    let response = match &event.stream_id {
        Some(stream_id) => {
            let outcome = state.sessions.apply(stream_id, &owner, event).await?;
            let status = match outcome {
                ApplyOutcome::Applied => IngestStatus::Stored,
                ApplyOutcome::Duplicate => IngestStatus::Duplicate,
            };
            IngestResponse::new(status, event, Some(stream_id.as_str().to_owned()))
        }
        None => match state
            .streams
            .apply_channel_event(&event.channel_arn, &owner, event)
            .await?
        {
            Attachment::Session(stream_id) => IngestResponse::new(
                IngestStatus::Stored,
                event,
                Some(stream_id.as_str().to_owned()),
            ),
            Attachment::Pending => IngestResponse::new(IngestStatus::Pending, event, None),
        },
    };
    tracing::info!(
        event_id = %event.id,
        channel_arn = %event.channel_arn,
        stream_id = response.stream_id.as_deref(),
        name = event.kind.name(),
        event_time = %event.time,
        status = ?response.status,
        "event ingested"
    );
    Ok(response)
}

/// Checks the shared-secret header in constant time. The header is checked for presence before
/// Secrets Manager is asked, so anonymous traffic costs no secret reads.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<(), IngestError> {
    let Some(provided) = headers.get(&state.config.secret_header) else {
        return Err(IngestError::Unauthorized);
    };
    let expected: Cow<'_, str> = match &state.config.secret {
        SecretSource::Value(value) => Cow::Borrowed(value),
        SecretSource::SecretsManager(id) => {
            let value = state.secrets.get_string(id).await.map_err(|err| {
                IngestError::Unavailable(format!("ingest secret unreadable: {}", error_chain(&err)))
            })?;
            Cow::Owned(value.to_string())
        }
    };
    if expected.is_empty() {
        tracing::error!("the ingest secret is empty; every delivery is refused");
        return Err(IngestError::Unauthorized);
    }
    if constant_time_eq(expected.as_bytes(), provided.as_bytes()) {
        Ok(())
    } else {
        Err(IngestError::Unauthorized)
    }
}

/// Equality whose running time depends only on `expected`'s length, not on where `provided`
/// first differs (nor on its length).
fn constant_time_eq(expected: &[u8], provided: &[u8]) -> bool {
    let mut diff = u8::from(expected.len() != provided.len());
    for (i, byte) in expected.iter().enumerate() {
        diff |= byte ^ provided.get(i).copied().unwrap_or(!byte);
    }
    std::hint::black_box(diff) == 0
}

/// Reads the body up to `max` bytes (413 beyond, announced or not).
async fn read_body(
    headers: &HeaderMap,
    mut payload: web::Payload,
    max: usize,
) -> Result<web::Bytes, IngestError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|len| len > max) {
        return Err(IngestError::PayloadTooLarge);
    }
    let mut body = web::BytesMut::with_capacity(announced.unwrap_or(0).min(max));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| match err {
            actix_web::error::PayloadError::Overflow => IngestError::PayloadTooLarge,
            other => IngestError::BadRequest(format!("could not read the request body: {other}")),
        })?;
        if body.len() + chunk.len() > max {
            return Err(IngestError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn secret_comparison() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret!"));
        assert!(!constant_time_eq(b"s3cret", b"S3cret"));
        assert!(!constant_time_eq(b"s3cret", b""));
        // A provided value equal to the complement never passes by padding.
        assert!(!constant_time_eq(b"\xff", b""));
    }
}
