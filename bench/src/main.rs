//! `make bench` and `make soak`: the platform as separate processes on 127.0.0.1 (ugc-local for the
//! emulator and its wiring; the API and event-ingest each in their own process, measured). `make
//! bench` ([`bench`]) prints one markdown table with the targets beside the figures;
//! `make soak` ([`soak`]) drives mixed traffic for a bounded time and watches memory, descriptors
//! and latency per window. `scripts/bench.sh` and `scripts/soak.sh` run them.

mod bench;
mod ingest;
mod journey;
mod link_order;
mod oha;
mod platform;
mod procs;
mod proxy;
mod sdk_calls;
mod seed;
mod serve;
mod soak;
mod table;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("serve-api") => serve::api().await,
        Some("serve-ingest") => serve::ingest().await,
        Some("soak") => soak::run().await,
        Some("count-proxy") => count_proxy().await,
        Some("sdk-calls") => sdk_calls::run().await,
        Some("link-order") => link_order::run().await,
        _ => bench::run().await,
    }
}

/// `ugc-bench count-proxy <upstream>`: the counting proxy alone, for counting the DynamoDB calls of
/// another build's bench run: prints its URL, then every second the time (Unix ms) and the calls so
/// far (stderr), until killed.
async fn count_proxy() -> anyhow::Result<()> {
    let upstream = std::env::args()
        .nth(2)
        .ok_or_else(|| anyhow::anyhow!("usage: ugc-bench count-proxy <upstream url>"))?;
    let counters = std::sync::Arc::new(proxy::Counters::default());
    let url = proxy::start(upstream, counters.clone()).await?;
    println!("{url}");
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        eprintln!(
            "{now} {}",
            counters.total.load(std::sync::atomic::Ordering::SeqCst)
        );
    }
}
