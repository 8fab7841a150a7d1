//! The OpenAPI document of event-ingest (`openapi/event-ingest.json`, checked by a test).

use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::config::DEFAULT_SECRET_HEADER;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "UGC event ingest",
        description = "Receives IVS events from an EventBridge API destination (shared secret in a header) and keeps the stream sessions. 2xx: stored, duplicate, pending or ignored for good; 400: malformed, not retried; 401/429/5xx: retried by EventBridge."
    ),
    paths(crate::ingest::post_stream_events, crate::ingest::post_root),
    components(schemas(
        crate::ingest::IngestResponse,
        crate::ingest::IngestStatus,
        crate::envelope::EventEnvelope
    )),
    modifiers(&Additions),
    tags((name = "events", description = "IVS events pushed by EventBridge"))
)]
pub struct ApiDoc;

/// The secret header (default name; `INGEST_SECRET_HEADER` can rename it) and `/status`, which
/// the shared web layer serves.
struct Additions;

impl Modify for Additions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        ugc_web::docs::add_header_scheme(
            openapi,
            "ingestSecret",
            DEFAULT_SECRET_HEADER,
            "The shared secret of the EventBridge connection (INGEST_SECRET_HEADER renames the header)",
        );
        let status = OperationBuilder::new()
            .summary(Some("Liveness: 200 `OK` while the process serves"))
            .tag("health")
            .response(
                "200",
                ResponseBuilder::new().description("OK").content(
                    "text/plain; charset=utf-8",
                    ContentBuilder::new()
                        .example(Some(serde_json::Value::from("OK")))
                        .build(),
                ),
            )
            .build();
        openapi
            .paths
            .add_path_operation("/status", vec![HttpMethod::Get], status);
    }
}

/// The document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as checked in: pretty JSON with a trailing newline.
pub fn document() -> String {
    ugc_web::docs::checked_in(&ApiDoc::openapi())
}
