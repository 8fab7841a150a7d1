//! `ugc-local`: the local platform (`make run`), and the tools that drive it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ugc_local::client::{Client, Platform};
use ugc_local::seed::{SeedOptions, PASSWORD};
use ugc_local::{banner, LocalConfig};
use ugc_web::env::Vars;
use ugc_web::CommonConfig;

const USAGE: &str = "\
Usage:
  ugc-local [serve]                       start the platform on 127.0.0.1 (Ctrl-C stops it)
  ugc-local seed [--count N] [--offline N] [--prefix NAME]
                                          demo users, channels, follows, live and past sessions
                                          (SEED_COUNT, default 50; OFFLINE_SESSION_COUNT, default 1)
  ugc-local stream <username>             publish the test pattern over RTMP to a user's channel
                                          (real video: events, HLS playback, metrics; Ctrl-C stops)
  ugc-local stream <username> [start|stop|starve|recover|breach|fail]
                                          drive the broadcast simulator on a user's channel

serve reads UGC_API_PORT (8080), UGC_INGEST_PORT (8090), UGC_EMULATOR_PORT (4566),
UGC_DYNAMODB_ENDPOINT, UGC_DATA_DIR (.local), UGC_TABLE_PREFIX, ... (see the README).
seed and stream find the running platform in <UGC_DATA_DIR>/platform.json.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest.to_vec()),
        None => ("serve", Vec::new()),
    };
    if matches!(command, "help" | "-h" | "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if !matches!(command, "serve" | "seed" | "stream") {
        return Failure::Usage(format!("unknown command {command:?}")).report();
    }
    if command == "serve" && std::env::var_os("RUST_LOG").is_none() {
        // Before any thread exists. Request logs stay; the SDKs' and servers' chatter goes.
        std::env::set_var(
            "RUST_LOG",
            "info,actix_server=warn,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_dynamodb=warn",
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return Failure::Runtime(format!("cannot start a runtime: {e}")).report(),
    };
    let result = runtime.block_on(async move {
        match command {
            "seed" => seed(&rest).await,
            "stream" => stream(&rest).await,
            _ => serve().await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

enum Failure {
    Usage(String),
    Runtime(String),
}

impl Failure {
    /// Prints the failure; the exit status is 2 (after the usage) for a wrong command line.
    fn report(self) -> ExitCode {
        match self {
            Self::Usage(message) => {
                eprintln!("ugc-local: {message}\n\n{USAGE}");
                ExitCode::from(2)
            }
            Self::Runtime(message) => {
                eprintln!("ugc-local: {message}");
                ExitCode::FAILURE
            }
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Runtime(format!("{e:#}"))
    }
}

fn data_dir() -> PathBuf {
    std::env::var_os(ugc_local::config::var::UGC_DATA_DIR.name)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(".local"), PathBuf::from)
}

fn platform_file() -> PathBuf {
    data_dir().join("platform.json")
}

async fn serve() -> Result<(), Failure> {
    let started = Instant::now();
    let mut config = LocalConfig::from_env().map_err(|e| Failure::Runtime(e.to_string()))?;
    // Every local user shares 127.0.0.1, so the per-IP sign-up budget (10 per 10 minutes) is
    // raised unless set explicitly; `make seed` registers its users through the API.
    if !config
        .passthrough
        .iter()
        .any(|(k, _)| k == "RATE_LIMIT_SIGN_UP")
    {
        config
            .passthrough
            .push(("RATE_LIMIT_SIGN_UP".to_owned(), "1000/600".to_owned()));
    }
    let mut pairs = config.passthrough.clone();
    pairs.push(("SERVICE_NAME".to_owned(), "local".to_owned()));
    if !pairs.iter().any(|(k, _)| k == "LOG_FORMAT") {
        pairs.push(("LOG_FORMAT".to_owned(), "text".to_owned()));
    }
    // A one-line metrics summary per service every 10 s while traffic flows.
    if !pairs.iter().any(|(k, _)| k == "METRICS_LOG_INTERVAL") {
        pairs.push(("METRICS_LOG_INTERVAL".to_owned(), "10s".to_owned()));
    }
    let common = CommonConfig::from_vars(&Vars::from_pairs(pairs))
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let telemetry =
        ugc_web::telemetry::init(&common).map_err(|e| Failure::Runtime(format!("logging: {e}")))?;

    let mut running = ugc_local::start(config)
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let dir = data_dir();
    let platform = Platform::of(&running);
    platform.save(&platform_file())?;
    let env_path = dir.join("spa.env");
    std::fs::write(&env_path, banner::env_file(&running))
        .map_err(|e| Failure::Runtime(format!("writing {}: {e}", env_path.display())))?;

    println!(
        "\n{}   (ready in {:.1}s; SPA settings also in {})\n",
        running.banner(),
        started.elapsed().as_secs_f64(),
        env_path.display()
    );

    let reason = tokio::select! {
        () = shutdown_signal() => "signal received".to_owned(),
        reason = running.stopped() => reason,
    };
    eprintln!("ugc-local: {reason}; stopping");
    running.shutdown().await;
    let _ = std::fs::remove_file(platform_file());
    telemetry.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `--name value` pairs, and the positional arguments.
type Parsed = (Vec<(String, String)>, Vec<String>);

/// `--name value` options and positional arguments.
fn options(args: &[String], names: &[&str]) -> Result<Parsed, Failure> {
    let mut found = Vec::new();
    let mut positional = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some((name, value)) = arg.split_once('=').filter(|_| arg.starts_with("--")) {
            if !names.contains(&name) {
                return Err(Failure::Usage(format!("unknown option {name}")));
            }
            found.push((name.to_owned(), value.to_owned()));
        } else if names.contains(&arg.as_str()) {
            let value = iter
                .next()
                .ok_or_else(|| Failure::Usage(format!("{arg} needs a value")))?;
            found.push((arg.clone(), value.clone()));
        } else if arg.starts_with("--") {
            return Err(Failure::Usage(format!("unknown option {arg}")));
        } else {
            positional.push(arg.clone());
        }
    }
    Ok((found, positional))
}

fn number(value: Option<String>, what: &str, default: usize) -> Result<usize, Failure> {
    match value.filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| Failure::Usage(format!("{what} must be a whole number ({v:?})"))),
    }
}

async fn seed(args: &[String]) -> Result<(), Failure> {
    let (opts, positional) = options(args, &["--count", "--offline", "--prefix"])?;
    if let Some(extra) = positional.first() {
        return Err(Failure::Usage(format!("unexpected argument {extra:?}")));
    }
    let get = |name: &str, env: &str| {
        opts.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(env).ok())
    };
    let defaults = SeedOptions::default();
    let options = SeedOptions {
        count: number(
            get("--count", "SEED_COUNT"),
            "--count / SEED_COUNT",
            defaults.count,
        )?,
        offline: number(
            get("--offline", "OFFLINE_SESSION_COUNT"),
            "--offline / OFFLINE_SESSION_COUNT",
            defaults.offline,
        )?,
        prefix: get("--prefix", "SEED_PREFIX")
            .filter(|p| !p.is_empty())
            .unwrap_or(defaults.prefix),
    };
    let client = Client::new(Platform::load(&platform_file())?)?;
    let started = Instant::now();
    println!(
        "seeding {} users ({} offline with a past session) ...",
        options.count,
        options.offline.min(options.count)
    );
    let users = ugc_local::seed::run(&client, &options).await?;
    let live = users.iter().filter(|u| u.live).count();
    for user in &users {
        println!(
            "  {:<12} {:<24} {:<10} {:<10} {}",
            user.username,
            user.email,
            user.avatar,
            user.color,
            if user.live { "live" } else { "offline" }
        );
    }
    println!(
        "seeded {} users in {:.1}s: {live} live; password for all: {PASSWORD}",
        users.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "directory: curl -s '{}/channels?isLive=true'",
        client.platform.api_url
    );
    Ok(())
}

async fn stream(args: &[String]) -> Result<(), Failure> {
    let (_, positional) = options(args, &[])?;
    let (username, action) = match positional.as_slice() {
        [user] => (user.clone(), "publish".to_owned()),
        [user, action] => (user.clone(), action.clone()),
        _ => return Err(Failure::Usage("stream needs a username".to_owned())),
    };
    if action == "publish" {
        let client = Client::new(Platform::load(&platform_file())?)?;
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        ugc_local::stream::publish(&client, &username, stop).await?;
        return Ok(());
    }
    if !ugc_local::stream::ACTIONS.contains(&action.as_str()) {
        return Err(Failure::Usage(format!("unknown action {action:?}")));
    }
    let client = Client::new(Platform::load(&platform_file())?)?;
    let out = ugc_local::stream::run(&client, &username, &action).await?;
    println!(
        "{action}: {} (stream {}, {})",
        out.channel,
        out.stream_id.as_deref().unwrap_or("-"),
        if out.live { "live" } else { "offline" }
    );
    for event in &out.events {
        println!("  event → event-ingest: {event}");
    }
    let api = &client.platform.api_url;
    println!("channel page: curl -s {api}/channels/{username}");
    println!("directory:    curl -s '{api}/channels?isLive=true'");
    Ok(())
}
