use std::net::TcpListener;

use actix_web::web;
use base64::Engine as _;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use ugc_domain::session::{EventKind, IvsEvent};
use ugc_domain::{ChannelArn, ChannelResourceId, StreamId};
use ugc_dynamo::StreamsRepo;
use ugc_metrics::{configure, AppState, Config};
use ugc_testkit::{TestEnv, TestUser, PASSWORD};
use ugc_web::env::Vars;
use ugc_web::Application;

pub struct TestApp {
    pub env: TestEnv,
    pub base: String,
    pub streams: StreamsRepo,
    pub client: reqwest::Client,
}

pub fn config(env: &TestEnv) -> Config {
    let key =
        base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    Config::from_vars(&Vars::from_pairs([
        ("STREAM_TABLE_NAME", env.tables.streams.as_str()),
        ("REGION", env.region.as_str()),
        ("ACCOUNT_ID", env.account_id.as_str()),
        ("IVS_CHANNEL_TYPE", "BASIC"),
        ("PAGINATION_TOKEN_KEY", key.as_str()),
    ]))
    .unwrap()
}

impl TestApp {
    pub async fn spawn() -> Self {
        let env = TestEnv::start().await;
        let state = AppState::new(config(&env), &env.sdk, env.dynamo.clone())
            .await
            .unwrap();
        Self::spawn_with(env, state).await
    }

    pub async fn spawn_with(env: TestEnv, state: AppState) -> Self {
        let verifier = web::Data::new(env.verifier().await);
        let routes = configure(web::Data::new(state));
        let app = Application::build(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            move |cfg: &mut web::ServiceConfig| {
                cfg.app_data(verifier.clone());
                routes(cfg);
            },
            &env.common_config(),
        )
        .unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let streams = StreamsRepo::new(env.dynamo.clone(), &env.tables.streams);
        Self {
            env,
            base,
            streams,
            client: reqwest::Client::new(),
        }
    }

    pub async fn user(&self, name: &str) -> TestUser {
        self.env
            .sign_up_user(name, PASSWORD, &format!("{name}@example.com"))
            .await
    }

    pub fn arn(&self, resource_id: &str) -> ChannelArn {
        ChannelArn::new(
            &self.env.region,
            &self.env.account_id,
            &ChannelResourceId::parse(resource_id).unwrap(),
        )
        .unwrap()
    }

    /// GET with the user's access token; returns status and JSON body.
    pub async fn get(&self, path: &str, user: Option<&TestUser>) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(user) = user {
            request = request.header("Authorization", &user.access_token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A session with Session Created at `start`, Stream Start 5 s later, and when `end` is given,
    /// Stream End 5 s before and Session Ended at `end`.
    pub async fn session(
        &self,
        arn: &ChannelArn,
        stream_id: &str,
        sub: &str,
        start: OffsetDateTime,
        end: Option<OffsetDateTime>,
        extra: &[(EventKind, OffsetDateTime)],
    ) -> StreamId {
        let stream = StreamId::parse(stream_id).unwrap();
        let mut events = vec![
            (EventKind::SessionCreated, start),
            (EventKind::StreamStart, start + Duration::seconds(5)),
        ];
        if let Some(end) = end {
            events.push((EventKind::StreamEnd, end - Duration::seconds(5)));
            events.push((EventKind::SessionEnded, end));
        }
        events.extend(extra.iter().cloned());
        for (kind, time) in events {
            let event = IvsEvent {
                id: uuid::Uuid::new_v4().to_string(),
                time: time.replace_nanosecond(0).unwrap(),
                channel_arn: arn.clone(),
                stream_id: Some(stream.clone()),
                kind,
            };
            self.streams
                .apply_event(arn, &stream, sub, &event)
                .await
                .unwrap();
        }
        stream
    }
}

/// Now, in whole seconds (events carry whole seconds).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

pub fn unique_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

pub fn type_of(body: &Value) -> &str {
    body["__type"].as_str().unwrap_or_default()
}
