//! `docs/configuration.md` is rendered from the variables each service and Lambda declares next to
//! its parser (`env_vars!`); this fails when it is stale.

use std::path::PathBuf;

use ugc_web::env::{markdown_table, EnvVar};

const HEADER: &str = "\
# Configuration reference

<!-- Generated from the `env_vars!` declarations in the code; do not edit by hand. Regenerate with
     `UPDATE_CONFIG_DOCS=1 cargo test -p ugc-local config_docs`. -->

Every service and Lambda is configured by environment variables, read and checked once at start-up:
a missing or malformed value stops the process with a one-line message that names the variable
(exit status 2 for the services). A blank value counts as unset. Upstream's names are kept, so an
existing deployment can swap its containers, and local and production differ only in these values.

Not listed here because the libraries read them: the AWS SDK settings (`AWS_REGION`, credentials,
and the endpoints `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`) and `RUST_LOG` (log filter).
In a deployment the CDK app sets the variables below from the stage settings in
`deploy/config/<stage>.json` (`docs/infra.md`). The variables of the make targets (`UGC_DYNAMODB_PORT`,
`SEED_COUNT`, ...) are in `docs/local-platform.md`, and the standalone emulator lists its own with
`ugc-emulator --help`.
";

struct Section {
    title: &'static str,
    intro: &'static str,
    vars: &'static [EnvVar],
}

fn sections() -> Vec<Section> {
    vec![
        Section {
            title: "## Every HTTP service (channels, metrics, event-ingest, api)",
            intro: "Read by `ugc_web::CommonConfig` (`crates/web/src/config.rs`).",
            vars: ugc_web::config::var::ALL,
        },
        Section {
            title: "### Rate limits",
            intro: "Per action, per caller (the token's user, else the client IP), in memory per \
                    task (`crates/web/src/rate_limit.rs`). A budget `<n>/<seconds>` allows a burst \
                    of `n`, refilled evenly over `seconds`; `off` lifts it.",
            vars: ugc_web::rate_limit::var::ALL,
        },
        Section {
            title: "## channels",
            intro: "`services/channels/src/config.rs`.",
            vars: ugc_channels::config::var::ALL,
        },
        Section {
            title: "## metrics",
            intro: "`services/metrics/src/config.rs`. Exactly one of the two key variables is set.",
            vars: ugc_metrics::config::var::ALL,
        },
        Section {
            title: "## api (the combined container)",
            intro:
                "No variables of its own: `SERVICE_NAME` selects the route groups, and only the \
                    settings of the mounted groups (channels, metrics above) are required.",
            vars: &[],
        },
        Section {
            title: "## event-ingest",
            intro: "`services/event-ingest/src/config.rs`. One of `INGEST_SECRET` and \
                    `INGEST_SECRET_ARN` is required; the value wins when both are set.",
            vars: ugc_event_ingest::config::var::ALL,
        },
        Section {
            title: "## Lambda functions (`services/triggers`)",
            intro: "`pre-authentication` and `asset-version-dlq-logger` read no settings.",
            vars: &[],
        },
        Section {
            title: "### pre-sign-up",
            intro: "Cognito PreSignUp (`services/triggers/src/pre_sign_up.rs`).",
            vars: ugc_triggers::pre_sign_up::var::ALL,
        },
        Section {
            title: "### custom-message",
            intro: "Cognito CustomMessage (`services/triggers/src/custom_message.rs`).",
            vars: ugc_triggers::custom_message::var::ALL,
        },
        Section {
            title: "### asset-version-updater",
            intro: "S3 → SQS → Lambda (`services/triggers/src/asset_version.rs`).",
            vars: ugc_triggers::asset_version::var::ALL,
        },
        Section {
            title: "### cleanup-unverified-users",
            intro: "Scheduled (`services/triggers/src/cleanup.rs`).",
            vars: ugc_triggers::cleanup::var::ALL,
        },
        Section {
            title: "## Local platform (`ugc-local serve`, `make run`)",
            intro: "`services/local/src/config.rs`. The platform computes the services' wiring \
                    (tables, pool, endpoints, secrets) itself; every other variable the services \
                    declare above passes through from the environment unchanged.",
            vars: ugc_local::config::var::ALL,
        },
    ]
}

fn render() -> String {
    let mut out = String::from(HEADER);
    for section in sections() {
        out.push('\n');
        out.push_str(section.title);
        out.push_str("\n\n");
        out.push_str(
            &section
                .intro
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        );
        out.push('\n');
        if !section.vars.is_empty() {
            out.push('\n');
            out.push_str(&markdown_table(section.vars));
        }
    }
    out
}

#[test]
fn config_docs_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let generated = render();
    if std::env::var_os("UPDATE_CONFIG_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == generated,
        "{} is stale; regenerate it with: UPDATE_CONFIG_DOCS=1 cargo test -p ugc-local config_docs",
        path.display()
    );
}

#[test]
fn config_docs_declarations_are_unique_and_described() {
    for section in sections() {
        let mut names: Vec<&str> = section.vars.iter().map(|v| v.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(
            before,
            names.len(),
            "{}: a variable is declared twice",
            section.title
        );
        for var in section.vars {
            assert!(
                !var.description.trim().is_empty(),
                "{} has no description",
                var.name
            );
        }
    }
}
