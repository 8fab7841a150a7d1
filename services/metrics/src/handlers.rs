//! The two routes: parse → ownership → repository / AWS calls → response.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use ugc_aws::IngestConfiguration;
use ugc_domain::metrics::{
    format_results, metric_queries, FormattedMetric, MetricQueryBody, MetricResult, MetricsWindow,
};
use ugc_domain::{format_iso_millis, ChannelArn, ChannelResourceId, ErrorCode, StreamId};
use ugc_dynamo::streams::SESSIONS_PAGE_SIZE;
use ugc_dynamo::StoredSession;
use ugc_web::routing::check_param;
use ugc_web::{ApiError, AuthUser};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;

/// An ended session's metrics are cached only once CloudWatch has had time to publish its last
/// data points; caching earlier would freeze a chart that is still filling in.
pub const CACHE_SETTLE: Duration = Duration::minutes(5);

// ---------------------------------------------------------------------------------- responses

/// One session of the list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamSessionItem {
    /// `arn:aws:ivs:<region>:<account>:channel/<channelResourceId>`.
    pub channel_arn: String,
    /// A Limit Breach or Stream Failure happened during the session.
    pub has_error_event: bool,
    /// The IVS stream id (`st-…`).
    pub stream_id: String,
    /// Session Ended, ISO-8601 with milliseconds; absent while the session has not ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Session Created, ISO-8601 with milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    pub is_live: bool,
}

/// A page of the caller's sessions of one channel, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamSessionsPage {
    /// Always 50.
    pub max_results: i32,
    pub stream_sessions: Vec<StreamSessionItem>,
    /// Pass as `nextToken` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelInfo {
    /// `IVS_CHANNEL_TYPE` of the deployment.
    #[serde(rename = "type")]
    pub channel_type: String,
}

/// One event of the session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionEvent {
    /// ISO-8601 with milliseconds (EventBridge time, whole seconds).
    pub event_time: String,
    /// Event name (`Session Created`, `Stream Start`, `Starvation Start`, …), limit name or
    /// recording status.
    pub name: String,
    /// EventBridge detail-type (`IVS Stream State Change`, …).
    #[serde(rename = "type")]
    pub event_type: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct MetricStatistics {
    /// Average over the window (CloudWatch `TIME_SERIES(AVG(…))`); absent without data.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub average: Option<f64>,
}

/// One chart of the health page.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// CloudWatch StartTime of the query, ISO-8601 with milliseconds: `data[i]` is the bucket that
    /// starts `i · period` seconds later.
    pub aligned_start_time: String,
    pub data: Vec<f64>,
    /// `IngestFramerate`, `IngestVideoBitrate`, `KeyframeInterval` or `ConcurrentViews`.
    pub label: String,
    /// Seconds per data point: 5, 60, 300 or 3600, by the age of the data.
    pub period: u32,
    pub statistics: MetricStatistics,
}

impl From<FormattedMetric> for Metric {
    fn from(m: FormattedMetric) -> Self {
        Self {
            aligned_start_time: m.aligned_start_time,
            data: m.data,
            label: m.label,
            period: m.period,
            statistics: MetricStatistics {
                average: m.statistics.average,
            },
        }
    }
}

/// One session's health.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamSessionDetail {
    pub channel: ChannelInfo,
    /// Session Ended, ISO-8601 with milliseconds; absent until the session ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// The encoder's settings as IVS reported them
    /// (`{audio: {channels, codec, sampleRate, targetBitrate}, video: {avcLevel, avcProfile, codec,
    /// encoder, targetBitrate, targetFramerate, videoHeight, videoWidth}}`); absent until known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ingest_configuration: Option<serde_json::Value>,
    /// False while the latest starvation event is Starvation Start.
    pub is_healthy: bool,
    pub is_live: bool,
    pub metrics: Vec<Metric>,
    /// Session Created, ISO-8601 with milliseconds (the real start, also for sessions live longer
    /// than the 3-hour metrics window).
    pub start_time: String,
    pub stream_id: String,
    /// Newest first while live, oldest first afterwards.
    pub truncated_events: Vec<SessionEvent>,
}

// ---------------------------------------------------------------------------------- requests

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The previous page's `nextToken`; empty or absent for the first page.
    #[serde(rename = "nextToken")]
    #[param(rename = "nextToken")]
    pub next_token: Option<String>,
}

// ---------------------------------------------------------------------------------- errors

fn channel_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UserNotFoundException)
}

fn session_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFoundException)
        .with_message("stream session not found")
}

fn channel_arn(state: &AppState, raw: &str) -> Result<ChannelArn, ApiError> {
    check_param("channelResourceId", raw)?;
    let id = ChannelResourceId::parse(raw).map_err(|e| ApiError::bad_request(e.0))?;
    ChannelArn::new(&state.region, &state.account_id, &id)
        .map_err(|e| ApiError::unexpected().with_detail(e))
}

// ---------------------------------------------------------------------------------- list

/// The caller's stream sessions of a channel, newest first.
#[utoipa::path(
    get,
    path = "/metrics/{channelResourceId}/streamSessions",
    tag = "metrics",
    params(
        ("channelResourceId" = String, Path, description = "The channel id at the end of its ARN (1–100 letters or digits)"),
        ListQuery,
    ),
    responses(
        (status = 200, description = "A page of sessions", body = StreamSessionsPage),
        (status = 400, description = "`BadRequestException`: bad channel id or `nextToken`", body = crate::openapi::ErrorBody),
        (status = 401, description = "`UnauthorizedException`: missing or invalid access token", body = crate::openapi::ErrorBody),
        (status = 404, description = "`UserNotFoundException`: the channel is not the caller's", body = crate::openapi::ErrorBody),
        (status = 429, description = "`TooManyRequestsException`: DynamoDB is throttling; retry after `Retry-After`", body = crate::openapi::ErrorBody),
        (status = 503, description = "`ServiceUnavailableException`: DynamoDB is unavailable; retry after `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn list_stream_sessions(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let arn = channel_arn(&state, &path.into_inner())?;
    let after = match query.into_inner().next_token.filter(|t| !t.is_empty()) {
        Some(token) => Some(
            state
                .tokens
                .open(&arn, &user.sub, &token)
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    let page = state.streams.sessions_page(&arn, after.as_ref()).await?;
    // A channel has one owner, whose sub every session carries; sessions of another owner mean the
    // channel is not the caller's. Sessions without an owner (none is written so) are skipped.
    if page
        .sessions
        .iter()
        .any(|s| s.user_sub.as_deref().is_some_and(|sub| sub != user.sub))
    {
        return Err(channel_not_found().with_detail("channel owned by another user"));
    }
    let next_token = page
        .next
        .as_ref()
        .map(|key| state.tokens.seal(&arn, &user.sub, key))
        .transpose()
        .map_err(|e| ApiError::unexpected().with_detail(e))?;
    let stream_sessions = page
        .sessions
        .iter()
        .filter(|s| s.user_sub.as_deref() == Some(user.sub.as_str()))
        .map(|s| StreamSessionItem {
            channel_arn: s.channel_arn.as_str().to_owned(),
            has_error_event: s.summary.has_error(),
            stream_id: s.stream_id.as_str().to_owned(),
            end_time: s.summary.end_time.map(format_iso_millis),
            start_time: s.summary.start_time.map(format_iso_millis),
            is_live: s.is_live(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(StreamSessionsPage {
        max_results: SESSIONS_PAGE_SIZE,
        stream_sessions,
        next_token,
    }))
}

// ---------------------------------------------------------------------------------- detail

/// One session: events, health, ingest configuration and metrics.
#[utoipa::path(
    get,
    path = "/metrics/{channelResourceId}/streamSessions/{streamSessionId}",
    tag = "metrics",
    params(
        ("channelResourceId" = String, Path, description = "The channel id at the end of its ARN (1–100 letters or digits)"),
        ("streamSessionId" = String, Path, description = "The IVS stream id (`st-…`)"),
    ),
    responses(
        (status = 200, description = "The session", body = StreamSessionDetail),
        (status = 400, description = "`BadRequestException`: bad channel or stream id", body = crate::openapi::ErrorBody),
        (status = 401, description = "`UnauthorizedException`: missing or invalid access token", body = crate::openapi::ErrorBody),
        (status = 404, description = "`NotFoundException`: no such session of the caller's", body = crate::openapi::ErrorBody),
        (status = 429, description = "`TooManyRequestsException`: DynamoDB or CloudWatch is throttling; retry after `Retry-After`", body = crate::openapi::ErrorBody),
        (status = 503, description = "`ServiceUnavailableException`: DynamoDB or CloudWatch is unavailable; retry after `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("accessToken" = []))
)]
pub async fn get_stream_session(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_channel, raw_stream) = path.into_inner();
    let arn = channel_arn(&state, &raw_channel)?;
    check_param("streamSessionId", &raw_stream)?;
    let stream_id = StreamId::parse(&raw_stream).map_err(|e| ApiError::bad_request(e.0))?;

    let session = state
        .streams
        .get_session(&arn, &stream_id)
        .await?
        .filter(|s| s.user_sub.as_deref() == Some(user.sub.as_str()))
        .ok_or_else(session_not_found)?;
    // Not listed either (the list's index holds only sessions with a start): events of a session
    // whose Session Created has not arrived yet.
    let start = session
        .summary
        .start_time
        .ok_or_else(|| session_not_found().with_detail("session has no Session Created yet"))?;
    let live = session.is_live();

    let (ingest_configuration, metrics) = tokio::join!(
        ingest_configuration(&state, &session),
        session_metrics(&state, &session, start, live),
    );
    let metrics = metrics?;

    let mut events: Vec<SessionEvent> = session
        .summary
        .events
        .iter()
        .map(|e| SessionEvent {
            event_time: format_iso_millis(e.time),
            name: e.name.clone(),
            event_type: e.event_type.clone(),
        })
        .collect();
    if live {
        events.reverse();
    }
    Ok(HttpResponse::Ok().json(StreamSessionDetail {
        channel: ChannelInfo {
            channel_type: state.channel_type.clone(),
        },
        end_time: session.summary.end_time.map(format_iso_millis),
        ingest_configuration,
        is_healthy: session.summary.is_healthy(),
        is_live: live,
        metrics,
        start_time: format_iso_millis(start),
        stream_id: session.stream_id.as_str().to_owned(),
        truncated_events: events,
    }))
}

/// The stored configuration, or IVS's once it is complete (then stored, so IVS is asked once).
/// IVS failures only cost the field.
async fn ingest_configuration(
    state: &AppState,
    session: &StoredSession,
) -> Option<serde_json::Value> {
    if let Some(stored) = &session.ingest_configuration {
        return Some(stored.clone());
    }
    let fetched = match state
        .video
        .get_stream_session(&session.channel_arn, &session.stream_id)
        .await
    {
        Ok(Some(config)) if config.is_known() => config,
        Ok(_) => return None,
        Err(err) => {
            tracing::warn!(error = %err, stream_id = %session.stream_id, "GetStreamSession failed");
            return None;
        }
    };
    let value = ingest_json(&fetched)?;
    if let Err(err) = state
        .streams
        .store_ingest_configuration(&session.channel_arn, &session.stream_id, &value)
        .await
    {
        tracing::warn!(error = %err, stream_id = %session.stream_id, "ingest configuration not stored");
    }
    Some(value)
}

fn ingest_json(config: &IngestConfiguration) -> Option<serde_json::Value> {
    serde_json::to_value(config)
        .map_err(|err| tracing::error!(error = %err, "ingest configuration not serialisable"))
        .ok()
}

/// The four charts: from the session's cache when it has ended long enough ago and the cache was
/// written at the current resolution; otherwise from CloudWatch (then cached when ended).
async fn session_metrics(
    state: &AppState,
    session: &StoredSession,
    start: OffsetDateTime,
    live: bool,
) -> Result<Vec<Metric>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let end = session.summary.end_time;
    let window = MetricsWindow::compute(start, end, now, live);
    let cacheable = !live && end.is_some_and(|end| now - end >= CACHE_SETTLE);
    let key = window.cache_key();
    if cacheable {
        if let Some(cached) = session.metrics.get(&key) {
            match serde_json::from_value::<Vec<Metric>>(cached.clone()) {
                Ok(metrics) => return Ok(metrics),
                Err(err) => tracing::warn!(error = %err, %key, "unreadable metrics cache entry"),
            }
        }
    }

    // Charts of the same window fetched within the last few seconds (crate::recent).
    let recent_key = format!(
        "{}|{key}|{live}",
        session.channel_arn.resource_id().as_str()
    );
    if !cacheable {
        if let Some(recent) = state.recent.get(&recent_key) {
            return Ok(recent.as_ref().clone());
        }
    }

    let queries = metric_queries(session.channel_arn.resource_id().as_str(), window.period)
        .into_iter()
        .map(to_cloudwatch_query)
        .collect::<Result<Vec<_>, _>>()?;
    let results: Vec<MetricResult> = state
        .stream_metrics
        .get_metric_data(&queries, window.aligned_start, window.aligned_end)
        .await?
        .into_iter()
        .map(|r| MetricResult {
            id: r.id,
            label: r.label.unwrap_or_default(),
            timestamps: r.timestamps,
            values: r.values,
        })
        .collect();
    let metrics: Vec<Metric> = format_results(&results, window.period, window.aligned_start, live)
        .into_iter()
        .map(Metric::from)
        .collect();
    if !cacheable {
        state
            .recent
            .put(recent_key, std::sync::Arc::new(metrics.clone()));
    }

    if cacheable {
        // Replaces the whole map: a cache of a finer, expired resolution goes away.
        let stored =
            serde_json::to_value(&metrics).map_err(|e| ApiError::unexpected().with_detail(e))?;
        if let Err(err) = state
            .streams
            .store_metrics(&session.channel_arn, &session.stream_id, &key, &stored)
            .await
        {
            tracing::warn!(error = %err, %key, "metrics cache not written");
        }
    }
    Ok(metrics)
}

fn to_cloudwatch_query(
    q: ugc_domain::metrics::MetricQuery,
) -> Result<ugc_aws::MetricQuery, ApiError> {
    Ok(match q.body {
        MetricQueryBody::Stat(stat) => ugc_aws::MetricQuery::stat(
            q.id,
            q.label,
            stat.namespace,
            stat.metric_name,
            vec![(stat.dimension_name, stat.dimension_value)],
            i32::try_from(stat.period).map_err(|e| ApiError::unexpected().with_detail(e))?,
            stat.stat,
        ),
        MetricQueryBody::Expression(expression) => {
            ugc_aws::MetricQuery::expression(q.id, q.label, expression)
        }
    })
}
