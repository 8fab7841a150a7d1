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

/// CPU time (user + system) a process has used so far, in seconds (`/proc/<pid>/stat`).
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the ')'.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Open file descriptors of a process (`/proc/<pid>/fd`).
pub fn fd_count(pid: Option<u32>) -> usize {
    pid.and_then(|pid| std::fs::read_dir(format!("/proc/{pid}/fd")).ok())
        .map_or(0, Iterator::count)
}

impl Proc {
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id())
    }

    pub fn fds(&self) -> usize {
        fd_count(self.child.id())
    }
}
