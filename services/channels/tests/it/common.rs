//! The test harness: the channels service on 127.0.0.1:0 against a fresh `TestEnv` (emulator +
//! DynamoDB Local tables + Cognito pool), and helpers to make users and requests.

use std::sync::Arc;

use actix_web::web;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use ugc_channels::{configure, AppState, Config};
use ugc_testkit::{TestEnv, TestUser, PASSWORD};
use ugc_web::env::Vars;
use ugc_web::rate_limit::RateLimitConfig;
use ugc_web::Application;

pub const BUCKET: &str = "channel-assets";
pub const PRODUCT_SECRET: &str = "creators-api";

pub struct TestApp {
    pub env: TestEnv,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub state: web::Data<AppState>,
    pub http: reqwest::Client,
}

/// What a test may change about the service.
pub struct Options {
    /// Extra service variables (`SIGN_UP_ALLOWED_DOMAINS`, `ENABLE_AMAZON_PRODUCT_STREAM_ACTION`, ...).
    pub vars: Vec<(String, String)>,
    /// Unlimited unless a test sets budgets (every test user registers from 127.0.0.1).
    pub rate_limits: RateLimitConfig,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            vars: Vec::new(),
            rate_limits: RateLimitConfig::unlimited(),
        }
    }
}

impl Options {
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Product search on, with the emulator's Creators API and a credential secret.
    pub fn with_products(self) -> Self {
        self.var("ENABLE_AMAZON_PRODUCT_STREAM_ACTION", "true")
            .var("PRODUCT_API_SECRET_NAME", PRODUCT_SECRET)
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        let env = TestEnv::start().await;
        env.emulator.s3.create_bucket(BUCKET);
        env.emulator.secrets.put(
            PRODUCT_SECRET,
            &json!({
                "credentialId": "local-client",
                "credentialSecret": "local-secret",
                "version": "2.1",
                "partnerTag": "ugcdemo-20",
            })
            .to_string(),
        );
        let mut vars: Vec<(String, String)> = [
            ("CHANNELS_TABLE_NAME", env.tables.channels.as_str()),
            ("STREAM_TABLE_NAME", env.tables.streams.as_str()),
            ("USER_POOL_ID", env.user_pool_id.as_str()),
            ("USER_POOL_CLIENT_ID", env.client_id.as_str()),
            ("REGION", env.region.as_str()),
            ("ACCOUNT_ID", env.account_id.as_str()),
            ("CHANNEL_ASSETS_BUCKET_NAME", BUCKET),
            ("IVS_CHANNEL_TYPE", "BASIC"),
            ("PROJECT_TAG", "ugc-test"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        vars.push((
            "CREATORS_API_BASE_URL".to_owned(),
            env.emulator_endpoint.clone(),
        ));
        vars.push((
            "CREATORS_API_TOKEN_URL".to_owned(),
            format!("{}/oauth2/token", env.emulator_endpoint),
        ));
        vars.extend(options.vars);
        let config = Config::from_vars(&Vars::from_pairs(vars)).expect("valid test config");
        let state = web::Data::new(
            AppState::new(config, &env.sdk, env.dynamo.clone())
                .await
                .expect("state"),
        );
        let mut common = env.common_config();
        common.rate_limits = options.rate_limits;
        let verifier = env.verifier().await;
        let routes = configure(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let app = Application::build(
            listener,
            move |cfg: &mut web::ServiceConfig| {
                cfg.app_data(web::Data::new(verifier.clone()));
                routes(cfg);
            },
            &common,
        )
        .expect("service builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Self {
            env,
            base,
            state,
            http: reqwest::Client::new(),
        }
    }

    /// A request with the raw access token in `Authorization` (as the SPA sends it).
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => req.header("Authorization", token),
            None => req,
        }
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("request sent")
    }

    /// Registers through the API, confirms the e-mail (as the user would) and signs in.
    pub async fn register(&self, username: &str) -> TestUser {
        let email = format!("{}@example.com", username.to_lowercase());
        let res = self
            .send_json(
                Method::POST,
                "/channel/register",
                None,
                &json!({"username": username, "email": email, "password": PASSWORD,
                        "confirmPassword": PASSWORD, "avatar": "bear", "color": "blue"}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        self.env
            .cognito()
            .admin_confirm_sign_up()
            .user_pool_id(&self.env.user_pool_id)
            .username(username)
            .send()
            .await
            .expect("confirm");
        let mut user = self.env.sign_in(username, PASSWORD).await;
        user.email = email;
        user
    }

    /// A registered user whose IVS channel and chat room exist (the SPA's first login).
    pub async fn user_with_channel(&self, username: &str) -> TestUser {
        let user = self.register(username).await;
        let res = self
            .send_json(
                Method::POST,
                "/channel/resources/create",
                Some(&user.access_token),
                &json!({"username": username, "email": user.email}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        user
    }

    /// `GET /channel` as this user.
    pub async fn own_channel(&self, user: &TestUser) -> Value {
        let res = self.get("/channel", Some(&user.access_token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("JSON")
    }

    pub fn shared(&self) -> &Arc<ugc_emulator::Shared> {
        &self.env.emulator
    }
}

/// Status and parsed JSON body (`Value::Null` for an empty body).
pub async fn status_json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, value)
}

/// Asserts an error response: status and `__type`.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) -> Value {
    let (got, body) = status_json(res).await;
    assert_eq!(got, status, "body: {body}");
    assert_eq!(body["__type"], code, "body: {body}");
    body
}
