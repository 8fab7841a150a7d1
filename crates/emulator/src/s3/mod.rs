//! Amazon S3, path-style REST-XML (`docs/wire-protocols.md` §7, §8, §11).
//!
//! Every bucket is versioned: each write gets a version id, a plain DELETE adds a delete marker.
//! Object metadata lives in the JSON store (`s3.json`); object bytes are files under
//! `<data_dir>/s3/` (or in memory without a data directory), named by version id.
//!
//! New objects are announced to a registered notification handler, asynchronously and after a
//! short delay as SQS would, with the S3 → SQS message body of docs/wire-protocols.md §8.1. A failing handler is retried.

mod post;
mod rest;
pub mod wire;
mod xml;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actix_web::web;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::core::config::EmulatorConfig;
use crate::core::store::Store;

pub use post::{post_signature, signing_key};
pub use wire::S3Error;

/// Future returned by a notification handler; `Err` makes the emulator retry the delivery.
pub type NotificationFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Receives the docs/wire-protocols.md §8.1 message body (`{"Records":[…]}`) of every new object.
pub type NotificationHandler = Arc<dyn Fn(serde_json::Value) -> NotificationFuture + Send + Sync>;

/// Delay between an object's creation and its notification (SQS delivery latency).
const NOTIFICATION_DELAY: Duration = Duration::from_millis(100);
/// Deliveries per notification before it is dropped (the upstream queue's `maxReceiveCount`).
const NOTIFICATION_ATTEMPTS: u32 = 5;

pub struct S3 {
    store: Store<State>,
    blobs: Blobs,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    handler: RwLock<Option<NotificationHandler>>,
}

#[derive(Default, Serialize, Deserialize)]
struct State {
    buckets: BTreeMap<String, Bucket>,
    /// Last sequencer handed out; sequencers grow across keys and restarts.
    last_sequencer: u128,
}

#[derive(Serialize, Deserialize)]
struct Bucket {
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
    region: String,
    /// Versions of each key, oldest first; the last one is current.
    objects: BTreeMap<String, Vec<Version>>,
}

/// One version of an object, or a delete marker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Version {
    pub version_id: String,
    pub delete_marker: bool,
    /// MD5 hex, without quotes.
    pub etag: String,
    pub size: u64,
    pub content_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    /// `x-amz-meta-*` values, names lower-cased without the prefix.
    pub metadata: BTreeMap<String, String>,
    pub sequencer: String,
}

/// An object read back: its version record and bytes.
#[derive(Clone, Debug)]
pub struct Object {
    pub version: Version,
    pub body: Bytes,
}

/// What to store as a new object version.
pub struct NewObject {
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub body: Bytes,
}

/// How a new object arrived, for the notification's `eventName`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreatedBy {
    Put,
    Post,
}

/// Result of a DeleteObject.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    /// The delete marker created, or the version removed.
    pub version_id: Option<String>,
    pub delete_marker: bool,
}

/// A listing entry (current, non-deleted versions only).
#[derive(Clone, Debug)]
pub struct Listed {
    pub key: String,
    pub version: Version,
}

impl S3 {
    pub fn load(dir: Option<&Path>, config: &EmulatorConfig) -> anyhow::Result<Self> {
        let blob_dir = dir.map(|d| d.join("s3"));
        if let Some(d) = &blob_dir {
            std::fs::create_dir_all(d)?;
        }
        Ok(Self {
            store: Store::open(dir, "s3")?,
            blobs: Blobs {
                dir: blob_dir,
                memory: Mutex::new(HashMap::new()),
            },
            region: config.region.clone(),
            access_key_id: config.access_key_id.clone(),
            secret_access_key: config.secret_access_key.clone(),
            handler: RwLock::new(None),
        })
    }

    /// Registers the receiver of object-created notifications (replacing any previous one).
    pub fn set_notification_handler(&self, handler: NotificationHandler) {
        *self.handler.write().unwrap_or_else(|p| p.into_inner()) = Some(handler);
    }

    /// Creates a bucket; `false` if it already existed.
    pub fn create_bucket(&self, name: &str) -> bool {
        let region = self.region.clone();
        self.store.write(|s| {
            if s.buckets.contains_key(name) {
                return false;
            }
            s.buckets.insert(
                name.to_owned(),
                Bucket {
                    created: OffsetDateTime::now_utc(),
                    region,
                    objects: BTreeMap::new(),
                },
            );
            true
        })
    }

    pub fn bucket_exists(&self, name: &str) -> bool {
        self.store.read(|s| s.buckets.contains_key(name))
    }

    /// The region a bucket was created in.
    pub fn bucket_region(&self, name: &str) -> Option<String> {
        self.store
            .read(|s| s.buckets.get(name).map(|b| b.region.clone()))
    }

    /// Deletes an empty bucket.
    pub fn delete_bucket(&self, name: &str) -> Result<(), S3Error> {
        let removed = self.store.write(|s| {
            let bucket = s
                .buckets
                .get(name)
                .ok_or_else(|| S3Error::no_such_bucket(name))?;
            if !bucket.objects.is_empty() {
                return Err(S3Error::new(
                    409,
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty",
                )
                .with("BucketName", name));
            }
            s.buckets.remove(name);
            Ok(())
        });
        removed
    }

    /// Stores a new current version of `key` and schedules its notification.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        object: NewObject,
        by: CreatedBy,
    ) -> Result<Version, S3Error> {
        if !self.bucket_exists(bucket) {
            return Err(S3Error::no_such_bucket(bucket));
        }
        let version_id = new_version_id();
        self.blobs
            .put(&version_id, object.body.clone())
            .map_err(|e| {
                tracing::error!(error = %e, "cannot store S3 object bytes");
                S3Error::new(
                    500,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                )
            })?;
        let version = self.store.write(|s| {
            s.last_sequencer = next_sequencer(s.last_sequencer);
            let version = Version {
                version_id: version_id.clone(),
                delete_marker: false,
                etag: md5_hex(&object.body),
                size: object.body.len() as u64,
                content_type: object
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "binary/octet-stream".to_owned()),
                last_modified: OffsetDateTime::now_utc(),
                metadata: object.metadata.clone(),
                sequencer: format!("{:018X}", s.last_sequencer),
            };
            let bucket = s
                .buckets
                .get_mut(bucket)
                .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
            bucket
                .objects
                .entry(key.to_owned())
                .or_default()
                .push(version.clone());
            Ok(version)
        });
        match version {
            Ok(version) => {
                self.notify(bucket, key, &version, by);
                Ok(version)
            }
            Err(e) => {
                self.blobs.remove(&version_id);
                Err(e)
            }
        }
    }

    /// The current version of `key`, or the version `version_id` (`"null"` never exists: every
    /// bucket is versioned from its creation).
    pub fn get_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Object, S3Error> {
        let version = self.store.read(|s| {
            let b = s
                .buckets
                .get(bucket)
                .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
            let versions = b.objects.get(key);
            match version_id {
                Some(id) => {
                    let v = versions
                        .and_then(|vs| vs.iter().find(|v| v.version_id == id))
                        .ok_or_else(|| S3Error::no_such_version(key, id))?;
                    if v.delete_marker {
                        return Err(S3Error::new(
                            405,
                            "MethodNotAllowed",
                            "The specified method is not allowed against this resource.",
                        )
                        .header("x-amz-delete-marker", "true")
                        .header("x-amz-version-id", id));
                    }
                    Ok(v.clone())
                }
                None => {
                    let v = versions
                        .and_then(|vs| vs.last())
                        .ok_or_else(|| S3Error::no_such_key(key))?;
                    if v.delete_marker {
                        return Err(S3Error::no_such_key(key)
                            .header("x-amz-delete-marker", "true")
                            .header("x-amz-version-id", v.version_id.clone()));
                    }
                    Ok(v.clone())
                }
            }
        })?;
        let body = self.blobs.get(&version.version_id).map_err(|e| {
            tracing::error!(error = %e, version = %version.version_id, "cannot read S3 object bytes");
            S3Error::new(500, "InternalError", "We encountered an internal error. Please try again.")
        })?;
        Ok(Object { version, body })
    }

    /// DeleteObject: without `version_id` adds a delete marker; with it removes that version.
    pub fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Deleted, S3Error> {
        let (deleted, removed_blob) = self.store.write(|s| {
            s.last_sequencer = next_sequencer(s.last_sequencer);
            let sequencer = format!("{:018X}", s.last_sequencer);
            let b = s
                .buckets
                .get_mut(bucket)
                .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
            match version_id {
                None => {
                    let marker = Version {
                        version_id: new_version_id(),
                        delete_marker: true,
                        etag: String::new(),
                        size: 0,
                        content_type: String::new(),
                        last_modified: OffsetDateTime::now_utc(),
                        metadata: BTreeMap::new(),
                        sequencer,
                    };
                    let id = marker.version_id.clone();
                    b.objects.entry(key.to_owned()).or_default().push(marker);
                    Ok((
                        Deleted {
                            version_id: Some(id),
                            delete_marker: true,
                        },
                        None,
                    ))
                }
                Some(id) => {
                    let Some(versions) = b.objects.get_mut(key) else {
                        return Ok((
                            Deleted {
                                version_id: Some(id.to_owned()),
                                delete_marker: false,
                            },
                            None,
                        ));
                    };
                    let Some(pos) = versions.iter().position(|v| v.version_id == id) else {
                        return Ok((
                            Deleted {
                                version_id: Some(id.to_owned()),
                                delete_marker: false,
                            },
                            None,
                        ));
                    };
                    let removed = versions.remove(pos);
                    if versions.is_empty() {
                        b.objects.remove(key);
                    }
                    let blob = (!removed.delete_marker).then(|| removed.version_id.clone());
                    Ok((
                        Deleted {
                            version_id: Some(removed.version_id),
                            delete_marker: removed.delete_marker,
                        },
                        blob,
                    ))
                }
            }
        })?;
        if let Some(blob) = removed_blob {
            self.blobs.remove(&blob);
        }
        Ok(deleted)
    }

    /// Current, non-deleted objects whose key starts with `prefix`, in UTF-8 binary key order,
    /// starting strictly after `after`.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: Option<&str>,
    ) -> Result<Vec<Listed>, S3Error> {
        self.store.read(|s| {
            let b = s
                .buckets
                .get(bucket)
                .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
            Ok(b.objects
                .range::<str, _>((
                    match after {
                        Some(a) if a >= prefix => std::ops::Bound::Excluded(a),
                        _ => std::ops::Bound::Included(prefix),
                    },
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(k, _)| k.starts_with(prefix))
                .filter_map(|(k, vs)| {
                    let v = vs.last()?;
                    (!v.delete_marker).then(|| Listed {
                        key: k.clone(),
                        version: v.clone(),
                    })
                })
                .collect())
        })
    }

    fn notify(&self, bucket: &str, key: &str, version: &Version, by: CreatedBy) {
        let Some(handler) = self
            .handler
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return;
        };
        let message = notification_message(&self.region, bucket, key, version, by);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no async runtime: S3 notification dropped");
            return;
        };
        runtime.spawn(async move {
            let mut delay = NOTIFICATION_DELAY;
            for attempt in 1..=NOTIFICATION_ATTEMPTS {
                tokio::time::sleep(delay).await;
                match handler(message.clone()).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(attempt, error = %e, "S3 notification handler failed"),
                }
                delay = delay.saturating_mul(2);
            }
            tracing::error!(message = %message, "S3 notification dropped after {NOTIFICATION_ATTEMPTS} attempts");
        });
    }

    pub(crate) fn credentials(&self) -> (&str, &str) {
        (&self.access_key_id, &self.secret_access_key)
    }
}

/// The S3 → SQS message body of docs/wire-protocols.md §8.1 for a new object.
fn notification_message(
    region: &str,
    bucket: &str,
    key: &str,
    version: &Version,
    by: CreatedBy,
) -> serde_json::Value {
    let event_time = version
        .last_modified
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time,
        "eventName": match by { CreatedBy::Put => "ObjectCreated:Put", CreatedBy::Post => "ObjectCreated:Post" },
        "userIdentity": {"principalId": "AWS:AIDAEMULATOR"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": wire::request_id(), "x-amz-id-2": "emulator"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "emulator",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "AEMULATOR"}, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {
                "key": wire::form_encode_key(key),
                "size": version.size,
                "eTag": version.etag,
                "versionId": version.version_id,
                "sequencer": version.sequencer,
            }
        }
    }]})
}

/// Sequencers are time-based so they also grow across restarts, and strictly increasing.
fn next_sequencer(last: u128) -> u128 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let now = u128::try_from(now).unwrap_or_default();
    now.max(last.saturating_add(1))
}

/// A 32-character version id in S3's alphabet (letters, digits, `.` and `_`).
fn new_version_id() -> String {
    use base64::Engine as _;
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .replace('-', ".")
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(data))
}

/// Object bytes, keyed by version id: files under `<data_dir>/s3/`, or in memory.
struct Blobs {
    dir: Option<PathBuf>,
    memory: Mutex<HashMap<String, Bytes>>,
}

impl Blobs {
    fn put(&self, id: &str, body: Bytes) -> std::io::Result<()> {
        match &self.dir {
            Some(dir) => {
                let tmp = dir.join(format!("{id}.tmp"));
                std::fs::write(&tmp, &body)?;
                std::fs::rename(tmp, dir.join(id))
            }
            None => {
                self.memory
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.to_owned(), body);
                Ok(())
            }
        }
    }

    fn get(&self, id: &str) -> std::io::Result<Bytes> {
        match &self.dir {
            Some(dir) => std::fs::read(dir.join(id)).map(Bytes::from),
            None => self
                .memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(id)
                .cloned()
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "object bytes missing")
                }),
        }
    }

    fn remove(&self, id: &str) {
        match &self.dir {
            Some(dir) => {
                if let Err(e) = std::fs::remove_file(dir.join(id)) {
                    tracing::warn!(error = %e, id, "cannot remove S3 object bytes");
                }
            }
            None => {
                self.memory
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(id);
            }
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    rest::configure(cfg);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3() -> S3 {
        S3::load(None, &EmulatorConfig::default()).unwrap()
    }

    fn new(body: &'static [u8]) -> NewObject {
        NewObject {
            content_type: Some("text/plain".into()),
            metadata: BTreeMap::new(),
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn versions_and_delete_markers() {
        let s3 = s3();
        assert!(s3.create_bucket("b"));
        assert!(!s3.create_bucket("b"));
        let v1 = s3
            .put_object("b", "k", new(b"one"), CreatedBy::Put)
            .unwrap();
        let v2 = s3
            .put_object("b", "k", new(b"two"), CreatedBy::Put)
            .unwrap();
        assert_ne!(v1.version_id, v2.version_id);
        assert!(v1.sequencer < v2.sequencer);
        assert_eq!(v1.version_id.len(), 32);
        assert_eq!(s3.get_object("b", "k", None).unwrap().body, "two");
        assert_eq!(
            s3.get_object("b", "k", Some(&v1.version_id)).unwrap().body,
            "one"
        );
        let marker = s3.delete_object("b", "k", None).unwrap();
        assert!(marker.delete_marker);
        assert_eq!(s3.get_object("b", "k", None).unwrap_err().code, "NoSuchKey");
        assert!(s3.list_objects("b", "", None).unwrap().is_empty());
        s3.delete_object("b", "k", marker.version_id.as_deref())
            .unwrap();
        assert_eq!(s3.get_object("b", "k", None).unwrap().body, "two");
        assert_eq!(
            s3.get_object("b", "k", Some("nope")).unwrap_err().code,
            "NoSuchVersion"
        );
    }

    #[test]
    fn objects_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("s3-test-{}", uuid::Uuid::new_v4()));
        let config = EmulatorConfig::default();
        let v = {
            let s3 = S3::load(Some(&dir), &config).unwrap();
            s3.create_bucket("b");
            s3.put_object("b", "a/k", new(b"bytes"), CreatedBy::Put)
                .unwrap()
        };
        let s3 = S3::load(Some(&dir), &config).unwrap();
        let o = s3.get_object("b", "a/k", Some(&v.version_id)).unwrap();
        assert_eq!(o.body, "bytes");
        assert_eq!(o.version.content_type, "text/plain");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn md5_etag() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
