//! The triggers registered with the emulator's Cognito, the way `services/local` wires them, and
//! the cleanup's Cognito client against its ListUsers / AdminDeleteUser.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, ExplicitAuthFlowsType};
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;
use ugc_emulator::cognito::Triggers;
use ugc_emulator::{Emulator, EmulatorConfig};
use ugc_triggers::cleanup::{self, marker_id, Backoff, CognitoUserPool, DynamoChannelTable};
use ugc_triggers::pre_sign_up::PreSignUpConfig;
use ugc_triggers::{pre_authentication, pre_sign_up};

use crate::helpers::{sdk_config, TestDb};

struct Pool {
    shared: Arc<ugc_emulator::Shared>,
    client: cognito::Client,
    pool_id: String,
    client_id: String,
}

async fn start() -> Pool {
    let emulator = Emulator::build(EmulatorConfig::default()).unwrap();
    let endpoint = format!("http://127.0.0.1:{}", emulator.port());
    let shared = emulator.shared();
    tokio::spawn(emulator.run_until_stopped());
    let client = cognito::Client::new(&sdk_config(&endpoint).await);
    let pool_id = client
        .create_user_pool()
        .pool_name("ugc")
        .alias_attributes(cognito::types::AliasAttributeType::PreferredUsername)
        .auto_verified_attributes(cognito::types::VerifiedAttributeType::Email)
        .send()
        .await
        .unwrap()
        .user_pool()
        .and_then(|p| p.id())
        .unwrap()
        .to_owned();
    let client_id = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client()
        .and_then(|c| c.client_id())
        .unwrap()
        .to_owned();
    Pool {
        shared,
        client,
        pool_id,
        client_id,
    }
}

impl Pool {
    async fn sign_up(
        &self,
        username: &str,
        email: &str,
    ) -> Result<
        cognito::operation::sign_up::SignUpOutput,
        cognito::error::SdkError<cognito::operation::sign_up::SignUpError>,
    > {
        self.client
            .sign_up()
            .client_id(&self.client_id)
            .username(username)
            .password("Passw0rd!")
            .user_attributes(
                AttributeType::builder()
                    .name("email")
                    .value(email)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
    }
}

#[tokio::test]
async fn sign_up_rules_and_auto_verify_through_cognito() {
    let pool = start().await;
    let config = PreSignUpConfig {
        allowed_domains: vec!["example.com".to_owned()],
        auto_verify: true,
    };
    pool.shared.cognito.register_triggers(
        Triggers::default()
            .with_pre_sign_up(move |event| pre_sign_up::handle(&config, event))
            .with_pre_authentication(pre_authentication::handle),
    );

    let err = pool.sign_up("Settings", "s@example.com").await.unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_user_lambda_validation_exception(), "{service:?}");
    // The SPA searches this message for the names it maps.
    assert!(
        service
            .meta()
            .message()
            .unwrap()
            .contains("ReservedUsernameException"),
        "{service:?}"
    );
    let err = pool.sign_up("alice", "a@other.org").await.unwrap_err();
    assert!(err
        .into_service_error()
        .meta()
        .message()
        .unwrap()
        .contains("AccountRegistrationException"));

    let out = pool.sign_up("alice", "alice@example.com").await.unwrap();
    assert!(out.user_confirmed(), "auto-verify confirms the user");

    // PreAuthentication: the typed name must come along as client metadata.
    let sign_in = |metadata: Option<&str>| {
        pool.client
            .initiate_auth()
            .client_id(&pool.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", "alice")
            .auth_parameters("PASSWORD", "Passw0rd!")
            .set_client_metadata(metadata.map(|m| {
                [("submittedUsername".to_owned(), m.to_owned())]
                    .into_iter()
                    .collect()
            }))
            .send()
    };
    assert!(sign_in(Some("alice")).await.is_ok());
    let err = sign_in(None).await.unwrap_err().into_service_error();
    assert!(
        err.meta()
            .message()
            .unwrap()
            .contains("UserNotFoundException"),
        "{err:?}"
    );
}

#[tokio::test]
async fn cleanup_removes_unconfirmed_users_and_their_rows() {
    let pool = start().await;
    let db = TestDb::new().await;
    let mut subs = Vec::new();
    for name in ["pending_1", "pending_2", "confirmed"] {
        let out = pool
            .sign_up(name, &format!("{name}@example.com"))
            .await
            .unwrap();
        assert!(!out.user_confirmed());
        let sub = out.user_sub().to_owned();
        for item in [
            [("id", sub.clone()), ("username", name.to_owned())],
            [("id", marker_id(name)), ("userSub", sub.clone())],
        ] {
            db.client
                .put_item()
                .table_name(&db.names.channels)
                .set_item(Some(
                    item.into_iter()
                        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
                        .collect(),
                ))
                .send()
                .await
                .unwrap();
        }
        subs.push(sub);
    }
    pool.client
        .admin_confirm_sign_up()
        .user_pool_id(&pool.pool_id)
        .username("confirmed")
        .send()
        .await
        .unwrap();

    let users = CognitoUserPool::new(pool.client.clone(), &pool.pool_id);
    let table = DynamoChannelTable::new(db.client.clone(), &db.names.channels);
    // Users created a moment ago are kept...
    let report = cleanup::run(
        &users,
        &table,
        OffsetDateTime::now_utc(),
        Duration::from_secs(3600),
        Backoff::default(),
    )
    .await
    .unwrap();
    assert_eq!((report.unconfirmed, report.expired), (2, 0));
    // ...and removed once past the grace period.
    let report = cleanup::run(
        &users,
        &table,
        OffsetDateTime::now_utc() + time::Duration::hours(2),
        Duration::from_secs(3600),
        Backoff::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.users_deleted, 2);
    assert_eq!(report.records_deleted, 4);

    let listed = pool
        .client
        .list_users()
        .user_pool_id(&pool.pool_id)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed.users().iter().filter_map(|u| u.username()).collect();
    assert_eq!(names, ["confirmed"]);
    let scan = db
        .client
        .scan()
        .table_name(&db.names.channels)
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let mut left: Vec<String> = scan
        .items()
        .iter()
        .map(|i| i["id"].as_s().unwrap().clone())
        .collect();
    left.sort();
    // The directory's completeness sentinel (written with the tables) is no user's row: kept.
    let mut expected = vec![
        subs[2].clone(),
        "directory#ugc".to_owned(),
        marker_id("confirmed"),
    ];
    expected.sort();
    assert_eq!(left, expected);
    db.cleanup().await;
}
