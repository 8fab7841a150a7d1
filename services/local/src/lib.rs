//! The local platform: the AWS emulator and every service of the backend in one process on
//! 127.0.0.1, wired by configuration only (endpoints, issuer, table names, secrets), exactly as
//! the services are configured in a deployment. `make run` runs the `ugc-local` binary; the
//! end-to-end tests call [`start`] to get the same platform in-process.
//!
//! Layout: channels + metrics on the API port (the combined `api` container, `SERVICE_NAME=all`),
//! event-ingest on its own port (as in production, where EventBridge reaches it separately), and
//! the emulator on a third. DynamoDB is the real DynamoDB Local, started by `scripts/run.sh`.

pub mod banner;
pub mod client;
pub mod config;
pub mod seed;
pub mod setup;
pub mod stream;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use anyhow::Context;
use tokio::task::JoinHandle;
use ugc_api::{Api, ApiConfig};
use ugc_dynamo::TableNames;
use ugc_emulator::media::MediaConfig;
use ugc_emulator::{Emulator, EmulatorConfig, Shared};
use ugc_web::env::{ConfigError, Vars};
use ugc_web::{Application, CommonConfig};

pub use config::LocalConfig;

/// `ingestServerUrl` of the local platform: plain RTMP straight to the emulator's ingest address
/// (the channel's `ingestEndpoint` is `127.0.0.1:<port>`), not IVS's RTMPS on port 443.
const LOCAL_INGEST_SERVER_URL_FORMAT: &str = "rtmp://{ingestEndpoint}/app/";
/// How long the platform may take to answer on every port once started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Drain time of the services on shutdown (Ctrl-C should feel immediate locally).
const SHUTDOWN_TIMEOUT: &str = "2s";

/// Why the platform did not start. `Display` is one line meant for a person.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("port {port} ({what}) is already in use: stop whatever holds it, or set {variable} to another port")]
    PortInUse {
        what: &'static str,
        port: u16,
        variable: &'static str,
    },
    #[error("DynamoDB Local does not answer at {endpoint} ({reason}); `make run` starts it (it needs Java 17)")]
    DynamoDb { endpoint: String, reason: String },
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// The running platform: its URLs, the pool the SPA signs in to, and the handles to stop it.
pub struct Running {
    /// `http://127.0.0.1:<port>`: channels + metrics.
    pub api_url: String,
    /// `http://127.0.0.1:<port>`: event-ingest (`POST /streamEvents`).
    pub ingest_url: String,
    /// `http://127.0.0.1:<port>`: every emulated AWS service, and the Cognito endpoint.
    pub emulator_url: String,
    /// `ws://127.0.0.1:<port>/ws`: the IVS Chat messaging WebSocket.
    pub chat_ws_url: String,
    /// `rtmp://127.0.0.1:<port>/app/`: where OBS or ffmpeg publish (with the stream key appended).
    pub rtmp_url: String,
    pub dynamodb_endpoint: String,
    pub pool_id: String,
    pub client_id: String,
    pub region: String,
    pub account_id: String,
    pub stage: String,
    pub channel_type: String,
    pub products: bool,
    pub tables: TableNames,
    pub assets_bucket: String,
    /// The emulator's state (outbox, IVS, events, ...), for tests.
    pub emulator: Arc<Shared>,
    servers: Vec<ServerHandle>,
    /// The API, event-ingest and emulator servers (the emulator last).
    tasks: Vec<(&'static str, JoinHandle<std::io::Result<()>>)>,
    reconciler: JoinHandle<()>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("api_url", &self.api_url)
            .field("ingest_url", &self.ingest_url)
            .field("emulator_url", &self.emulator_url)
            .field("pool_id", &self.pool_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// `GET` here lists the e-mails Cognito sent (confirmation and reset codes).
    pub fn outbox_url(&self) -> String {
        format!("{}/_emulator/outbox", self.emulator_url)
    }

    /// `POST {"channel": ..., "action": "start"|"stop"|...}` drives the broadcast simulator.
    pub fn broadcast_url(&self) -> String {
        format!("{}/_emulator/broadcast", self.emulator_url)
    }

    /// The issuer of the pool's tokens (the services verify against it).
    pub fn issuer(&self) -> String {
        self.emulator.cognito.issuer(&self.pool_id)
    }

    /// The SPA's `.env` lines (upstream's names), plus the local endpoint hints.
    pub fn spa_env(&self) -> Vec<(&'static str, String)> {
        banner::spa_env(self)
    }

    /// The ready banner `ugc-local` prints.
    pub fn banner(&self) -> String {
        banner::render(self)
    }

    /// Resolves when one of the servers stops on its own (a signal, or a failure); names it.
    pub async fn stopped(&mut self) -> String {
        let tasks = &mut self.tasks;
        std::future::poll_fn(|cx| {
            for i in 0..tasks.len() {
                let Some((name, task)) = tasks.get_mut(i) else {
                    break;
                };
                if let std::task::Poll::Ready(result) =
                    std::future::Future::poll(std::pin::Pin::new(task), cx)
                {
                    let name = *name;
                    // A finished task must not be polled again (by `shutdown`).
                    tasks.remove(i);
                    return std::task::Poll::Ready(match result {
                        Ok(Ok(())) => format!("{name} stopped"),
                        Ok(Err(e)) => format!("{name} failed: {e}"),
                        Err(e) => format!("{name} failed: {e}"),
                    });
                }
            }
            std::task::Poll::Pending
        })
        .await
    }

    /// Stops the services (draining in-flight requests briefly), the reconciler and the emulator.
    pub async fn shutdown(self) {
        // Nothing is pushed to event-ingest while it stops (undelivered events are dropped).
        self.emulator.events.set_target(None);
        self.reconciler.abort();
        for handle in &self.servers {
            handle.stop(true).await;
        }
        for (name, task) in self.tasks {
            if name == EMULATOR {
                // Dropping the emulator's server future closes its listener and stops its workers.
                task.abort();
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

const EMULATOR: &str = "emulator";

fn bind(what: &'static str, port: u16, variable: &'static str) -> Result<TcpListener, StartError> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            StartError::PortInUse {
                what,
                port,
                variable,
            }
        } else {
            StartError::Other(anyhow::Error::new(e).context(format!("binding 127.0.0.1:{port}")))
        }
    })
}

fn http_url(listener: &TcpListener) -> Result<String, StartError> {
    let port = listener
        .local_addr()
        .context("reading a listener's address")?
        .port();
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Starts the platform: binds the three ports, starts the emulator, creates (or finds) the
/// tables, the user pool and client, the secrets and the bucket, registers the triggers and the
/// event and notification wiring, starts the services configured like a deployment, and returns
/// once every port answers `/status` (or the emulator its outbox). Call inside a Tokio runtime.
pub async fn start(config: LocalConfig) -> Result<Running, StartError> {
    let started = Instant::now();
    let api_listener = bind("API", config.api_port, "UGC_API_PORT")?;
    let ingest_listener = bind("event-ingest", config.ingest_port, "UGC_INGEST_PORT")?;
    let api_url = http_url(&api_listener)?;
    let ingest_url = http_url(&ingest_listener)?;

    // ------------------------------------------------------------------ the emulator
    if let Some(dir) = &config.emulator_data_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the emulator's data directory {}", dir.display()))?;
    }
    let media = MediaConfig {
        rtmp_bind: SocketAddr::from((Ipv4Addr::LOCALHOST, config.rtmp_port)),
        ..MediaConfig::default()
    };
    let emulator = Emulator::build_with_media(
        EmulatorConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, config.emulator_port)),
            data_dir: config.emulator_data_dir.clone(),
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            access_key_id: config.access_key_id.clone(),
            secret_access_key: config.secret_access_key.clone(),
            event_target: None,
        },
        Some(media),
    )
    .map_err(|e| {
        let in_use = e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse);
        if in_use {
            StartError::PortInUse {
                what: "AWS emulator",
                port: config.emulator_port,
                variable: "UGC_EMULATOR_PORT",
            }
        } else {
            StartError::Other(e.context("starting the AWS emulator"))
        }
    })?;
    let emulator_url = format!("http://127.0.0.1:{}", emulator.port());
    let rtmp_url = emulator
        .rtmp_addr()
        .map(|addr| format!("rtmp://{addr}/app/"))
        .unwrap_or_default();
    let shared = emulator.shared();
    let emulator_task = tokio::spawn(emulator.run_until_stopped());

    // Everything after this point must stop the emulator when it fails.
    match wire_and_serve(
        &config,
        shared.clone(),
        api_listener,
        ingest_listener,
        &emulator_url,
    )
    .await
    {
        Ok(services) => {
            tracing::info!(
                elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "local platform ready"
            );
            let mut tasks = services.tasks;
            tasks.push((EMULATOR, emulator_task));
            Ok(Running {
                chat_ws_url: format!("{}/ws", emulator_url.replacen("http://", "ws://", 1)),
                rtmp_url,
                api_url,
                ingest_url,
                emulator_url,
                dynamodb_endpoint: config.dynamodb_endpoint,
                pool_id: services.identity.pool_id,
                client_id: services.identity.client_id,
                region: config.region,
                account_id: config.account_id,
                stage: config.stage,
                channel_type: config.channel_type,
                products: config.products,
                tables: services.tables,
                assets_bucket: config.assets_bucket,
                emulator: shared,
                servers: services.servers,
                tasks,
                reconciler: services.reconciler,
            })
        }
        Err(e) => {
            emulator_task.abort();
            let _ = emulator_task.await;
            Err(e)
        }
    }
}

/// The services started by [`wire_and_serve`].
struct Services {
    identity: setup::Identity,
    tables: TableNames,
    servers: Vec<ServerHandle>,
    tasks: Vec<(&'static str, JoinHandle<std::io::Result<()>>)>,
    reconciler: JoinHandle<()>,
}

async fn wire_and_serve(
    config: &LocalConfig,
    shared: Arc<Shared>,
    api_listener: TcpListener,
    ingest_listener: TcpListener,
    emulator_url: &str,
) -> Result<Services, StartError> {
    let api_url = http_url(&api_listener)?;
    let ingest_url = http_url(&ingest_listener)?;
    // ------------------------------------------------------------------ SDK configuration
    // Every AWS service is the emulator; DynamoDB is DynamoDB Local. Static credentials (the ones
    // the emulator checks signatures against), so nothing here can reach a real AWS account.
    let credentials = aws_credential_types::Credentials::new(
        &config.access_key_id,
        &config.secret_access_key,
        None,
        None,
        "ugc-local",
    );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ugc_web::sdk_metrics::http_client())
        .endpoint_url(emulator_url)
        .region(aws_config::Region::new(config.region.clone()))
        .credentials_provider(credentials)
        .load()
        .await;
    let dynamo_sdk = sdk
        .to_builder()
        .endpoint_url(&config.dynamodb_endpoint)
        .build();
    let dynamo = ugc_dynamo::client_from_config(&dynamo_sdk);

    // ------------------------------------------------------------------ the resources
    let tables = TableNames::with_prefix(&config.table_prefix);
    ugc_dynamo::create_tables(&dynamo, &tables)
        .await
        .map_err(|e| StartError::DynamoDb {
            endpoint: config.dynamodb_endpoint.clone(),
            reason: one_line(&e),
        })?;
    let identity = setup::user_pool(&shared, config)?;
    let secrets = setup::secrets(&shared)?;
    setup::register_triggers(&shared, config);
    let assets_base_url = format!("{emulator_url}/{}", config.assets_bucket);
    setup::assets(
        &shared,
        &config.assets_bucket,
        ugc_triggers::asset_version::AssetVersionUpdater::new(
            ugc_dynamo::ChannelsRepo::new(dynamo.clone(), tables.channels.clone()),
            assets_base_url,
        ),
    );
    setup::event_target(&shared, &ingest_url, &secrets);

    // ------------------------------------------------------------------ the services
    let issuer = shared.cognito.issuer(&identity.pool_id);
    let vars = service_vars(config, &identity, &tables, &issuer, emulator_url);
    let api_common = common_config(&vars, "all")?;
    let api_config = ApiConfig::from_parts(&api_common, &Vars::from_pairs(vars.clone()))?;
    let api = Api::new(api_config, &sdk, dynamo.clone()).await?;
    let api_app = Application::build(api_listener, api.configure(), &api_common)
        .context("starting the API server")?;

    let ingest_common = common_config(&vars, "event-ingest")?;
    let ingest_config = ugc_event_ingest::Config::from_vars(&Vars::from_pairs(vars.clone()))?;
    let ingest_state = actix_web::web::Data::new(
        ugc_event_ingest::AppState::new(ingest_config, &sdk, dynamo).await?,
    );
    let reconciler = ugc_event_ingest::spawn_reconciler(ingest_state.clone());
    let ingest_app = Application::build(
        ingest_listener,
        ugc_event_ingest::configure(ingest_state),
        &ingest_common,
    )
    .context("starting the event-ingest server")?;

    let servers = vec![api_app.handle(), ingest_app.handle()];
    let tasks = vec![
        ("API", tokio::spawn(api_app.run_until_stopped())),
        ("event-ingest", tokio::spawn(ingest_app.run_until_stopped())),
    ];

    if let Err(e) = wait_ready(&[
        format!("{api_url}/status"),
        format!("{ingest_url}/status"),
        format!("{emulator_url}/_emulator/outbox"),
    ])
    .await
    {
        reconciler.abort();
        for handle in &servers {
            handle.stop(false).await;
        }
        return Err(e);
    }
    Ok(Services {
        identity,
        tables,
        servers,
        tasks,
        reconciler,
    })
}

/// The environment a deployment gives the containers, with the local endpoints: exactly the
/// variables the services read in production (upstream names where they exist).
fn service_vars(
    config: &LocalConfig,
    identity: &setup::Identity,
    tables: &TableNames,
    issuer: &str,
    emulator_url: &str,
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = config.passthrough.clone();
    let wired: Vec<(&str, String)> = vec![
        ("USER_POOL_ID", identity.pool_id.clone()),
        ("USER_POOL_CLIENT_ID", identity.client_id.clone()),
        ("REGION", config.region.clone()),
        ("ACCOUNT_ID", config.account_id.clone()),
        ("COGNITO_ISSUER", issuer.to_owned()),
        (
            "COGNITO_JWKS_URL",
            format!("{emulator_url}/{}/.well-known/jwks.json", identity.pool_id),
        ),
        ("CHANNELS_TABLE_NAME", tables.channels.clone()),
        ("STREAM_TABLE_NAME", tables.streams.clone()),
        ("CHANNEL_ASSETS_BUCKET_NAME", config.assets_bucket.clone()),
        ("IVS_CHANNEL_TYPE", config.channel_type.clone()),
        (
            "IVS_INGEST_SERVER_URL_FORMAT",
            LOCAL_INGEST_SERVER_URL_FORMAT.to_owned(),
        ),
        (
            "PAGINATION_TOKEN_KEY_ARN",
            setup::PAGINATION_KEY_SECRET.to_owned(),
        ),
        ("INGEST_SECRET_ARN", setup::INGEST_SECRET.to_owned()),
        (
            "INGEST_SECRET_HEADER",
            setup::INGEST_SECRET_HEADER.to_owned(),
        ),
        (
            "ENABLE_AMAZON_PRODUCT_STREAM_ACTION",
            config.products.to_string(),
        ),
        (
            "PRODUCT_API_SECRET_NAME",
            setup::PRODUCT_API_SECRET.to_owned(),
        ),
        ("CREATORS_API_BASE_URL", emulator_url.to_owned()),
        (
            "CREATORS_API_TOKEN_URL",
            format!("{emulator_url}/oauth2/token"),
        ),
        ("ALLOWED_ORIGINS", config.allowed_origins.clone()),
        (
            "SIGN_UP_ALLOWED_DOMAINS",
            serde_json::Value::from(config.sign_up_allowed_domains.clone()).to_string(),
        ),
        ("TRUSTED_PROXY_HOPS", "0".to_owned()),
    ];
    vars.retain(|(name, _)| !wired.iter().any(|(w, _)| w == name));
    vars.extend(wired.into_iter().map(|(k, v)| (k.to_owned(), v)));
    if !vars.iter().any(|(k, _)| k == "SHUTDOWN_TIMEOUT") {
        vars.push(("SHUTDOWN_TIMEOUT".to_owned(), SHUTDOWN_TIMEOUT.to_owned()));
    }
    if !vars.iter().any(|(k, _)| k == "LOG_FORMAT") {
        vars.push(("LOG_FORMAT".to_owned(), "text".to_owned()));
    }
    vars
}

/// A service's common settings: the shared variables plus its `SERVICE_NAME`, on 127.0.0.1.
fn common_config(vars: &[(String, String)], service: &str) -> Result<CommonConfig, ConfigError> {
    let mut pairs = vars.to_vec();
    pairs.push(("SERVICE_NAME".to_owned(), service.to_owned()));
    let mut common = CommonConfig::from_vars(&Vars::from_pairs(pairs))?;
    common.host = std::net::IpAddr::V4(Ipv4Addr::LOCALHOST);
    Ok(common)
}

/// Waits until every URL answers (any HTTP status), up to [`READY_TIMEOUT`].
async fn wait_ready(urls: &[String]) -> Result<(), StartError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("building an HTTP client")?;
    let deadline = Instant::now() + READY_TIMEOUT;
    for url in urls {
        loop {
            match http.get(url).send().await {
                Ok(_) => break,
                Err(e) if Instant::now() > deadline => {
                    return Err(StartError::Other(anyhow::anyhow!(
                        "{url} did not answer within {}s: {e}",
                        READY_TIMEOUT.as_secs()
                    )))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    Ok(())
}

/// An error and its causes on one line.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_source(source);
    }
    text
}

fn cause_source<'a>(
    e: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    e.and_then(std::error::Error::source)
}
