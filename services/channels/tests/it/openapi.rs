//! `openapi/channels.json` is generated from the code; this fails when it is stale.

use std::path::PathBuf;

#[test]
fn openapi_document_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/channels.json");
    let generated = ugc_channels::openapi::document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == generated,
        "{} is stale; regenerate it with: UPDATE_OPENAPI=1 cargo test -p ugc-channels openapi",
        path.display()
    );
}

#[test]
fn every_route_is_documented() {
    let doc: serde_json::Value = serde_json::from_str(&ugc_channels::openapi::document()).unwrap();
    for path in [
        "/channel/register",
        "/channel/password/reset",
        "/channel",
        "/channel/resources/create",
        "/channel/streamKey/reset",
        "/channel/username/update",
        "/channel/preferences/update",
        "/channel/assets/imagePresignedPost/create",
        "/channel/asset",
        "/channel/actions/send",
        "/products/{keywords}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
}
