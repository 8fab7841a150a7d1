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
use crate::core::routing::{target_operation, TargetPrefix};
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

fn parse_value(input: &Value) -> Result<Option<NewValue>, AwsError> {
    let string = input.get("SecretString").and_then(Value::as_str);
    let binary = input.get("SecretBinary").and_then(Value::as_str);
    match (string, binary) {
        (Some(_), Some(_)) => Err(invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        )),
        (None, None) => Ok(None),
        (s, b) => {
            let size = s.map_or(0, str::len) + b.map_or(0, |b| b.len() / 4 * 3);
            if size > MAX_VALUE_BYTES {
                return Err(invalid_parameter("The secret value exceeds the 65536 byte limit."));
            }
            Ok(Some(NewValue {
                string: s.map(str::to_owned),
                binary: b.map(str::to_owned),
            }))
        }
    }
}

fn str_field<'a>(input: &'a Value, field: &str) -> Result<Option<&'a str>, AwsError> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AwsError::new(
            400,
            "SerializationException",
            format!("{field} must be a string"),
        )),
    }
}

fn required<'a>(input: &'a Value, field: &str) -> Result<&'a str, AwsError> {
    str_field(input, field)?.ok_or_else(|| {
        invalid_parameter(format!("1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must not be null"))
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
        let input = json!({"SecretId": name, "SecretString": value});
        match self.put_secret_value(&input) {
            Ok(out) => out
                .get("ARN")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            Err(_) => {
                let input = json!({"Name": name, "SecretString": value});
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

    fn execute(&self, op: &str, input: &Value) -> Result<Value, AwsError> {
        match op {
            "CreateSecret" => self.create_secret(input),
            "PutSecretValue" => self.put_secret_value(input),
            "GetSecretValue" => self.get_secret_value(input),
            "DescribeSecret" => self.describe_secret(input),
            "ListSecrets" => self.list_secrets(),
            other => Err(AwsError::new(
                400,
                "UnknownOperationException",
                format!("Unknown operation {other}"),
            )),
        }
    }

    fn create_secret(&self, input: &Value) -> Result<Value, AwsError> {
        let name = required(input, "Name")?;
        if name.is_empty() || name.len() > 512 {
            return Err(invalid_parameter(
                "The secret name must be 1 to 512 characters.",
            ));
        }
        if name.starts_with("arn:") {
            return Err(invalid_parameter("The secret name can't start with arn:."));
        }
        let value = parse_value(input)?;
        let version_id = str_field(input, "ClientRequestToken")?
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
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
            description: str_field(input, "Description")?.map(str::to_owned),
            kms_key_id: str_field(input, "KmsKeyId")?.map(str::to_owned),
            tags: input
                .get("Tags")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
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

    fn put_secret_value(&self, input: &Value) -> Result<Value, AwsError> {
        let id = required(input, "SecretId")?;
        let value = parse_value(input)?.ok_or_else(|| {
            invalid_parameter("You must provide either SecretString or SecretBinary.")
        })?;
        let version_id = str_field(input, "ClientRequestToken")?
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let stages: Vec<String> = input
            .get("VersionStages")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
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

    fn get_secret_value(&self, input: &Value) -> Result<Value, AwsError> {
        let id = required(input, "SecretId")?;
        let version_id = str_field(input, "VersionId")?;
        let stage = str_field(input, "VersionStage")?;
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

    fn describe_secret(&self, input: &Value) -> Result<Value, AwsError> {
        let id = required(input, "SecretId")?;
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
        let op = target_operation(req, TARGET_PREFIX).unwrap_or_default();
        let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                AwsError::new(
                    400,
                    "SerializationException",
                    format!("Malformed JSON: {e}"),
                )
            })?
        };
        if !input.is_object() {
            return Err(AwsError::new(
                400,
                "SerializationException",
                "The request body must be a JSON object",
            ));
        }
        self.execute(op, &input)
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/",
        web::post()
            .guard(TargetPrefix(TARGET_PREFIX))
            .to(handle_operation),
    );
}

async fn handle_operation(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    match shared.secrets.handle(&req, &body) {
        Ok(out) => HttpResponse::Ok()
            .insert_header(("x-amzn-RequestId", uuid::Uuid::new_v4().to_string()))
            .content_type("application/x-amz-json-1.1")
            .body(out.to_string()),
        Err(e) => error_response(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let prev = s
            .get_secret_value(&json!({"SecretId": "app/key", "VersionStage": "AWSPREVIOUS"}))
            .unwrap();
        assert_eq!(prev["SecretString"], "one");
        s.put("app/key", "three");
        let prev = s
            .get_secret_value(&json!({"SecretId": "app/key", "VersionStage": "AWSPREVIOUS"}))
            .unwrap();
        assert_eq!(prev["SecretString"], "two");
    }
}
