//! A counting HTTP/1.1 proxy in front of DynamoDB Local: the API process is pointed at it, so every
//! DynamoDB request the service makes is seen here. Counting at the wire (not in the service) needs
//! no hook in production code and counts exactly what DynamoDB would bill: each request's
//! `X-Amz-Target` and, for the hot-channel figure, whether its body names the hot channel's keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
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

/// One HTTP/1.1 message: the head (up to the blank line) and a `Content-Length` body. Reads the
/// head line by line from the buffer (a byte-at-a-time read made the proxy itself the
/// bottleneck of the routes that call DynamoDB).
async fn read_message(
    reader: &mut BufReader<impl tokio::io::AsyncRead + Unpin>,
) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut head = Vec::with_capacity(1024);
    let mut length = 0usize;
    loop {
        let start = head.len();
        if reader.read_until(b'\n', &mut head).await? == 0 {
            return Ok(None);
        }
        let line = head.get(start..).unwrap_or_default();
        if line == b"\r\n" {
            break;
        }
        if line.len() > 15
            && line
                .get(..15)
                .is_some_and(|n| n.eq_ignore_ascii_case(b"content-length:"))
        {
            length = std::str::from_utf8(line.get(15..).unwrap_or_default())
                .context("content-length")?
                .trim()
                .parse()
                .context("content-length")?;
        }
        anyhow::ensure!(head.len() < 64 * 1024, "header too large");
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    Ok(Some((head, body)))
}

type Upstream = (
    BufReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
);

async fn connect(upstream: &str) -> anyhow::Result<Upstream> {
    let server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    let (read, write) = server.into_split();
    Ok((BufReader::new(read), write))
}

async fn serve(client: TcpStream, upstream: &str, counters: &Counters) -> anyhow::Result<()> {
    // One write per message and no Nagle: a head and a body written apart, each waiting for the
    // peer's delayed ACK, added tens of milliseconds per call.
    client.set_nodelay(true)?;
    let (client_read, mut client_write) = client.into_split();
    let mut client_read = BufReader::new(client_read);
    let mut server: Option<Upstream> = None;
    while let Some((head, body)) = read_message(&mut client_read).await? {
        count(&head, &body, counters);
        let request = [head, body].concat();
        // An upstream connection that closed while idle is replaced (once) rather than closing
        // the client's connection under a request it already sent.
        let mut response = None;
        for _ in 0..2 {
            let (server_read, server_write) = match server.as_mut() {
                Some(s) => s,
                None => server.insert(connect(upstream).await?),
            };
            if server_write.write_all(&request).await.is_ok() {
                if let Ok(Some(message)) = read_message(server_read).await {
                    response = Some(message);
                    break;
                }
            }
            server = None;
        }
        let Some((head, body)) = response else {
            break;
        };
        client_write.write_all(&[head, body].concat()).await?;
    }
    Ok(())
}

fn count(head: &[u8], body: &[u8], counters: &Counters) {
    counters.total.fetch_add(1, Ordering::Relaxed);
    let target = head
        .split(|b| *b == b'\n')
        .find_map(|line| {
            let name = line.get(..13)?;
            name.eq_ignore_ascii_case(b"x-amz-target:")
                .then(|| line.get(13..).unwrap_or_default())
        })
        .unwrap_or_default();
    let target = String::from_utf8_lossy(target);
    let op = target.trim().rsplit('.').next().unwrap_or_default();
    let is_read = matches!(
        op,
        "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems"
    );
    if !is_read {
        return;
    }
    counters.reads.fetch_add(1, Ordering::Relaxed);
    let hot = counters.hot_keys.lock().is_ok_and(|keys| {
        !keys.is_empty() && {
            let body = String::from_utf8_lossy(body);
            keys.iter().any(|k| body.contains(k.as_str()))
        }
    });
    if hot {
        counters.hot_reads.fetch_add(1, Ordering::Relaxed);
    }
}
