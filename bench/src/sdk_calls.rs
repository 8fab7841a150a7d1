//! `ugc-bench sdk-calls`: what one DynamoDB call costs the caller, alone: creates the bench tables
//! in `BENCH_DDB` (if missing), writes one profile, then makes `SDK_CALLS` (default 5,000)
//! sequential strongly consistent GetItems with a client over the services' HTTP client
//! ([`crate::platform::dynamo_client`]), and prints this process's CPU per call. For
//! profiling the SDK path (`perf record -g -p <pid>`) without the rest of the bench.

use std::time::Instant;

use ugc_domain::{Avatar, Color, Email, Username};
use ugc_dynamo::{ChannelsRepo, NewProfile, TableNames};

pub async fn run() -> anyhow::Result<()> {
    let ddb = crate::platform::var("BENCH_DDB")?;
    let calls: u32 = std::env::var("SDK_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000);
    let client = crate::platform::dynamo_client(&ddb).await;
    let tables = TableNames::with_prefix("sdkcalls-");
    ugc_dynamo::tables::create_tables(&client, &tables).await?;
    let setup = ChannelsRepo::new(client, tables.channels.clone());
    let sub = uuid::Uuid::new_v4().to_string();
    let name: String = format!("sdk_{}", uuid::Uuid::new_v4().simple())
        .chars()
        .take(20)
        .collect();
    let e = |e: &dyn std::fmt::Debug| anyhow::anyhow!("{e:?}");
    setup
        .create_profile(&NewProfile {
            sub: sub.clone(),
            username: Username::parse(&name).map_err(|x| e(&x))?,
            email: Email::parse(&format!("{name}@example.com")).map_err(|x| e(&x))?,
            avatar: Avatar::parse("bear").map_err(|x| e(&x))?,
            color: Color::parse("blue").map_err(|x| e(&x))?,
        })
        .await?;
    let multi = std::env::var("SDK_RUNTIME").is_ok_and(|r| r == "multi");
    // A client of its own (its own connection pool), so its connections live on the runtime
    // that measures.
    let table = tables.channels.clone();
    let run = async move {
        let repo = ChannelsRepo::new(crate::platform::dynamo_client(&ddb).await, table);
        let sub = sub.as_str();
        for _ in 0..100 {
            repo.get(sub).await?;
        }
        eprintln!(
            "pid {}: {calls} sequential GetItems ({} runtime)",
            std::process::id(),
            if multi {
                "multi-thread"
            } else {
                "current-thread"
            }
        );
        let cpu_before = crate::procs::cpu_seconds(Some(std::process::id()));
        let started = Instant::now();
        for _ in 0..calls {
            anyhow::ensure!(repo.get(sub).await?.is_some(), "profile missing");
        }
        let wall = started.elapsed().as_secs_f64() / f64::from(calls) * 1e6;
        let cpu = (crate::procs::cpu_seconds(Some(std::process::id())) - cpu_before)
            / f64::from(calls)
            * 1e6;
        println!("GetItem: {cpu:.0} µs CPU per call, wall {wall:.0} µs per call ({calls} calls)");
        Ok(())
    };
    if multi {
        run.await
    } else {
        on_worker_runtime(run).await
    }
}

/// Runs `work` on a current-thread Tokio runtime of its own thread, as the services' handlers run
/// (each actix-web worker is a current-thread runtime): on the multi-thread runtime of `main`,
/// every SDK call also pays for waking another worker thread (the connection task), which the
/// services do not.
pub async fn on_worker_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(work)
    })
    .await?
}
