//! A counting HTTP/1.1 proxy in front of DynamoDB Local: the API process is pointed at it, so every
//! DynamoDB request the service makes is seen here. Counting at the wire (not in the service) needs
//! no hook in production code and counts exactly what DynamoDB would bill: each request's
//! `X-Amz-Target` and, for the hot-channel figure, whether its body names the hot channel's keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
pub struct Counters {
    pub total: AtomicU64,
    pub reads: AtomicU64,
    pub hot_reads: AtomicU64,
    /// Strings that identify the hot channel in a request body (username, sub, channel ARN).
    pub hot_keys: Mutex<Vec<String>>,
}

impl Counters {
    pub fn reset(&self) {
        self.total.store(0, Ordering::SeqCst);
        self.reads.store(0, Ordering::SeqCst);
        self.hot_reads.store(0, Ordering::SeqCst);
    }
}

/// Starts the proxy on 127.0.0.1 (a free port); returns its URL.
pub async fn start(upstream: String, counters: Arc<Counters>) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counters = counters.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(client, &upstream, &counters).await {
                    tracing_free_log(&e);
                }
            });
        }
    });
    Ok(url)
}

fn tracing_free_log(e: &anyhow::Error) {
    if std::env::var_os("BENCH_DEBUG").is_some() {
        eprintln!("proxy: {e:#}");
    }
}

/// One HTTP/1.1 message: the head (up to the blank line) and a `Content-Length` body.
async fn read_message(
    reader: &mut BufReader<impl tokio::io::AsyncRead + Unpin>,
) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut head = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        if reader.read(&mut byte).await? == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&byte);
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        anyhow::ensure!(head.len() < 64 * 1024, "header too large");
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>())
        .transpose()
        .context("content-length")?
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    Ok(Some((head, body)))
}

async fn serve(client: TcpStream, upstream: &str, counters: &Counters) -> anyhow::Result<()> {
    let (client_read, mut client_write) = client.into_split();
    let mut client_read = BufReader::new(client_read);
    let server = TcpStream::connect(upstream).await?;
    let (server_read, mut server_write) = server.into_split();
    let mut server_read = BufReader::new(server_read);
    while let Some((head, body)) = read_message(&mut client_read).await? {
        count(&head, &body, counters);
        server_write.write_all(&head).await?;
        server_write.write_all(&body).await?;
        let Some((head, body)) = read_message(&mut server_read).await? else {
            break;
        };
        client_write.write_all(&head).await?;
        client_write.write_all(&body).await?;
    }
    Ok(())
}

fn count(head: &[u8], body: &[u8], counters: &Counters) {
    let head = String::from_utf8_lossy(head);
    let target = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-amz-target")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    counters.total.fetch_add(1, Ordering::Relaxed);
    let op = target.rsplit('.').next().unwrap_or_default();
    let is_read = matches!(
        op,
        "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems"
    );
    if !is_read {
        return;
    }
    counters.reads.fetch_add(1, Ordering::Relaxed);
    let body = String::from_utf8_lossy(body);
    let hot = counters
        .hot_keys
        .lock()
        .map(|keys| keys.iter().any(|k| body.contains(k.as_str())))
        .unwrap_or(false);
    if hot {
        counters.hot_reads.fetch_add(1, Ordering::Relaxed);
    }
}
