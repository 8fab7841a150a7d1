//! Black-box tests of the shared web plumbing: each test builds an [`Application`] on
//! 127.0.0.1:0 and talks HTTP to it.

// Test helpers outside `#[test]` functions may panic on setup failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod auth;
mod cors;
mod docs;
mod errors;
mod metrics;
mod rate_limits;
mod sdk_pool;
mod status;
mod telemetry;

use std::net::TcpListener;

use actix_web::web::ServiceConfig;
use ugc_web::{Application, CommonConfig};

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn spawn_app<F>(common: &CommonConfig, configure: F) -> TestApp
where
    F: Fn(&mut ServiceConfig) + Clone + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let app = Application::build(listener, configure, common).expect("build app");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

pub fn spawn_default() -> TestApp {
    spawn_app(&CommonConfig::for_tests(), |_cfg: &mut ServiceConfig| {})
}

pub async fn json_body(res: reqwest::Response) -> serde_json::Value {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

/// Sends raw bytes and returns everything the server answers before closing.
pub async fn raw_request(port: u16, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    socket.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        socket.read_to_end(&mut out),
    )
    .await;
    String::from_utf8_lossy(&out).into_owned()
}
