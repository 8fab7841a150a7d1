//! `make bench`: the platform as separate processes on 127.0.0.1 (ugc-local for the emulator and
//! its wiring; the API and event-ingest each in their own process, measured), 1,000 seeded channels
//! with 50 live, oha against the hot paths, the ingest rows, a journey row, RSS and time to ready.
//! Prints one markdown table with the targets beside the figures. `scripts/bench.sh` runs it.

mod ingest;
mod oha;
mod procs;
mod proxy;
mod serve;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use ugc_domain::{Avatar, ChannelArn, ChatRoomArn, Color, Email, Username};
use ugc_dynamo::{ChannelResources, ChannelsRepo, NewProfile, StreamsRepo, TableNames};

const PREFIX: &str = "bench-";
const PASSWORD: &str = "Passw0rd!bench";
const INGEST_SECRET: &str = "bench-ingest-secret";
const RATE_LIMITS: [&str; 7] = [
    "SIGN_UP",
    "PASSWORD_RESET",
    "CHAT_TOKEN",
    "FOLLOW",
    "STREAM_ACTION",
    "PRESIGNED_POST",
    "PRODUCT_SEARCH",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("serve-api") => serve::api().await,
        Some("serve-ingest") => serve::ingest().await,
        _ => bench().await,
    }
}

fn var(name: &str) -> anyhow::Result<String> {
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

struct Row {
    what: String,
    figure: String,
    target: String,
    met: Option<bool>,
}

fn row(
    rows: &mut Vec<Row>,
    what: impl Into<String>,
    figure: impl Into<String>,
    target: &str,
    met: Option<bool>,
) {
    let row = Row {
        what: what.into(),
        figure: figure.into(),
        target: target.to_owned(),
        met,
    };
    eprintln!("  {} = {} ({})", row.what, row.figure, row.target);
    rows.push(row);
}

async fn bench() -> anyhow::Result<()> {
    let ddb = var("BENCH_DDB")?;
    let oha_bin = var("BENCH_OHA")?;
    let local_bin = var("BENCH_LOCAL_BIN")?;
    let data_dir = var("BENCH_DATA_DIR")?;
    let self_bin = std::env::current_exe()?.to_string_lossy().into_owned();
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let duration = format!("{seconds}s");
    let mut rows: Vec<Row> = Vec::new();

    // ------------------------------------------------------------------ processes
    let counters = Arc::new(proxy::Counters::default());
    let ddb_proxy = proxy::start(ddb.clone(), counters.clone()).await?;
    let (api_port, local_api, local_ingest, emulator_port) = (
        procs::free_port()?,
        procs::free_port()?,
        procs::free_port()?,
        procs::free_port()?,
    );
    let mut local_env = pairs(&[
        ("UGC_API_PORT", local_api.to_string()),
        ("UGC_INGEST_PORT", local_ingest.to_string()),
        ("UGC_EMULATOR_PORT", emulator_port.to_string()),
        ("UGC_DATA_DIR", data_dir.clone()),
        ("UGC_DYNAMODB_ENDPOINT", ddb.clone()),
        ("UGC_TABLE_PREFIX", PREFIX.to_owned()),
        ("RECONCILE_INTERVAL", "off".to_owned()),
        ("ENABLE_AMAZON_PRODUCT_STREAM_ACTION", "false".to_owned()),
        ("LOG_FORMAT", "text".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    local_env.extend(lifted_limits());
    eprintln!("starting the emulator and its wiring (ugc-local) ...");
    let local = procs::spawn(
        "ugc-local",
        &local_bin,
        &[],
        &local_env,
        format!("http://127.0.0.1:{local_api}"),
    )
    .await?;
    // ugc-local writes platform.json just after its services answer: wait for it.
    let platform_file = format!("{data_dir}/platform.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::path::Path::new(&platform_file).exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let platform: Value =
        serde_json::from_str(&std::fs::read_to_string(&platform_file).context("platform.json")?)?;
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
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let issuer = http
        .get(format!(
            "{emulator}/{pool_id}/.well-known/openid-configuration"
        ))
        .send()
        .await?
        .json::<Value>()
        .await?
        .get("issuer")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no issuer"))?;
    let tables = TableNames::with_prefix(PREFIX);
    let mut service_env = pairs(&[
        ("SERVICE_NAME", "all".to_owned()),
        ("USER_POOL_ID", pool_id.clone()),
        ("USER_POOL_CLIENT_ID", client_id.clone()),
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
        ("AWS_ENDPOINT_URL", emulator.clone()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ("LOG_FORMAT", "text".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    service_env.extend(lifted_limits());
    let mut api_env = service_env.clone();
    api_env.push(("PORT".to_owned(), api_port.to_string()));
    api_env.push(("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), ddb_proxy.clone()));
    let ingest_port = procs::free_port()?;
    let mut ingest_env = service_env.clone();
    ingest_env.push(("PORT".to_owned(), ingest_port.to_string()));
    ingest_env.push(("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), ddb.clone()));
    ingest_env.push(("SERVICE_NAME".to_owned(), "event-ingest".to_owned()));
    let api = procs::spawn(
        "api",
        &self_bin,
        &["serve-api"],
        &api_env,
        format!("http://127.0.0.1:{api_port}"),
    )
    .await?;
    let ingest_proc = procs::spawn(
        "event-ingest",
        &self_bin,
        &["serve-ingest"],
        &ingest_env,
        format!("http://127.0.0.1:{ingest_port}"),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (api_idle, _) = api.rss();
    let (ingest_idle, _) = ingest_proc.rss();

    // ------------------------------------------------------------------ seed
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&ddb)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .load()
        .await;
    let dynamo = ugc_dynamo::client_from_config(&sdk);
    let channels = ChannelsRepo::new(dynamo.clone(), tables.channels.clone());
    let streams = StreamsRepo::new(dynamo, tables.streams.clone());
    eprintln!("seeding 1,000 channels ...");
    let seed_started = Instant::now();
    let arns = seed(&channels, 1000).await?;
    let sender = Arc::new(ingest::Sender {
        http: reqwest::Client::new(),
        url: format!("{}/streamEvents", ingest_proc.url),
        header: "x-ugc-ingest-secret".to_owned(),
        secret: INGEST_SECRET.to_owned(),
    });
    let now = time::OffsetDateTime::now_utc();
    for arn in arns.iter().take(50) {
        let stream_id = format!("st-{}", uuid::Uuid::new_v4().simple());
        for (i, name) in ["Session Created", "Stream Start"].into_iter().enumerate() {
            let envelope = ugc_event_ingest::bench_support::EventEnvelope::ivs(
                arn,
                "IVS Stream State Change",
                now + time::Duration::seconds(i64::try_from(i).unwrap_or(0)),
                json!({"event_name": name, "stream_id": stream_id, "channel_name": ""}),
            );
            sender
                .http
                .post(&sender.url)
                .header(&sender.header, INGEST_SECRET)
                .json(&envelope.to_json())
                .send()
                .await?
                .error_for_status()?;
        }
    }
    eprintln!("seeded in {:.1}s", seed_started.elapsed().as_secs_f64());

    // ------------------------------------------------------------------ a real user (hot channel)
    let journey = Journey {
        http: http.clone(),
        api: api.url.clone(),
        emulator: emulator.clone(),
        client_id: client_id.clone(),
    };
    let hot = journey.run("hot").await?;
    let hot_page: Value = http
        .get(format!("{}/channels/{}", api.url, hot.username))
        .send()
        .await?
        .json()
        .await?;
    let hot_arn = hot_page
        .get("channelArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let resource_id = hot_arn.rsplit('/').next().unwrap_or_default().to_owned();
    let broadcast = |action: &'static str| {
        let http = http.clone();
        let url = format!("{emulator}/_emulator/broadcast");
        let arn = hot_arn.clone();
        async move {
            http.post(url)
                .json(&json!({"channel": arn, "action": action}))
                .send()
                .await?
                .json::<Value>()
                .await
                .map_err(anyhow::Error::from)
        }
    };
    let offline_sid = broadcast("start")
        .await?
        .get("streamId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    broadcast("stop").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let live_sid = broadcast("start")
        .await?
        .get("streamId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page: Value = http
            .get(format!("{}/channels/{}", api.url, hot.username))
            .send()
            .await?
            .json()
            .await?;
        if page.get("isLive") == Some(&Value::Bool(true)) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the hot channel did not go live");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if let Ok(mut keys) = counters.hot_keys.lock() {
        keys.extend([hot.username.clone(), hot_arn.clone(), hot.sub.clone()]);
    }

    // ------------------------------------------------------------------ HTTP rows
    let get = |path: String, token: Option<&str>| oha::Request {
        url: format!("{}{path}", api.url),
        method: "GET",
        headers: token
            .map(|t| vec![format!("Authorization: {t}")])
            .unwrap_or_default(),
        body: None,
    };
    let throughput_args = ["-z", duration.as_str(), "-c", "64"];
    let fixed_args = ["-z", duration.as_str(), "-q", "2000", "-c", "64"];
    let status = oha::run(&oha_bin, &get("/status".into(), None), &throughput_args).await?;
    let status_fixed = oha::run(&oha_bin, &get("/status".into(), None), &fixed_args).await?;
    row(
        &mut rows,
        "`GET /status` (ceiling), 64 connections",
        format!("{:.0} req/s", status.rps),
        "—",
        None,
    );
    row(
        &mut rows,
        "`GET /status` at 2,000 req/s",
        format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            status_fixed.p50_ms, status_fixed.p99_ms
        ),
        "p99 ≤ 10 ms",
        Some(status_fixed.p99_ms <= 10.0),
    );

    let page_path = format!("/channels/{}", hot.username);
    counters.reset();
    let started = Instant::now();
    let anon = oha::run(&oha_bin, &get(page_path.clone(), None), &throughput_args).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let hot_reads = counters.hot_reads.load(std::sync::atomic::Ordering::SeqCst) as f64 / elapsed;
    let all_reads = counters.reads.load(std::sync::atomic::Ordering::SeqCst) as f64 / elapsed;
    let ratio = if status.rps > 0.0 {
        anon.rps / status.rps
    } else {
        0.0
    };
    row(
        &mut rows,
        "`GET /channels/:u` anonymous (hot, live), 64 connections",
        format!(
            "{:.0} req/s ({:.0} % of `/status`, {:.1} % 2xx)",
            anon.rps,
            ratio * 100.0,
            anon.ok_ratio * 100.0
        ),
        "≥ 50 % of `/status`",
        Some(ratio >= 0.5),
    );
    row(
        &mut rows,
        "DynamoDB reads for the hot channel during that run",
        format!("{hot_reads:.2}/s (all reads {all_reads:.2}/s)"),
        "≤ 2/s",
        Some(hot_reads <= 2.0),
    );
    let anon_fixed = oha::run(&oha_bin, &get(page_path.clone(), None), &fixed_args).await?;
    row(
        &mut rows,
        "`GET /channels/:u` anonymous at 2,000 req/s",
        format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            anon_fixed.p50_ms, anon_fixed.p99_ms
        ),
        "p99 ≤ 10 ms",
        Some(anon_fixed.p99_ms <= 10.0),
    );

    let viewer = journey.run("viewer").await?;
    let signed = oha::run(
        &oha_bin,
        &get(page_path.clone(), Some(&viewer.token)),
        &throughput_args,
    )
    .await?;
    let signed_fixed = oha::run(
        &oha_bin,
        &get(page_path.clone(), Some(&viewer.token)),
        &fixed_args,
    )
    .await?;
    row(
        &mut rows,
        "`GET /channels/:u` signed in, 64 connections",
        format!(
            "{:.0} req/s ({:.1} % 2xx)",
            signed.rps,
            signed.ok_ratio * 100.0
        ),
        "—",
        None,
    );
    row(
        &mut rows,
        "`GET /channels/:u` signed in at 2,000 req/s",
        format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            signed_fixed.p50_ms, signed_fixed.p99_ms
        ),
        "p99 ≤ 10 ms",
        Some(signed_fixed.p99_ms <= 10.0),
    );

    let dir = oha::run(
        &oha_bin,
        &get("/channels?isLive=true".into(), None),
        &throughput_args,
    )
    .await?;
    let dir_fixed = oha::run(
        &oha_bin,
        &get("/channels?isLive=true".into(), None),
        &fixed_args,
    )
    .await?;
    row(
        &mut rows,
        "`GET /channels?isLive=true` (50 live of 1,000), 64 connections",
        format!("{:.0} req/s ({:.1} % 2xx)", dir.rps, dir.ok_ratio * 100.0),
        "—",
        None,
    );
    row(
        &mut rows,
        "`GET /channels?isLive=true` at 2,000 req/s",
        format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            dir_fixed.p50_ms, dir_fixed.p99_ms
        ),
        "p99 ≤ 10 ms",
        Some(dir_fixed.p99_ms <= 10.0),
    );

    let chat = oha::Request {
        url: format!("{}/channel/chatToken/create", api.url),
        method: "POST",
        headers: vec![
            "Content-Type: application/json".to_owned(),
            format!("Authorization: {}", viewer.token),
        ],
        body: Some(json!({"chatRoomOwnerUsername": hot.username}).to_string()),
    };
    let chat_rps = oha::run(&oha_bin, &chat, &throughput_args).await?;
    let chat_fixed = oha::run(&oha_bin, &chat, &fixed_args).await?;
    row(
        &mut rows,
        "`POST /channel/chatToken/create` signed in, 64 connections",
        format!(
            "{:.0} req/s ({:.1} % 2xx)",
            chat_rps.rps,
            chat_rps.ok_ratio * 100.0
        ),
        "—",
        None,
    );
    row(
        &mut rows,
        "`POST /channel/chatToken/create` at 2,000 req/s",
        format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            chat_fixed.p50_ms, chat_fixed.p99_ms
        ),
        "p99 ≤ 10 ms",
        Some(chat_fixed.p99_ms <= 10.0),
    );

    for (label, sid) in [("live", &live_sid), ("offline", &offline_sid)] {
        let request = get(
            format!("/metrics/{resource_id}/streamSessions/{sid}"),
            Some(&hot.token),
        );
        let load = oha::run(&oha_bin, &request, &throughput_args).await?;
        row(
            &mut rows,
            format!("`GET /metrics/:id/streamSessions/:sid` ({label}), 64 connections"),
            format!(
                "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({:.1} % 2xx)",
                load.rps,
                load.p50_ms,
                load.p99_ms,
                load.ok_ratio * 100.0
            ),
            "—",
            None,
        );
    }

    // ------------------------------------------------------------------ ingest
    let ingest_channels: Vec<String> = arns.iter().skip(50).take(600).cloned().collect();
    let through = ingest::throughput(sender.clone(), &streams, &ingest_channels).await?;
    row(
        &mut rows,
        "Event ingest, 32 senders, 20 % duplicates",
        format!(
            "{:.0} events/s ({} events, {} deliveries, p99 {:.1} ms, {} failed)",
            through.per_sec, through.events, through.deliveries, through.p99_ms, through.failed
        ),
        "≥ 500 events/s",
        Some(through.per_sec >= 500.0 && through.failed == 0),
    );
    row(
        &mut rows,
        "Ingest check: stored state vs `SessionSummary::from_events`",
        format!(
            "{} sessions: {} lost, {} duplicated, {} differ",
            through.sessions, through.lost, through.duplicated, through.mismatched
        ),
        "0 lost / 0 duplicated",
        Some(through.lost == 0 && through.duplicated == 0 && through.mismatched == 0),
    );
    let paced_channels: Vec<String> = arns.iter().skip(650).take(300).cloned().collect();
    let (p50, p99) = ingest::paced(sender.clone(), &paced_channels, 5).await?;
    row(
        &mut rows,
        "Event ingest at 200 events/s",
        format!("p50 {p50:.2} ms, p99 {p99:.2} ms"),
        "p99 ≤ 25 ms",
        Some(p99 <= 25.0),
    );

    // ------------------------------------------------------------------ journeys
    let n = 20usize;
    let started = Instant::now();
    let results: Vec<anyhow::Result<User>> =
        futures_util::StreamExt::collect(futures_util::StreamExt::buffer_unordered(
            futures_util::stream::iter((0..n).map(|_| journey.run("jrn"))),
            4,
        ))
        .await;
    let done = results.iter().filter(|r| r.is_ok()).count();
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        eprintln!("a journey failed: {e:#}");
    }
    row(
        &mut rows,
        "Full journey (register → confirm → sign in → create resources → page view), 4 at a time",
        format!(
            "{:.1} journeys/s ({done}/{n} completed)",
            done as f64 / started.elapsed().as_secs_f64()
        ),
        "—",
        None,
    );

    // ------------------------------------------------------------------ memory and readiness
    for (proc_, idle) in [(&api, api_idle), (&ingest_proc, ingest_idle)] {
        let (rss, hwm) = proc_.rss();
        row(
            &mut rows,
            format!("{} RSS idle / after the bench / peak", proc_.name),
            format!("{idle:.1} MB / {rss:.1} MB / {hwm:.1} MB"),
            "≤ 15 MB idle, ≤ 40 MB after",
            Some(idle <= 15.0 && rss <= 40.0 && hwm <= 40.0),
        );
        row(
            &mut rows,
            format!("{} time to ready", proc_.name),
            format!("{:.0} ms", proc_.ready.as_secs_f64() * 1000.0),
            "≤ 300 ms",
            Some(proc_.ready <= Duration::from_millis(300)),
        );
    }
    api.stop().await;
    ingest_proc.stop().await;
    local.stop().await;

    println!("{}", render(&rows, seconds));
    Ok(())
}

fn render(rows: &[Row], seconds: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## `make bench`\n");
    let _ = writeln!(out, "Rate limits lifted for the run (`RATE_LIMIT_<ACTION>=off` for every action). Services as separate processes on 127.0.0.1 against DynamoDB Local (in memory); 1,000 seeded channels, 50 live; oha {seconds} s per throughput run (64 connections), fixed-rate runs at 2,000 req/s. DynamoDB requests counted by a proxy in front of DynamoDB Local.\n");
    let _ = writeln!(
        out,
        "| Measure | Figure | Target | Met |\n|---|---|---|---|"
    );
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.what, r.figure, r.target, met
        );
    }
    out
}

/// `count` channels written through the repositories, as registration and first login write them.
async fn seed(channels: &ChannelsRepo, count: usize) -> anyhow::Result<Vec<String>> {
    let results: Vec<anyhow::Result<String>> =
        futures_util::StreamExt::collect(futures_util::StreamExt::buffer_unordered(
            futures_util::stream::iter((0..count).map(|i| seed_one(channels, i))),
            32,
        ))
        .await;
    results.into_iter().collect()
}

async fn seed_one(channels: &ChannelsRepo, i: usize) -> anyhow::Result<String> {
    let sub = uuid::Uuid::new_v4().to_string();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let resource: String = id.chars().take(12).collect();
    let username = format!("seed_{i:04}");
    let e = |e: &dyn std::fmt::Debug| anyhow!("{e:?}");
    channels
        .create_profile(&NewProfile {
            sub: sub.clone(),
            username: Username::parse(&username).map_err(|x| e(&x))?,
            email: Email::parse(&format!("{username}@example.com")).map_err(|x| e(&x))?,
            avatar: Avatar::parse("bear").map_err(|x| e(&x))?,
            color: Color::parse("blue").map_err(|x| e(&x))?,
        })
        .await?;
    let token = uuid::Uuid::new_v4().to_string();
    channels
        .claim_provisioning(&sub, &token, Duration::from_secs(60))
        .await?;
    let arn = format!("arn:aws:ivs:us-east-1:123456789012:channel/{resource}");
    channels
        .complete_provisioning(
            &sub,
            &token,
            &ChannelResources {
                channel_arn: ChannelArn::parse(&arn).map_err(|x| e(&x))?,
                chat_room_arn: ChatRoomArn::parse(&format!(
                    "arn:aws:ivschat:us-east-1:123456789012:room/{resource}"
                ))
                .map_err(|x| e(&x))?,
                ingest_endpoint: format!("{resource}.global-contribute.live-video.net"),
                playback_url: format!(
                    "https://{resource}.us-east-1.playback.live-video.net/api/video/v1/x.m3u8"
                ),
                stream_key_arn: format!("arn:aws:ivs:us-east-1:123456789012:stream-key/{resource}"),
                stream_key_value: format!("sk_us-east-1_{id}"),
                tracking_id: resource.to_lowercase(),
                channel_asset_id: uuid::Uuid::new_v4().to_string(),
            },
        )
        .await?;
    Ok(arn)
}

struct User {
    username: String,
    token: String,
    sub: String,
}

/// The SPA's sign-up journey against the benched API and the emulator's Cognito.
struct Journey {
    http: reqwest::Client,
    api: String,
    emulator: String,
    client_id: String,
}

impl Journey {
    async fn cognito(&self, op: &str, body: Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}/", self.emulator))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{op}"),
            )
            .body(body.to_string())
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "{op}: {}", r.status());
        Ok(r.json().await?)
    }

    async fn run(&self, prefix: &str) -> anyhow::Result<User> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let username = format!("{prefix}_{}", id.chars().take(10).collect::<String>());
        let email = format!("{username}@example.com");
        self.http
            .post(format!("{}/channel/register", self.api))
            .json(&json!({"username": username, "email": email, "password": PASSWORD, "confirmPassword": PASSWORD, "avatar": "bear", "color": "blue"}))
            .send()
            .await?
            .error_for_status()?;
        let message: Value = self
            .http
            .get(format!("{}/_emulator/outbox/{email}/latest", self.emulator))
            .send()
            .await?
            .json()
            .await?;
        let code = message
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.cognito(
            "ConfirmSignUp",
            json!({"ClientId": self.client_id, "Username": username, "ConfirmationCode": code}),
        )
        .await?;
        let auth = self
            .cognito("InitiateAuth", json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": self.client_id, "AuthParameters": {"USERNAME": username, "PASSWORD": PASSWORD}, "ClientMetadata": {"submittedUsername": username}}))
            .await?;
        let token = auth
            .pointer("/AuthenticationResult/AccessToken")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let _ = self
            .http
            .get(format!("{}/channel", self.api))
            .header("Authorization", &token)
            .send()
            .await?;
        self.http
            .post(format!("{}/channel/resources/create", self.api))
            .header("Authorization", &token)
            .json(&json!({"username": username, "email": email}))
            .send()
            .await?
            .error_for_status()?;
        self.http
            .get(format!("{}/channels/{username}", self.api))
            .send()
            .await?
            .error_for_status()?;
        let user: Value = self
            .cognito("GetUser", json!({"AccessToken": token}))
            .await?;
        let sub = user
            .get("UserAttributes")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| x.get("Name") == Some(&json!("sub"))))
            .and_then(|x| x.get("Value"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(User {
            username,
            token,
            sub,
        })
    }
}
