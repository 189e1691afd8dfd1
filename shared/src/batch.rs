//! SQS batch processing with partial batch responses.
//!
//! Records are handled concurrently up to a bound. A retryable failure is reported in
//! `batchItemFailures`, so SQS delivers it again. A permanent failure (a poison message) is
//! moved to the dead-letter queue at once when one is configured, so it does not spin
//! through `maxReceiveCount` deliveries; without one (or if that send fails) it is reported
//! like a retryable failure and the queue's redrive policy moves it. Nothing is dropped.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::stream::{self, StreamExt};

use crate::metrics::MetricSet;

/// Why one SQS record failed, which decides whether it is delivered again or is poison.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Worth another delivery: throttling, timeouts, 5xx, a dependency down.
    #[error("retryable: {0}")]
    Retryable(String),
    /// Will fail the same way every time: malformed input, a reference to nothing.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl RecordError {
    /// A failure worth another delivery.
    pub fn retryable(reason: impl std::fmt::Display) -> Self {
        RecordError::Retryable(reason.to_string())
    }
    /// A failure that will repeat on every delivery (a poison message).
    pub fn permanent(reason: impl std::fmt::Display) -> Self {
        RecordError::Permanent(reason.to_string())
    }
    /// True when another delivery may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, RecordError::Retryable(_))
    }
}

/// Where poison messages go when they are taken out of the queue early.
pub trait DeadLetterSink: Send + Sync {
    /// Moves `message` out of its queue with `reason`; an `Err` leaves it to the redrive policy.
    fn send(
        &self,
        message: &SqsMessage,
        reason: &str,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

/// No early move: permanent failures are reported and the redrive policy moves them.
pub struct RedrivePolicyOnly;

impl DeadLetterSink for RedrivePolicyOnly {
    async fn send(&self, _message: &SqsMessage, _reason: &str) -> Result<(), String> {
        Err("no dead-letter queue configured for early moves".into())
    }
}

/// Sends poison messages straight to the queue's dead-letter queue, with the reason and the
/// original message id as message attributes.
pub struct SqsDeadLetterQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetterQueue {
    /// Sends to the dead-letter queue at `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

fn attribute(value: &str) -> aws_sdk_sqs::types::MessageAttributeValue {
    aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data type is set")
}

impl DeadLetterSink for SqsDeadLetterQueue {
    async fn send(&self, message: &SqsMessage, reason: &str) -> Result<(), String> {
        // SQS attribute values are limited to 256 KiB in total; reasons are short, but cut them.
        let reason: String = reason.chars().take(1024).collect();
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message.body.clone().unwrap_or_default())
            .message_attributes("failure_reason", attribute(&reason))
            .message_attributes(
                "source_message_id",
                attribute(message.message_id.as_deref().unwrap_or("unknown")),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }
}

/// The dead-letter choice every consumer makes from `DEAD_LETTER_QUEUE_URL`: straight to that
/// queue when set, else left to the queue's redrive policy.
pub enum DeadLetters {
    /// `DEAD_LETTER_QUEUE_URL` is set: poison goes there at once.
    Queue(SqsDeadLetterQueue),
    /// No URL: poison is reported as failed until `maxReceiveCount` moves it.
    RedrivePolicy(RedrivePolicyOnly),
}

impl DeadLetters {
    /// The queue when `queue_url` is set, else the redrive policy.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: Option<String>) -> Self {
        match queue_url {
            Some(url) => DeadLetters::Queue(SqsDeadLetterQueue::new(client, url)),
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

/// The time a record may take: the invocation's deadline less a margin for answering (the
/// partial batch response and dead-letter moves must still go out before Lambda stops the
/// invocation).
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: std::time::Instant,
}

/// Default margin left at the end of an invocation.
pub const DEFAULT_DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_millis(1500);

impl Deadline {
    /// From the invocation context's deadline (epoch milliseconds).
    pub fn from_context(ctx: &lambda_runtime::Context, margin: std::time::Duration) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let left = std::time::Duration::from_millis(ctx.deadline.saturating_sub(now_ms));
        if left.is_zero() {
            // Lambda never starts an invocation past its deadline; a local emulator may send
            // none (0). Then only the SDK's own per-operation timeouts bound the records.
            tracing::debug!(
                deadline_ms = ctx.deadline,
                "the invocation carries no usable deadline"
            );
            return Self::none();
        }
        Self::after(left.saturating_sub(margin))
    }

    /// A deadline `left` from now.
    pub fn after(left: std::time::Duration) -> Self {
        Self {
            at: std::time::Instant::now() + left,
        }
    }

    /// No practical limit (scheduled work without a context, tests).
    pub fn none() -> Self {
        Self::after(std::time::Duration::from_secs(86_400))
    }

    /// Time left before the deadline; zero once it has passed.
    pub fn remaining(&self) -> std::time::Duration {
        self.at.saturating_duration_since(std::time::Instant::now())
    }

    /// Runs `work`, or fails it as retryable when the deadline comes first, so one hung call
    /// fails its record and the rest of the batch is still answered.
    pub async fn run<T, F>(&self, work: F) -> Result<T, RecordError>
    where
        F: std::future::Future<Output = Result<T, RecordError>>,
    {
        match tokio::time::timeout_at(self.at.into(), work).await {
            Ok(result) => result,
            Err(_) => Err(RecordError::Retryable(
                "did not finish before the invocation's deadline; SQS will deliver it again".into(),
            )),
        }
    }
}

/// Counts of one batch, also emitted as EMF metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchSummary {
    /// Records handled successfully.
    pub processed: usize,
    /// Records reported in `batchItemFailures` for another delivery.
    pub retryable_failures: usize,
    /// Poison records, whether moved to the dead-letter queue or left for the redrive policy.
    pub permanent_failures: usize,
    /// Poison records sent to the dead-letter queue by this invocation.
    pub moved_to_dead_letter_queue: usize,
}

/// Runs `handler` for every record with at most `concurrency` in flight and returns the
/// partial batch response listing exactly the records to deliver again.
pub async fn process_batch<F, Fut, D>(
    event: SqsEvent,
    concurrency: usize,
    dead_letters: &D,
    handler: F,
) -> (SqsBatchResponse, BatchSummary)
where
    F: Fn(SqsMessage) -> Fut,
    Fut: std::future::Future<Output = Result<(), RecordError>>,
    D: DeadLetterSink,
{
    process_batch_until(event, concurrency, Deadline::none(), dead_letters, handler).await
}

/// [`process_batch`] where every record must finish before `deadline`; a record that cannot
/// is reported as a retryable failure.
pub async fn process_batch_until<F, Fut, D>(
    event: SqsEvent,
    concurrency: usize,
    deadline: Deadline,
    dead_letters: &D,
    handler: F,
) -> (SqsBatchResponse, BatchSummary)
where
    F: Fn(SqsMessage) -> Fut,
    Fut: std::future::Future<Output = Result<(), RecordError>>,
    D: DeadLetterSink,
{
    let handler = &handler;
    let results: Vec<(SqsMessage, Result<(), RecordError>)> = stream::iter(event.records)
        .map(|message| async move {
            let result = deadline.run(handler(message.clone())).await;
            (message, result)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;

    let mut response = SqsBatchResponse::default();
    let mut summary = BatchSummary::default();
    for (message, result) in results {
        let message_id = message.message_id.clone().unwrap_or_default();
        match result {
            Ok(()) => summary.processed += 1,
            Err(RecordError::Retryable(reason)) => {
                summary.retryable_failures += 1;
                tracing::warn!(message_id = %message_id, %reason, "record failed; SQS will deliver it again");
                response.batch_item_failures.push(failure(&message_id));
            }
            Err(RecordError::Permanent(reason)) => {
                summary.permanent_failures += 1;
                match dead_letters.send(&message, &reason).await {
                    Ok(()) => {
                        summary.moved_to_dead_letter_queue += 1;
                        tracing::error!(message_id = %message_id, %reason, "poison message moved to the dead-letter queue");
                    }
                    Err(dlq_error) => {
                        tracing::error!(message_id = %message_id, %reason, %dlq_error, "poison message left for the queue's redrive policy");
                        response.batch_item_failures.push(failure(&message_id));
                    }
                }
            }
        }
    }
    (response, summary)
}

fn failure(message_id: &str) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = message_id.to_string();
    f
}

impl BatchSummary {
    /// Writes the counts as one EMF record (`RecordsProcessed`, `RecordsRetryable`, ...).
    pub fn emit_metrics(&self, namespace: &str, service: &str) {
        let mut m = MetricSet::new(namespace, service);
        m.count("RecordsProcessed", self.processed as u64)
            .count("RecordsRetryable", self.retryable_failures as u64)
            .count("RecordsPoison", self.permanent_failures as u64)
            .count("RecordsMovedToDLQ", self.moved_to_dead_letter_queue as u64);
        m.emit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_string());
        m.body = Some(body.to_string());
        m
    }

    fn batch(bodies: &[(&str, &str)]) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = bodies.iter().map(|(id, b)| message(id, b)).collect();
        e
    }

    #[test]
    fn an_invocation_without_a_usable_deadline_is_bounded_by_the_sdk_only() {
        let ctx = lambda_runtime::Context::default();
        assert!(ctx.deadline == 0);
        let deadline = Deadline::from_context(&ctx, DEFAULT_DEADLINE_MARGIN);
        assert!(deadline.remaining() > std::time::Duration::from_secs(3600));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_record_fails_alone_when_the_deadline_comes() {
        let event = batch(&[("m1", "ok"), ("m2", "hang"), ("m3", "ok")]);
        let deadline = Deadline::after(std::time::Duration::from_secs(5));
        let (response, summary) =
            process_batch_until(event, 3, deadline, &RedrivePolicyOnly, |m| async move {
                if m.body.as_deref() == Some("hang") {
                    tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                }
                Ok(())
            })
            .await;
        let ids: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(ids, vec!["m2"]);
        assert_eq!((summary.processed, summary.retryable_failures), (2, 1));
    }

    #[tokio::test]
    async fn only_failed_records_are_reported() {
        let event = batch(&[
            ("m1", "ok"),
            ("m2", "retry"),
            ("m3", "ok"),
            ("m4", "poison"),
        ]);
        let (response, summary) = process_batch(event, 2, &RedrivePolicyOnly, |m| async move {
            match m.body.as_deref() {
                Some("retry") => Err(RecordError::retryable("throttled")),
                Some("poison") => Err(RecordError::permanent("bad json")),
                _ => Ok(()),
            }
        })
        .await;
        let mut ids: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        ids.sort();
        assert_eq!(ids, vec!["m2", "m4"]);
        assert_eq!(summary.processed, 2);
        assert_eq!(summary.permanent_failures, 1);
        assert_eq!(summary.moved_to_dead_letter_queue, 0);
    }
}
