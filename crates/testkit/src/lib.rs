//! Test support for the services' integration tests (a dev-dependency only; never in a binary).
//!
//! `TestEnv::start()` gives each test its own world: an emulator of the AWS services on
//! 127.0.0.1:0 running on the test's runtime, the two DynamoDB tables under a unique prefix in
//! the DynamoDB Local of the run (`UGC_TEST_DYNAMODB_ENDPOINT`, set by `scripts/test.sh`), and a
//! Cognito user pool + app client configured like production (USER_PASSWORD_AUTH, refresh).
//!
//! This crate exists for tests, so a failed set-up panics with a message saying what is missing.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType};
use ugc_dynamo::TableNames;
use ugc_emulator::{Emulator, EmulatorConfig, Shared};
use ugc_web::{AuthConfig, CommonConfig, Verifier};

/// Default password of users made by `sign_up_user` callers that don't care.
pub const PASSWORD: &str = "Passw0rd!";

/// The DynamoDB Local endpoint of this test run.
pub fn dynamodb_endpoint() -> String {
    std::env::var("UGC_TEST_DYNAMODB_ENDPOINT").expect(
        "UGC_TEST_DYNAMODB_ENDPOINT is not set: run the suite with `make test` \
         (it starts DynamoDB Local), or start it with scripts/dynamodb-local.sh",
    )
}

pub struct TestEnv {
    /// `http://127.0.0.1:<port>` of the emulator.
    pub emulator_endpoint: String,
    pub emulator: Arc<Shared>,
    pub emulator_config: EmulatorConfig,
    /// Every AWS service except DynamoDB goes to the emulator; static credentials test/test.
    pub sdk: aws_config::SdkConfig,
    /// DynamoDB Local of the run.
    pub dynamo: aws_sdk_dynamodb::Client,
    /// This test's tables (unique prefix), already created.
    pub tables: TableNames,
    pub user_pool_id: String,
    pub client_id: String,
    pub auth: AuthConfig,
    pub region: String,
    pub account_id: String,
    cognito: cognito::Client,
    http: reqwest::Client,
}

/// A confirmed, signed-in Cognito user (no DynamoDB profile is created).
#[derive(Clone, Debug)]
pub struct TestUser {
    pub sub: String,
    pub username: String,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub id_token: String,
}

impl TestEnv {
    pub async fn start() -> Self {
        Self::start_with(EmulatorConfig::default()).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Self {
        let emulator = Emulator::build(config.clone()).expect("emulator starts");
        let port = emulator.port();
        let shared = emulator.shared();
        tokio::spawn(emulator.run_until_stopped());
        let emulator_endpoint = format!("http://127.0.0.1:{port}");

        let credentials = aws_credential_types::Credentials::new(
            &config.access_key_id,
            &config.secret_access_key,
            None,
            None,
            "ugc-testkit",
        );
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&emulator_endpoint)
            .region(aws_config::Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .load()
            .await;

        let dynamo_config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(dynamodb_endpoint())
            .build();
        let dynamo = aws_sdk_dynamodb::Client::from_conf(dynamo_config);
        let prefix = format!("t{}-", uuid::Uuid::new_v4().simple());
        let tables = TableNames::with_prefix(&prefix);
        ugc_dynamo::create_tables(&dynamo, &tables)
            .await
            .expect("tables created in DynamoDB Local");

        let cognito = cognito::Client::new(&sdk);
        let pool = cognito
            .create_user_pool()
            .pool_name(format!("{prefix}pool"))
            .alias_attributes(cognito::types::AliasAttributeType::PreferredUsername)
            .auto_verified_attributes(cognito::types::VerifiedAttributeType::Email)
            .send()
            .await
            .expect("user pool created");
        let user_pool_id = pool.user_pool().and_then(|p| p.id()).unwrap().to_owned();
        let client = cognito
            .create_user_pool_client()
            .user_pool_id(&user_pool_id)
            .client_name("web")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .expect("user pool client created");
        let client_id = client
            .user_pool_client()
            .and_then(|c| c.client_id())
            .unwrap()
            .to_owned();
        let issuer = shared.cognito.issuer(&user_pool_id);
        let auth = AuthConfig {
            user_pool_id: user_pool_id.clone(),
            client_id: client_id.clone(),
            jwks_url: format!("{issuer}/.well-known/jwks.json"),
            issuer,
        };

        Self {
            emulator_endpoint,
            emulator: shared,
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            emulator_config: config,
            sdk,
            dynamo,
            tables,
            user_pool_id,
            client_id,
            auth,
            cognito,
            http: reqwest::Client::new(),
        }
    }

    /// Signs up, confirms (as an admin) and signs in a user, as the SPA would after e-mail
    /// confirmation.
    pub async fn sign_up_user(&self, username: &str, password: &str, email: &str) -> TestUser {
        let out = self
            .cognito
            .sign_up()
            .client_id(&self.client_id)
            .username(username)
            .password(password)
            .user_attributes(
                cognito::types::AttributeType::builder()
                    .name("email")
                    .value(email)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("sign-up of {username} failed: {e:?}"));
        self.cognito
            .admin_confirm_sign_up()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .send()
            .await
            .expect("admin confirm");
        let mut user = self.sign_in(username, password).await;
        user.sub = out.user_sub().to_owned();
        user.email = email.to_owned();
        user
    }

    /// Signs in with USER_PASSWORD_AUTH (with the `submittedUsername` the SPA sends).
    pub async fn sign_in(&self, username: &str, password: &str) -> TestUser {
        let auth = self
            .cognito
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .client_metadata("submittedUsername", username)
            .send()
            .await
            .unwrap_or_else(|e| panic!("sign-in of {username} failed: {e:?}"));
        let result = auth.authentication_result().expect("tokens");
        let access_token = result.access_token().unwrap().to_owned();
        let user = self
            .cognito
            .get_user()
            .access_token(&access_token)
            .send()
            .await
            .expect("get user");
        let attribute = |name: &str| {
            user.user_attributes()
                .iter()
                .find(|a| a.name() == name)
                .and_then(|a| a.value())
                .unwrap_or_default()
                .to_owned()
        };
        TestUser {
            sub: attribute("sub"),
            email: attribute("email"),
            username: user.username().to_owned(),
            password: password.to_owned(),
            access_token,
            id_token: result.id_token().unwrap().to_owned(),
        }
    }

    /// Common service settings for tests (bind 127.0.0.1:0, CORS off, default rate limits)
    /// with this environment's Cognito pool as the token issuer.
    pub fn common_config(&self) -> CommonConfig {
        let mut common = CommonConfig::for_tests();
        common.auth = Some(self.auth.clone());
        common
    }

    pub async fn verifier(&self) -> Verifier {
        Verifier::new(&self.auth)
            .await
            .expect("JWKS of the emulator's pool")
    }

    pub fn cognito(&self) -> &cognito::Client {
        &self.cognito
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
