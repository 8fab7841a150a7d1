//! `ugc-bench serve-api` / `serve-ingest`: one service in its own process, configured from the
//! environment exactly as its container is, but bound to 127.0.0.1 (the containers' binaries listen
//! on 0.0.0.0, which the bench must not do). The code served is the service library's, so the
//! process's RSS is the service's.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use ugc_web::env::Vars;
use ugc_web::{Application, CommonConfig};

fn common() -> anyhow::Result<(CommonConfig, TcpListener)> {
    let mut common = CommonConfig::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    common.host = std::net::IpAddr::V4(Ipv4Addr::LOCALHOST);
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, common.port)))?;
    Ok((common, listener))
}

/// The SDK configuration exactly as the service binaries load it ([`ugc_web::Startup`]).
async fn sdk() -> (aws_types::SdkConfig, aws_sdk_dynamodb::Client) {
    let sdk = ugc_web::sdk_metrics::load_sdk_config().await;
    let dynamo = ugc_dynamo::client_from_config(&sdk);
    (sdk, dynamo)
}

pub async fn api() -> anyhow::Result<()> {
    let (common, listener) = common()?;
    let config = ugc_api::ApiConfig::from_parts(&common, &Vars::process())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (sdk, dynamo) = sdk().await;
    let api = ugc_api::Api::new(config, &sdk, dynamo).await?;
    Application::build(listener, api.configure(), &common)?
        .run_until_stopped()
        .await?;
    Ok(())
}

pub async fn ingest() -> anyhow::Result<()> {
    let (common, listener) = common()?;
    let config = ugc_event_ingest::Config::from_vars(&Vars::process())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (sdk, dynamo) = sdk().await;
    let state =
        actix_web::web::Data::new(ugc_event_ingest::AppState::new(config, &sdk, dynamo).await?);
    Application::build(listener, ugc_event_ingest::configure(state), &common)?
        .run_until_stopped()
        .await?;
    Ok(())
}
