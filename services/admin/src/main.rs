//! `ugc-admin migrate`: see the library docs.

use std::process::ExitCode;

use ugc_admin::{parse_args, Command, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let (options, json) = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Migrate { options, json }) => (options, json),
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("ugc-admin: {err}\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    let tables = match ugc_admin::tables_from_env() {
        Ok(tables) => tables,
        Err(err) => {
            eprintln!("ugc-admin: {err}");
            return ExitCode::from(64);
        }
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let dynamo = ugc_dynamo::client_from_config(&sdk);
    let video = ugc_aws::VideoClient::new(&sdk);
    eprintln!(
        "migrating {} and {}{}",
        tables.channels,
        tables.streams,
        if options.dry_run {
            " (dry run: nothing is written)"
        } else {
            ""
        }
    );
    let progress = ugc_admin::progress_for_stderr();
    match ugc_admin::migrate(dynamo, &video, tables, options, progress).await {
        Ok(report) => {
            if json {
                println!("{}", report.to_json());
            } else {
                println!("{report}");
            }
            if ugc_admin::needs_attention(&report) {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!(
                "ugc-admin migrate failed: {err:#}\nrun it again: it resumes from its checkpoint"
            );
            ExitCode::FAILURE
        }
    }
}
