//! Secrets Manager over awsJson1_1 (`docs/wire-protocols.md` §6): CreateSecret, PutSecretValue,
//! GetSecretValue (by name or ARN, by version id or stage), DescribeSecret, ListSecrets. Every
//! call must carry a valid SigV4 signature. [`Secrets::put`] seeds values from Rust.

use std::collections::BTreeMap;
use std::path::Path;

use actix_web::{web, HttpRequest, HttpResponse};
use rand::distr::Alphanumeric;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::core::config::EmulatorConfig;
use crate::core::error::AwsError;
use crate::core::json::{self, BodyError};
use crate::core::routing::{target_operation, target_route};
use crate::core::sigv4;
use crate::core::store::Store;
use crate::server::Shared;

const TARGET_PREFIX: &str = "secretsmanager.";
const CURRENT: &str = "AWSCURRENT";
const PREVIOUS: &str = "AWSPREVIOUS";
/// SecretString / SecretBinary limit.
const MAX_VALUE_BYTES: usize = 65_536;

#[derive(Default, Serialize, Deserialize)]
struct State {
    secrets: BTreeMap<String, Secret>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Secret {
    name: String,
    arn: String,
    description: Option<String>,
    kms_key_id: Option<String>,
    tags: Vec<Value>,
    created: f64,
    last_changed: f64,
    versions: Vec<Version>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Version {
    id: String,
    string: Option<String>,
    /// Base64, exactly as it travels in JSON.
    binary: Option<String>,
    stages: Vec<String>,
    created: f64,
}

pub struct Secrets {
    store: Store<State>,
    region: String,
    account_id: String,
    access_key_id: String,
    secret_access_key: String,
}

fn now() -> f64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    (nanos / 1_000_000) as f64 / 1000.0
}

fn not_found() -> AwsError {
    AwsError::new(
        400,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    )
}

fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new(400, "InvalidParameterException", message)
}

/// Secrets Manager spells the message member `Message` (docs/wire-protocols.md §6); `message` is kept for every client.
fn error_response(e: &AwsError) -> HttpResponse {
    HttpResponse::build(e.status)
        .insert_header(("x-amzn-ErrorType", e.code))
        .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
        .content_type("application/x-amz-json-1.1")
        .body(json!({"__type": e.code, "Message": e.message, "message": e.message}).to_string())
}

struct NewValue {
    string: Option<String>,
    binary: Option<String>,
}

/// The members of the Secrets Manager requests the emulator serves; each operation reads some.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    name: Option<String>,
    secret_id: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    tags: Option<Vec<Value>>,
    version_stages: Option<Vec<String>>,
    version_id: Option<String>,
    version_stage: Option<String>,
}

/// The operations the emulated Secrets Manager serves, named as in `X-Amz-Target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum SecretsOp {
    CreateSecret,
    PutSecretValue,
    GetSecretValue,
    DescribeSecret,
    ListSecrets,
}

impl Request {
    fn new_value(&self) -> Result<Option<NewValue>, AwsError> {
        match (&self.secret_string, &self.secret_binary) {
            (Some(_), Some(_)) => Err(invalid_parameter(
                "You can't specify both a binary secret value and a string secret value in the same secret.",
            )),
            (None, None) => Ok(None),
            (s, b) => {
                let size = s.as_ref().map_or(0, String::len)
                    + b.as_ref().map_or(0, |b| b.len() / 4 * 3);
                if size > MAX_VALUE_BYTES {
                    return Err(invalid_parameter("The secret value exceeds the 65536 byte limit."));
                }
                Ok(Some(NewValue {
                    string: s.clone(),
                    binary: b.clone(),
                }))
            }
        }
    }

    /// `ClientRequestToken`, or a fresh version id.
    fn version_token(&self) -> String {
        self.client_request_token
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }
}

fn required<'a>(value: &'a Option<String>, member: &str) -> Result<&'a str, AwsError> {
    value.as_deref().ok_or_else(|| {
        invalid_parameter(format!("1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must not be null"))
    })
}

impl Secret {
    fn versions_to_stages(&self) -> Value {
        Value::Object(
            self.versions
                .iter()
                .filter(|v| !v.stages.is_empty())
                .map(|v| (v.id.clone(), json!(v.stages)))
                .collect(),
        )
    }

    /// Adds a version: it takes `stages` (default AWSCURRENT) away from the others, and the
    /// version losing AWSCURRENT becomes AWSPREVIOUS.
    fn add_version(&mut self, id: String, value: NewValue, stages: Vec<String>) -> Vec<String> {
        let stages = if stages.is_empty() {
            vec![CURRENT.to_owned()]
        } else {
            stages
        };
        if stages.iter().any(|s| s == CURRENT) {
            for v in &mut self.versions {
                v.stages.retain(|s| s != PREVIOUS);
            }
            for v in &mut self.versions {
                if v.stages.iter().any(|s| s == CURRENT) {
                    v.stages.push(PREVIOUS.to_owned());
                }
            }
        }
        for v in &mut self.versions {
            v.stages.retain(|s| !stages.contains(s));
        }
        let at = now();
        self.versions.push(Version {
            id,
            string: value.string,
            binary: value.binary,
            stages: stages.clone(),
            created: at,
        });
        // Versions without a stage are deprecated; keep the history bounded as AWS does.
        if self.versions.len() > 100 {
            if let Some(i) = self.versions.iter().position(|v| v.stages.is_empty()) {
                self.versions.remove(i);
            }
        }
        self.last_changed = at;
        stages
    }
}

impl State {
    /// By name, full ARN, or ARN without the random suffix.
    fn find(&self, id: &str) -> Option<&Secret> {
        self.secrets.get(id).or_else(|| {
            self.secrets.values().find(|s| {
                s.arn == id
                    || s.arn
                        .rsplit_once('-')
                        .is_some_and(|(partial, _)| partial == id)
            })
        })
    }

    fn find_name(&self, id: &str) -> Option<String> {
        self.find(id).map(|s| s.name.clone())
    }
}

impl Secrets {
    pub fn load(dir: Option<&Path>, config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            store: Store::open(dir, "secretsmanager")?,
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            access_key_id: config.access_key_id.clone(),
            secret_access_key: config.secret_access_key.clone(),
        })
    }

    /// Creates the secret `name` with `value`, or stores `value` as its new current version.
    /// Returns the secret's ARN.
    pub fn put(&self, name: &str, value: &str) -> String {
        let input = Request {
            secret_id: Some(name.to_owned()),
            secret_string: Some(value.to_owned()),
            ..Request::default()
        };
        match self.put_secret_value(&input) {
            Ok(out) => out
                .get("ARN")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            Err(_) => {
                let input = Request {
                    name: Some(name.to_owned()),
                    ..input
                };
                self.create_secret(&input)
                    .ok()
                    .and_then(|out| out.get("ARN").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default()
            }
        }
    }

    /// The current string value of a secret, by name or ARN.
    pub fn get(&self, id: &str) -> Option<String> {
        self.store.read(|s| {
            s.find(id)?
                .versions
                .iter()
                .find(|v| v.stages.iter().any(|st| st == CURRENT))?
                .string
                .clone()
        })
    }

    fn execute(&self, op: SecretsOp, input: &Request) -> Result<Value, AwsError> {
        match op {
            SecretsOp::CreateSecret => self.create_secret(input),
            SecretsOp::PutSecretValue => self.put_secret_value(input),
            SecretsOp::GetSecretValue => self.get_secret_value(input),
            SecretsOp::DescribeSecret => self.describe_secret(input),
            SecretsOp::ListSecrets => self.list_secrets(),
        }
    }

    fn create_secret(&self, input: &Request) -> Result<Value, AwsError> {
        let name = required(&input.name, "Name")?;
        if name.is_empty() || name.len() > 512 {
            return Err(invalid_parameter(
                "The secret name must be 1 to 512 characters.",
            ));
        }
        if name.starts_with("arn:") {
            return Err(invalid_parameter("The secret name can't start with arn:."));
        }
        let value = input.new_value()?;
        let version_id = input.version_token();
        let suffix: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(6)
            .map(char::from)
            .collect();
        let at = now();
        let mut secret = Secret {
            name: name.to_owned(),
            arn: format!(
                "arn:aws:secretsmanager:{}:{}:secret:{name}-{suffix}",
                self.region, self.account_id
            ),
            description: input.description.clone(),
            kms_key_id: input.kms_key_id.clone(),
            tags: input.tags.clone().unwrap_or_default(),
            created: at,
            last_changed: at,
            versions: Vec::new(),
        };
        let has_value = value.is_some();
        if let Some(value) = value {
            secret.add_version(version_id.clone(), value, Vec::new());
        }
        let out = self.store.write(|s| {
            if s.secrets.contains_key(name) {
                return Err(AwsError::new(
                    400,
                    "ResourceExistsException",
                    format!("The operation failed because the secret {name} already exists."),
                ));
            }
            let mut out = json!({"ARN": secret.arn, "Name": secret.name});
            if let (true, Value::Object(o)) = (has_value, &mut out) {
                o.insert("VersionId".into(), Value::String(version_id.clone()));
            }
            s.secrets.insert(name.to_owned(), secret);
            Ok(out)
        })?;
        tracing::info!(name, "secret created");
        Ok(out)
    }

    fn put_secret_value(&self, input: &Request) -> Result<Value, AwsError> {
        let id = required(&input.secret_id, "SecretId")?;
        let value = input.new_value()?.ok_or_else(|| {
            invalid_parameter("You must provide either SecretString or SecretBinary.")
        })?;
        let version_id = input.version_token();
        let stages = input.version_stages.clone().unwrap_or_default();
        self.store.write(|s| {
            let name = s.find_name(id).ok_or_else(not_found)?;
            let secret = s.secrets.get_mut(&name).ok_or_else(not_found)?;
            // A retried request (same token) is answered again; a different value under a
            // used token is a conflict, as in AWS.
            if let Some(existing) = secret.versions.iter().find(|v| v.id == version_id) {
                if existing.string == value.string && existing.binary == value.binary {
                    return Ok(json!({"ARN": secret.arn, "Name": secret.name,
                                     "VersionId": existing.id, "VersionStages": existing.stages}));
                }
                return Err(AwsError::new(
                    400,
                    "ResourceExistsException",
                    "You can't modify an existing version, you can only create a new version.",
                ));
            }
            let stages = secret.add_version(version_id.clone(), value, stages);
            Ok(json!({"ARN": secret.arn, "Name": secret.name,
                      "VersionId": version_id, "VersionStages": stages}))
        })
    }

    fn get_secret_value(&self, input: &Request) -> Result<Value, AwsError> {
        let id = required(&input.secret_id, "SecretId")?;
        let version_id = input.version_id.as_deref();
        let stage = input.version_stage.as_deref();
        self.store.read(|s| {
            let secret = s.find(id).ok_or_else(not_found)?;
            let wanted_stage = stage.or(version_id.is_none().then_some(CURRENT));
            let version = secret
                .versions
                .iter()
                .find(|v| {
                    version_id.is_none_or(|id| v.id == id)
                        && wanted_stage.is_none_or(|st| v.stages.iter().any(|x| x == st))
                })
                .ok_or_else(|| {
                    AwsError::new(
                        400,
                        "ResourceNotFoundException",
                        format!(
                            "Secrets Manager can't find the specified secret value for {}",
                            match (version_id, wanted_stage) {
                                (Some(v), _) => format!("VersionId: {v}"),
                                (None, Some(st)) => format!("staging label: {st}"),
                                (None, None) => "the secret".to_owned(),
                            }
                        ),
                    )
                })?;
            let mut out = json!({
                "ARN": secret.arn,
                "Name": secret.name,
                "VersionId": version.id,
                "VersionStages": version.stages,
                "CreatedDate": version.created,
            });
            if let Value::Object(o) = &mut out {
                if let Some(v) = &version.string {
                    o.insert("SecretString".into(), Value::String(v.clone()));
                }
                if let Some(v) = &version.binary {
                    o.insert("SecretBinary".into(), Value::String(v.clone()));
                }
            }
            Ok(out)
        })
    }

    fn describe(secret: &Secret) -> Value {
        let mut out = json!({
            "ARN": secret.arn,
            "Name": secret.name,
            "LastChangedDate": secret.last_changed,
            "CreatedDate": secret.created,
            "VersionIdsToStages": secret.versions_to_stages(),
            "Tags": secret.tags,
        });
        if let Value::Object(o) = &mut out {
            if let Some(d) = &secret.description {
                o.insert("Description".into(), Value::String(d.clone()));
            }
            if let Some(k) = &secret.kms_key_id {
                o.insert("KmsKeyId".into(), Value::String(k.clone()));
            }
        }
        out
    }

    fn describe_secret(&self, input: &Request) -> Result<Value, AwsError> {
        let id = required(&input.secret_id, "SecretId")?;
        self.store
            .read(|s| s.find(id).map(Self::describe).ok_or_else(not_found))
    }

    fn list_secrets(&self) -> Result<Value, AwsError> {
        Ok(self.store.read(
            |s| json!({"SecretList": s.secrets.values().map(Self::describe).collect::<Vec<_>>()}),
        ))
    }

    fn handle(&self, req: &HttpRequest, body: &[u8]) -> Result<Value, AwsError> {
        sigv4::verify_actix(req, body, &self.access_key_id, &self.secret_access_key)?;
        let name = target_operation(req, TARGET_PREFIX).unwrap_or_default();
        let op = json::operation(name).ok_or_else(|| AwsError::unknown_operation(name))?;
        let input = json::parse(body).map_err(BodyError::into_aws_json)?;
        self.execute(op, &input)
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", target_route(TARGET_PREFIX).to(handle_operation));
}

async fn handle_operation(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    match shared.secrets.handle(&req, &body) {
        Ok(out) => json::aws_json_ok(&out),
        Err(e) => error_response(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previous(id: &str) -> Request {
        Request {
            secret_id: Some(id.to_owned()),
            version_stage: Some(PREVIOUS.to_owned()),
            ..Request::default()
        }
    }

    fn secrets() -> Secrets {
        Secrets::load(None, &EmulatorConfig::default()).unwrap()
    }

    #[test]
    fn put_creates_then_rotates_stages() {
        let s = secrets();
        let arn = s.put("app/key", "one");
        assert!(arn.starts_with("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/key-"));
        assert_eq!(
            arn.len(),
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/key-".len() + 6
        );
        assert_eq!(s.put("app/key", "two"), arn);
        assert_eq!(s.get("app/key").as_deref(), Some("two"));
        assert_eq!(s.get(&arn).as_deref(), Some("two"));
        let prev = s.get_secret_value(&previous("app/key")).unwrap();
        assert_eq!(prev["SecretString"], "one");
        s.put("app/key", "three");
        let prev = s.get_secret_value(&previous("app/key")).unwrap();
        assert_eq!(prev["SecretString"], "two");
    }
}
