//! `ugc-emulator`: runs the local AWS emulator, or drives its broadcast simulator.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use ugc_emulator::core::config::EventTarget;
use ugc_emulator::{Emulator, EmulatorConfig};

const DEFAULT_PORT: u16 = 4566;
const DEFAULT_INGEST_HEADER: &str = "x-ugc-ingest-secret";

const USAGE: &str = "\
Usage:
  ugc-emulator serve [--port N] [--data-dir DIR] [--event-target URL] [--chaos-events]
  ugc-emulator broadcast <start|stop|starve|recover|breach|fail> <channel> [--endpoint URL]

serve      Runs the emulated AWS services on 127.0.0.1.
           --port           UGC_EMULATOR_PORT (default 4566)
           --data-dir       UGC_EMULATOR_DATA_DIR (default: state kept in memory only)
           --event-target   UGC_EMULATOR_EVENT_TARGET_URL: where IVS events are pushed
                            (the auth header is INGEST_SECRET_HEADER, default x-ugc-ingest-secret,
                            carrying INGEST_SECRET)
           --chaos-events   UGC_EMULATOR_CHAOS_EVENTS=1: deliver every event twice, out of order
           Also read: AWS_REGION (us-east-1), UGC_EMULATOR_ACCOUNT_ID (123456789012),
           AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (test / test), the credentials SigV4
           signatures are checked against.
broadcast  Simulates an encoder on a channel (its ARN, resource id or name).
           --endpoint       UGC_EMULATOR_ENDPOINT, else AWS_ENDPOINT_URL,
                            else http://127.0.0.1:4566
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "serve" => serve(rest),
        "broadcast" => broadcast(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Failure::Usage(format!("unknown command {other:?}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("ugc-emulator: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("ugc-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command failed: a wrong command line (usage is shown) or a failure while running.
enum Failure {
    Usage(String),
    Runtime(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Usage(message)
    }
}

/// Command-line options: `--name value` pairs and `--flag`s, then positional arguments.
struct Args {
    options: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

impl Args {
    fn parse(args: &[String], flags: &[&str], valued: &[&str]) -> Result<Self, String> {
        let mut options = Vec::new();
        let mut positional = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if let Some((name, value)) = arg.split_once('=').filter(|_| arg.starts_with("--")) {
                if !valued.contains(&name) {
                    return Err(format!("unknown option {name}"));
                }
                options.push((name.to_owned(), Some(value.to_owned())));
            } else if valued.contains(&arg.as_str()) {
                let value = iter.next().ok_or_else(|| format!("{arg} needs a value"))?;
                options.push((arg.clone(), Some(value.clone())));
            } else if flags.contains(&arg.as_str()) {
                options.push((arg.clone(), None));
            } else if arg.starts_with("--") {
                return Err(format!("unknown option {arg}"));
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Self {
            options,
            positional,
        })
    }

    /// The option's value, else the first environment variable that is set and not empty.
    fn value(&self, name: &str, env: &[&str]) -> Option<String> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
            .or_else(|| {
                env.iter()
                    .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
            })
    }

    fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }
}

fn serve(args: &[String]) -> Result<(), Failure> {
    let args = Args::parse(
        args,
        &["--chaos-events"],
        &["--port", "--data-dir", "--event-target"],
    )?;
    if let Some(extra) = args.positional.first() {
        return Err(Failure::Usage(format!("unexpected argument {extra:?}")));
    }
    let port = match args.value("--port", &["UGC_EMULATOR_PORT"]) {
        None => DEFAULT_PORT,
        Some(port) => port
            .parse()
            .map_err(|_| format!("invalid port {port:?} (--port / UGC_EMULATOR_PORT)"))?,
    };
    let defaults = EmulatorConfig::default();
    let event_target = args
        .value("--event-target", &["UGC_EMULATOR_EVENT_TARGET_URL"])
        .map(|url| EventTarget {
            url,
            header_name: env_or("INGEST_SECRET_HEADER", DEFAULT_INGEST_HEADER),
            header_value: env_or("INGEST_SECRET", ""),
        });
    let chaos = args.flag("--chaos-events")
        || std::env::var("UGC_EMULATOR_CHAOS_EVENTS").is_ok_and(|v| v == "1" || v == "true");
    let config = EmulatorConfig {
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        data_dir: args
            .value("--data-dir", &["UGC_EMULATOR_DATA_DIR"])
            .map(PathBuf::from),
        region: env_or("AWS_REGION", &defaults.region),
        account_id: env_or("UGC_EMULATOR_ACCOUNT_ID", &defaults.account_id),
        access_key_id: env_or("AWS_ACCESS_KEY_ID", &defaults.access_key_id),
        secret_access_key: env_or("AWS_SECRET_ACCESS_KEY", &defaults.secret_access_key),
        event_target,
    };

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let result: Result<(), String> = actix_web::rt::System::new().block_on(async move {
        let data_dir = config.data_dir.clone();
        let target = config.event_target.as_ref().map(|t| t.url.clone());
        let emulator = Emulator::build(config).map_err(|e| format!("cannot start: {e:#}"))?;
        emulator.shared().events.set_chaos(chaos);
        let endpoint = format!("http://127.0.0.1:{}", emulator.port());
        println!("ugc-emulator listening on {endpoint}");
        println!("AWS_ENDPOINT_URL={endpoint}");
        match data_dir {
            Some(dir) => println!("state: {}", dir.display()),
            None => println!("state: in memory (use --data-dir to keep it)"),
        }
        if let Some(url) = target {
            println!(
                "IVS events → {url}{}",
                if chaos { " (chaos mode)" } else { "" }
            );
        }
        emulator
            .run_until_stopped()
            .await
            .map_err(|e| format!("server failed: {e}"))
    });
    result.map_err(Failure::Runtime)
}

fn broadcast(args: &[String]) -> Result<(), Failure> {
    let args = Args::parse(args, &[], &["--endpoint"])?;
    let [action, channel] = args.positional.as_slice() else {
        return Err(Failure::Usage(
            "broadcast needs an action and a channel".to_owned(),
        ));
    };
    if ugc_emulator::ivs::BroadcastAction::parse(action).is_none() {
        return Err(Failure::Usage(format!(
            "unknown broadcast action {action:?}"
        )));
    }
    let endpoint = args
        .value("--endpoint", &["UGC_EMULATOR_ENDPOINT", "AWS_ENDPOINT_URL"])
        .unwrap_or_else(|| format!("http://127.0.0.1:{DEFAULT_PORT}"));
    let url = format!("{}/_emulator/broadcast", endpoint.trim_end_matches('/'));
    let body = serde_json::json!({"channel": channel, "action": action});
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start a runtime: {e}")))?;
    let result: Result<(), String> = runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("cannot reach the emulator at {endpoint}: {e}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("cannot read the emulator's answer: {e}"))?;
        let pretty = serde_json::from_str::<serde_json::Value>(&text)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or(text);
        if status.is_success() {
            println!("{pretty}");
            Ok(())
        } else {
            Err(format!("the emulator answered {status}: {pretty}"))
        }
    });
    result.map_err(Failure::Runtime)
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}
