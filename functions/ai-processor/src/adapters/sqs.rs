//! Dead letters per source queue: this function consumes two queues (`media-ingest` and
//! `ai-jobs`), and each queue's poison belongs in that queue's own dead-letter queue, so a
//! flood of bad job completions never hides among upload failures (or trips their alarm).
//!
//! A record names its queue in `eventSourceARN`. The dead-letter queue of a queue `Q` is the
//! one named `Q-dlq`, as the template names them; a record from the queue whose
//! dead-letter queue is `AI_JOBS_DEAD_LETTER_QUEUE_URL` goes there, every other record to
//! `DEAD_LETTER_QUEUE_URL` (or is left to the redrive policy when that is unset).

use aws_lambda_events::event::sqs::SqsMessage;
use shared::batch::{DeadLetterSink, DeadLetters, SqsDeadLetterQueue};

pub struct DeadLettersBySource {
    default: DeadLetters,
    ai_jobs: Option<(String, SqsDeadLetterQueue)>,
}

impl DeadLettersBySource {
    pub fn new(
        client: aws_sdk_sqs::Client,
        default_url: Option<String>,
        ai_jobs_url: Option<String>,
    ) -> Self {
        let ai_jobs = ai_jobs_url.map(|url| {
            (
                queue_name(&url).to_string(),
                SqsDeadLetterQueue::new(client.clone(), url),
            )
        });
        Self {
            default: DeadLetters::new(client, default_url),
            ai_jobs,
        }
    }
}

/// The last segment of a queue URL or ARN: the queue's name.
fn queue_name(url_or_arn: &str) -> &str {
    url_or_arn.rsplit(['/', ':']).next().unwrap_or(url_or_arn)
}

/// Whether the dead-letter queue named `dead_letter_queue` belongs to the queue of `arn`.
fn is_dead_letter_queue_of(dead_letter_queue: &str, source_arn: &str) -> bool {
    dead_letter_queue
        .strip_suffix("-dlq")
        .is_some_and(|source| source == queue_name(source_arn))
}

impl DeadLetterSink for DeadLettersBySource {
    async fn send(&self, message: &SqsMessage, reason: &str) -> Result<(), String> {
        if let (Some((name, queue)), Some(arn)) = (&self.ai_jobs, &message.event_source_arn) {
            if is_dead_letter_queue_of(name, arn) {
                return queue.send(message, reason).await;
            }
        }
        self.default.send(message, reason).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_s_dead_letter_queue_is_found_by_its_name() {
        let dlq = queue_name(
            "https://sqs.cn-northwest-1.amazonaws.com.cn/1/media-suite-prod-ai-jobs-dlq",
        );
        assert_eq!(dlq, "media-suite-prod-ai-jobs-dlq");
        assert!(is_dead_letter_queue_of(
            dlq,
            "arn:aws-cn:sqs:cn-northwest-1:1:media-suite-prod-ai-jobs"
        ));
        assert!(!is_dead_letter_queue_of(
            dlq,
            "arn:aws-cn:sqs:cn-northwest-1:1:media-suite-prod-media-ingest"
        ));
        assert!(!is_dead_letter_queue_of(
            "no-suffix",
            "arn:aws:sqs:r:1:no-suffix"
        ));
    }
}
