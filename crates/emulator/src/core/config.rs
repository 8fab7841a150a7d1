use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the emulator listens, where it keeps its state and which identity it pretends to be.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Address to bind; always a loopback address. Port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Directory holding one JSON file per service. `None` keeps everything in memory (tests).
    pub data_dir: Option<PathBuf>,
    pub region: String,
    pub account_id: String,
    /// Credentials SigV4 signatures are checked against.
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Where simulated IVS events are pushed (event-ingest), and the auth header sent with them.
    pub event_target: Option<EventTarget>,
}

#[derive(Clone, Debug)]
pub struct EventTarget {
    pub url: String,
    pub header_name: String,
    pub header_value: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            access_key_id: "test".to_owned(),
            secret_access_key: "test".to_owned(),
            event_target: None,
        }
    }
}
