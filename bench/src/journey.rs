//! The SPA's sign-up journey against the benched API and the emulator's Cognito.

use serde_json::{json, Value};

pub const PASSWORD: &str = "Passw0rd!bench";

pub struct User {
    pub username: String,
    pub token: String,
    pub sub: String,
}

/// The SPA's sign-up journey against the benched API and the emulator's Cognito.
#[derive(Clone)]
pub struct Journey {
    pub http: reqwest::Client,
    pub api: String,
    pub emulator: String,
    pub client_id: String,
}

impl Journey {
    pub async fn cognito(&self, op: &str, body: Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}/", self.emulator))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{op}"),
            )
            .body(body.to_string())
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "{op}: {}", r.status());
        Ok(r.json().await?)
    }

    pub async fn run(&self, prefix: &str) -> anyhow::Result<User> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let username = format!("{prefix}_{}", id.chars().take(10).collect::<String>());
        let email = format!("{username}@example.com");
        self.http
            .post(format!("{}/channel/register", self.api))
            .json(&json!({"username": username, "email": email, "password": PASSWORD, "confirmPassword": PASSWORD, "avatar": "bear", "color": "blue"}))
            .send()
            .await?
            .error_for_status()?;
        let message: Value = self
            .http
            .get(format!("{}/_emulator/outbox/{email}/latest", self.emulator))
            .send()
            .await?
            .json()
            .await?;
        let code = message
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.cognito(
            "ConfirmSignUp",
            json!({"ClientId": self.client_id, "Username": username, "ConfirmationCode": code}),
        )
        .await?;
        let auth = self
            .cognito("InitiateAuth", json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": self.client_id, "AuthParameters": {"USERNAME": username, "PASSWORD": PASSWORD}, "ClientMetadata": {"submittedUsername": username}}))
            .await?;
        let token = auth
            .pointer("/AuthenticationResult/AccessToken")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let _ = self
            .http
            .get(format!("{}/channel", self.api))
            .header("Authorization", &token)
            .send()
            .await?;
        self.http
            .post(format!("{}/channel/resources/create", self.api))
            .header("Authorization", &token)
            .json(&json!({"username": username, "email": email}))
            .send()
            .await?
            .error_for_status()?;
        self.http
            .get(format!("{}/channels/{username}", self.api))
            .send()
            .await?
            .error_for_status()?;
        let user: Value = self
            .cognito("GetUser", json!({"AccessToken": token}))
            .await?;
        let sub = user
            .get("UserAttributes")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| x.get("Name") == Some(&json!("sub"))))
            .and_then(|x| x.get("Value"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(User {
            username,
            token,
            sub,
        })
    }
}
