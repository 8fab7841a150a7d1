//! Scheduled removal of users who never confirmed their e-mail. Env: `CHANNELS_TABLE_NAME`,
//! `USER_POOL_ID`, `UNVERIFIED_USER_MAX_AGE_HOURS` (default 24) (+ the standard AWS variables).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use time::OffsetDateTime;
use ugc_triggers::cleanup::{
    self, Backoff, CleanupConfig, CleanupError, CognitoUserPool, DynamoChannelTable,
};
use ugc_triggers::{config, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_logging();
    let config = runtime::load(CleanupConfig::from_env(&config::process_env()))?;
    let sdk = runtime::aws_config().await;
    let pool = &CognitoUserPool::new(
        aws_sdk_cognitoidentityprovider::Client::new(&sdk),
        &config.user_pool_id,
    );
    let table =
        &DynamoChannelTable::new(ugc_dynamo::client_from_config(&sdk), &config.channels_table);
    let max_age = config.max_age;
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async move {
        let report = cleanup::run(
            pool,
            table,
            OffsetDateTime::now_utc(),
            max_age,
            Backoff::default(),
        )
        .await
        .inspect_err(|err| tracing::error!(error = %err, "cleanup failed"))?;
        tracing::info!(
            unconfirmed = report.unconfirmed,
            expired = report.expired,
            users_deleted = report.users_deleted,
            records_deleted = report.records_deleted,
            "unverified users removed"
        );
        if report.failed_users.is_empty() {
            Ok(())
        } else {
            Err(Error::from(CleanupError::UsersNotDeleted(
                report.failed_users,
            )))
        }
    }))
    .await
}
