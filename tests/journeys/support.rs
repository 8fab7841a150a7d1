//! The platform of one journey and the calls the SPA makes: the API with the raw access token in
//! `Authorization`, Cognito's public operations as `amazon-cognito-identity-js` sends them, the
//! emulator's outbox and broadcast control, and the chat WebSocket as the chat SDK opens it.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ugc_local::{LocalConfig, Running};

pub const PASSWORD: &str = "Passw0rd!e2e";
/// Async delivery (EventBridge → event-ingest, S3 → asset-version trigger) is waited for this long.
pub const ASYNC_TIMEOUT: Duration = Duration::from_secs(20);

/// One platform per journey: its own ports, pool and table prefix on the run's DynamoDB Local.
pub struct Platform {
    running: Option<Running>,
    pub http: reqwest::Client,
    pub api_url: String,
    pub emulator_url: String,
    pub chat_ws_url: String,
    pub client_id: String,
}

/// A reply: status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The `__type` of an API error, or the `x-amzn-ErrorType`-style code of a Cognito one.
    pub fn code(&self) -> &str {
        self.body
            .get("__type")
            .and_then(Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t))
            .unwrap_or("")
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        self.body
    }

    #[track_caller]
    pub fn refused(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected answer: {}",
            self.body
        );
    }
}

/// A signed-in user of the SPA.
#[derive(Clone, Debug)]
pub struct User {
    pub username: String,
    pub email: String,
    pub token: String,
}

pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..8])
}

impl Platform {
    pub async fn start() -> Self {
        Self::start_with(Vec::new()).await
    }

    /// `passthrough`: service settings (`RATE_LIMIT_*`, ...) as the environment would give them.
    pub async fn start_with(passthrough: Vec<(&str, &str)>) -> Self {
        let endpoint = std::env::var("UGC_TEST_DYNAMODB_ENDPOINT").expect(
            "UGC_TEST_DYNAMODB_ENDPOINT is not set: run the journeys with `make test` (it starts DynamoDB Local)",
        );
        let mut config = LocalConfig::for_tests(endpoint);
        config.passthrough.extend(
            passthrough
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let running = ugc_local::start(config)
            .await
            .expect("the local platform starts");
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            api_url: running.api_url.clone(),
            emulator_url: running.emulator_url.clone(),
            chat_ws_url: running.chat_ws_url.clone(),
            client_id: running.client_id.clone(),
            running: Some(running),
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, body }
    }

    /// The API as `authFetch` / `unauthFetch` call it: JSON bodies (`{}` at least for non-GET).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.api_url));
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        if method != Method::GET {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        Self::reply(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.api(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.api(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.api(Method::PUT, path, token, Some(body)).await
    }

    /// A Cognito operation exactly as `amazon-cognito-identity-js` sends it: unsigned `POST /`.
    pub async fn cognito(&self, operation: &str, input: Value) -> Reply {
        let response = self
            .http
            .post(format!("{}/", self.emulator_url))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{operation}"),
            )
            .header("X-Amz-User-Agent", "aws-amplify/5.0.4 js")
            .body(input.to_string())
            .send()
            .await
            .unwrap();
        Self::reply(response).await
    }

    /// InitiateAuth USER_PASSWORD_AUTH (the SPA's flow), as the SDK sends it.
    pub async fn initiate_auth(&self, username: &str, password: &str) -> Reply {
        self.cognito(
            "InitiateAuth",
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": self.client_id,
                "AuthParameters": {"USERNAME": username, "PASSWORD": password},
                "ClientMetadata": {"submittedUsername": username},
            }),
        )
        .await
    }

    #[track_caller]
    pub fn access_token(reply: Reply) -> String {
        let body = reply.ok();
        body.pointer("/AuthenticationResult/AccessToken")
            .and_then(Value::as_str)
            .expect("an access token")
            .to_owned()
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> String {
        Self::access_token(self.initiate_auth(username, password).await)
    }

    /// The code of the newest e-mail of `trigger` (`SignUp`, `ForgotPassword`) sent to `email`,
    /// read from `GET /_emulator/outbox` as a person reads their inbox.
    pub async fn outbox_code(&self, email: &str, trigger: &str) -> String {
        let outbox: Value = self
            .http
            .get(format!("{}/_emulator/outbox", self.emulator_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let message = outbox
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| {
                m["to"].as_str() == Some(email)
                    && m["trigger_source"]
                        .as_str()
                        .is_some_and(|t| t.ends_with(trigger))
            })
            .unwrap_or_else(|| panic!("no {trigger} e-mail to {email} in {outbox}"));
        let code = message["code"].as_str().unwrap().to_owned();
        assert!(
            message["body"].as_str().unwrap_or("").contains(&code),
            "the e-mail shows its code: {message}"
        );
        code
    }

    /// The SPA's sign-up: register → "verify your email" → ConfirmSignUp with the e-mailed code →
    /// sign in → `GET /channel` fails → `POST /channel/resources/create` → `GET /channel`.
    pub async fn sign_up(&self, prefix: &str) -> User {
        let username = unique(prefix);
        let email = format!("{username}@example.com");
        let registered = self
            .post(
                "/channel/register",
                None,
                json!({"username": username, "email": email, "password": PASSWORD,
                       "confirmPassword": PASSWORD, "avatar": "bear", "color": "blue"}),
            )
            .await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.body
        );
        assert_eq!(registered.body["userConfirmed"], false);
        let code = self.outbox_code(&email, "SignUp").await;
        self.cognito(
            "ConfirmSignUp",
            json!({"ClientId": self.client_id, "Username": username, "ConfirmationCode": code}),
        )
        .await
        .ok();
        let token = self.sign_in(&username, PASSWORD).await;
        let before = self.get("/channel", Some(&token)).await;
        assert!(
            !before.status.is_success(),
            "no channel before resources: {}",
            before.body
        );
        let created = self
            .post(
                "/channel/resources/create",
                Some(&token),
                json!({"username": username, "email": email}),
            )
            .await;
        assert!(
            created.status.is_success(),
            "{} {}",
            created.status,
            created.body
        );
        User {
            username,
            email,
            token,
        }
    }

    /// `GET /channel` of a signed-in user.
    pub async fn own_channel(&self, user: &User) -> Value {
        self.get("/channel", Some(&user.token)).await.ok()
    }

    /// The broadcast simulator: `start`, `stop`, `starve`, `recover`, `breach`, `fail`.
    pub async fn broadcast(&self, channel: &str, action: &str) -> Value {
        let reply = Self::reply(
            self.http
                .post(format!("{}/_emulator/broadcast", self.emulator_url))
                .json(&json!({"channel": channel, "action": action}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        reply.ok()
    }

    /// What the emulator's IVS accepted through PutMetadata for a channel.
    pub async fn received_metadata(&self, resource_id: &str) -> Vec<String> {
        let records: Value = self
            .http
            .get(format!(
                "{}/_emulator/ivs/metadata/{resource_id}",
                self.emulator_url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        records
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["payload"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn chat_token(&self, owner: &str, token: Option<&str>) -> Reply {
        self.post(
            "/channel/chatToken/create",
            token,
            json!({"chatRoomOwnerUsername": owner}),
        )
        .await
    }

    /// Opens the chat WebSocket as the chat SDK does: the token as the only subprotocol.
    pub async fn chat(&self, token: &str) -> Result<Chat, tokio_tungstenite::tungstenite::Error> {
        let mut request = self.chat_ws_url.as_str().into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(token).unwrap(),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Chat { socket })
    }
}

/// Polls `probe` until it returns `Some`, or fails the journey after `ASYNC_TIMEOUT`.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + ASYNC_TIMEOUT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A chat connection.
pub struct Chat {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What a chat connection saw next.
#[derive(Debug)]
pub enum Frame {
    Json(Value),
    Closed,
}

impl Chat {
    pub async fn send(&mut self, request: Value) {
        self.socket
            .send(Message::Text(request.to_string().into()))
            .await
            .unwrap();
    }

    /// `SEND_MESSAGE` with attributes; returns the request id.
    pub async fn say(&mut self, content: &str, attributes: Value) -> String {
        let request_id = uuid::Uuid::new_v4().to_string();
        self.send(json!({"Action": "SEND_MESSAGE", "RequestId": request_id,
                         "Content": content, "Attributes": attributes}))
            .await;
        request_id
    }

    /// The next frame (JSON) or the close, within 10 s.
    pub async fn next(&mut self) -> Frame {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a chat frame within 10 s");
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Frame::Json(serde_json::from_str(&text).unwrap())
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Frame::Closed,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Skips frames until one satisfies `wanted`.
    pub async fn until(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next().await {
                Frame::Json(frame) if wanted(&frame) => return frame,
                Frame::Json(_) => continue,
                Frame::Closed => panic!("chat closed while waiting for {what}"),
            }
        }
    }

    /// The MESSAGE frame with this content.
    pub async fn message(&mut self, content: &str) -> Value {
        self.until(content, |f| {
            f["Type"] == "MESSAGE" && f["Content"] == content
        })
        .await
    }

    /// Reads until the server closes the connection; returns the frames seen before.
    pub async fn closed(&mut self) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            match self.next().await {
                Frame::Json(frame) => seen.push(frame),
                Frame::Closed => return seen,
            }
        }
    }
}
