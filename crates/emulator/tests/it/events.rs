//! The broadcast simulator's EventBridge push: envelopes, the auth header, retries, chaos mode.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use ugc_emulator::core::config::EventTarget;
use ugc_emulator::ivs::BroadcastAction;
use ugc_emulator::EmulatorConfig;

use crate::common::{self, TestEmulator};
use crate::ivs::simulate;

pub(crate) const HEADER: &str = "x-ugc-ingest-secret";
pub(crate) const SECRET: &str = "s3cret";

/// One request the receiver got: its auth header and its JSON body.
type Delivery = (Option<String>, Value);

/// A stand-in for event-ingest: records every request and answers with the scripted statuses
/// first, then 200.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    requests: Arc<Mutex<Vec<Delivery>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    pub(crate) fn start(listener: TcpListener, script: &[u16]) -> Self {
        let receiver = Self::default();
        receiver.script.lock().unwrap().extend(script);
        let state = receiver.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        receiver
    }

    pub(crate) fn requests(&self) -> Vec<Delivery> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..200 {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} deliveries, got {:?}", self.requests());
    }
}

async fn receive(
    receiver: web::Data<Receiver>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let header = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    receiver.requests.lock().unwrap().push((header, body));
    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

pub(crate) fn local_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

async fn emulator_pushing_to(port: u16) -> TestEmulator {
    common::spawn_with(EmulatorConfig {
        event_target: Some(EventTarget {
            url: format!("http://127.0.0.1:{port}/streamEvents"),
            header_name: HEADER.to_owned(),
            header_value: SECRET.to_owned(),
        }),
        ..Default::default()
    })
    .await
}

async fn create_channel(emulator: &TestEmulator, name: &str) -> String {
    let client = aws_sdk_ivs::Client::new(&emulator.sdk_config().await);
    let created = client.create_channel().name(name).send().await.unwrap();
    created.channel().unwrap().arn().unwrap().to_owned()
}

pub(crate) fn name_of(event: &Value) -> &str {
    event["detail"]["event_name"]
        .as_str()
        .or(event["detail"]["limit_name"].as_str())
        .unwrap()
}

#[tokio::test]
async fn state_changes_push_ivs_events_with_the_auth_header_and_retry_on_5xx() {
    let listener = local_listener();
    let port = listener.local_addr().unwrap().port();
    // The first delivery meets a target that is briefly unavailable.
    let receiver = Receiver::start(listener, &[503]);
    let emulator = emulator_pushing_to(port).await;
    let arn = create_channel(&emulator, "alice").await;

    let started = simulate(&emulator, "alice", "start").await;
    let stream_id = started["streamId"].as_str().unwrap().to_owned();
    simulate(&emulator, "alice", "starve").await;
    simulate(&emulator, "alice", "recover").await;
    simulate(&emulator, "alice", "breach").await;
    let client = aws_sdk_ivs::Client::new(&emulator.sdk_config().await);
    client.stop_stream().channel_arn(&arn).send().await.unwrap();

    // 7 events, the first delivered twice (503, then accepted).
    let requests = receiver.wait_for(8).await;
    assert!(requests.iter().all(|(h, _)| h.as_deref() == Some(SECRET)));
    assert_eq!(requests[0].1, requests[1].1, "the refused event is retried");
    let accepted: Vec<&Value> = requests.iter().skip(1).map(|(_, e)| e).collect();
    let names: Vec<&str> = accepted.iter().map(|e| name_of(e)).collect();
    assert_eq!(
        names,
        [
            "Session Created",
            "Stream Start",
            "Starvation Start",
            "Starvation End",
            "Ingest Bitrate",
            "Stream End",
            "Session Ended"
        ]
    );
    let types: Vec<&str> = accepted
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "IVS Stream State Change",
            "IVS Stream State Change",
            "IVS Stream Health Change",
            "IVS Stream Health Change",
            "IVS Limit Breach",
            "IVS Stream State Change",
            "IVS Stream State Change"
        ]
    );
    let mut ids: Vec<&str> = accepted.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 7, "every event has its own id");
    for event in &accepted {
        assert_eq!(event["version"], "0");
        assert_eq!(event["source"], "aws.ivs");
        assert_eq!(event["account"], "123456789012");
        assert_eq!(event["region"], "us-east-1");
        assert_eq!(event["resources"], json!([arn]));
        assert_eq!(event["detail"]["channel_name"], "alice");
        let time = event["time"].as_str().unwrap();
        assert!(
            time.len() == 20 && time.ends_with('Z'),
            "whole seconds: {time}"
        );
        time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).unwrap();
    }
    let breach = accepted[4];
    assert!(breach["detail"].get("stream_id").is_none());
    assert!(breach["detail"].get("event_name").is_none());
    assert_eq!(breach["detail"]["limit_value"], 8_500_000);
    assert_eq!(breach["detail"]["exceeded_by"], 120_000);
    assert_eq!(breach["detail"]["limit_unit"], "bits per second");
    for event in accepted
        .iter()
        .filter(|e| e["detail"].get("event_name").is_some())
    {
        assert_eq!(event["detail"]["stream_id"], stream_id.as_str());
    }

    // The same events are listed for tests, in the order they happened.
    let listed: Vec<Value> = reqwest::get(format!("{}/_emulator/events", emulator.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.iter().collect::<Vec<_>>(), accepted);
    assert_eq!(emulator.shared.events.pending_deliveries(), 0);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let listener = local_listener();
    let port = listener.local_addr().unwrap().port();
    let receiver = Receiver::start(listener, &[401, 401, 401]);
    let emulator = emulator_pushing_to(port).await;
    create_channel(&emulator, "alice").await;

    simulate(&emulator, "alice", "start").await;
    simulate(&emulator, "alice", "stop").await;
    let requests = receiver.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.requests().len(), 4, "{requests:?}");
    let names: Vec<&str> = requests.iter().map(|(_, e)| name_of(e)).collect();
    assert_eq!(
        names,
        [
            "Session Created",
            "Stream Start",
            "Stream End",
            "Session Ended"
        ]
    );
}

#[tokio::test]
async fn deliveries_wait_for_a_target_that_is_down() {
    // Reserve a port, then free it: nothing listens there until the receiver starts.
    let port = local_listener().local_addr().unwrap().port();
    let emulator = emulator_pushing_to(port).await;
    create_channel(&emulator, "alice").await;
    simulate(&emulator, "alice", "start").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(emulator.shared.events.pending_deliveries(), 2);

    let receiver = Receiver::start(TcpListener::bind(("127.0.0.1", port)).unwrap(), &[]);
    let requests = receiver.wait_for(2).await;
    let names: Vec<&str> = requests.iter().map(|(_, e)| name_of(e)).collect();
    assert_eq!(names, ["Session Created", "Stream Start"]);
}

#[tokio::test]
async fn chaos_mode_duplicates_and_reorders_deliveries() {
    let listener = local_listener();
    let port = listener.local_addr().unwrap().port();
    let receiver = Receiver::start(listener, &[]);
    let emulator = emulator_pushing_to(port).await;
    let arn = create_channel(&emulator, "alice").await;

    let enabled: Value = reqwest::Client::new()
        .post(format!("{}/_emulator/events/chaos", emulator.endpoint))
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(enabled, json!({"enabled": true}));
    assert!(emulator.shared.events.chaos());

    // Through the Rust API this time.
    let outcome =
        ugc_emulator::events::broadcast(&emulator.shared, &arn, BroadcastAction::Start).unwrap();
    assert_eq!(outcome.envelopes.len(), 2);
    let requests = receiver.wait_for(4).await;
    let delivered: Vec<&str> = requests
        .iter()
        .map(|(_, e)| e["id"].as_str().unwrap())
        .collect();
    let created = outcome.envelopes[0]["id"].as_str().unwrap();
    let start = outcome.envelopes[1]["id"].as_str().unwrap();
    assert_eq!(delivered, [start, created, created, start]);

    emulator.shared.events.set_chaos(false);
    simulate(&emulator, "alice", "stop").await;
    let requests = receiver.wait_for(6).await;
    let names: Vec<&str> = requests.iter().skip(4).map(|(_, e)| name_of(e)).collect();
    assert_eq!(names, ["Stream End", "Session Ended"]);
}

#[tokio::test]
async fn the_control_endpoint_refuses_bad_requests() {
    let emulator = common::spawn().await;
    create_channel(&emulator, "alice").await;
    let http = reqwest::Client::new();
    let url = format!("{}/_emulator/broadcast", emulator.endpoint);

    for (body, status, code) in [
        (
            json!({"channel": "alice", "action": "dance"}),
            400,
            "ValidationException",
        ),
        (json!({"action": "start"}), 400, "ValidationException"),
        (
            json!({"channel": "nobody", "action": "start"}),
            404,
            "ResourceNotFoundException",
        ),
        (
            json!({"channel": "alice", "action": "stop"}),
            404,
            "ChannelNotBroadcasting",
        ),
        (
            json!({"channel": "alice", "action": "starve"}),
            404,
            "ChannelNotBroadcasting",
        ),
    ] {
        let response = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["__type"], code, "{body}");
    }
    let malformed = http.post(&url).body("{").send().await.unwrap();
    assert_eq!(malformed.status().as_u16(), 400);

    // Without a target, events are still produced and listed.
    simulate(&emulator, "alice", "fail").await;
    let listed: Vec<Value> = reqwest::get(format!("{}/_emulator/events", emulator.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(name_of).collect();
    assert_eq!(
        names,
        ["Session Created", "Stream Failure", "Session Ended"]
    );
    assert_eq!(
        listed[1]["detail"]["reason"],
        "Transcode capacity exceeded. Please try again."
    );
}

#[tokio::test]
async fn the_binary_serves_and_drives_broadcasts() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::process::Command;

    let binary = env!("CARGO_BIN_EXE_ugc-emulator");
    let mut server = Command::new(binary)
        .args(["serve", "--port", "0"])
        .env_remove("UGC_EMULATOR_DATA_DIR")
        .env_remove("UGC_EMULATOR_EVENT_TARGET_URL")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let endpoint = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(endpoint) = line.strip_prefix("ugc-emulator listening on ") {
                return endpoint.to_owned();
            }
        }
        panic!("the emulator exited before listening");
    })
    .await
    .unwrap();

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    let client = aws_sdk_ivs::Client::new(&sdk);
    let arn = client
        .create_channel()
        .name("alice")
        .send()
        .await
        .unwrap()
        .channel()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();

    let broadcast = |action: &'static str, channel: &'static str| {
        Command::new(binary)
            .args(["broadcast", action, channel, "--endpoint", &endpoint])
            .output()
    };
    let started = broadcast("start", "alice").await.unwrap();
    assert!(started.status.success(), "{started:?}");
    let outcome: Value = serde_json::from_slice(&started.stdout).unwrap();
    assert_eq!(outcome["channelArn"], arn.as_str());
    assert_eq!(outcome["live"], true);
    let stream = client.get_stream().channel_arn(&arn).send().await.unwrap();
    assert_eq!(
        stream.stream().unwrap().stream_id(),
        outcome["streamId"].as_str()
    );

    // An emulator error fails the command; a bad command line is a usage error.
    let unknown = broadcast("stop", "nobody").await.unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("ResourceNotFoundException"));
    let usage = broadcast("dance", "alice").await.unwrap();
    assert_eq!(usage.status.code(), Some(2));

    server.kill().await.unwrap();
}
