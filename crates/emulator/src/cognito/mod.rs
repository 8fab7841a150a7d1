//! Cognito user pools over awsJson1_1 (`docs/wire-protocols.md` §1): sign-up with real e-mailed
//! codes, password and refresh-token sign-in, RS256 tokens with Cognito's claims and a JWKS,
//! `preferred_username` aliases, global sign-out, the admin operations the backend uses, and the
//! pool set-up operations the local platform needs. Trigger Lambdas are plain Rust functions
//! registered with [`Cognito::register_triggers`]; e-mails land in an outbox served at
//! `/_emulator/outbox`.

mod filter;
mod input;
pub mod model;
mod ops;
pub mod tokens;
pub mod triggers;

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde_json::Value;

use crate::core::config::EmulatorConfig;
use crate::core::error::AwsError;
use crate::core::json::{self, BodyError};
use crate::core::routing::{target_operation, target_route};
use crate::core::sigv4;
use crate::core::store::Store;
use crate::server::Shared;

pub use model::OutboxMessage;
pub use ops::CognitoOp;
pub use triggers::{TriggerFn, Triggers};

use model::{State, OUTBOX_LIMIT};
use tokens::SigningKeys;

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

pub struct Cognito {
    store: Store<State>,
    region: String,
    account_id: String,
    access_key_id: String,
    secret_access_key: String,
    /// `http://127.0.0.1:<port>`: the issuer base when none is set.
    own_url: String,
    issuer_base: RwLock<Option<String>>,
    triggers: RwLock<Triggers>,
    keys: Mutex<Option<Arc<SigningKeys>>>,
}

impl Cognito {
    pub fn load(dir: Option<&Path>, config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            store: Store::open(dir, "cognito")?,
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            access_key_id: config.access_key_id.clone(),
            secret_access_key: config.secret_access_key.clone(),
            own_url: format!("http://{}", config.bind),
            issuer_base: RwLock::new(None),
            triggers: RwLock::new(Triggers::default()),
            keys: Mutex::new(None),
        })
    }

    /// Plugs in trigger handlers for every pool, replacing any registered before.
    pub fn register_triggers(&self, triggers: Triggers) {
        tracing::info!(?triggers, "Cognito triggers registered");
        *self
            .triggers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = triggers;
    }

    /// Sets the base of the `iss` claim (e.g. a public URL the services are configured with);
    /// `None` goes back to the emulator's own URL.
    pub fn set_issuer_base(&self, base: Option<String>) {
        *self
            .issuer_base
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            base.map(|b| b.trim_end_matches('/').to_owned());
    }

    /// The `iss` claim of the pool's tokens: `<issuer base>/<poolId>`. The JWKS is served at
    /// `<emulator URL>/<poolId>/.well-known/jwks.json` whatever the base.
    pub fn issuer(&self, pool_id: &str) -> String {
        let base = self
            .issuer_base
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .unwrap_or_else(|| self.own_url.clone());
        format!("{base}/{pool_id}")
    }

    /// The JWKS document (both signing keys; they are shared by every pool).
    pub fn jwks(&self) -> anyhow::Result<Value> {
        Ok(self.signing_keys()?.jwks())
    }

    /// Runs an operation in-process, as if called over HTTP without a signature (local
    /// platform set-up and seeding). `op` is the operation name, e.g. `CreateUserPool`.
    pub fn call(&self, op: &str, input: &Value) -> Result<Value, AwsError> {
        self.execute(CognitoOp::parse(op)?, input)
    }

    /// Every e-mail sent, oldest first.
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.store.read(|s| s.outbox.clone())
    }

    /// The newest e-mail sent to `who`: an address or a user name (case-insensitive).
    pub fn latest_message(&self, who: &str) -> Option<OutboxMessage> {
        self.store.read(|s| {
            s.outbox
                .iter()
                .rev()
                .find(|m| m.to.eq_ignore_ascii_case(who) || m.username.eq_ignore_ascii_case(who))
                .cloned()
        })
    }

    fn triggers(&self) -> Triggers {
        self.triggers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The signing keys, loaded from the store or generated (and stored) on first use.
    fn signing_keys(&self) -> anyhow::Result<Arc<SigningKeys>> {
        let mut cached = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(keys) = cached.as_ref() {
            return Ok(keys.clone());
        }
        let keys = match self.store.read(|s| s.keys.clone()) {
            Some(stored) => SigningKeys::load(&stored)?,
            None => {
                let (keys, stored) = SigningKeys::generate()?;
                self.store.write(|s| s.keys = Some(stored));
                keys
            }
        };
        let keys = Arc::new(keys);
        *cached = Some(keys.clone());
        Ok(keys)
    }

    fn record_message(&self, message: OutboxMessage) {
        tracing::info!(
            to = %message.to,
            username = %message.username,
            subject = %message.subject,
            code = %message.code,
            body = %message.body,
            "Cognito e-mail sent (emulator outbox)"
        );
        self.store.write(|s| {
            s.outbox.push(message);
            let excess = s.outbox.len().saturating_sub(OUTBOX_LIMIT);
            s.outbox.drain(..excess);
        });
    }

    /// HTTP entry point: routing by operation, SigV4 on the signed operations.
    fn handle(&self, req: &HttpRequest, body: &[u8]) -> Result<Value, AwsError> {
        let op = CognitoOp::parse(target_operation(req, TARGET_PREFIX).unwrap_or_default())?;
        if !op.is_no_auth() {
            sigv4::verify_actix(req, body, &self.access_key_id, &self.secret_access_key)?;
        }
        let input = json::parse_object(body).map_err(BodyError::into_aws_json)?;
        self.execute(op, &Value::Object(input))
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", target_route(TARGET_PREFIX).to(handle_operation))
        .route("/", web::method(Method::OPTIONS).to(preflight))
        .route("/_emulator/outbox", web::get().to(outbox))
        .route(
            "/_emulator/outbox/{who}/latest",
            web::get().to(outbox_latest),
        )
        .route("/{pool_id}/.well-known/jwks.json", web::get().to(jwks))
        .route(
            "/{pool_id}/.well-known/openid-configuration",
            web::get().to(openid_configuration),
        );
}

/// Browser clients (amazon-cognito-identity-js) call from another origin (docs/wire-protocols.md §0.3).
fn with_cors(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header((
            "Access-Control-Expose-Headers",
            "x-amzn-ErrorType, x-amzn-RequestId, x-amz-request-id, Date",
        ));
    builder
}

fn add_cors(mut resp: HttpResponse) -> HttpResponse {
    let headers = resp.headers_mut();
    headers.insert(
        actix_web::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        actix_web::http::header::HeaderValue::from_static("*"),
    );
    headers.insert(
        actix_web::http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        actix_web::http::header::HeaderValue::from_static(
            "x-amzn-ErrorType, x-amzn-RequestId, x-amz-request-id, Date",
        ),
    );
    resp
}

async fn handle_operation(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let op = target_operation(&req, TARGET_PREFIX)
        .unwrap_or_default()
        .to_owned();
    match shared.cognito.handle(&req, &body) {
        Ok(output) => add_cors(json::aws_json_ok(&output)),
        Err(e) => {
            tracing::debug!(operation = %op, error = %e, "Cognito request refused");
            add_cors(e.to_json_response())
        }
    }
}

async fn preflight(req: HttpRequest) -> HttpResponse {
    let requested = req
        .headers()
        .get("access-control-request-headers")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("content-type, x-amz-target, x-amz-user-agent, authorization, x-amz-date, x-amz-content-sha256, amz-sdk-invocation-id, amz-sdk-request")
        .to_owned();
    with_cors(HttpResponse::Ok())
        .insert_header(("Access-Control-Allow-Methods", "POST, GET, OPTIONS"))
        .insert_header(("Access-Control-Allow-Headers", requested))
        .insert_header(("Access-Control-Max-Age", "86400"))
        .finish()
}

async fn outbox(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.cognito.outbox())
}

async fn outbox_latest(path: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    match shared.cognito.latest_message(&path) {
        Some(message) => HttpResponse::Ok().json(message),
        None => AwsError::new(
            404,
            "NotFoundException",
            format!("No e-mail was sent to {}", path.as_str()),
        )
        .to_json_response(),
    }
}

fn pool_exists(shared: &Shared, pool_id: &str) -> bool {
    shared.cognito.store.read(|s| s.pools.contains_key(pool_id))
}

async fn jwks(path: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    if !pool_exists(&shared, &path) {
        return add_cors(ops::pool_not_found(&path).to_json_response());
    }
    match shared.cognito.jwks() {
        Ok(jwks) => with_cors(HttpResponse::Ok()).json(jwks),
        Err(e) => {
            tracing::error!(error = %e, "cannot load the Cognito signing keys");
            AwsError::new(500, "InternalErrorException", "signing keys unavailable")
                .to_json_response()
        }
    }
}

async fn openid_configuration(
    req: HttpRequest,
    path: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if !pool_exists(&shared, &path) {
        return add_cors(ops::pool_not_found(&path).to_json_response());
    }
    let info = req.connection_info();
    let jwks_uri = format!(
        "{}://{}/{}/.well-known/jwks.json",
        info.scheme(),
        info.host(),
        path.as_str()
    );
    with_cors(HttpResponse::Ok()).json(serde_json::json!({
        "issuer": shared.cognito.issuer(&path),
        "jwks_uri": jwks_uri,
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code", "token"],
    }))
}
