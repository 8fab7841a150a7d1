//! Secrets Manager through aws-sdk-secretsmanager.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::Client;

use crate::common::spawn;

#[tokio::test]
async fn create_put_get_and_describe_by_name_and_arn() {
    let emu = spawn().await;
    let sm = Client::new(&emu.sdk_config().await);

    let created = sm
        .create_secret()
        .name("ugc/product-api")
        .secret_string(r#"{"accessKey":"a"}"#)
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();
    let prefix = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ugc/product-api-";
    assert!(arn.starts_with(prefix), "{arn}");
    let suffix = &arn[prefix.len()..];
    assert_eq!(suffix.len(), 6);
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
    let first_version = created.version_id().unwrap().to_owned();

    let dup = sm
        .create_secret()
        .name("ugc/product-api")
        .secret_string("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Some("ResourceExistsException"));

    let put = sm
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"accessKey":"b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.version_stages(), ["AWSCURRENT"]);

    for id in ["ugc/product-api", arn.as_str()] {
        let got = sm.get_secret_value().secret_id(id).send().await.unwrap();
        assert_eq!(got.secret_string(), Some(r#"{"accessKey":"b"}"#));
        assert_eq!(got.name(), Some("ugc/product-api"));
        assert_eq!(got.arn(), Some(arn.as_str()));
        assert!(got.created_date().is_some());
    }
    let previous = sm
        .get_secret_value()
        .secret_id("ugc/product-api")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.secret_string(), Some(r#"{"accessKey":"a"}"#));
    assert_eq!(previous.version_id(), Some(first_version.as_str()));

    let described = sm.describe_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(described.name(), Some("ugc/product-api"));
    let stages = described.version_ids_to_stages().unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[&first_version], ["AWSPREVIOUS"]);

    let missing = sm
        .get_secret_value()
        .secret_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        missing.message(),
        Some("Secrets Manager can't find the specified secret.")
    );
    let missing = sm
        .describe_secret()
        .secret_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn seeded_from_rust_and_refused_with_a_wrong_secret() {
    let emu = spawn().await;
    let arn = emu.shared.secrets.put(
        "seeded",
        r#"{"secretKey":"s","accessKey":"a","partnerTag":"t"}"#,
    );
    let sm = Client::new(&emu.sdk_config().await);
    let got = sm
        .get_secret_value()
        .secret_id("seeded")
        .send()
        .await
        .unwrap();
    assert_eq!(got.arn(), Some(arn.as_str()));
    assert!(got.secret_string().unwrap().contains("partnerTag"));

    let wrong = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&emu.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "not-test", None, None, "test",
        ))
        .load()
        .await;
    let refused = Client::new(&wrong)
        .get_secret_value()
        .secret_id("seeded")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("InvalidSignatureException"));
    assert_eq!(refused.raw_response().unwrap().status().as_u16(), 403);

    let unknown_key = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&emu.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIDOTHER",
            "test",
            None,
            None,
            "test",
        ))
        .load()
        .await;
    let refused = Client::new(&unknown_key)
        .get_secret_value()
        .secret_id("seeded")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("UnrecognizedClientException"));
}
