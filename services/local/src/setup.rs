//! The resources a deployment's CDK stack would create, made in the emulator (found again on a
//! restart, so users, channels and secrets survive): the user pool and app client, the secrets,
//! the channel-assets bucket; plus the wiring AWS does between services (Cognito → trigger
//! Lambdas, S3 → SQS → asset-version updater, IVS → EventBridge → event-ingest).

use std::sync::Arc;

use anyhow::{anyhow, Context};
use base64::Engine as _;
use serde_json::{json, Value};
use ugc_emulator::cognito::Triggers;
use ugc_emulator::core::config::EventTarget;
use ugc_emulator::Shared;
use ugc_triggers::asset_version::AssetVersionUpdater;
use ugc_triggers::custom_message::CustomMessageConfig;
use ugc_triggers::pre_sign_up::PreSignUpConfig;

use crate::config::LocalConfig;

/// Secret names, as the CDK stack names its generated secrets.
pub const PAGINATION_KEY_SECRET: &str = "ugc-local/pagination-token-key";
pub const INGEST_SECRET: &str = "ugc-local/ingest-secret";
pub const PRODUCT_API_SECRET: &str = "ugc-local/product-api-credentials";
/// The header EventBridge's API destination sends the ingest secret in.
pub const INGEST_SECRET_HEADER: &str = "x-ugc-ingest-secret";
/// The Creators API credential id of the local platform.
const CREATORS_CLIENT_ID: &str = "ugc-local";

/// The user pool and app client the services and the SPA use.
#[derive(Clone, Debug)]
pub struct Identity {
    pub pool_id: String,
    pub client_id: String,
}

/// Finds the pool and its `web` client by name, or creates them configured like the CDK stack's
/// (self sign-up, `preferred_username` alias, case-insensitive names, required immutable e-mail,
/// e-mailed codes unless auto-verify, USER_PASSWORD_AUTH + refresh, no client secret).
pub fn user_pool(shared: &Shared, config: &LocalConfig) -> anyhow::Result<Identity> {
    let cognito = &shared.cognito;
    let call = |op: &str, input: Value| {
        cognito
            .call(op, &input)
            .map_err(|e| anyhow!("Cognito {op}: {e}"))
    };
    let pool_id = match find(
        |token| call("ListUserPools", paged(json!({"MaxResults": 60}), token)),
        "UserPools",
        "Name",
        &config.user_pool_name,
        "Id",
    )? {
        Some(id) => id,
        None => {
            let auto_verified: Vec<&str> = if config.auto_verify {
                vec![]
            } else {
                vec!["email"]
            };
            let out = call(
                "CreateUserPool",
                json!({
                    "PoolName": config.user_pool_name,
                    "AliasAttributes": ["preferred_username"],
                    "UsernameConfiguration": {"CaseSensitive": false},
                    "AutoVerifiedAttributes": auto_verified,
                    "Schema": [{"Name": "email", "AttributeDataType": "String", "Required": true, "Mutable": false}],
                    "Policies": {"PasswordPolicy": {
                        "MinimumLength": 8, "RequireUppercase": true, "RequireLowercase": true,
                        "RequireNumbers": true, "RequireSymbols": true
                    }},
                    "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                }),
            )?;
            str_at(&out, &["UserPool", "Id"]).context("CreateUserPool returned no Id")?
        }
    };
    let client_id = match find(
        |token| {
            call(
                "ListUserPoolClients",
                paged(json!({"UserPoolId": pool_id, "MaxResults": 60}), token),
            )
        },
        "UserPoolClients",
        "ClientName",
        "web",
        "ClientId",
    )? {
        Some(id) => id,
        None => {
            let out = call(
                "CreateUserPoolClient",
                json!({
                    "UserPoolId": pool_id,
                    "ClientName": "web",
                    "GenerateSecret": false,
                    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                    "PreventUserExistenceErrors": "ENABLED",
                }),
            )?;
            str_at(&out, &["UserPoolClient", "ClientId"])
                .context("CreateUserPoolClient returned no ClientId")?
        }
    };
    Ok(Identity { pool_id, client_id })
}

/// `input` with `NextToken` set when continuing a listing.
fn paged(mut input: Value, token: Option<String>) -> Value {
    if let (Some(object), Some(token)) = (input.as_object_mut(), token) {
        object.insert("NextToken".to_owned(), Value::String(token));
    }
    input
}

/// Walks a paginated list for the item whose `name_field` is `name`; returns its `id_field`.
fn find(
    mut page: impl FnMut(Option<String>) -> anyhow::Result<Value>,
    list: &str,
    name_field: &str,
    name: &str,
    id_field: &str,
) -> anyhow::Result<Option<String>> {
    let mut token = None;
    loop {
        let out = page(token)?;
        let found = out
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|item| item.get(name_field).and_then(Value::as_str) == Some(name))
            .and_then(|item| item.get(id_field).and_then(Value::as_str))
            .map(str::to_owned);
        if found.is_some() {
            return Ok(found);
        }
        match out.get("NextToken").and_then(Value::as_str) {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(None),
        }
    }
}

fn str_at(value: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(value, |v, key| v.get(*key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A random secret, generated on first start and kept in the emulator's Secrets Manager.
fn secret_once(shared: &Shared, name: &str, generate: impl FnOnce() -> String) -> String {
    match shared.secrets.get(name) {
        Some(value) => value,
        None => {
            let value = generate();
            shared.secrets.put(name, &value);
            value
        }
    }
}

fn random_base64(bytes: usize) -> String {
    let data: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn random_token(bytes: usize) -> String {
    let data: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// The secrets, by name; each value is generated once and persisted.
#[derive(Clone)]
pub struct Secrets {
    pub ingest_secret: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

/// The pagination key (base64 of 32 bytes), the ingest secret, and the Creators API credential
/// the emulator's Creators API is told to accept.
pub fn secrets(shared: &Shared) -> anyhow::Result<Secrets> {
    secret_once(shared, PAGINATION_KEY_SECRET, || random_base64(32));
    let ingest_secret = secret_once(shared, INGEST_SECRET, || random_token(32));
    let product = secret_once(shared, PRODUCT_API_SECRET, || {
        json!({
            "credentialId": CREATORS_CLIENT_ID,
            "credentialSecret": random_token(24),
            "version": "2.1",
            "partnerTag": "ugclocal-20",
        })
        .to_string()
    });
    let product: Value =
        serde_json::from_str(&product).context("the stored product API secret is not JSON")?;
    let id = str_at(&product, &["credentialId"]).unwrap_or_default();
    let secret = str_at(&product, &["credentialSecret"]).unwrap_or_default();
    shared.creators.set_credentials(id, secret);
    Ok(Secrets { ingest_secret })
}

/// The project's Cognito trigger functions, called in-process as the pool's Lambdas.
pub fn register_triggers(shared: &Shared, config: &LocalConfig) {
    let pre_sign_up = PreSignUpConfig {
        allowed_domains: config.sign_up_allowed_domains.clone(),
        auto_verify: config.auto_verify,
    };
    let custom_message = CustomMessageConfig {
        client_base_url: config.client_base_url.clone(),
    };
    shared.cognito.register_triggers(
        Triggers::default()
            .with_pre_sign_up(move |event| ugc_triggers::pre_sign_up::handle(&pre_sign_up, event))
            .with_pre_authentication(ugc_triggers::pre_authentication::handle)
            .with_custom_message(move |event| {
                ugc_triggers::custom_message::handle(&custom_message, event)
            }),
    );
}

/// The assets bucket, and its object-created notifications delivered to the asset-version
/// updater (as S3 → SQS → Lambda; a DynamoDB error makes the emulator redeliver).
pub fn assets(shared: &Shared, bucket: &str, updater: AssetVersionUpdater) {
    shared.s3.create_bucket(bucket);
    let updater = Arc::new(updater);
    shared
        .s3
        .set_notification_handler(Arc::new(move |body: Value| {
            let updater = updater.clone();
            Box::pin(async move {
                match updater.apply_notification(&body.to_string()).await {
                    Ok(outcomes) => {
                        tracing::info!(?outcomes, "asset-version updater");
                        Ok(())
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "asset-version updater failed; S3 will redeliver");
                        Err(err.to_string())
                    }
                }
            })
        }));
}

/// IVS events of simulated broadcasts go to event-ingest with the secret header, as the
/// EventBridge API destination sends them.
pub fn event_target(shared: &Shared, ingest_url: &str, secrets: &Secrets) {
    shared.events.set_target(Some(EventTarget {
        url: format!("{ingest_url}/streamEvents"),
        header_name: INGEST_SECRET_HEADER.to_owned(),
        header_value: secrets.ingest_secret.clone(),
    }));
}
