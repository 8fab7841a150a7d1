//! The asset-version updater's dead-letter consumer: messages land here after the updater failed
//! them `maxReceiveCount` times. It logs each one (so the failure can be inspected and replayed
//! from the logs) and succeeds, which deletes them from the dead-letter queue.

use aws_lambda_events::event::sqs::SqsEvent;

/// Bodies are logged up to this many bytes; an S3 notification is well under 2 KB.
pub const MAX_BODY_BYTES: usize = 4096;

/// What is logged for one dead-lettered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub receive_count: Option<u32>,
    pub source_queue: Option<String>,
    pub body: String,
    pub body_truncated: bool,
}

/// One entry per message of the batch.
pub fn dead_letters(event: &SqsEvent) -> Vec<DeadLetter> {
    event
        .records
        .iter()
        .map(|message| {
            let body = message.body.as_deref().unwrap_or_default();
            let kept = truncate(body, MAX_BODY_BYTES);
            DeadLetter {
                message_id: message.message_id.clone().unwrap_or_default(),
                receive_count: message
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|n| n.parse().ok()),
                source_queue: message.attributes.get("DeadLetterQueueSourceArn").cloned(),
                body: kept.to_owned(),
                body_truncated: kept.len() < body.len(),
            }
        })
        .collect()
}

/// The Lambda handler: logs the batch; never fails.
pub fn log_batch(event: &SqsEvent) -> usize {
    let letters = dead_letters(event);
    for letter in &letters {
        tracing::error!(
            message_id = %letter.message_id,
            receive_count = letter.receive_count,
            source_queue = letter.source_queue.as_deref(),
            body = %letter.body,
            body_truncated = letter.body_truncated,
            "asset-version update gave up on a message"
        );
    }
    letters.len()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let end = (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    s.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn letters_keep_ids_counts_and_truncated_bodies() {
        let long = "é".repeat(MAX_BODY_BYTES);
        let event: SqsEvent = serde_json::from_value(json!({"Records": [
            {"messageId": "m-1", "body": "{\"Records\":[]}",
             "attributes": {"ApproximateReceiveCount": "5",
                            "DeadLetterQueueSourceArn": "arn:aws:sqs:us-west-2:123456789012:asset-events"},
             "messageAttributes": {}, "eventSource": "aws:sqs"},
            {"messageId": "m-2", "body": long, "attributes": {}, "messageAttributes": {}}
        ]}))
        .unwrap();
        let letters = dead_letters(&event);
        assert_eq!(letters.len(), 2);
        assert_eq!(letters[0].message_id, "m-1");
        assert_eq!(letters[0].receive_count, Some(5));
        assert_eq!(
            letters[0].source_queue.as_deref(),
            Some("arn:aws:sqs:us-west-2:123456789012:asset-events")
        );
        assert_eq!(letters[0].body, "{\"Records\":[]}");
        assert!(!letters[0].body_truncated);
        assert!(letters[1].body_truncated);
        assert_eq!(letters[1].body.len(), MAX_BODY_BYTES);
        assert!(letters[1].body.chars().all(|c| c == 'é'));
        assert_eq!(log_batch(&event), 2);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("", 0), "");
    }
}
