use std::time::Duration;

use aws_credential_types::Credentials;
use ugc_aws::AssetsClient;

async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-west-2"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some("session".into()),
            None,
            "test",
        ));
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

#[tokio::test]
async fn post_url_is_path_style_with_a_configured_endpoint() {
    let assets =
        AssetsClient::new(&sdk_config(Some("http://127.0.0.1:4566/")).await, "assets").unwrap();
    let post = assets
        .presigned_post(
            "abc/avatar",
            "image/png",
            1_000_000,
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(post.url, "http://127.0.0.1:4566/assets");
    assert_eq!(post.fields.get("X-Amz-Security-Token"), Some("session"));
    assert!(post
        .fields
        .get("X-Amz-Credential")
        .unwrap()
        .starts_with("AKIDEXAMPLE/"));
    assert!(post
        .fields
        .get("X-Amz-Credential")
        .unwrap()
        .ends_with("/us-west-2/s3/aws4_request"));
}

#[tokio::test]
async fn post_url_is_virtual_hosted_on_aws() {
    // Only meaningful when the test environment sets no S3 endpoint of its own.
    if std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
    {
        return;
    }
    let assets = AssetsClient::new(&sdk_config(None).await, "assets").unwrap();
    let post = assets
        .presigned_post(
            "abc/banner",
            "image/jpeg",
            5_000_000,
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(post.url, "https://assets.s3.us-west-2.amazonaws.com/");
}
