//! A running event-ingest on 127.0.0.1:0 against the emulator and DynamoDB Local, with its own
//! tables, plus event builders.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::header::HeaderName;
use actix_web::web;
use serde_json::{json, Value};
use ugc_domain::session::{ChannelSessions, IvsEvent};
use ugc_domain::{Avatar, ChannelArn, ChatRoomArn, Color, Email, StreamId, Username};
use ugc_dynamo::{ChannelResources, ChannelsRepo, NewProfile, StoredSession};
use ugc_event_ingest::config::DEFAULT_MAX_BODY;
use ugc_event_ingest::{configure, AppState, Config, SecretSource};
use ugc_testkit::TestEnv;
use ugc_web::Application;

pub const SECRET: &str = "ingest-secret-for-tests-0123456789";
pub const HEADER: &str = "x-ugc-ingest-secret";

pub struct TestApp {
    pub env: TestEnv,
    pub address: String,
    pub state: web::Data<AppState>,
    pub http: reqwest::Client,
}

pub fn config_for(env: &TestEnv) -> Config {
    Config {
        channels_table: env.tables.channels.clone(),
        streams_table: env.tables.streams.clone(),
        secret: SecretSource::Value(SECRET.to_owned()),
        secret_header: HeaderName::from_static(HEADER),
        reconcile_interval: None,
        reconcile_grace: Duration::from_millis(300),
        max_body: DEFAULT_MAX_BODY,
        ingest_timeout: Duration::from_secs(4),
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        let env = TestEnv::start().await;
        let config = config_for(&env);
        let dynamo = env.dynamo.clone();
        Self::spawn_with(env, config, dynamo).await
    }

    pub async fn spawn_with(
        env: TestEnv,
        config: Config,
        dynamo: aws_sdk_dynamodb::Client,
    ) -> Self {
        let state = web::Data::new(AppState::new(config, &env.sdk, dynamo).await.unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let app =
            Application::build(listener, configure(state.clone()), &env.common_config()).unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Self {
            env,
            address,
            state,
            http: reqwest::Client::new(),
        }
    }

    /// `POST /streamEvents` with the secret.
    pub async fn post(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(format!("{}/streamEvents", self.address))
            .header(HEADER, SECRET)
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Delivers one event; returns status and JSON body.
    pub async fn deliver(&self, event: &Value) -> (u16, Value) {
        let res = self.post(event.to_string()).await;
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Delivers like EventBridge: retries 429/5xx (bounded), returns the final answer.
    pub async fn deliver_retrying(&self, event: &Value) -> (u16, Value) {
        let mut last = (0, Value::Null);
        for attempt in 0..40u64 {
            last = self.deliver(event).await;
            if last.0 != 429 && last.0 < 500 {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(20 * (attempt + 1).min(10))).await;
        }
        last
    }

    pub async fn status_ok(&self) -> bool {
        self.http
            .get(format!("{}/status", self.address))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    }

    /// A user with a provisioned channel `channel_arn` in the channels table; returns the sub.
    pub async fn register_owner(&self, channel_arn: &str) -> String {
        let repo = ChannelsRepo::new(self.env.dynamo.clone(), self.env.tables.channels.clone());
        let id = uuid::Uuid::new_v4().simple().to_string();
        let sub = uuid::Uuid::new_v4().to_string();
        let username = format!("u{}", &id[..12]);
        repo.create_profile(&NewProfile {
            sub: sub.clone(),
            username: Username::parse(&username).unwrap(),
            email: Email::parse(&format!("{username}@example.com")).unwrap(),
            avatar: Avatar::parse("bear").unwrap(),
            color: Color::parse("blue").unwrap(),
        })
        .await
        .unwrap();
        repo.claim_provisioning(&sub, "token", Duration::from_secs(60))
            .await
            .unwrap();
        repo.complete_provisioning(
            &sub,
            "token",
            &ChannelResources {
                channel_arn: ChannelArn::parse(channel_arn).unwrap(),
                chat_room_arn: ChatRoomArn::parse(&format!(
                    "arn:aws:ivschat:us-west-2:123456789012:room/{}",
                    &id[..12]
                ))
                .unwrap(),
                ingest_endpoint: "x.global-contribute.live-video.net".into(),
                playback_url: "https://x.m3u8".into(),
                stream_key_arn: "arn:aws:ivs:us-west-2:123456789012:stream-key/k".into(),
                stream_key_value: "sk_x".into(),
                tracking_id: id[..12].to_owned(),
                channel_asset_id: id.clone(),
            },
        )
        .await
        .unwrap();
        sub
    }

    /// A fresh channel ARN (not on IVS) owned by a fresh user.
    pub async fn owned_channel(&self) -> ChannelArn {
        let arn = random_channel_arn();
        self.register_owner(arn.as_str()).await;
        arn
    }

    pub async fn session(&self, channel: &ChannelArn, stream: &str) -> Option<StoredSession> {
        self.state
            .streams()
            .get_session(channel, &StreamId::parse(stream).unwrap())
            .await
            .unwrap()
    }

    /// Asserts that the store holds exactly what the session model derives from `events` (each
    /// channel's sessions, their summaries, the open/live session).
    pub async fn assert_store_matches(&self, events: &[Value]) {
        let mut by_channel: BTreeMap<ChannelArn, Vec<IvsEvent>> = BTreeMap::new();
        for value in events {
            let event = IvsEvent::from_json(value).unwrap();
            by_channel
                .entry(event.channel_arn.clone())
                .or_default()
                .push(event);
        }
        for (channel, events) in by_channel {
            let expected = ChannelSessions::from_events(&events);
            assert!(expected.unattached.is_empty());
            for (stream_id, summary) in &expected.sessions {
                let stored = self
                    .session(&channel, stream_id.as_str())
                    .await
                    .unwrap_or_else(|| panic!("session {stream_id} of {channel} missing"));
                let ids = |s: &ugc_domain::session::SessionSummary| {
                    s.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
                };
                assert_eq!(ids(&stored.summary), ids(summary), "events of {stream_id}");
                assert_eq!(stored.summary.start_time, summary.start_time);
                assert_eq!(stored.summary.end_time, summary.end_time);
                assert_eq!(stored.summary.is_healthy(), summary.is_healthy());
                assert_eq!(stored.summary.has_error(), summary.has_error());
                assert_eq!(stored.summary.dropped_events, summary.dropped_events);
                let open = expected.open.as_ref() == Some(stream_id);
                assert_eq!(stored.is_open(), open, "open state of {stream_id}");
                assert_eq!(
                    stored.is_live(),
                    open && summary.is_live(),
                    "live state of {stream_id}"
                );
            }
        }
    }
}

pub fn random_channel_arn() -> ChannelArn {
    let id = uuid::Uuid::new_v4().simple().to_string();
    ChannelArn::parse(&format!(
        "arn:aws:ivs:us-west-2:123456789012:channel/{}",
        &id[..12]
    ))
    .unwrap()
}

pub fn random_stream_id() -> String {
    format!("st-{}", uuid::Uuid::new_v4().simple())
}

/// An EventBridge envelope with a fresh id.
pub fn envelope(channel: &ChannelArn, detail_type: &str, time: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type,
        "source": "aws.ivs",
        "account": "123456789012",
        "time": time,
        "region": "us-west-2",
        "resources": [channel.as_str()],
        "detail": detail,
    })
}

pub fn state_event(channel: &ChannelArn, stream: &str, name: &str, time: &str) -> Value {
    envelope(
        channel,
        "IVS Stream State Change",
        time,
        json!({"event_name": name, "channel_name": "", "stream_id": stream}),
    )
}

pub fn health_event(channel: &ChannelArn, stream: &str, name: &str, time: &str) -> Value {
    envelope(
        channel,
        "IVS Stream Health Change",
        time,
        json!({"event_name": name, "channel_name": "", "stream_id": stream}),
    )
}

/// Waits (bounded) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
