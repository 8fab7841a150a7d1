//! A small HTTP client of the running platform, for `ugc-local seed` and `ugc-local stream`: the
//! API as the SPA calls it, Cognito's public operations as the SPA's SDK calls them, the outbox
//! and the broadcast control of the emulator. It never touches the platform's storage directly.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::Running;

/// Where the running platform is; `ugc-local` writes it to `.local/platform.json` when ready.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Platform {
    pub api_url: String,
    pub ingest_url: String,
    pub emulator_url: String,
    pub pool_id: String,
    pub client_id: String,
    pub region: String,
}

impl Platform {
    pub fn of(running: &Running) -> Self {
        Self {
            api_url: running.api_url.clone(),
            ingest_url: running.ingest_url.clone(),
            emulator_url: running.emulator_url.clone(),
            pool_id: running.pool_id.clone(),
            client_id: running.client_id.clone(),
            region: running.region.clone(),
        }
    }

    /// Reads the file `ugc-local` wrote; a missing file means the platform is not running.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|_| {
            anyhow!(
                "the local platform is not running ({} is missing): start it with `make run`",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// An API or Cognito answer that is not a success: the status and the `__type` code.
#[derive(Debug, thiserror::Error)]
#[error("{status} {code}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct Refused {
    pub status: StatusCode,
    pub code: String,
    pub message: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Client {
    pub platform: Platform,
    http: reqwest::Client,
}

impl Client {
    pub fn new(platform: Platform) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { platform, http })
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let response = request.send().await.map_err(|e| {
            anyhow!("cannot reach {what} ({e}); is the platform running (`make run`)?")
        })?;
        let status = response.status();
        let text = response.text().await?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(body);
        }
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        Err(Refused {
            status,
            code: field("__type")
                .map(|t| t.rsplit('#').next().unwrap_or_default().to_owned())
                .unwrap_or_else(|| "Error".to_owned()),
            message: field("message").or_else(|| field("Message")),
        }
        .into())
    }

    /// Calls the API the way the SPA does (raw access token in `Authorization`, JSON bodies).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.platform.api_url));
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request, "the API").await
    }

    /// A public Cognito operation (SignUp, ConfirmSignUp, InitiateAuth, ...), as the SPA's SDK.
    pub async fn cognito(&self, operation: &str, input: Value) -> anyhow::Result<Value> {
        let request = self
            .http
            .post(&self.platform.emulator_url)
            .header(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{operation}"),
            )
            .header("Content-Type", "application/x-amz-json-1.1")
            .body(input.to_string());
        self.send(request, "the emulator's Cognito").await
    }

    /// Signs in with USER_PASSWORD_AUTH; returns the access token.
    pub async fn sign_in(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let out = self
            .cognito(
                "InitiateAuth",
                json!({
                    "AuthFlow": "USER_PASSWORD_AUTH",
                    "ClientId": self.platform.client_id,
                    "AuthParameters": {"USERNAME": username, "PASSWORD": password},
                    "ClientMetadata": {"submittedUsername": username},
                }),
            )
            .await?;
        out.pointer("/AuthenticationResult/AccessToken")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("InitiateAuth for {username} returned no access token"))
    }

    /// The code of the newest e-mail sent to `who` (a username or an address).
    pub async fn outbox_code(&self, who: &str) -> anyhow::Result<String> {
        let url = format!(
            "{}/_emulator/outbox/{who}/latest",
            self.platform.emulator_url
        );
        let message = self.send(self.http.get(url), "the outbox").await?;
        match message.get("code").and_then(Value::as_str) {
            Some(code) if !code.is_empty() => Ok(code.to_owned()),
            _ => bail!("the newest e-mail to {who} carries no code"),
        }
    }

    /// The channel ARN of a user, from the public channel page (`GET /channels/<username>`).
    pub async fn channel_arn(&self, username: &str) -> anyhow::Result<String> {
        let page = self
            .api(Method::GET, &format!("/channels/{username}"), None, None)
            .await?;
        page.get("channelArn")
            .and_then(Value::as_str)
            .filter(|arn| !arn.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("{username} has no channel yet (sign in once to create it)"))
    }

    /// Drives the broadcast simulator (`start`, `stop`, `starve`, `recover`, `breach`, `fail`).
    pub async fn broadcast(&self, channel: &str, action: &str) -> anyhow::Result<Value> {
        let request = self
            .http
            .post(format!(
                "{}/_emulator/broadcast",
                self.platform.emulator_url
            ))
            .json(&json!({"channel": channel, "action": action}));
        self.send(request, "the broadcast simulator").await
    }
}

/// The `__type` of a refusal, if `err` is one.
pub fn refusal_code(err: &anyhow::Error) -> Option<&str> {
    err.downcast_ref::<Refused>().map(|r| r.code.as_str())
}
