//! Starts an emulator on 127.0.0.1:0 for one test and builds SDK configs pointed at it.

use std::sync::Arc;

use ugc_emulator::{Emulator, EmulatorConfig, Shared};

pub struct TestEmulator {
    pub port: u16,
    pub endpoint: String,
    pub shared: Arc<Shared>,
    pub config: EmulatorConfig,
}

/// In-memory emulator on a free port, running on the test's runtime.
pub async fn spawn() -> TestEmulator {
    spawn_with(EmulatorConfig::default()).await
}

pub async fn spawn_with(config: EmulatorConfig) -> TestEmulator {
    let emulator = Emulator::build(config.clone()).expect("emulator builds");
    let port = emulator.port();
    let shared = emulator.shared();
    tokio::spawn(emulator.run_until_stopped());
    TestEmulator {
        port,
        endpoint: format!("http://127.0.0.1:{port}"),
        shared,
        config,
    }
}

impl TestEmulator {
    /// An SDK config with static test credentials and the emulator as the endpoint of every service.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(self.config.region.clone()))
            .credentials_provider(aws_credential_types::Credentials::new(
                &self.config.access_key_id,
                &self.config.secret_access_key,
                None,
                None,
                "test",
            ))
            .load()
            .await
    }
}
