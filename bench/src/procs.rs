//! Child processes of the bench: started with an environment, stopped by PID, measured from
//! `/proc/<pid>/status`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::process::{Child, Command};

pub struct Proc {
    pub name: &'static str,
    pub child: Child,
    pub url: String,
    /// First `/status` 200 after the spawn.
    pub ready: Duration,
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Spawns `program args` with `env`, then waits for `GET {url}/status` to answer 200.
pub async fn spawn(
    name: &'static str,
    program: &str,
    args: &[&str],
    env: &[(String, String)],
    url: String,
) -> anyhow::Result<Proc> {
    let log = std::fs::File::create(format!("{}/{name}.log", log_dir()))?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let http = reqwest::Client::new();
    let status = format!("{url}/status");
    loop {
        if let Ok(r) = http.get(&status).send().await {
            if r.status().is_success() {
                break;
            }
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "{name} not ready within 60 s (see {}/{name}.log)",
            log_dir()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(Proc {
        name,
        child,
        url,
        ready: started.elapsed(),
    })
}

pub fn log_dir() -> String {
    std::env::var("BENCH_LOG_DIR").unwrap_or_else(|_| "/tmp".to_owned())
}

/// `VmRSS` and `VmHWM` of a process, in MB.
pub fn rss_mb(pid: Option<u32>) -> (f64, f64) {
    let Some(pid) = pid else { return (0.0, 0.0) };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

impl Proc {
    pub fn rss(&self) -> (f64, f64) {
        rss_mb(self.child.id())
    }

    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SIGTERM first so the service drains; then make sure.
            let _ = Command::new("kill").arg(pid.to_string()).status().await;
            if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
                .await
                .is_err()
            {
                let _ = self.child.kill().await;
            }
        }
    }
}
