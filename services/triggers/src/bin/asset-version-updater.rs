//! S3 → SQS asset-version updater, with partial batch responses. Env: `CHANNEL_ASSETS_BASE_URL`,
//! `CHANNELS_TABLE_NAME` (+ the standard AWS variables).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use ugc_dynamo::ChannelsRepo;
use ugc_triggers::asset_version::{AssetVersionConfig, AssetVersionUpdater};
use ugc_triggers::{config, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_logging();
    let config = runtime::load(AssetVersionConfig::from_env(&config::process_env()))?;
    let sdk = runtime::aws_config().await;
    let repo = ChannelsRepo::new(ugc_dynamo::client_from_config(&sdk), config.channels_table);
    let updater = &AssetVersionUpdater::new(repo, config.channel_assets_base_url);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(updater.handle_batch(event.payload).await)
    }))
    .await
}
