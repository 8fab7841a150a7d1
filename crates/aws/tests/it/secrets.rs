use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use ugc_aws::{SecretsClient, SecretsError};

#[tokio::test]
async fn values_are_cached_until_the_ttl() {
    let rule = mock!(Client::get_secret_value)
        .match_requests(|req| req.secret_id() == Some("product-secret"))
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"credentialId":"id"}"#)
                .build()
        })
        .times(2)
        .build();
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&rule]);
    let secrets = SecretsClient::from_client(client);
    let first = secrets.get_json("product-secret").await.unwrap();
    let second = secrets.get_json("product-secret").await.unwrap();
    assert_eq!(first, serde_json::json!({"credentialId": "id"}));
    assert_eq!(first, second);
    assert_eq!(rule.num_calls(), 1);

    secrets.invalidate("product-secret").await;
    secrets.get_string("product-secret").await.unwrap();
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn missing_secret_and_bad_json() {
    let missing = mock!(Client::get_secret_value)
        .match_requests(|req| req.secret_id() == Some("missing"))
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ResourceNotFoundException","Message":"not found"}"#.into()),
        )
        .build();
    let not_json = mock!(Client::get_secret_value)
        .match_requests(|req| req.secret_id() == Some("plain"))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string("hunter2")
                .build()
        });
    let client = mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::MatchAny,
        [&missing, &not_json],
        |c| c.retry_config(RetryConfig::disabled())
    );
    let secrets = SecretsClient::from_client(client);
    let err = secrets.get_json("missing").await.unwrap_err();
    assert!(
        matches!(err, SecretsError::NotFound(ref id) if id == "missing"),
        "{err:?}"
    );
    let err = secrets.get_json("plain").await.unwrap_err();
    assert!(matches!(err, SecretsError::InvalidJson { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"));
    assert_eq!(&*secrets.get_string("plain").await.unwrap(), "hunter2");
}
