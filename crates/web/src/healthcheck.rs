//! `<binary> healthcheck`: the container health check for images without curl. It sends
//! `GET /status` to `127.0.0.1:$PORT` over plain HTTP/1.1 and exits 0 on a 200, 1 otherwise.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::config::DEFAULT_PORT;

pub const TIMEOUT: Duration = Duration::from_secs(3);

/// When `argv[1]` is `healthcheck`, runs the check and exits; otherwise returns. Call it first
/// thing in `main`, before any runtime or logging is set up.
pub fn run_if_requested() {
    if std::env::args().nth(1).as_deref() != Some("healthcheck") {
        return;
    }
    let port = match std::env::var(crate::config::var::PORT.name) {
        Ok(p) if !p.trim().is_empty() => match p.trim().parse::<u16>() {
            Ok(port) => port,
            Err(_) => {
                eprintln!("healthcheck: invalid PORT {p:?}");
                std::process::exit(1)
            }
        },
        _ => DEFAULT_PORT,
    };
    match check(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), TIMEOUT) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("healthcheck: {e}");
            std::process::exit(1)
        }
    }
}

/// Sends `GET /status` to `addr`; `Ok` when the answer is a 200.
pub fn check(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /status HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: ugc-healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    // The status line is all we need; read until it is complete.
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 64];
    while !buf.contains(&b'\n') && buf.len() < 1024 {
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&buf);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some("200")) if version.starts_with("HTTP/1.") => Ok(()),
        _ => Err(format!("unexpected answer {status_line:?}")),
    }
}
