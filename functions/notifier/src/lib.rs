//! notifier: delivers domain events from the `notifications` queue to people and systems:
//! SNS topics, generic webhooks, DingTalk, WeCom, Feishu / Lark, Slack and SMTP e-mail.
//!
//! A tour: [`inbound`] reads the SQS body, [`routing`] picks the channels, [`render`]
//! writes the text per language, [`channels`] and [`adapters`] hold one adapter per service
//! behind [`ports::NotificationChannel`], [`delivery`] retries within the deadline and the
//! rate limit, [`notifier`] ties it together with idempotency per (event, channel).

pub mod adapters;
pub mod channels;
pub mod config;
pub mod delivery;
pub mod delivery_metrics;
pub mod delivery_reports;
pub mod error;
pub mod escape;
pub mod inbound;
pub mod language;
pub mod notifier;
pub mod outcome;
pub mod ports;
pub mod rate_limit;
pub mod render;
pub mod routing;
pub mod signing;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use shared::batch::{DeadLetters, Deadline};
use shared::config::ConfigError;
use shared::idempotency::Idempotency;
use shared::results::{ObjectStore, S3ObjectStore};
use shared::secrets::{SecretSource, SecretsManagerSource, DEFAULT_SECRET_TTL};
use tracing::Instrument;

use crate::adapters::sqs::SqsDeliveryReports;
use crate::config::{Config, RulesSource, IDEMPOTENCY_PREFIX};
use crate::delivery_metrics::DeliveryMetrics;
use crate::error::NotifierError;
use crate::notifier::Notifier;
use crate::ports::{Clock, SystemClock};
use crate::rate_limit::SharedRateLimit;
use crate::routing::Routing;

/// Delivery markers per (event, channel) in the results bucket.
type Markers = Idempotency<S3ObjectStore, Arc<dyn Clock>>;

/// Everything built once at init and shared by every invocation.
pub struct App {
    notifier: Notifier,
    markers: Markers,
    dead_letters: DeadLetters,
    batch_concurrency: usize,
    metrics_namespace: String,
    clock: Arc<dyn Clock>,
}

/// Builds the function once at init: Secrets Manager for the channels' secrets.
pub async fn build(config: &Config, sdk: &SdkConfig) -> Result<App, NotifierError> {
    let secrets = Arc::new(SecretsManagerSource::new(sdk, DEFAULT_SECRET_TTL).await?);
    build_with_secrets(config, sdk, secrets).await
}

/// [`build`] with the secrets taken from `secrets` (integration tests hold webhook URLs there).
pub async fn build_with_secrets<S: SecretSource + 'static>(
    config: &Config,
    sdk: &SdkConfig,
    secrets: Arc<S>,
) -> Result<App, NotifierError> {
    let s3 = shared::aws::s3_client(sdk);
    let sns = shared::aws::sns_client(sdk);
    let sqs = shared::aws::sqs_client(sdk);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let routing = match &config.rules {
        RulesSource::Inline(json) => Routing::parse(json)?,
        RulesSource::S3 { bucket, key } => {
            load_routing(&S3ObjectStore::new(s3.clone(), bucket), bucket, key).await?
        }
    };
    routing.check_no_loop(&config.consumed_topics())?;
    let http = channels::http_client(config.delivery.attempt_timeout)
        .map_err(NotifierError::HttpClient)?;
    let adapters = channels::build(&routing.channels, secrets, &sns, &http);
    let common = &config.common;
    let slots = Arc::new(SharedRateLimit::per_minute(
        S3ObjectStore::new(s3.clone(), &common.results_bucket),
        clock.clone(),
    ));
    let mut notifier = Notifier::new(routing, adapters, config.delivery, clock.clone(), slots)?;
    if let Some(queue_url) = &config.stats_ingest_queue_url {
        notifier = notifier.with_reports(Arc::new(SqsDeliveryReports::new(
            sqs.clone(),
            queue_url.clone(),
        )));
    }
    Ok(App {
        notifier,
        markers: Idempotency::new(
            S3ObjectStore::new(s3, &common.results_bucket),
            IDEMPOTENCY_PREFIX,
            common.idempotency_lease,
            clock.clone(),
        ),
        dead_letters: DeadLetters::new(sqs, common.dead_letter_queue_url.clone()),
        batch_concurrency: common.batch_concurrency,
        metrics_namespace: common.metrics_namespace.clone(),
        clock,
    })
}

/// Reads the routing document `key` from `store` (naming `bucket` in errors) and validates it.
pub async fn load_routing<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
) -> Result<Routing, ConfigError> {
    let unreadable = |why: String| {
        ConfigError::single(format!(
            "routing rules s3://{bucket}/{key} could not be read: {why}"
        ))
    };
    let object = store
        .get(key)
        .await
        .map_err(|e| unreadable(e.reason))?
        .ok_or_else(|| unreadable("no such object".into()))?;
    let text =
        String::from_utf8(object.body).map_err(|_| unreadable("the object is not UTF-8".into()))?;
    Routing::parse(&text)
}

/// The Lambda handler: delivers every record, reports the ones to deliver again.
pub async fn handler(
    event: LambdaEvent<SqsEvent>,
    app: &App,
) -> Result<SqsBatchResponse, NotifierError> {
    app.handle(event).await
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
    /// The SQS handler: delivers every record, reports the ones to deliver again.
    pub async fn handle(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> Result<SqsBatchResponse, NotifierError> {
        let span = shared::logging::invocation_span("notifier", &event.context);
        async move {
            let remaining =
                remaining_time(event.context.deadline, SystemTime::from(self.clock.now()));
            let deadline =
                Deadline::after(remaining.saturating_sub(self.notifier.tuning().safety_margin));
            let metrics = DeliveryMetrics::default();
            let records = event.payload.records.len();
            let (response, summary) = self
                .notifier
                .handle_batch(
                    event.payload,
                    &self.markers,
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
