//! Runs the pinned `oha` and reads its JSON summary.

use anyhow::Context;
use serde_json::Value;

#[derive(Clone, Debug, Default)]
pub struct Load {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub ok_ratio: f64,
    /// Requests completed.
    pub requests: f64,
}

pub struct Request<'a> {
    pub url: String,
    pub method: &'a str,
    pub headers: Vec<String>,
    pub body: Option<String>,
}

/// `extra`: `-z 10s -c 64` (throughput) or `-n 10000 -q 2000 -c 64` (fixed rate).
pub async fn run(oha: &str, request: &Request<'_>, extra: &[&str]) -> anyhow::Result<Load> {
    let mut args: Vec<String> = vec![
        "--no-tui".into(),
        "--output-format".into(),
        "json".into(),
        "-m".into(),
        request.method.into(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    for h in &request.headers {
        args.push("-H".into());
        args.push(h.clone());
    }
    if let Some(body) = &request.body {
        args.push("-d".into());
        args.push(body.clone());
    }
    args.push(request.url.clone());
    let out = tokio::process::Command::new(oha)
        .args(&args)
        .output()
        .await
        .with_context(|| format!("running {oha}"))?;
    anyhow::ensure!(
        out.status.success(),
        "oha failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).context("oha's JSON output")?;
    let num = |p: &str| json.pointer(p).and_then(Value::as_f64).unwrap_or(0.0);
    let total: f64 = json
        .get("statusCodeDistribution")
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(Value::as_f64).sum())
        .unwrap_or(0.0);
    let ok: f64 = json
        .get("statusCodeDistribution")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with('2'))
                .filter_map(|(_, v)| v.as_f64())
                .sum()
        })
        .unwrap_or(0.0);
    Ok(Load {
        rps: num("/summary/requestsPerSec"),
        p50_ms: num("/latencyPercentiles/p50") * 1000.0,
        p99_ms: num("/latencyPercentiles/p99") * 1000.0,
        ok_ratio: if total > 0.0 { ok / total } else { 0.0 },
        requests: total,
    })
}
