//! Dead-letter consumer of the asset-version updater: logs the messages and succeeds.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use ugc_triggers::{dlq_logger, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_logging();
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        dlq_logger::log_batch(&event.payload);
        Ok::<(), Error>(())
    }))
    .await
}
