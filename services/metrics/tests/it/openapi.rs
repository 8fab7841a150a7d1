//! `openapi/metrics.json` is generated from the code; this fails when it is stale.
//! `UPDATE_OPENAPI=1 cargo test -p ugc-metrics openapi` rewrites it.

use std::path::PathBuf;

#[test]
fn openapi_document_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/metrics.json");
    let generated = format!("{}\n", ugc_metrics::openapi().to_pretty_json().unwrap());
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: run UPDATE_OPENAPI=1 cargo test -p ugc-metrics openapi",
        path.display()
    );
}

#[test]
fn openapi_documents_both_routes() {
    let doc = serde_json::to_value(ugc_metrics::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/metrics/{channelResourceId}/streamSessions"));
    assert!(paths.contains_key("/metrics/{channelResourceId}/streamSessions/{streamSessionId}"));
}
