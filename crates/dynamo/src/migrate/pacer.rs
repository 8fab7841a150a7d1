//! Pacing by consumed capacity: a token bucket refilled at `units_per_second` (read and write units
//! together, as DynamoDB reports them with `ReturnConsumedCapacity::TOTAL`). The migration shares one
//! pacer between its concurrent requests, so a live table never sees more than the budget from it,
//! whatever the concurrency.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    /// 0 = unlimited.
    units_per_second: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    read_units: f64,
    write_units: f64,
}

impl Pacer {
    pub fn new(units_per_second: f64) -> Self {
        Self {
            units_per_second: units_per_second.max(0.0),
            state: Mutex::new(Bucket {
                tokens: units_per_second.max(0.0),
                refilled: Instant::now(),
                read_units: 0.0,
                write_units: 0.0,
            }),
        }
    }

    /// Records what a request consumed and waits as long as the budget requires.
    pub async fn consume(&self, read_units: f64, write_units: f64) {
        let wait = {
            let mut bucket = match self.state.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            bucket.read_units += read_units;
            bucket.write_units += write_units;
            if self.units_per_second <= 0.0 {
                return;
            }
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
            bucket.refilled = now;
            bucket.tokens =
                (bucket.tokens + elapsed * self.units_per_second).min(self.units_per_second);
            bucket.tokens -= read_units + write_units;
            if bucket.tokens < 0.0 {
                Duration::from_secs_f64(-bucket.tokens / self.units_per_second)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Read and write capacity units consumed so far.
    pub fn consumed(&self) -> (f64, f64) {
        let bucket = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        (bucket.read_units, bucket.write_units)
    }
}

/// The capacity units a response reports (0 when it reports none).
pub(crate) fn units(capacity: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>) -> f64 {
    capacity.and_then(|c| c.capacity_units()).unwrap_or(0.0)
}

/// Settles a conditional update, paced by `pacer` when there is one (by the capacity it consumed;
/// a refused condition costs one write unit), and says whether it was applied.
pub(crate) async fn paced_update(
    pacer: Option<&Pacer>,
    result: Result<
        aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    >,
) -> Result<bool, crate::error::DbError> {
    let (applied, write_units) = match crate::channels::conditional_update(result)? {
        crate::channels::Conditional::Done(out) => (true, units(out.consumed_capacity())),
        crate::channels::Conditional::Failed(_) => (false, 1.0),
    };
    if let Some(pacer) = pacer {
        pacer.consume(0.0, write_units).await;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_once_the_budget_is_spent() {
        let pacer = Pacer::new(10.0);
        let start = tokio::time::Instant::now();
        pacer.consume(10.0, 0.0).await;
        assert!(start.elapsed() < Duration::from_millis(10));
        pacer.consume(0.0, 5.0).await;
        assert!(start.elapsed() >= Duration::from_millis(490));
        assert_eq!(pacer.consumed(), (10.0, 5.0));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_unlimited() {
        let pacer = Pacer::new(0.0);
        let start = tokio::time::Instant::now();
        pacer.consume(1000.0, 1000.0).await;
        assert!(start.elapsed() < Duration::from_millis(10));
    }
}
