use aws_sdk_cognitoidentityprovider::config::retry::RetryConfig;
use aws_sdk_cognitoidentityprovider::operation::sign_up::SignUpOutput;
use aws_sdk_cognitoidentityprovider::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ugc_aws::{IdentityClient, IdentityError, SignUpOutcome};
use ugc_domain::{Email, Username};

fn alice() -> Username {
    Username::parse("alice").unwrap()
}

fn alice_email() -> Email {
    Email::parse("alice@example.com").unwrap()
}

fn cognito_error(code: &str, message: &str) -> Option<String> {
    Some(format!(r#"{{"__type":"{code}","message":"{message}"}}"#))
}

fn identity(rules: &[&Rule]) -> IdentityClient {
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        rules,
        |c| c.retry_config(RetryConfig::disabled())
    );
    IdentityClient::from_client(client, "us-east-1_pool", "client-id")
}

#[tokio::test]
async fn sign_up_returns_sub_and_confirmation() {
    let rule = mock!(Client::sign_up)
        .match_requests(|req| {
            req.client_id() == Some("client-id")
                && req.username() == Some("alice")
                && req.user_attributes()[0].value() == Some("alice@example.com")
        })
        .then_output(|| {
            SignUpOutput::builder()
                .user_sub("sub-1")
                .user_confirmed(true)
                .build()
                .unwrap()
        });
    let outcome = identity(&[&rule])
        .sign_up(&alice(), "Passw0rd!", &alice_email())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SignUpOutcome {
            user_sub: "sub-1".into(),
            confirmed: true
        }
    );
}

#[tokio::test]
async fn cognito_error_name_and_message_are_kept() {
    let rule = mock!(Client::sign_up)
        .sequence()
        .http_status(
            400,
            cognito_error("UsernameExistsException", "User already exists"),
        )
        .build();
    let err = identity(&[&rule])
        .sign_up(&alice(), "Passw0rd!", &alice_email())
        .await
        .unwrap_err();
    match err {
        IdentityError::Cognito { name, message } => {
            assert_eq!(name, "UsernameExistsException");
            assert_eq!(message, "User already exists");
        }
        other => panic!("expected a Cognito error, got {other:?}"),
    }
}

#[tokio::test]
async fn alias_exists_on_rename_is_kept() {
    let rule = mock!(Client::admin_update_user_attributes)
        .sequence()
        .http_status(
            400,
            cognito_error(
                "AliasExistsException",
                "An account with the given email already exists.",
            ),
        )
        .build();
    let err = identity(&[&rule])
        .set_preferred_username("alice", "bob")
        .await
        .unwrap_err();
    assert_eq!(err.cognito_name(), Some("AliasExistsException"));
}

#[tokio::test]
async fn too_many_requests_is_throttled() {
    let rule = mock!(Client::forgot_password)
        .sequence()
        .http_status(400, cognito_error("TooManyRequestsException", "slow down"))
        .build();
    let err = identity(&[&rule])
        .forgot_password("alice")
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::Throttled), "{err:?}");
}

#[tokio::test]
async fn deleting_a_deleted_user_succeeds() {
    let rule = mock!(Client::admin_delete_user)
        .sequence()
        .http_status(
            400,
            cognito_error("UserNotFoundException", "User does not exist."),
        )
        .build();
    identity(&[&rule]).admin_delete_user("alice").await.unwrap();
}
