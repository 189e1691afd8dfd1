//! notifier: delivers domain events from the `notifications` queue to people and systems:
//! SNS topics, generic webhooks, DingTalk, WeCom, Feishu / Lark, Slack and SMTP e-mail.
//!
//! A tour: [`trigger`] reads the SQS body, [`routing`] picks the channels, [`template`]
//! writes the text per language, [`channels`] hold one adapter per service behind
//! [`channel::NotificationChannel`], [`delivery`] retries within the deadline and the rate
//! limit, [`notifier`] ties it together with idempotency per (event, channel).

pub mod channel;
pub mod channels;
pub mod delivery;
pub mod delivery_metrics;
pub mod notifier;
pub mod rate_limit;
pub mod routing;
pub mod settings;
pub mod signing;
pub mod template;
pub mod trigger;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use shared::config::ConfigError;
use shared::idempotency::S3IdempotencyStore;
use shared::secrets::SecretSource;
use shared::BoxError;
use tokio::time::Instant;
use tracing::Instrument;

use crate::delivery_metrics::DeliveryMetrics;
use crate::notifier::Notifier;
use crate::routing::Routing;
use crate::settings::{RulesSource, Settings, IDEMPOTENCY_PREFIX};
use shared::batch::DeadLetters;

/// Everything built once at init and shared by every invocation.
pub struct App {
    notifier: Notifier,
    s3: aws_sdk_s3::Client,
    results_bucket: String,
    dead_letters: DeadLetters,
    batch_concurrency: usize,
    metrics_namespace: String,
}

/// Reads the routing document (inline, or the one S3 call made at init) and validates it.
pub async fn load_routing(
    source: &RulesSource,
    s3: &aws_sdk_s3::Client,
) -> Result<Routing, ConfigError> {
    let json = match source {
        RulesSource::Inline(json) => json.clone(),
        RulesSource::S3 { bucket, key } => {
            let object = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| {
                    ConfigError::single(format!(
                        "routing rules s3://{bucket}/{key} could not be read: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    ))
                })?;
            let bytes = object.body.collect().await.map_err(|e| {
                ConfigError::single(format!(
                    "routing rules s3://{bucket}/{key} could not be read: {e}"
                ))
            })?;
            String::from_utf8(bytes.into_bytes().to_vec()).map_err(|_| {
                ConfigError::single(format!("routing rules s3://{bucket}/{key} are not UTF-8"))
            })?
        }
    };
    Routing::parse(&json)
}

/// Time left before the invocation's deadline (milliseconds since the epoch). The local
/// emulator (`cargo lambda watch`) sends the function timeout in milliseconds instead of an
/// epoch deadline; a value before the year 2000 is read that way, capped at Lambda's 15 minutes.
pub fn remaining_time(deadline_ms: u64, now: SystemTime) -> Duration {
    const YEAR_2000_MS: u64 = 946_684_800_000;
    const LAMBDA_MAX: Duration = Duration::from_secs(900);
    if deadline_ms < YEAR_2000_MS {
        return Duration::from_millis(deadline_ms).min(LAMBDA_MAX);
    }
    (SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms))
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
}

impl App {
    pub async fn new<S: SecretSource + 'static>(
        settings: Settings,
        sdk: &SdkConfig,
        secrets: Arc<S>,
    ) -> Result<Self, BoxError> {
        let s3 = shared::aws::s3_client(sdk);
        let sns = shared::aws::sns_client(sdk);
        let sqs = shared::aws::sqs_client(sdk);
        let routing = load_routing(&settings.rules, &s3).await?;
        let http = channels::http_client(settings.delivery.attempt_timeout)?;
        let adapters = channels::build(&routing.channels, secrets, &sns, &http);
        let notifier = Notifier::new(routing, adapters, settings.delivery)?;
        Ok(Self {
            notifier,
            s3,
            results_bucket: settings.results_bucket,
            dead_letters: DeadLetters::new(sqs.clone(), settings.dead_letter_queue_url.clone()),
            batch_concurrency: settings.batch_concurrency,
            metrics_namespace: settings.metrics_namespace,
        })
    }

    /// The SQS handler: delivers every record, reports the ones to deliver again.
    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, BoxError> {
        let span = shared::logging::invocation_span("notifier");
        async move {
            let remaining = remaining_time(event.context.deadline, SystemTime::now());
            let deadline =
                Instant::now() + remaining.saturating_sub(self.notifier.tuning().safety_margin);
            // A claim outlives this invocation by a minute, so a crashed delivery can be
            // taken over soon, and never while its owner may still be sending.
            let store = S3IdempotencyStore::new(
                self.s3.clone(),
                &self.results_bucket,
                IDEMPOTENCY_PREFIX,
                remaining + Duration::from_secs(60),
            );
            let metrics = DeliveryMetrics::default();
            let records = event.payload.records.len();
            let (response, summary) = self
                .notifier
                .handle_batch(
                    event.payload,
                    &store,
                    &self.dead_letters,
                    self.batch_concurrency,
                    deadline,
                    &metrics,
                )
                .await;
            metrics.emit(&self.metrics_namespace);
            summary.emit_metrics(&self.metrics_namespace, "notifier");
            tracing::info!(
                records,
                remaining_ms_at_start = remaining.as_millis() as u64,
                processed = summary.processed,
                retryable = summary.retryable_failures,
                poison = summary.permanent_failures,
                moved_to_dlq = summary.moved_to_dead_letter_queue,
                "batch done"
            );
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_reads_epoch_deadlines_and_the_local_emulators_timeout() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let in_ten_seconds = 1_790_000_010_000;
        assert_eq!(remaining_time(in_ten_seconds, now), Duration::from_secs(10));
        assert_eq!(remaining_time(1_789_999_990_000, now), Duration::ZERO);
        assert_eq!(remaining_time(600_000, now), Duration::from_secs(600));
        assert_eq!(remaining_time(3_600_000, now), Duration::from_secs(900));
    }
}
