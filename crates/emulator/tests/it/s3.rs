//! S3 through aws-sdk-s3 (path style), and browser POST uploads built by hand with a SigV4 POST
//! policy, as the backend generates them.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use base64::Engine as _;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use ugc_emulator::s3::{post_signature, NotificationHandler};

use crate::common::{self, TestEmulator};

const BUCKET: &str = "channel-assets";

async fn client(emulator: &TestEmulator) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&emulator.sdk_config().await)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[tokio::test]
async fn sdk_object_lifecycle_with_versions() {
    let emulator = common::spawn().await;
    let s3 = client(&emulator).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.head_bucket().bucket(BUCKET).send().await.unwrap();
    let missing = s3
        .head_bucket()
        .bucket("nope-bucket")
        .send()
        .await
        .unwrap_err();
    assert!(missing.into_service_error().is_not_found());

    let v1 = s3
        .put_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .content_type("image/png")
        .body(ByteStream::from_static(b"first"))
        .send()
        .await
        .unwrap();
    let v2 = s3
        .put_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .content_type("image/png")
        .body(ByteStream::from_static(b"second!"))
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key("u2/banner")
        .body(ByteStream::from_static(b"b"))
        .send()
        .await
        .unwrap();
    let (id1, id2) = (v1.version_id().unwrap(), v2.version_id().unwrap());
    assert_ne!(id1, id2);
    assert_eq!(v2.e_tag(), Some("\"26de793d084efdd1c4134652c5494af1\""));

    let current = s3
        .get_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .send()
        .await
        .unwrap();
    assert_eq!(current.version_id(), Some(id2));
    assert_eq!(current.content_type(), Some("image/png"));
    assert_eq!(
        current.body.collect().await.unwrap().into_bytes().as_ref(),
        b"second!"
    );
    let old = s3
        .get_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .version_id(id1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.body.collect().await.unwrap().into_bytes().as_ref(),
        b"first"
    );
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(7));

    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("u1/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["u1/avatar"]);
    let all = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .max_keys(1)
        .send()
        .await
        .unwrap();
    assert_eq!(all.key_count(), Some(1));
    let rest = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .continuation_token(all.next_continuation_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.contents()[0].key(), Some("u2/banner"));

    let deleted = s3
        .delete_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    let gone = s3
        .get_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .send()
        .await
        .unwrap_err();
    assert!(gone.into_service_error().is_no_such_key());
    // Old versions stay readable behind the delete marker.
    let old = s3
        .get_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .version_id(id1)
        .send()
        .await
        .unwrap();
    assert_eq!(old.version_id(), Some(id1));

    let result = s3
        .delete_objects()
        .bucket(BUCKET)
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("u2/banner")
                        .build()
                        .unwrap(),
                )
                .objects(
                    ObjectIdentifier::builder()
                        .key("u1/avatar")
                        .version_id(id1)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(result.deleted().len(), 2);
    let listed = s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
    assert!(listed.contents().is_empty());
    let missing_version = s3
        .get_object()
        .bucket(BUCKET)
        .key("u1/avatar")
        .version_id(id1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        missing_version.into_service_error().meta().code(),
        Some("NoSuchVersion")
    );
}

#[tokio::test]
async fn requests_signed_with_a_wrong_secret_are_refused() {
    let emulator = common::spawn().await;
    let config = aws_sdk_s3::config::Builder::from(&emulator.sdk_config().await)
        .force_path_style(true)
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "wrong", None, None, "t",
        ))
        .build();
    let err = aws_sdk_s3::Client::from_conf(config)
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("SignatureDoesNotMatch")
    );
}

/// The upstream backend's policy (docs/wire-protocols.md §7.2) for `key`, signed with the emulator's credentials.
fn post_fields(
    emulator: &TestEmulator,
    key: &str,
    content_type: &str,
    max: u64,
    expires_in: i64,
) -> Vec<(String, String)> {
    let now = OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let amz_date = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    let region = &emulator.config.region;
    let credential = format!(
        "{}/{date}/{region}/s3/aws4_request",
        emulator.config.access_key_id
    );
    let expiration = (now + time::Duration::seconds(expires_in))
        .format(&Rfc3339)
        .unwrap();
    let policy = json!({
        "expiration": expiration,
        "conditions": [
            {"bucket": BUCKET},
            ["starts-with", "$key", key],
            {"Content-Type": "image/png"},
            ["content-length-range", 0, max],
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            {"x-amz-credential": credential},
            {"x-amz-date": amz_date},
        ]
    });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signature = post_signature(&emulator.config.secret_access_key, &date, region, &policy);
    [
        ("bucket", BUCKET.to_owned()),
        ("key", key.to_owned()),
        ("Content-Type", content_type.to_owned()),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_owned()),
        ("X-Amz-Credential", credential),
        ("X-Amz-Date", amz_date),
        ("Policy", policy),
        ("X-Amz-Signature", signature),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn post_upload(
    emulator: &TestEmulator,
    fields: &[(String, String)],
    file: &[u8],
) -> reqwest::Response {
    let boundary = "----emulatorTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"avatar.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    reqwest::Client::new()
        .post(format!("{}/{BUCKET}", emulator.endpoint))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("origin", "http://localhost:3000")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    assert!(
        response
            .headers()
            .contains_key("access-control-allow-origin"),
        "errors carry CORS"
    );
    // Quotes may arrive as `&quot;` (both forms are the same XML text).
    let text = response.text().await.unwrap().replace("&quot;", "\"");
    (status, text)
}

#[tokio::test]
async fn browser_post_uploads_enforce_the_policy() {
    let emulator = common::spawn().await;
    emulator.shared.s3.create_bucket(BUCKET);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = failures.clone();
    let handler: NotificationHandler = Arc::new(move |message| {
        let tx = tx.clone();
        let seen = seen.clone();
        Box::pin(async move {
            // The first delivery fails: the emulator retries it.
            if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                return Err("queue unavailable".to_owned());
            }
            tx.send(message).map_err(|e| e.to_string())
        })
    });
    emulator.shared.s3.set_notification_handler(handler);

    let key = "d0fd7536-78c0-5c76-8164-c6ec2cf99027/avatar";
    let png = b"\x89PNG\r\n\x1a\n fake image bytes";
    let response = post_upload(
        &emulator,
        &post_fields(&emulator, key, "image/png", 1000, 300),
        png,
    )
    .await;
    assert_eq!(response.status(), 204);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "http://localhost:3000");
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    for name in ["ETag", "Location", "x-amz-version-id", "Date"] {
        assert!(exposed.contains(name), "{name} exposed");
    }
    assert!(h.contains_key("date"));
    let version_id = h["x-amz-version-id"].to_str().unwrap().to_owned();
    let etag = h["etag"].to_str().unwrap().trim_matches('"').to_owned();
    let location = h["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!(
            "{}/{BUCKET}/d0fd7536-78c0-5c76-8164-c6ec2cf99027%2Favatar",
            emulator.endpoint
        )
    );

    // The SPA's preview URL: Location + ?versionId=, fetched unsigned.
    let preview = reqwest::get(format!("{location}?versionId={version_id}"))
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()["content-type"], "image/png");
    assert_eq!(
        preview.headers()["x-amz-version-id"].to_str().unwrap(),
        version_id
    );
    assert_eq!(preview.bytes().await.unwrap().as_ref(), png);

    // The notification arrives (after one failed delivery) with the docs/wire-protocols.md §8.1 shape.
    let message = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let record = &message["Records"][0];
    assert_eq!(record["eventSource"], "aws:s3");
    assert_eq!(record["eventName"], "ObjectCreated:Post");
    assert_eq!(record["s3"]["bucket"]["name"], BUCKET);
    assert_eq!(record["s3"]["object"]["key"], key);
    assert_eq!(record["s3"]["object"]["size"], png.len());
    assert_eq!(record["s3"]["object"]["eTag"], etag.as_str());
    assert_eq!(record["s3"]["object"]["versionId"], version_id.as_str());
    let first_sequencer = record["s3"]["object"]["sequencer"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first_sequencer
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));

    let again = post_upload(
        &emulator,
        &post_fields(&emulator, key, "image/png", 1000, 300),
        b"v2",
    )
    .await;
    assert_eq!(again.status(), 204);
    let message = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let second_sequencer = message["Records"][0]["s3"]["object"]["sequencer"]
        .as_str()
        .unwrap();
    assert!(
        second_sequencer > first_sequencer.as_str(),
        "sequencers grow"
    );

    // Too large for content-length-range.
    let (status, body) = error_code(
        post_upload(
            &emulator,
            &post_fields(&emulator, key, "image/png", 4, 300),
            png,
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>EntityTooLarge</Code>")
            && body.contains("<MaxSizeAllowed>4</MaxSizeAllowed>"),
        "{body}"
    );

    // Content-Type outside the policy.
    let (status, body) = error_code(
        post_upload(
            &emulator,
            &post_fields(&emulator, key, "text/html", 1000, 300),
            png,
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.contains("<Code>AccessDenied</Code>") && body.contains("Invalid according to Policy: Policy Condition failed: [\"eq\", \"$Content-Type\", \"image/png\"]"), "{body}");

    // Key outside the policy's prefix.
    let mut fields = post_fields(&emulator, key, "image/png", 1000, 300);
    fields[1].1 = "someone-else/avatar".to_owned();
    let (status, body) = error_code(post_upload(&emulator, &fields, png).await).await;
    assert_eq!(status, 403);
    assert!(body.contains("starts-with"), "{body}");

    // Tampered signature.
    let mut fields = post_fields(&emulator, key, "image/png", 1000, 300);
    fields[7].1 = "0".repeat(64);
    let (status, body) = error_code(post_upload(&emulator, &fields, png).await).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );

    // Expired policy.
    let (status, body) = error_code(
        post_upload(
            &emulator,
            &post_fields(&emulator, key, "image/png", 1000, -60),
            png,
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body.contains("Invalid according to Policy: Policy expired."),
        "{body}"
    );

    // A field the policy does not cover.
    let mut fields = post_fields(&emulator, key, "image/png", 1000, 300);
    fields.insert(2, ("x-amz-meta-extra".to_owned(), "1".to_owned()));
    let (status, body) = error_code(post_upload(&emulator, &fields, png).await).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("Extra input fields: x-amz-meta-extra"),
        "{body}"
    );

    // None of the refused uploads was stored.
    let versions: Vec<_> = emulator.shared.s3.list_objects(BUCKET, "", None).unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        emulator
            .shared
            .s3
            .get_object(BUCKET, key, None)
            .unwrap()
            .body
            .as_ref(),
        b"v2"
    );
}

/// Replaces the XML body the SDK serialized with `body` (before signing, so the signature
/// still matches).
fn replace_body(
    body: &'static str,
) -> impl Fn(&mut aws_sdk_s3::config::http::HttpRequest) + Send + Sync + 'static {
    move |req| {
        *req.body_mut() = ByteStream::from_static(body.as_bytes()).into_inner();
        req.headers_mut()
            .insert("content-length", body.len().to_string());
    }
}

#[tokio::test]
async fn malformed_request_xml_is_malformed_xml() {
    let emulator = common::spawn().await;
    let s3 = client(&emulator).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key("kept")
        .body(ByteStream::from_static(b"k"))
        .send()
        .await
        .unwrap();

    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("kept").build().unwrap())
        .build()
        .unwrap();
    for body in [
        "<Delete><Object><Key>kept</Key></Object>",
        "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
        "<Remove><Object><Key>kept</Key></Object></Remove>",
        "kept",
    ] {
        let err = s3
            .delete_objects()
            .bucket(BUCKET)
            .delete(delete.clone())
            .customize()
            .mutate_request(replace_body(body))
            .send()
            .await
            .unwrap_err();
        let err = err.into_service_error();
        assert_eq!(err.meta().code(), Some("MalformedXML"), "{body}");
    }

    let err = s3
        .put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .customize()
        .mutate_request(replace_body("<VersioningConfiguration><Status>"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("MalformedXML"));

    let err = s3
        .create_bucket()
        .bucket("other-bucket")
        .customize()
        .mutate_request(replace_body(
            "<CreateBucketConfiguration><LocationConstraint>eu-west-1",
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("MalformedXML"));

    // Nothing was deleted or created, and the emulator keeps serving.
    let listed = s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["kept"]);
    let missing = s3.head_bucket().bucket("other-bucket").send().await;
    assert!(missing.is_err());
}
