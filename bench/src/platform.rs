//! The platform under test, as separate processes on 127.0.0.1: ugc-local (the emulator and its
//! wiring), the API and event-ingest (each in its own process, measured), optionally a second API
//! with the public cache off; DynamoDB requests of the measured processes go through the counting
//! proxy. Shared by `make bench` and `make soak`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use ugc_dynamo::{ChannelsRepo, DirectoryMirror, StreamsRepo, TableNames};

use crate::journey::Journey;
use crate::procs::{self, Proc};
use crate::{ingest, proxy};

pub const PREFIX: &str = "bench-";
pub const INGEST_SECRET: &str = "bench-ingest-secret";
const RATE_LIMITS: [&str; 7] = [
    "SIGN_UP",
    "PASSWORD_RESET",
    "CHAT_TOKEN",
    "FOLLOW",
    "STREAM_ACTION",
    "PRESIGNED_POST",
    "PRODUCT_SEARCH",
];

pub fn var(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set (run `make bench`)"))
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn lifted_limits() -> Vec<(String, String)> {
    RATE_LIMITS
        .iter()
        .map(|a| (format!("RATE_LIMIT_{a}"), "off".to_owned()))
        .collect()
}

pub struct Platform {
    pub local: Proc,
    pub api: Proc,
    pub ingest: Proc,
    /// The API with `PUBLIC_CACHE_TTL=0s`, when asked for.
    pub api_uncached: Option<Proc>,
    /// The same from another build of this binary (`BENCH_AB_BIN`), for `BENCH_ONLY=ab`; with
    /// `BENCH_AB_CACHED=1`, the public cache on instead (compared with [`Platform::api`]).
    pub api_b: Option<Proc>,
    pub emulator: String,
    pub counters: Arc<proxy::Counters>,
    pub http: reqwest::Client,
    pub channels: ChannelsRepo,
    pub streams: StreamsRepo,
    pub directory: DirectoryMirror,
    pub sender: Arc<ingest::Sender>,
    pub journey: Journey,
    /// RSS (MB) of the API and event-ingest just after start.
    pub idle_rss: (f64, f64),
}

impl Platform {
    /// Starts everything against DynamoDB Local at `BENCH_DDB`; `uncached` adds the second API.
    pub async fn start(uncached: bool) -> anyhow::Result<Self> {
        let ddb = var("BENCH_DDB")?;
        let self_bin = std::env::current_exe()?.to_string_lossy().into_owned();
        let counters = Arc::new(proxy::Counters::default());
        let ddb_proxy = proxy::start(ddb.clone(), counters.clone()).await?;
        let Wiring {
            local,
            env,
            emulator,
            client_id,
            tables,
        } = Wiring::start(&ddb, &ddb_proxy).await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;

        let api = spawn_service("api", &[&self_bin], "serve-api", &env, &[]).await?;
        let ingest_proc = spawn_service(
            "event-ingest",
            &[&self_bin],
            "serve-ingest",
            &env,
            &[("SERVICE_NAME", "event-ingest")],
        )
        .await?;
        let api_uncached = if uncached {
            Some(
                spawn_service(
                    "api-uncached",
                    &[&self_bin],
                    "serve-api",
                    &env,
                    &[("PUBLIC_CACHE_TTL", "0s")],
                )
                .await?,
            )
        } else {
            None
        };
        let api_b = match std::env::var("BENCH_AB_BIN") {
            Ok(other) if uncached => Some(
                spawn_service(
                    "api-b",
                    &[&other],
                    "serve-api",
                    &env,
                    if ab_cached() {
                        &[]
                    } else {
                        &[("PUBLIC_CACHE_TTL", "0s")]
                    },
                )
                .await?,
            ),
            _ => None,
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle_rss = (api.rss().0, ingest_proc.rss().0);

        let dynamo = dynamo_client(&ddb).await;
        let sender = Arc::new(ingest::Sender {
            http: reqwest::Client::new(),
            url: format!("{}/streamEvents", ingest_proc.url),
            header: "x-ugc-ingest-secret".to_owned(),
            secret: INGEST_SECRET.to_owned(),
        });
        let journey = Journey {
            http: http.clone(),
            api: api.url.clone(),
            emulator: emulator.clone(),
            client_id,
        };
        Ok(Self {
            local,
            api,
            ingest: ingest_proc,
            api_uncached,
            api_b,
            emulator,
            counters,
            http,
            channels: ChannelsRepo::new(dynamo.clone(), tables.channels.clone()),
            directory: DirectoryMirror::new(dynamo.clone(), tables.channels.clone()),
            streams: StreamsRepo::new(dynamo, tables.streams.clone()),
            sender,
            journey,
            idle_rss,
        })
    }

    /// Starts (`"start"`) or stops (`"stop"`) a broadcast on the emulator's IVS; returns its answer.
    pub async fn broadcast(&self, channel_arn: &str, action: &str) -> anyhow::Result<Value> {
        self.http
            .post(format!("{}/_emulator/broadcast", self.emulator))
            .json(&json!({"channel": channel_arn, "action": action}))
            .send()
            .await?
            .json::<Value>()
            .await
            .map_err(anyhow::Error::from)
    }

    pub async fn stop(self) {
        for p in [self.api_uncached, self.api_b].into_iter().flatten() {
            p.stop().await;
        }
        self.api.stop().await;
        self.ingest.stop().await;
        self.local.stop().await;
    }
}

/// `BENCH_AB_CACHED=1`: the A/B compares the cached channel page instead of the uncached one.
pub fn ab_cached() -> bool {
    std::env::var("BENCH_AB_CACHED").is_ok_and(|v| v == "1")
}

/// ugc-local (the emulator and its wiring) and the environment of the measured services, as
/// their containers get it; the services reach DynamoDB at `services_ddb`.
pub struct Wiring {
    pub local: Proc,
    pub env: Vec<(String, String)>,
    pub emulator: String,
    pub client_id: String,
    pub tables: TableNames,
}

impl Wiring {
    /// Starts ugc-local (`BENCH_LOCAL_BIN`, data in `BENCH_DATA_DIR`) against DynamoDB at `ddb`.
    pub async fn start(ddb: &str, services_ddb: &str) -> anyhow::Result<Self> {
        let local_bin = var("BENCH_LOCAL_BIN")?;
        let data_dir = var("BENCH_DATA_DIR")?;
        let local = start_local(&local_bin, ddb, &data_dir).await?;
        let platform = read_platform_file(&data_dir).await?;
        let field = |name: &str| {
            platform
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("platform.json has no {name}"))
        };
        let (emulator, pool_id, client_id) = (
            field("emulator_url")?,
            field("pool_id")?,
            field("client_id")?,
        );
        let issuer = reqwest::Client::new()
            .get(format!(
                "{emulator}/{pool_id}/.well-known/openid-configuration"
            ))
            .timeout(Duration::from_secs(30))
            .send()
            .await?
            .json::<Value>()
            .await?
            .get("issuer")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no issuer"))?;
        let tables = TableNames::with_prefix(PREFIX);
        let mut env = service_env(&emulator, &pool_id, &client_id, issuer, &tables);
        env.push((
            "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
            services_ddb.to_owned(),
        ));
        Ok(Self {
            local,
            env,
            emulator,
            client_id,
            tables,
        })
    }
}

/// The bench's own DynamoDB client for `ddb` (DynamoDB Local or the counting proxy), built over
/// the services' HTTP client ([`ugc_web::sdk_metrics::http_client`]).
pub async fn dynamo_client(ddb: &str) -> aws_sdk_dynamodb::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ugc_web::sdk_metrics::http_client())
        .endpoint_url(ddb)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .load()
        .await;
    ugc_dynamo::client_from_config(&sdk)
}

async fn start_local(local_bin: &str, ddb: &str, data_dir: &str) -> anyhow::Result<Proc> {
    let (local_api, local_ingest, emulator_port) = (
        procs::free_port()?,
        procs::free_port()?,
        procs::free_port()?,
    );
    let mut env = pairs(&[
        ("UGC_API_PORT", local_api.to_string()),
        ("UGC_INGEST_PORT", local_ingest.to_string()),
        ("UGC_EMULATOR_PORT", emulator_port.to_string()),
        ("UGC_DATA_DIR", data_dir.to_owned()),
        ("UGC_DYNAMODB_ENDPOINT", ddb.to_owned()),
        ("UGC_TABLE_PREFIX", PREFIX.to_owned()),
        ("RECONCILE_INTERVAL", "off".to_owned()),
        ("ENABLE_AMAZON_PRODUCT_STREAM_ACTION", "false".to_owned()),
        ("LOG_FORMAT", "text".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    env.extend(lifted_limits());
    eprintln!("starting the emulator and its wiring (ugc-local) ...");
    procs::spawn(
        "ugc-local",
        local_bin,
        &[],
        &env,
        format!("http://127.0.0.1:{local_api}"),
    )
    .await
}

/// ugc-local writes platform.json just after its services answer: wait for it.
async fn read_platform_file(data_dir: &str) -> anyhow::Result<Value> {
    let platform_file = format!("{data_dir}/platform.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::path::Path::new(&platform_file).exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(serde_json::from_str(
        &std::fs::read_to_string(&platform_file).context("platform.json")?,
    )?)
}

/// The measured services' environment, as their containers get it (endpoints aside).
fn service_env(
    emulator: &str,
    pool_id: &str,
    client_id: &str,
    issuer: String,
    tables: &TableNames,
) -> Vec<(String, String)> {
    let mut env = pairs(&[
        ("SERVICE_NAME", "all".to_owned()),
        ("USER_POOL_ID", pool_id.to_owned()),
        ("USER_POOL_CLIENT_ID", client_id.to_owned()),
        ("REGION", "us-east-1".to_owned()),
        ("ACCOUNT_ID", "123456789012".to_owned()),
        ("COGNITO_ISSUER", issuer),
        (
            "COGNITO_JWKS_URL",
            format!("{emulator}/{pool_id}/.well-known/jwks.json"),
        ),
        ("CHANNELS_TABLE_NAME", tables.channels.clone()),
        ("STREAM_TABLE_NAME", tables.streams.clone()),
        (
            "CHANNEL_ASSETS_BUCKET_NAME",
            "ugc-local-channel-assets".to_owned(),
        ),
        ("IVS_CHANNEL_TYPE", "BASIC".to_owned()),
        (
            "PAGINATION_TOKEN_KEY_ARN",
            "ugc-local/pagination-token-key".to_owned(),
        ),
        ("ENABLE_AMAZON_PRODUCT_STREAM_ACTION", "false".to_owned()),
        ("ALLOWED_ORIGINS", r#"["*"]"#.to_owned()),
        ("SIGN_UP_ALLOWED_DOMAINS", "[]".to_owned()),
        ("TRUSTED_PROXY_HOPS", "0".to_owned()),
        ("INGEST_SECRET", INGEST_SECRET.to_owned()),
        ("RECONCILE_INTERVAL", "off".to_owned()),
        ("AWS_ENDPOINT_URL", emulator.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ("LOG_FORMAT", "text".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    env.extend(lifted_limits());
    env
}

/// `program… <subcommand>` (the bench binary, or a command that runs it) on a free port with `env`
/// plus `extra` (which wins).
pub async fn spawn_service(
    name: &'static str,
    program: &[&str],
    subcommand: &str,
    env: &[(String, String)],
    extra: &[(&str, &str)],
) -> anyhow::Result<Proc> {
    let port = procs::free_port()?;
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .cloned()
        .collect();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env.push(("PORT".to_owned(), port.to_string()));
    let (program, prefix) = program
        .split_first()
        .ok_or_else(|| anyhow!("no program for {name}"))?;
    let args: Vec<&str> = prefix.iter().copied().chain([subcommand]).collect();
    procs::spawn(
        name,
        program,
        &args,
        &env,
        format!("http://127.0.0.1:{port}"),
    )
    .await
}
