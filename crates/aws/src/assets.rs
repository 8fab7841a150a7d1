//! S3 channel assets: browser upload by presigned POST (built here; the Rust SDK has none) and deletion.

use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_lc_rs::hmac;
use aws_types::service_config::ServiceConfigKey;
use base64::Engine;
use serde::ser::SerializeMap;
use serde::Serialize;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::sdk_error::{transient_variants, Failure, FromSdk as _};
use crate::time_util::iso_millis;

#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    #[error("no AWS credentials to sign with: {0}")]
    Credentials(String),
    #[error("no AWS region configured for S3")]
    NoRegion,
    #[error("S3 throttled the request")]
    Throttled,
    #[error("S3 unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected S3 failure: {0}")]
    Unexpected(String),
}

transient_variants!(AssetsError);

impl From<Failure> for AssetsError {
    fn from(failure: Failure) -> Self {
        Self::from_failure_or(failure, |other| AssetsError::Unexpected(other.describe()))
    }
}

/// What the browser posts: `url`, then every field, then `Content-Type` and `file` (last).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PresignedPost {
    pub url: String,
    pub fields: PostFields,
}

/// Form fields in the order `@aws-sdk/s3-presigned-post` produces them (serialised as a JSON object).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostFields(Vec<(String, String)>);

impl PostFields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_owned(), value.into()));
    }
}

impl Serialize for PostFields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Everything a POST policy depends on; [`presigned_post`] is a pure function of it.
#[derive(Clone, Debug)]
pub struct PostPolicyInput<'a> {
    pub bucket: &'a str,
    pub region: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
    /// Largest accepted file, in bytes (`content-length-range` 0..=max).
    pub max_bytes: u64,
    pub expires_in: Duration,
    pub credentials: &'a Credentials,
    pub now: OffsetDateTime,
    /// `https://<bucket>.s3.<region>.amazonaws.com/`, or `<endpoint>/<bucket>` with a custom endpoint.
    pub url: String,
}

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Builds the POST policy (bucket, exact key, exact Content-Type, size range, signing fields) and
/// signs it with SigV4: the string to sign is the base64 policy itself.
pub fn presigned_post(input: &PostPolicyInput<'_>) -> PresignedPost {
    let now = input.now.to_offset(time::UtcOffset::UTC);
    let date = yyyymmdd(now);
    let amz_date = amz_date(now);
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        input.credentials.access_key_id(),
        input.region
    );
    let expiration = now + input.expires_in;
    let mut conditions = vec![
        serde_json::json!({ "bucket": input.bucket }),
        serde_json::json!({ "key": input.key }),
        serde_json::json!({ "Content-Type": input.content_type }),
        serde_json::json!(["content-length-range", 0, input.max_bytes]),
        serde_json::json!({ "x-amz-algorithm": ALGORITHM }),
        serde_json::json!({ "x-amz-credential": credential }),
        serde_json::json!({ "x-amz-date": amz_date }),
    ];
    let token = input.credentials.session_token();
    if let Some(token) = token {
        conditions.push(serde_json::json!({ "x-amz-security-token": token }));
    }
    let policy = serde_json::json!({
        "expiration": iso_millis(expiration),
        "conditions": conditions,
    });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signature = sign_policy(
        input.credentials.secret_access_key(),
        &date,
        input.region,
        &policy,
    );

    let mut fields = PostFields::default();
    fields.push("bucket", input.bucket);
    fields.push("X-Amz-Algorithm", ALGORITHM);
    fields.push("X-Amz-Credential", credential);
    fields.push("X-Amz-Date", amz_date);
    if let Some(token) = token {
        fields.push("X-Amz-Security-Token", token);
    }
    fields.push("key", input.key);
    fields.push("Policy", policy);
    fields.push("X-Amz-Signature", signature);
    PresignedPost {
        url: input.url.clone(),
        fields,
    }
}

/// SigV4 for POST policies: HMAC chain `"AWS4"+secret` → date → region → `s3` → `aws4_request`, then
/// lowercase hex HMAC of the base64 policy.
pub fn sign_policy(
    secret_access_key: &str,
    date: &str,
    region: &str,
    base64_policy: &str,
) -> String {
    let mut key = format!("AWS4{secret_access_key}").into_bytes();
    for part in [date, region, "s3", "aws4_request", base64_policy] {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes());
        key = tag.as_ref().to_vec();
    }
    hex::encode(key)
}

fn yyyymmdd(at: OffsetDateTime) -> String {
    at.format(format_description!("[year][month][day]"))
        .unwrap_or_default()
}

fn amz_date(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap_or_default()
}

/// The S3 endpoint the SDK itself would use, resolved the same way its config does: an endpoint set
/// in code, else `AWS_ENDPOINT_URL_S3` / profile, else the global `AWS_ENDPOINT_URL`. `None` = AWS.
fn s3_endpoint(sdk_config: &aws_config::SdkConfig) -> Option<String> {
    if sdk_config.get_origin("endpoint_url").is_client_config() {
        return sdk_config.endpoint_url().map(str::to_owned);
    }
    let key = ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok();
    key.and_then(|key| sdk_config.service_config()?.load_config(key))
        .or_else(|| sdk_config.endpoint_url().map(str::to_owned))
}

/// S3 client for the channel-assets bucket.
#[derive(Clone, Debug)]
pub struct AssetsClient {
    client: aws_sdk_s3::Client,
    credentials: SharedCredentialsProvider,
    bucket: String,
    region: String,
    post_url: String,
}

impl AssetsClient {
    /// With a custom S3 endpoint (local platform) requests use path-style addressing and the POST
    /// URL is `<endpoint>/<bucket>`; on AWS it is the virtual-hosted `https://<bucket>.s3.<region>.amazonaws.com/`.
    pub fn new(
        sdk_config: &aws_config::SdkConfig,
        bucket: impl Into<String>,
    ) -> Result<Self, AssetsError> {
        let bucket = bucket.into();
        let region = sdk_config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or(AssetsError::NoRegion)?;
        let credentials = sdk_config
            .credentials_provider()
            .ok_or_else(|| AssetsError::Credentials("no credentials provider".to_owned()))?;
        let endpoint = s3_endpoint(sdk_config);
        let post_url = match &endpoint {
            Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        };
        let s3_config = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(endpoint.is_some())
            .build();
        Ok(AssetsClient {
            client: aws_sdk_s3::Client::from_conf(s3_config),
            credentials,
            bucket,
            region,
            post_url,
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A presigned POST for one object, signed with the current credentials (on ECS: the task
    /// role's temporary credentials, hence `X-Amz-Security-Token`).
    pub async fn presigned_post(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        expires_in: Duration,
    ) -> Result<PresignedPost, AssetsError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|err| AssetsError::Credentials(err.to_string()))?;
        Ok(presigned_post(&PostPolicyInput {
            bucket: &self.bucket,
            region: &self.region,
            key,
            content_type,
            max_bytes,
            expires_in,
            credentials: &credentials,
            now: OffsetDateTime::now_utc(),
            url: self.post_url.clone(),
        }))
    }

    /// `DeleteObject` (a delete marker in the versioned bucket). Deleting a missing key succeeds.
    pub async fn delete_object(&self, key: &str) -> Result<(), AssetsError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(AssetsError::from_sdk)?;
        Ok(())
    }

    /// Deletes every object under `prefix` (all `ListObjectsV2` pages, one `DeleteObjects` per page);
    /// returns how many keys were deleted.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, AssetsError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};

        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut deleted = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(AssetsError::from_sdk)?;
            let objects = page
                .contents()
                .iter()
                .filter_map(|object| object.key())
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| AssetsError::Unexpected(err.to_string()))?;
            if objects.is_empty() {
                continue;
            }
            let count = objects.len();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|err| AssetsError::Unexpected(err.to_string()))?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(AssetsError::from_sdk)?;
            if let Some(error) = output.errors().first() {
                return Err(AssetsError::Unexpected(format!(
                    "DeleteObjects failed for {}: {} {}",
                    error.key().unwrap_or_default(),
                    error.code().unwrap_or_default(),
                    error.message().unwrap_or_default()
                )));
            }
            deleted += count;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// AWS's published example "Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)".
    const AWS_EXAMPLE_POLICY: &str = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";

    #[test]
    fn signature_matches_aws_published_example() {
        assert_eq!(
            sign_policy(
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "20151229",
                "us-east-1",
                AWS_EXAMPLE_POLICY
            ),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    fn decoded_policy(post: &PresignedPost) -> serde_json::Value {
        let policy = base64::engine::general_purpose::STANDARD
            .decode(post.fields.get("Policy").unwrap())
            .unwrap();
        serde_json::from_slice(&policy).unwrap()
    }

    #[test]
    fn policy_and_fields_for_temporary_credentials() {
        let credentials = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            Some("session-token".into()),
            None,
            "test",
        );
        let post = presigned_post(&PostPolicyInput {
            bucket: "channel-assets",
            region: "us-west-2",
            key: "d7865ec6-c64c-590d-a0b1-2027f3135fe3/avatar",
            content_type: "image/png",
            max_bytes: 1_000_000,
            expires_in: Duration::from_secs(20),
            credentials: &credentials,
            now: datetime!(2026-01-01 11:59:40 UTC),
            url: "https://channel-assets.s3.us-west-2.amazonaws.com/".into(),
        });
        let names: Vec<&str> = post.fields.iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "bucket",
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-Security-Token",
                "key",
                "Policy",
                "X-Amz-Signature"
            ]
        );
        assert_eq!(
            post.fields.get("X-Amz-Credential"),
            Some("AKIAIOSFODNN7EXAMPLE/20260101/us-west-2/s3/aws4_request")
        );
        assert_eq!(post.fields.get("X-Amz-Date"), Some("20260101T115940Z"));
        assert_eq!(
            post.fields.get("X-Amz-Security-Token"),
            Some("session-token")
        );

        let policy = decoded_policy(&post);
        assert_eq!(policy["expiration"], "2026-01-01T12:00:00.000Z");
        assert_eq!(
            policy["conditions"],
            serde_json::json!([
                {"bucket": "channel-assets"},
                {"key": "d7865ec6-c64c-590d-a0b1-2027f3135fe3/avatar"},
                {"Content-Type": "image/png"},
                ["content-length-range", 0, 1_000_000],
                {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20260101/us-west-2/s3/aws4_request"},
                {"x-amz-date": "20260101T115940Z"},
                {"x-amz-security-token": "session-token"}
            ])
        );
        assert_eq!(
            post.fields.get("X-Amz-Signature").unwrap(),
            sign_policy(
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "20260101",
                "us-west-2",
                post.fields.get("Policy").unwrap()
            )
        );
        let json = serde_json::to_value(&post).unwrap();
        assert_eq!(
            json["url"],
            "https://channel-assets.s3.us-west-2.amazonaws.com/"
        );
        assert_eq!(
            json["fields"]["key"],
            "d7865ec6-c64c-590d-a0b1-2027f3135fe3/avatar"
        );
    }

    #[test]
    fn long_lived_credentials_have_no_token_field_or_condition() {
        let credentials = Credentials::new("AKID", "secret", None, None, "test");
        let post = presigned_post(&PostPolicyInput {
            bucket: "b",
            region: "us-east-1",
            key: "k/banner",
            content_type: "image/jpeg",
            max_bytes: 5_000_000,
            expires_in: Duration::from_secs(20),
            credentials: &credentials,
            now: datetime!(2026-03-01 00:00:00 UTC),
            url: "http://127.0.0.1:4566/b".into(),
        });
        assert_eq!(post.fields.get("X-Amz-Security-Token"), None);
        let policy = decoded_policy(&post);
        let conditions = policy["conditions"].as_array().unwrap();
        assert_eq!(conditions.len(), 7);
        assert!(conditions.contains(&serde_json::json!(["content-length-range", 0, 5_000_000])));
    }
}
