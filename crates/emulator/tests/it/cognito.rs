//! Cognito user pools through aws-sdk-cognitoidentityprovider, plus the raw requests
//! amazon-cognito-identity-js sends from a browser.

use std::sync::{Arc, Mutex};

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, AttributeType, AuthFlowType, ExplicitAuthFlowsType, SchemaAttributeType,
    UsernameConfigurationType, VerifiedAttributeType,
};
use aws_sdk_cognitoidentityprovider::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use ugc_emulator::cognito::Triggers;
use ugc_emulator::EmulatorConfig;

use crate::common::{spawn, spawn_with, TestEmulator};

const PASSWORD: &str = "Passw0rd!";

struct Pool {
    client: Client,
    pool_id: String,
    client_id: String,
}

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_owned()
}

fn message<E: ProvideErrorMetadata>(e: &E) -> String {
    e.message().unwrap_or_default().to_owned()
}

/// A pool shaped like the upstream one: preferred_username alias, case-insensitive, e-mail
/// verified by code, e-mail required; a client allowing password and refresh sign-in.
async fn pool(emu: &TestEmulator) -> Pool {
    let client = Client::new(&emu.sdk_config().await);
    let created = client
        .create_user_pool()
        .pool_name("ugc")
        .alias_attributes(AliasAttributeType::PreferredUsername)
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .username_configuration(
            UsernameConfigurationType::builder()
                .case_sensitive(false)
                .build()
                .unwrap(),
        )
        .schema(
            SchemaAttributeType::builder()
                .name("email")
                .required(true)
                .mutable(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let pool_id = created.user_pool().unwrap().id().unwrap().to_owned();
    let (region, suffix) = pool_id.split_once('_').unwrap();
    assert_eq!(region, "us-east-1");
    assert_eq!(suffix.len(), 9);
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap();
    let client_id = app
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned();
    Pool {
        client,
        pool_id,
        client_id,
    }
}

async fn latest_code(emu: &TestEmulator, who: &str) -> String {
    let msg: Value = reqwest::get(format!("{}/_emulator/outbox/{who}/latest", emu.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    msg["code"].as_str().unwrap().to_owned()
}

impl Pool {
    async fn sign_up(&self, username: &str, email: &str) -> String {
        self.client
            .sign_up()
            .client_id(&self.client_id)
            .username(username)
            .password(PASSWORD)
            .user_attributes(attr("email", email))
            .send()
            .await
            .unwrap()
            .user_sub
    }

    /// Signs up and confirms through the admin API.
    async fn user(&self, username: &str, email: &str) -> String {
        let sub = self.sign_up(username, email).await;
        self.client
            .admin_confirm_sign_up()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
            .unwrap();
        sub
    }

    async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<
        aws_sdk_cognitoidentityprovider::types::AuthenticationResultType,
        aws_sdk_cognitoidentityprovider::error::SdkError<
            aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthError,
        >,
    > {
        self.client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .client_metadata("submittedUsername", username)
            .send()
            .await
            .map(|out| out.authentication_result.unwrap())
    }
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn sign_up_confirm_sign_in_change_password_sign_out_and_reset() {
    let emu = spawn().await;
    let p = pool(&emu).await;

    let weak = p
        .client
        .sign_up()
        .client_id(&p.client_id)
        .username("alice")
        .password("password")
        .user_attributes(attr("email", "alice@example.com"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&weak), "InvalidPasswordException");
    assert!(message(&weak).starts_with("Password did not conform with policy"));

    let out = p
        .client
        .sign_up()
        .client_id(&p.client_id)
        .username("alice")
        .password(PASSWORD)
        .user_attributes(attr("email", "alice@example.com"))
        .send()
        .await
        .unwrap();
    assert!(!out.user_confirmed);
    let delivery = out.code_delivery_details.unwrap();
    assert_eq!(delivery.destination(), Some("a***@e***"));
    assert!(uuid::Uuid::parse_str(&out.user_sub).is_ok());

    let dup = p
        .client
        .sign_up()
        .client_id(&p.client_id)
        .username("ALICE")
        .password(PASSWORD)
        .user_attributes(attr("email", "other@example.com"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&dup), "UsernameExistsException");

    let unconfirmed = p.sign_in("alice", PASSWORD).await.unwrap_err();
    assert_eq!(code(&unconfirmed), "UserNotConfirmedException");

    // The code is in the outbox (by address and by user name), six digits.
    let code_sent = latest_code(&emu, "alice@example.com").await;
    assert_eq!(code_sent.len(), 6);
    assert_eq!(latest_code(&emu, "alice").await, code_sent);
    let outbox: Vec<Value> = reqwest::get(format!("{}/_emulator/outbox", emu.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = outbox.last().unwrap();
    assert_eq!(last["to"], "alice@example.com");
    assert!(last["body"].as_str().unwrap().contains(&code_sent));
    assert!(last["subject"].as_str().is_some());
    assert!(last["time"].as_str().is_some());

    let wrong = if code_sent == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mismatch = p
        .client
        .confirm_sign_up()
        .client_id(&p.client_id)
        .username("alice")
        .confirmation_code(wrong)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&mismatch), "CodeMismatchException");
    p.client
        .confirm_sign_up()
        .client_id(&p.client_id)
        .username("Alice")
        .confirmation_code(&code_sent)
        .send()
        .await
        .unwrap();
    let again = p
        .client
        .confirm_sign_up()
        .client_id(&p.client_id)
        .username("alice")
        .confirmation_code(&code_sent)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&again), "NotAuthorizedException");
    assert_eq!(
        message(&again),
        "User cannot be confirmed. Current status is CONFIRMED"
    );

    let bad = p.sign_in("alice", "Wr0ng-password").await.unwrap_err();
    assert_eq!(code(&bad), "NotAuthorizedException");
    assert_eq!(message(&bad), "Incorrect username or password.");
    let missing = p.sign_in("nobody", PASSWORD).await.unwrap_err();
    assert_eq!(code(&missing), "UserNotFoundException");

    // Case-insensitive sign-in; the token keeps the sign-up spelling.
    let tokens = p.sign_in("ALICE", PASSWORD).await.unwrap();
    assert_eq!(tokens.expires_in, 3600);
    assert_eq!(tokens.token_type(), Some("Bearer"));
    let access = tokens.access_token().unwrap().to_owned();
    let refresh = tokens.refresh_token().unwrap().to_owned();
    assert!(refresh
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=.".contains(c)));
    let access_claims = claims(&access);
    assert_eq!(access_claims["username"], "alice");
    assert_eq!(access_claims["token_use"], "access");
    assert_eq!(access_claims["client_id"], p.client_id.as_str());
    assert_eq!(access_claims["scope"], "aws.cognito.signin.user.admin");
    assert_eq!(
        access_claims["iss"],
        format!("http://127.0.0.1:{}/{}", emu.port, p.pool_id)
    );
    assert_eq!(
        access_claims["exp"].as_i64().unwrap() - access_claims["iat"].as_i64().unwrap(),
        3600
    );
    for claim in ["sub", "jti", "origin_jti", "event_id", "auth_time"] {
        assert!(!access_claims[claim].is_null(), "{claim}");
    }
    assert!(access_claims.get("aud").is_none());
    let id_claims = claims(tokens.id_token().unwrap());
    assert_eq!(id_claims["cognito:username"], "alice");
    assert_eq!(id_claims["email"], "alice@example.com");
    assert_eq!(id_claims["email_verified"], true);
    assert_eq!(id_claims["aud"], p.client_id.as_str());
    assert_eq!(id_claims["token_use"], "id");
    assert_eq!(id_claims["sub"], access_claims["sub"]);

    let user = p
        .client
        .get_user()
        .access_token(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(user.username, "alice");
    let attrs: Vec<(&str, &str)> = user
        .user_attributes
        .iter()
        .map(|a| (a.name(), a.value().unwrap()))
        .collect();
    assert!(attrs.contains(&("email_verified", "true")));
    assert!(attrs.contains(&("sub", access_claims["sub"].as_str().unwrap())));

    let refreshed = p
        .client
        .initiate_auth()
        .client_id(&p.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", &refresh)
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    assert!(refreshed.refresh_token().is_none());
    let refreshed_access = refreshed.access_token().unwrap().to_owned();
    assert_eq!(
        claims(&refreshed_access)["origin_jti"],
        access_claims["origin_jti"]
    );

    let wrong_previous = p
        .client
        .change_password()
        .access_token(&access)
        .previous_password("Not-the-0ld")
        .proposed_password("N3w-password")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&wrong_previous), "NotAuthorizedException");
    p.client
        .change_password()
        .access_token(&access)
        .previous_password(PASSWORD)
        .proposed_password("N3w-password")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(&p.sign_in("alice", PASSWORD).await.unwrap_err()),
        "NotAuthorizedException"
    );
    p.sign_in("alice", "N3w-password").await.unwrap();

    p.client
        .global_sign_out()
        .access_token(&access)
        .send()
        .await
        .unwrap();
    for token in [&access, &refreshed_access] {
        let revoked = p
            .client
            .get_user()
            .access_token(token)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&revoked), "NotAuthorizedException");
        assert_eq!(message(&revoked), "Access Token has been revoked");
    }
    let revoked = p
        .client
        .initiate_auth()
        .client_id(&p.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", &refresh)
        .send()
        .await
        .unwrap_err();
    assert_eq!(message(&revoked), "Refresh Token has been revoked");
    let garbage = p
        .client
        .get_user()
        .access_token("not.a.token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(message(&garbage), "Invalid Access Token");

    p.client
        .forgot_password()
        .client_id(&p.client_id)
        .username("alice")
        .send()
        .await
        .unwrap();
    let reset_code = latest_code(&emu, "alice@example.com").await;
    assert_ne!(reset_code, code_sent);
    let weak = p
        .client
        .confirm_forgot_password()
        .client_id(&p.client_id)
        .username("alice")
        .confirmation_code(&reset_code)
        .password("weak")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&weak), "InvalidPasswordException");
    p.client
        .confirm_forgot_password()
        .client_id(&p.client_id)
        .username("alice")
        .confirmation_code(&reset_code)
        .password("Reset-passw0rd")
        .send()
        .await
        .unwrap();
    // The code is single use.
    let reused = p
        .client
        .confirm_forgot_password()
        .client_id(&p.client_id)
        .username("alice")
        .confirmation_code(&reset_code)
        .password("Other-passw0rd")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&reused), "ExpiredCodeException");
    p.sign_in("alice", "Reset-passw0rd").await.unwrap();
}

#[tokio::test]
async fn preferred_username_is_a_unique_sign_in_alias() {
    let emu = spawn().await;
    let p = pool(&emu).await;
    p.user("alice", "alice@example.com").await;
    p.user("bob", "bob@example.com").await;

    p.client
        .admin_update_user_attributes()
        .user_pool_id(&p.pool_id)
        .username("alice")
        .user_attributes(attr("preferred_username", "Wonder"))
        .send()
        .await
        .unwrap();
    let tokens = p.sign_in("wonder", PASSWORD).await.unwrap();
    let id = claims(tokens.id_token().unwrap());
    assert_eq!(id["cognito:username"], "alice");
    assert_eq!(id["preferred_username"], "Wonder");
    assert_eq!(claims(tokens.access_token().unwrap())["username"], "alice");

    let taken = p
        .client
        .admin_update_user_attributes()
        .user_pool_id(&p.pool_id)
        .username("bob")
        .user_attributes(attr("preferred_username", "WONDER"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&taken), "AliasExistsException");
    let taken = p
        .client
        .admin_update_user_attributes()
        .user_pool_id(&p.pool_id)
        .username("bob")
        .user_attributes(attr("preferred_username", "Alice"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&taken), "AliasExistsException");
    let clash = p
        .client
        .sign_up()
        .client_id(&p.client_id)
        .username("wonder")
        .password(PASSWORD)
        .user_attributes(attr("email", "w@example.com"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&clash), "UsernameExistsException");

    // The pool's schema makes e-mail immutable.
    let immutable = p
        .client
        .admin_update_user_attributes()
        .user_pool_id(&p.pool_id)
        .username("bob")
        .user_attributes(attr("email", "new@example.com"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&immutable), "InvalidParameterException");
    // Admin operations accept the alias too.
    let got = p
        .client
        .admin_get_user()
        .user_pool_id(&p.pool_id)
        .username("Wonder")
        .send()
        .await
        .unwrap();
    assert_eq!(got.username, "alice");
    assert_eq!(got.user_status().unwrap().as_str(), "CONFIRMED");
    assert!(got.enabled);
    assert!(got.user_create_date().is_some());
}

#[tokio::test]
async fn list_users_filters_and_paginates() {
    let emu = spawn().await;
    let p = pool(&emu).await;
    let mut subs = Vec::new();
    for (name, email) in [
        ("amy", "amy@one.example"),
        ("ann", "ann@one.example"),
        ("bea", "bea@two.example"),
        ("bob", "bob@two.example"),
        ("cid", "cid@three.example"),
    ] {
        subs.push(p.user(name, email).await);
    }
    p.sign_up("dan", "dan@three.example").await;
    p.client
        .admin_update_user_attributes()
        .user_pool_id(&p.pool_id)
        .username("cid")
        .user_attributes(attr("preferred_username", "Cidney"))
        .send()
        .await
        .unwrap();

    let names = |users: &[aws_sdk_cognitoidentityprovider::types::UserType]| {
        let mut v: Vec<String> = users
            .iter()
            .map(|u| u.username().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let list = |filter: &'static str| {
        let client = p.client.clone();
        let pool_id = p.pool_id.clone();
        async move {
            client
                .list_users()
                .user_pool_id(pool_id)
                .filter(filter)
                .send()
                .await
        }
    };
    assert_eq!(
        names(list(r#"email = "bea@two.example""#).await.unwrap().users()),
        ["bea"]
    );
    assert_eq!(
        names(list(r#"email ^= "a""#).await.unwrap().users()),
        ["amy", "ann"]
    );
    assert_eq!(
        names(
            list(r#"cognito:user_status ="UNCONFIRMED""#)
                .await
                .unwrap()
                .users()
        ),
        ["dan"]
    );
    assert_eq!(
        names(list(r#"username = "bob""#).await.unwrap().users()),
        ["bob"]
    );
    assert_eq!(
        names(
            list(r#"preferred_username = "Cidney""#)
                .await
                .unwrap()
                .users()
        ),
        ["cid"]
    );
    let sub_filter: &'static str = Box::leak(format!(r#"sub = "{}""#, subs[1]).into_boxed_str());
    assert_eq!(names(list(sub_filter).await.unwrap().users()), ["ann"]);
    assert!(list(r#"email = "nobody@x""#)
        .await
        .unwrap()
        .users()
        .is_empty());
    let bad = list("email is amy").await.unwrap_err();
    assert_eq!(code(&bad), "InvalidParameterException");

    let only_email = p
        .client
        .list_users()
        .user_pool_id(&p.pool_id)
        .filter(r#"username = "amy""#)
        .attributes_to_get("email")
        .send()
        .await
        .unwrap();
    let attrs = only_email.users()[0].attributes();
    assert_eq!(attrs.len(), 1);
    assert_eq!(attrs[0].name(), "email");

    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = p
            .client
            .list_users()
            .user_pool_id(&p.pool_id)
            .limit(2)
            .set_pagination_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.users().len() <= 2);
        seen.extend(
            page.users()
                .iter()
                .map(|u| u.username().unwrap().to_owned()),
        );
        pages += 1;
        token = page.pagination_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["amy", "ann", "bea", "bob", "cid", "dan"]);
}

#[tokio::test]
async fn admin_operations_disable_delete_and_sign_out_users() {
    let emu = spawn().await;
    let p = pool(&emu).await;
    p.user("carol", "carol@example.com").await;
    let tokens = p.sign_in("carol", PASSWORD).await.unwrap();
    let access = tokens.access_token().unwrap();

    p.client
        .admin_user_global_sign_out()
        .user_pool_id(&p.pool_id)
        .username("carol")
        .send()
        .await
        .unwrap();
    let revoked = p
        .client
        .get_user()
        .access_token(access)
        .send()
        .await
        .unwrap_err();
    assert_eq!(message(&revoked), "Access Token has been revoked");

    p.client
        .admin_disable_user()
        .user_pool_id(&p.pool_id)
        .username("carol")
        .send()
        .await
        .unwrap();
    let disabled = p.sign_in("carol", PASSWORD).await.unwrap_err();
    assert_eq!(code(&disabled), "NotAuthorizedException");
    assert_eq!(message(&disabled), "User is disabled.");
    let status = p
        .client
        .list_users()
        .user_pool_id(&p.pool_id)
        .filter(r#"status = "Disabled""#)
        .send()
        .await
        .unwrap();
    assert_eq!(status.users().len(), 1);

    p.client
        .admin_delete_user()
        .user_pool_id(&p.pool_id)
        .username("CAROL")
        .send()
        .await
        .unwrap();
    let gone = p
        .client
        .admin_get_user()
        .user_pool_id(&p.pool_id)
        .username("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "UserNotFoundException");
    assert_eq!(
        gone.raw_response().unwrap().status().as_u16(),
        404,
        "Cognito's status for UserNotFoundException"
    );

    let no_pool = p
        .client
        .admin_get_user()
        .user_pool_id("us-east-1_000000000")
        .username("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_pool), "ResourceNotFoundException");
    let no_client = p
        .client
        .sign_up()
        .client_id("nosuchclient")
        .username("x")
        .password(PASSWORD)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_client), "ResourceNotFoundException");

    let described = p
        .client
        .describe_user_pool()
        .user_pool_id(&p.pool_id)
        .send()
        .await
        .unwrap();
    assert_eq!(described.user_pool().unwrap().name(), Some("ugc"));
    let pools = p
        .client
        .list_user_pools()
        .max_results(10)
        .send()
        .await
        .unwrap();
    assert_eq!(pools.user_pools().len(), 1);
}

#[tokio::test]
async fn signed_operations_need_the_right_secret_and_unsigned_ones_need_none() {
    let emu = spawn().await;
    let p = pool(&emu).await;
    let wrong = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&emu.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "wrong", None, None, "test",
        ))
        .load()
        .await;
    let bad = Client::new(&wrong)
        .list_users()
        .user_pool_id(&p.pool_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "InvalidSignatureException");
    assert_eq!(bad.raw_response().unwrap().status().as_u16(), 403);

    // No Authorization header at all on an admin operation.
    let http = reqwest::Client::new();
    let resp = http
        .post(&emu.endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.ListUsers",
        )
        .body(json!({"UserPoolId": p.pool_id}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    let resp = http
        .post(&emu.endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.NoSuchThing",
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "UnknownOperationException"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");

    // The signed SDK sign-up works with the wrong secret too: it is a noAuth operation.
    Client::new(&wrong)
        .sign_up()
        .client_id(&p.client_id)
        .username("dave")
        .password(PASSWORD)
        .user_attributes(attr("email", "dave@example.com"))
        .send()
        .await
        .unwrap();
}

/// What amazon-cognito-identity-js sends from the SPA, and the JWKS a backend verifies with.
#[tokio::test]
async fn browser_sign_in_with_cors_and_tokens_verified_by_the_jwks() {
    let emu = spawn().await;
    let p = pool(&emu).await;
    p.user("erin", "erin@example.com").await;
    let http = reqwest::Client::new();

    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{}/", emu.endpoint))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-target,x-amz-user-agent",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in ["content-type", "x-amz-target", "x-amz-user-agent"] {
        assert!(allowed.contains(header), "{allowed}");
    }

    let resp = http
        .post(format!("{}/", emu.endpoint))
        .header("origin", "http://localhost:3000")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .header("x-amz-user-agent", "aws-amplify/5.0.4 js")
        .body(
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": p.client_id,
                "AuthParameters": {"USERNAME": "Erin", "PASSWORD": PASSWORD},
                "ClientMetadata": {"submittedUsername": "Erin"},
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["ChallengeParameters"], json!({}));
    let result = &body["AuthenticationResult"];
    assert_eq!(result["ExpiresIn"], 3600);
    assert!(result.get("NewDeviceMetadata").is_none());

    // A browser error carries __type and is readable cross-origin.
    let resp = http
        .post(format!("{}/", emu.endpoint))
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .body(
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": p.client_id,
                   "AuthParameters": {"USERNAME": "erin", "PASSWORD": "nope"}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert!(resp.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-amzn-ErrorType"));
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["__type"], "NotAuthorizedException");

    let jwks: Value = http
        .get(format!(
            "{}/{}/.well-known/jwks.json",
            emu.endpoint, p.pool_id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for token in [
        result["AccessToken"].as_str().unwrap(),
        result["IdToken"].as_str().unwrap(),
    ] {
        let (signed, sig) = token.rsplit_once('.').unwrap();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(signed.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "RS256");
        let jwk = keys.iter().find(|k| k["kid"] == header["kid"]).unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256, "RSA-2048 modulus");
        let public = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &sig,
            )
            .expect("token verifies with the JWKS");
        let mut forged = sig.clone();
        forged[0] ^= 1;
        assert!(public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &forged
            )
            .is_err());
        assert_eq!(
            claims(token)["iss"],
            emu.shared.cognito.issuer(&p.pool_id).as_str()
        );
    }
    let missing = http
        .get(format!(
            "{}/us-east-1_nosuchpoo/.well-known/jwks.json",
            emu.endpoint
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // The issuer base can point elsewhere (e.g. the URL the services are configured with).
    emu.shared
        .cognito
        .set_issuer_base(Some("http://cognito.local:9229/".into()));
    let tokens = p.sign_in("erin", PASSWORD).await.unwrap();
    assert_eq!(
        claims(tokens.access_token().unwrap())["iss"],
        format!("http://cognito.local:9229/{}", p.pool_id)
    );
    // Such tokens still authorise GetUser.
    p.client
        .get_user()
        .access_token(tokens.access_token().unwrap())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn users_and_signing_keys_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("ugc-emu-cognito-{}", uuid::Uuid::new_v4()));
    let config = EmulatorConfig {
        data_dir: Some(dir.clone()),
        ..EmulatorConfig::default()
    };
    let first = spawn_with(config.clone()).await;
    let p = pool(&first).await;
    p.user("frank", "frank@example.com").await;
    let tokens = p.sign_in("frank", PASSWORD).await.unwrap();
    let jwks_before = first.shared.cognito.jwks().unwrap();

    let second = spawn_with(config).await;
    assert_ne!(second.port, first.port);
    let client = Client::new(&second.sdk_config().await);
    let jwks_after: Value = reqwest::get(format!(
        "{}/{}/.well-known/jwks.json",
        second.endpoint, p.pool_id
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(jwks_after, jwks_before);
    // The session and the user survive: the old token still works, the password too.
    let user = client
        .get_user()
        .access_token(tokens.access_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(user.username, "frank");
    client
        .initiate_auth()
        .client_id(&p.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "frank")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

type Seen = Arc<Mutex<Vec<Value>>>;

fn recorder(
    seen: &Seen,
    f: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
) -> impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static {
    let seen = seen.clone();
    move |event: Value| {
        seen.lock().unwrap().push(event.clone());
        f(event)
    }
}

#[tokio::test]
async fn triggers_see_cognito_shaped_events_and_shape_the_outcome() {
    let emu = spawn().await;
    let p = pool(&emu).await;
    let seen: Seen = Arc::default();

    emu.shared.cognito.register_triggers(
        Triggers::default()
            .with_pre_sign_up(recorder(&seen, |mut event| {
                let email = event["request"]["userAttributes"]["email"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if email.ends_with("@blocked.example") {
                    return Err("Registration from this domain is not allowed.".into());
                }
                if email.ends_with("@auto.example") {
                    event["response"]["autoConfirmUser"] = json!(true);
                    event["response"]["autoVerifyEmail"] = json!(true);
                }
                Ok(event)
            }))
            .with_pre_authentication(recorder(&seen, |event| {
                let submitted = event["request"]["validationData"]["submittedUsername"].as_str();
                let preferred = event["request"]["userAttributes"]["preferred_username"].as_str();
                match (submitted, preferred) {
                    (None, _) => Err("UserNotFoundException".into()),
                    (Some(s), Some(p)) if s != p => Err("UserNotFoundException".into()),
                    _ => Ok(event),
                }
            }))
            .with_custom_message(recorder(&seen, |mut event| {
                let source = event["triggerSource"].as_str().unwrap().to_owned();
                let code = event["request"]["codeParameter"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let user = event["userName"].as_str().unwrap().to_owned();
                let page = if source == "CustomMessage_ForgotPassword" {
                    "reset"
                } else {
                    "login"
                };
                event["response"]["emailMessage"] = json!(format!(
                    "<a href=http://localhost:3000/{page}?code={code}&username={user}>Go</a>"
                ));
                Ok(event)
            })),
    );

    // PreSignUp refuses: Cognito's message format, trailing '.' appended.
    let refused = p
        .client
        .sign_up()
        .client_id(&p.client_id)
        .username("mallory")
        .password(PASSWORD)
        .user_attributes(attr("email", "m@blocked.example"))
        .validation_data(attr("k", "v"))
        .client_metadata("from", "test")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "UserLambdaValidationException");
    assert_eq!(
        message(&refused),
        "PreSignUp failed with error Registration from this domain is not allowed.."
    );
    let event = seen.lock().unwrap().last().unwrap().clone();
    assert_eq!(event["triggerSource"], "PreSignUp_SignUp");
    assert_eq!(event["version"], "1");
    assert_eq!(event["region"], "us-east-1");
    assert_eq!(event["userPoolId"], p.pool_id.as_str());
    assert_eq!(event["userName"], "mallory");
    assert_eq!(event["callerContext"]["clientId"], p.client_id.as_str());
    assert_eq!(event["request"]["validationData"], json!({"k": "v"}));
    assert_eq!(event["request"]["clientMetadata"], json!({"from": "test"}));
    assert_eq!(event["response"]["autoConfirmUser"], false);
    let missing = p
        .client
        .admin_get_user()
        .user_pool_id(&p.pool_id)
        .username("mallory")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "UserNotFoundException");

    // PreSignUp auto-confirms: no code is sent.
    let before = emu.shared.cognito.outbox().len();
    let out = p
        .client
        .sign_up()
        .client_id(&p.client_id)
        .username("gina")
        .password(PASSWORD)
        .user_attributes(attr("email", "gina@auto.example"))
        .send()
        .await
        .unwrap();
    assert!(out.user_confirmed);
    assert!(out.code_delivery_details.is_none());
    assert_eq!(emu.shared.cognito.outbox().len(), before);

    // CustomMessage writes the e-mail; the code replaces the placeholder.
    p.sign_up("hank", "hank@example.com").await;
    let event = seen.lock().unwrap().last().unwrap().clone();
    assert_eq!(event["triggerSource"], "CustomMessage_SignUp");
    assert_eq!(event["request"]["codeParameter"], "{####}");
    assert_eq!(
        event["request"]["userAttributes"]["email"],
        "hank@example.com"
    );
    assert!(
        event["response"]["emailMessage"].is_null()
            || event["response"]["emailMessage"].is_string()
    );
    let mail = emu.shared.cognito.latest_message("hank").unwrap();
    assert_eq!(
        mail.body,
        format!(
            "<a href=http://localhost:3000/login?code={}&username=hank>Go</a>",
            mail.code
        )
    );
    p.client
        .resend_confirmation_code()
        .client_id(&p.client_id)
        .username("hank")
        .send()
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().last().unwrap()["triggerSource"],
        "CustomMessage_ResendCode"
    );
    let resent = emu.shared.cognito.latest_message("hank").unwrap();
    p.client
        .confirm_sign_up()
        .client_id(&p.client_id)
        .username("hank")
        .confirmation_code(&resent.code)
        .send()
        .await
        .unwrap();

    // PreAuthentication receives InitiateAuth's ClientMetadata as validationData.
    let no_meta = p
        .client
        .initiate_auth()
        .client_id(&p.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "gina")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_meta), "UserLambdaValidationException");
    assert_eq!(
        message(&no_meta),
        "PreAuthentication failed with error UserNotFoundException."
    );
    p.sign_in("gina", PASSWORD).await.unwrap();
    let event = seen.lock().unwrap().last().unwrap().clone();
    assert_eq!(event["triggerSource"], "PreAuthentication_Authentication");
    assert_eq!(
        event["request"]["validationData"],
        json!({"submittedUsername": "gina"})
    );
    assert_eq!(event["request"]["userAttributes"]["email_verified"], "true");
    assert!(event["request"]["userAttributes"]["sub"].is_string());

    p.client
        .forgot_password()
        .client_id(&p.client_id)
        .username("gina")
        .send()
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().last().unwrap()["triggerSource"],
        "CustomMessage_ForgotPassword"
    );
    let reset = emu
        .shared
        .cognito
        .latest_message("gina@auto.example")
        .unwrap();
    assert!(reset
        .body
        .contains(&format!("/reset?code={}&username=gina", reset.code)));
}

#[tokio::test]
async fn access_tokens_expire_after_the_client_validity() {
    use aws_sdk_cognitoidentityprovider::types::{TimeUnitsType, TokenValidityUnitsType};
    let emu = spawn().await;
    let p = pool(&emu).await;
    let short = p
        .client
        .create_user_pool_client()
        .user_pool_id(&p.pool_id)
        .client_name("short")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .access_token_validity(1)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .access_token(TimeUnitsType::Seconds)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let short_id = short.user_pool_client().unwrap().client_id().unwrap();
    p.user("ivy", "ivy@example.com").await;
    let tokens = p
        .client
        .initiate_auth()
        .client_id(short_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ivy")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    assert_eq!(tokens.expires_in, 1);
    // This client does not allow refresh-token sign-in.
    let refused = p
        .client
        .initiate_auth()
        .client_id(short_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", tokens.refresh_token().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "InvalidParameterException");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let expired = p
        .client
        .get_user()
        .access_token(tokens.access_token().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&expired), "NotAuthorizedException");
    assert_eq!(message(&expired), "Access Token has expired");
}
