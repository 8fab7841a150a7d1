//! `make bench` and `make soak`: the platform as separate processes on 127.0.0.1 (ugc-local for the
//! emulator and its wiring; the API and event-ingest each in their own process, measured). `make
//! bench` ([`bench`]) prints one markdown table with the targets beside the figures;
//! `make soak` ([`soak`]) drives mixed traffic for a bounded time and watches memory, descriptors
//! and latency per window. `scripts/bench.sh` and `scripts/soak.sh` run them.

mod bench;
mod ingest;
mod journey;
mod oha;
mod platform;
mod procs;
mod proxy;
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
        _ => bench::run().await,
    }
}
