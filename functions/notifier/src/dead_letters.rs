//! Where poison records go: the DLQ at once when `DEAD_LETTER_QUEUE_URL` is set, otherwise
//! the queue's redrive policy.

use aws_lambda_events::event::sqs::SqsMessage;
use shared::batch::{DeadLetterSink, RedrivePolicyOnly, SqsDeadLetterQueue};

pub enum DeadLetters {
    Queue(SqsDeadLetterQueue),
    RedrivePolicy(RedrivePolicyOnly),
}

impl DeadLetters {
    pub fn new(sqs: &aws_sdk_sqs::Client, queue_url: Option<&str>) -> Self {
        match queue_url {
            Some(url) => DeadLetters::Queue(SqsDeadLetterQueue::new(sqs.clone(), url)),
            None => DeadLetters::RedrivePolicy(RedrivePolicyOnly),
        }
    }
}

impl DeadLetterSink for DeadLetters {
    async fn send(&self, message: &SqsMessage, reason: &str) -> Result<(), String> {
        match self {
            DeadLetters::Queue(q) => q.send(message, reason).await,
            DeadLetters::RedrivePolicy(r) => r.send(message, reason).await,
        }
    }
}
