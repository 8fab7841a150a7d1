//! The ready banner and the SPA's `.env` lines.

use std::fmt::Write as _;

use crate::Running;

/// The upstream SPA's build variables (`docs/infra.md` §7), then the local endpoint hints:
/// the Cognito endpoint (`amazon-cognito-identity-js` takes it as the pool's `endpoint`) and the
/// chat WebSocket (`REACT_APP_E2E_TEST=true` makes the SPA's chat connect to
/// `ws://localhost:<REACT_APP_WEB_SOCKET_SERVER_PORT>/ws`).
pub fn spa_env(running: &Running) -> Vec<(&'static str, String)> {
    let emulator_port = running
        .emulator_url
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    vec![
        ("REACT_APP_API_BASE_URL", running.api_url.clone()),
        ("REACT_APP_COGNITO_USER_POOL_ID", running.pool_id.clone()),
        (
            "REACT_APP_COGNITO_USER_POOL_CLIENT_ID",
            running.client_id.clone(),
        ),
        ("REACT_APP_REGION", running.region.clone()),
        ("REACT_APP_STAGE", running.stage.clone()),
        ("REACT_APP_CHANNEL_TYPE", running.channel_type.clone()),
        (
            "REACT_APP_ENABLE_AMAZON_PRODUCT_STREAM_ACTION",
            running.products.to_string(),
        ),
        ("REACT_APP_COGNITO_ENDPOINT", running.emulator_url.clone()),
        ("REACT_APP_CHAT_WEBSOCKET_URL", running.chat_ws_url.clone()),
        ("REACT_APP_WEB_SOCKET_SERVER_PORT", emulator_port),
    ]
}

/// The `.env` file text (what `make run` also writes to `.local/spa.env`).
pub fn env_file(running: &Running) -> String {
    let mut out =
        String::from("# Upstream SPA settings for the local platform (written by ugc-local)\n");
    for (name, value) in spa_env(running) {
        if name == "REACT_APP_COGNITO_ENDPOINT" {
            out.push_str(
                "# Local endpoints: pass the Cognito endpoint as `endpoint` to CognitoUserPool; the chat\n\
                 # SDK takes the WebSocket URL (or set REACT_APP_E2E_TEST=true to use the port below).\n",
            );
        }
        let _ = writeln!(out, "{name}={value}");
    }
    out
}

/// The text printed when every part answers.
pub fn render(running: &Running) -> String {
    let mut out = String::new();
    let line = "─".repeat(78);
    let _ = writeln!(out, "{line}");
    let _ = writeln!(out, " UGC local platform ready");
    let _ = writeln!(out, "{line}");
    let rows: Vec<(&str, String)> = vec![
        ("API (channels+metrics)", running.api_url.clone()),
        (
            "API docs (offline)",
            format!(
                "{}/docs/ ({0}/openapi.json; event-ingest: {}/docs/)",
                running.api_url, running.ingest_url
            ),
        ),
        (
            "event-ingest",
            format!("{}/streamEvents", running.ingest_url),
        ),
        ("AWS emulator", running.emulator_url.clone()),
        (
            "Cognito endpoint",
            format!("{} (pool {})", running.emulator_url, running.pool_id),
        ),
        ("Chat WebSocket", running.chat_ws_url.clone()),
        (
            "RTMP ingest (OBS)",
            format!("{} + the channel's stream key", running.rtmp_url),
        ),
        (
            "",
            "OBS: Settings → Stream → Service \"Custom...\", Server = the URL above".to_owned(),
        ),
        (
            "",
            "make stream USER=<username>   publishes a test pattern there".to_owned(),
        ),
        ("E-mail outbox", running.outbox_url()),
        (
            "Broadcast control",
            format!(
                "POST {} {{\"channel\":\"<username>s-channel\",\"action\":\"start\"}}",
                running.broadcast_url()
            ),
        ),
        (
            "",
            "make stream USER=<username> START=1|STOP=1|STARVE=1|RECOVER=1|BREACH=1 (simulated)"
                .to_owned(),
        ),
        (
            "Metrics",
            "a summary line per service every 10 s while traffic flows (METRICS_LOG_INTERVAL)"
                .to_owned(),
        ),
        (
            "DynamoDB Local",
            format!(
                "{} ({}, {})",
                running.dynamodb_endpoint, running.tables.channels, running.tables.streams
            ),
        ),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, " {name:<24}{value}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, " SPA .env (upstream web-ui):");
    for text in env_file(running).lines().skip(1) {
        let _ = writeln!(out, "   {text}");
    }
    let _ = writeln!(out, "{line}");
    out
}
