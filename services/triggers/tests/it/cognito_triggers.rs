//! The Cognito triggers on the event JSON Cognito sends (`docs/wire-protocols.md` §1.5).

use serde_json::{json, Value};
use ugc_triggers::custom_message::{self, CustomMessageConfig};
use ugc_triggers::pre_authentication;
use ugc_triggers::pre_sign_up::{self, PreSignUpConfig};

fn event(trigger_source: &str, user_name: &str, request: Value, response: Value) -> Value {
    json!({
        "version": "1",
        "triggerSource": trigger_source,
        "region": "us-west-2",
        "userPoolId": "us-west-2_aBcD3fGh1",
        "userName": user_name,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789abcdefghij"},
        "request": request,
        "response": response,
    })
}

fn sign_up_event(user_name: &str, email: Option<&str>) -> Value {
    let attributes = match email {
        Some(email) => json!({"email": email}),
        None => json!({}),
    };
    event(
        "PreSignUp_SignUp",
        user_name,
        json!({"userAttributes": attributes, "validationData": null, "clientMetadata": {}}),
        json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false}),
    )
}

fn config(domains: &[&str], auto_verify: bool) -> PreSignUpConfig {
    PreSignUpConfig {
        allowed_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        auto_verify,
    }
}

#[test]
fn pre_sign_up_accepts_valid_users_unchanged_without_auto_verify() {
    let input = sign_up_event("Alice_01", Some("alice@example.com"));
    let out = pre_sign_up::handle(&config(&[], false), input.clone()).unwrap();
    assert_eq!(out, input);
}

#[test]
fn pre_sign_up_auto_verify_confirms_and_verifies_email() {
    let out = pre_sign_up::handle(
        &config(&[], true),
        sign_up_event("alice", Some("alice@example.com")),
    )
    .unwrap();
    assert_eq!(
        out["response"],
        json!({"autoConfirmUser": true, "autoVerifyEmail": true, "autoVerifyPhone": false})
    );
    assert_eq!(out["userName"], "alice");
    assert_eq!(
        out["callerContext"]["clientId"],
        "1example23456789abcdefghij"
    );

    // No e-mail: confirmed, but nothing to verify.
    let out = pre_sign_up::handle(&config(&[], true), sign_up_event("alice", None)).unwrap();
    assert_eq!(out["response"]["autoConfirmUser"], true);
    assert_eq!(out["response"]["autoVerifyEmail"], false);
}

#[test]
fn pre_sign_up_refuses_other_domains() {
    let cfg = config(&["amazon.com"], true);
    let err = pre_sign_up::handle(&cfg, sign_up_event("john_doe", Some("john@notamazon.com")))
        .unwrap_err();
    assert!(err.starts_with("AccountRegistrationException"), "{err}");
    assert!(pre_sign_up::handle(&cfg, sign_up_event("john_doe", Some("john@amazon.com"))).is_ok());
    // A domain list needs an e-mail to check.
    let err = pre_sign_up::handle(&cfg, sign_up_event("john_doe", None)).unwrap_err();
    assert!(err.starts_with("AccountRegistrationException"), "{err}");
    let err = pre_sign_up::handle(&config(&[], false), sign_up_event("john_doe", Some("nope")))
        .unwrap_err();
    assert!(err.starts_with("AccountRegistrationException"), "{err}");
}

#[test]
fn pre_sign_up_refuses_reserved_and_malformed_usernames() {
    let cfg = config(&[], true);
    for name in ["settings", "Settings", "LOGIN", "reset"] {
        assert_eq!(
            pre_sign_up::handle(&cfg, sign_up_event(name, Some("a@example.com"))).unwrap_err(),
            "ReservedUsernameException",
            "{name}"
        );
    }
    for name in [
        "joe",
        "alexanderhamilton1234",
        "dash-name",
        "with space",
        "émile",
    ] {
        let err =
            pre_sign_up::handle(&cfg, sign_up_event(name, Some("a@example.com"))).unwrap_err();
        assert!(
            err.starts_with("AccountRegistrationException: "),
            "{name}: {err}"
        );
    }
}

#[test]
fn pre_sign_up_federated_names_skip_the_username_rule() {
    let mut input = sign_up_event("Google_123456789012345678901", Some("a@example.com"));
    input["triggerSource"] = json!("PreSignUp_ExternalProvider");
    assert!(pre_sign_up::handle(&config(&[], false), input).is_ok());
}

#[test]
fn pre_sign_up_config_from_env() {
    let env = |name: &str| match name {
        "SIGN_UP_ALLOWED_DOMAINS" => Some(r#"["example.com"]"#.to_owned()),
        "ENABLE_USER_AUTO_VERIFY" => Some("true".to_owned()),
        _ => None,
    };
    assert_eq!(
        PreSignUpConfig::from_env(&env).unwrap(),
        config(&["example.com"], true)
    );
    let bad = |name: &str| (name == "SIGN_UP_ALLOWED_DOMAINS").then(|| "example.com".to_owned());
    let err = PreSignUpConfig::from_env(&bad).unwrap_err();
    assert_eq!(err.variable, "SIGN_UP_ALLOWED_DOMAINS");
    assert_eq!(
        PreSignUpConfig::from_env(&|_: &str| None).unwrap(),
        config(&[], false)
    );
}

fn pre_auth_event(
    preferred: Option<&str>,
    validation: Value,
    client_metadata: Option<Value>,
) -> Value {
    let mut attributes = json!({"sub": "1f8c7e0a", "email": "alice@example.com", "email_verified": "true",
                                "cognito:user_status": "CONFIRMED"});
    if let Some(p) = preferred {
        attributes["preferred_username"] = json!(p);
    }
    let mut request =
        json!({"userAttributes": attributes, "validationData": validation, "userNotFound": false});
    if let Some(metadata) = client_metadata {
        request["clientMetadata"] = metadata;
    }
    event(
        "PreAuthentication_Authentication",
        "alice",
        request,
        json!({}),
    )
}

#[test]
fn pre_authentication_requires_the_submitted_username() {
    let err = pre_authentication::handle(pre_auth_event(None, Value::Null, None)).unwrap_err();
    assert_eq!(err, "UserNotFoundException");
    let err = pre_authentication::handle(pre_auth_event(None, json!({}), None)).unwrap_err();
    assert_eq!(err, "UserNotFoundException");
}

#[test]
fn pre_authentication_before_a_rename_any_casing_signs_in() {
    let input = pre_auth_event(None, json!({"submittedUsername": "ALICE"}), None);
    assert_eq!(pre_authentication::handle(input.clone()).unwrap(), input);
}

#[test]
fn pre_authentication_after_a_rename_only_the_exact_new_name() {
    let ok = pre_auth_event(
        Some("NewName"),
        json!({"submittedUsername": "NewName"}),
        None,
    );
    assert_eq!(pre_authentication::handle(ok.clone()).unwrap(), ok);
    for typed in ["newname", "alice", "NewName "] {
        let input = pre_auth_event(Some("NewName"), json!({"submittedUsername": typed}), None);
        assert_eq!(
            pre_authentication::handle(input).unwrap_err(),
            "UserNotFoundException",
            "{typed}"
        );
    }
}

#[test]
fn pre_authentication_reads_client_metadata_too() {
    let input = pre_auth_event(
        Some("NewName"),
        Value::Null,
        Some(json!({"submittedUsername": "NewName"})),
    );
    assert!(pre_authentication::handle(input).is_ok());
}

fn message_event(trigger_source: &str) -> Value {
    event(
        trigger_source,
        "alice",
        json!({"userAttributes": {"sub": "1f8c7e0a", "email": "alice@example.com"},
               "codeParameter": "{####}", "linkParameter": "{##Click Here##}",
               "usernameParameter": null, "clientMetadata": {}}),
        json!({"smsMessage": null, "emailMessage": null, "emailSubject": null}),
    )
}

fn message_config() -> CustomMessageConfig {
    CustomMessageConfig::from_env(&|name: &str| {
        (name == "CLIENT_BASE_URL").then(|| "https://ugc.example.com/".to_owned())
    })
    .unwrap()
}

#[test]
fn custom_message_forgot_password_links_to_reset() {
    let out = custom_message::handle(
        &message_config(),
        message_event("CustomMessage_ForgotPassword"),
    )
    .unwrap();
    assert_eq!(
        out["response"]["emailMessage"],
        "Use the link below to set up a new password for your UGC account. This password reset link \
         is only valid for the next 1 hour. If you did not make this request, you can safely \
         disregard this email.\n<a href=https://ugc.example.com/reset?code={####}&username=alice>Reset Password</a>"
    );
    assert_eq!(out["response"]["emailSubject"], Value::Null);
    assert_eq!(out["response"]["smsMessage"], Value::Null);
}

#[test]
fn custom_message_sign_up_and_resend_link_to_login() {
    for source in ["CustomMessage_SignUp", "CustomMessage_ResendCode"] {
        let out = custom_message::handle(&message_config(), message_event(source)).unwrap();
        assert_eq!(
            out["response"]["emailMessage"],
            "Use the link below to confirm your email for your UGC account.\n<a \
             href=https://ugc.example.com/login?code={####}&username=alice>Confirm Email</a>",
            "{source}"
        );
        assert_eq!(out["response"]["emailSubject"], Value::Null);
    }
}

#[test]
fn custom_message_other_sources_are_unchanged() {
    for source in [
        "CustomMessage_AdminCreateUser",
        "CustomMessage_UpdateUserAttribute",
        "CustomMessage_VerifyUserAttribute",
        "CustomMessage_Authentication",
    ] {
        let input = message_event(source);
        assert_eq!(
            custom_message::handle(&message_config(), input.clone()).unwrap(),
            input,
            "{source}"
        );
    }
}

#[test]
fn custom_message_needs_a_client_base_url() {
    let err = CustomMessageConfig::from_env(&|_: &str| None).unwrap_err();
    assert_eq!(err.to_string(), "CLIENT_BASE_URL: must be set");
}
