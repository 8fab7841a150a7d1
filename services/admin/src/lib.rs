//! `ugc-admin`: operator commands, shipped as their own image and run as a one-off ECS task (the CDK
//! app's `Migrate` task definition) or locally (`make migrate`).
//!
//! A separate binary rather than a subcommand of a service: the migration needs permissions no
//! request-serving task should hold (`dynamodb:UpdateTable`, `ivs:ListStreams`, scans of both tables),
//! so it runs under its own task role; and the services' images stay free of its dependencies
//! (progress bar). It reads the services' own table variables, so one configuration serves both.
//!
//! ```text
//! ugc-admin migrate [--dry-run] [--json] [--max-capacity <units/s>] [--concurrency <n>] [--page-size <n>]
//! ```
//!
//! | Variable | Meaning |
//! |---|---|
//! | `CHANNELS_TABLE_NAME`, `STREAM_TABLE_NAME` | the tables to migrate (required) |
//! | AWS configuration chain | region, credentials; `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_IVS` locally |
//!
//! Exit status: 0 done, 2 done but names need an operator's decision (collisions, marker conflicts)
//! or sessions drifted, 1 failed (re-run: it resumes from its checkpoint), 64 bad usage.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use ugc_aws::VideoClient;
use ugc_dynamo::migrate::{MigrateOptions, Migration, MigrationReport, Progress};
use ugc_dynamo::TableNames;

pub const USAGE: &str =
    "usage: ugc-admin migrate [--dry-run] [--json] [--max-capacity <units/s, 0 = unpaced>] \
[--concurrency <n>] [--page-size <n>]
  reads CHANNELS_TABLE_NAME and STREAM_TABLE_NAME; see README \"Adopting an upstream deployment\"";

#[derive(Clone, Debug)]
pub enum Command {
    Migrate { options: MigrateOptions, json: bool },
    Help,
}

fn value<T: std::str::FromStr>(flag: &str, raw: Option<String>) -> Result<T, String> {
    let raw = raw.ok_or_else(|| format!("{flag} needs a value"))?;
    raw.parse()
        .map_err(|_| format!("{flag}: \"{raw}\" is not a valid value"))
}

/// Parses the arguments after the program name.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("migrate") => {}
        Some("-h" | "--help" | "help") | None => return Ok(Command::Help),
        Some(other) => return Err(format!("unknown command \"{other}\"")),
    }
    let mut options = MigrateOptions::default();
    let mut json = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => options.dry_run = true,
            "--json" => json = true,
            "--max-capacity" => {
                let units: f64 = value(&arg, args.next())?;
                if !(units.is_finite() && units >= 0.0) {
                    return Err("--max-capacity must be a number >= 0".into());
                }
                options.max_capacity = units;
            }
            "--concurrency" => {
                options.concurrency = value(&arg, args.next())?;
                if !(1..=64).contains(&options.concurrency) {
                    return Err("--concurrency must be between 1 and 64".into());
                }
            }
            "--page-size" => {
                options.page_size = value(&arg, args.next())?;
                if !(1..=1000).contains(&options.page_size) {
                    return Err("--page-size must be between 1 and 1000".into());
                }
            }
            other => return Err(format!("unknown option \"{other}\"")),
        }
    }
    Ok(Command::Migrate { options, json })
}

/// Reads the table names the services use.
pub fn tables_from_env() -> Result<TableNames, String> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{name} is required (the table the services use)"))
    };
    Ok(TableNames::new(
        var("CHANNELS_TABLE_NAME")?,
        var("STREAM_TABLE_NAME")?,
    ))
}

/// The channels IVS reports as broadcasting right now.
pub async fn live_channels(video: &VideoClient) -> anyhow::Result<HashSet<String>> {
    Ok(video
        .list_live_channels()
        .await?
        .iter()
        .map(ToString::to_string)
        .collect())
}

/// Runs the migration against `tables`, with the live set from IVS.
pub async fn migrate(
    dynamo: aws_sdk_dynamodb::Client,
    video: &VideoClient,
    tables: TableNames,
    options: MigrateOptions,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<MigrationReport> {
    let live = live_channels(video).await?;
    progress.note(&format!("IVS lists {} live channels", live.len()));
    let migration = Migration::new(dynamo, tables, options, live, progress);
    Ok(migration.run().await?)
}

/// True when the report needs an operator's attention (exit status 2).
pub fn needs_attention(report: &MigrationReport) -> bool {
    !report.collisions.is_empty()
        || !report.marker_conflicts.is_empty()
        || !report.drifted.is_empty()
}

/// A progress bar on a terminal, plain lines (at most one per 5 s per phase) otherwise.
pub fn progress_for_stderr() -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(BarProgress::default())
    } else {
        Arc::new(LineProgress::default())
    }
}

#[derive(Default)]
pub struct BarProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for BarProgress {
    fn phase(&self, name: &str, total: Option<u64>) {
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        let template = if total.is_some() {
            "{prefix:>9} [{bar:40}] {pos}/{len} {per_sec} eta {eta}"
        } else {
            "{prefix:>9} {spinner} {pos} items {per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut current) = self.bar.lock() {
            if let Some(previous) = current.replace(bar) {
                previous.finish();
            }
        }
    }

    fn advance(&self, items: u64) {
        if let Ok(current) = self.bar.lock() {
            if let Some(bar) = current.as_ref() {
                bar.inc(items);
            }
        }
    }

    fn note(&self, line: &str) {
        match self.bar.lock().ok().as_ref().and_then(|b| b.as_ref()) {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

#[derive(Default)]
pub struct LineProgress {
    state: Mutex<LineState>,
}

#[derive(Default)]
struct LineState {
    phase: String,
    total: Option<u64>,
    done: u64,
    last: Option<Instant>,
}

impl Progress for LineProgress {
    fn phase(&self, name: &str, total: Option<u64>) {
        if let Ok(mut state) = self.state.lock() {
            *state = LineState {
                phase: name.to_owned(),
                total,
                done: 0,
                last: Some(Instant::now()),
            };
        }
        match total {
            Some(total) => eprintln!("{name}: 0/{total}"),
            None => eprintln!("{name}: started"),
        }
    }

    fn advance(&self, items: u64) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.done += items;
        let due = state
            .last
            .is_none_or(|last| last.elapsed() >= Duration::from_secs(5));
        if due || state.total == Some(state.done) {
            state.last = Some(Instant::now());
            match state.total {
                Some(total) => eprintln!("{}: {}/{}", state.phase, state.done, total),
                None => eprintln!("{}: {}", state.phase, state.done),
            }
        }
    }

    fn note(&self, line: &str) {
        eprintln!("{line}");
    }
}
