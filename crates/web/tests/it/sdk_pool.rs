//! The SDK HTTP client of the services (`ugc_web::sdk_metrics::http_client`) keeps one connection
//! pool per thread: calls made on one actix worker travel over that worker's own connections, never
//! over a connection another thread opened (and drives). Checked against a minimal HTTP/1.1 server
//! that counts the connections it accepts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::{Credentials, Region};

/// Which connection (numbered in the order accepted) carried each request, in arrival order.
type RequestLog = Arc<Mutex<Vec<usize>>>;

/// A keep-alive HTTP server answering every request with an empty `ListTables` result; returns its
/// URL and its request log.
fn fake_dynamodb() -> (String, RequestLog) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = RequestLog::default();
    let server_log = log.clone();
    std::thread::spawn(move || {
        for (connection, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let log = server_log.clone();
            std::thread::spawn(move || serve(stream, connection, &log));
        }
    });
    (url, log)
}

fn serve(stream: std::net::TcpStream, connection: usize, log: &RequestLog) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        log.lock().unwrap().push(connection);
        let answer = br#"{"TableNames":[]}"#;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        writer.write_all(head.as_bytes()).unwrap();
        writer.write_all(answer).unwrap();
    }
}

/// Three sequential calls on a current-thread runtime of this thread (as an actix worker makes them).
fn three_calls(runtime: &tokio::runtime::Runtime, client: &aws_sdk_dynamodb::Client) {
    for _ in 0..3 {
        runtime
            .block_on(client.list_tables().send())
            .expect("ListTables");
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn each_thread_calls_over_connections_of_its_own() {
    let (url, log) = fake_dynamodb();
    let sdk = current_thread().block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(ugc_web::sdk_metrics::http_client())
            .endpoint_url(url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load(),
    );
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    // Thread A calls first, then keeps running its runtime (which drives A's idle connection, as
    // an actix worker's runtime always runs) until thread B has called: a shared pool would hand B
    // that idle connection.
    let a_done = Arc::new(Barrier::new(2));
    let b_done = Arc::new(Barrier::new(2));
    let a = {
        let (client, a_done, b_done) = (client.clone(), a_done.clone(), b_done.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            three_calls(&runtime, &client);
            runtime
                .block_on(async move {
                    tokio::task::spawn_blocking(move || {
                        a_done.wait();
                        b_done.wait();
                    })
                    .await
                })
                .unwrap();
        })
    };
    let b = {
        let (client, a_done, b_done) = (client.clone(), a_done.clone(), b_done.clone());
        std::thread::spawn(move || {
            a_done.wait();
            let runtime = current_thread();
            three_calls(&runtime, &client);
            b_done.wait();
        })
    };
    a.join().unwrap();
    b.join().unwrap();
    // A's three requests came first, then B's. (Hyper may open a spare connection when a call
    // races the previous call's connection back into the pool, so only disjointness is certain.)
    let log = log.lock().unwrap().clone();
    let (a_connections, b_connections) = log.split_at(3);
    assert_eq!(log.len(), 6);
    assert!(
        !b_connections.iter().any(|c| a_connections.contains(c)),
        "B's calls must not use the connections of A's pool: requests by connection {log:?}"
    );
}
