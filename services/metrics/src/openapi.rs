//! The OpenAPI document of this service, generated from the handlers and response types. The
//! checked-in copy is `openapi/metrics.json`; a test fails when it is stale
//! (`UPDATE_OPENAPI=1 cargo test -p ugc-metrics openapi` rewrites it).

use serde::Serialize;
use ugc_web::docs::AccessToken;
use utoipa::{OpenApi, ToSchema};

use crate::handlers;

/// Every error: `{"__type": "<Code>"}`, with a `message` for some 400s.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `BadRequestException`, `UnauthorizedException`, `UserNotFoundException`,
    /// `NotFoundException`, `ServiceUnavailableException`, `UnexpectedException`, …
    #[serde(rename = "__type")]
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "UGC metrics",
        description = "Stream health: a channel's stream sessions and one session's events, ingest configuration and CloudWatch metrics."
    ),
    paths(handlers::list_stream_sessions, handlers::get_stream_session),
    components(schemas(
        handlers::StreamSessionsPage,
        handlers::StreamSessionItem,
        handlers::StreamSessionDetail,
        handlers::ChannelInfo,
        handlers::SessionEvent,
        handlers::Metric,
        handlers::MetricStatistics,
        ErrorBody,
    )),
    modifiers(&AccessToken),
    tags((name = "metrics", description = "Stream health (authenticated)"))
)]
struct ApiDoc;

/// The document, as served to tools and checked in.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    // The crate version changes with the workspace, not with the API; keep the file stable.
    doc.info.version = "1".to_owned();
    doc
}
