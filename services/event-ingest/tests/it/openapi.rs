//! `openapi/event-ingest.json` is the document the code generates (`UPDATE_OPENAPI=1` rewrites it).

use std::path::PathBuf;

#[test]
fn openapi_document_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/event-ingest.json");
    let generated = ugc_event_ingest::openapi::document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale; regenerate with UPDATE_OPENAPI=1 cargo test -p ugc-event-ingest openapi",
        path.display()
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for path in ["/streamEvents", "/", "/status"] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["ingestSecret"]["name"],
        "x-ugc-ingest-secret"
    );
}
