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
pub mod rules;
pub mod signing;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use shared::batch::{DeadLetters, Deadline};
use shared::idempotency::Idempotency;
use shared::results::S3ObjectStore;
use shared::secrets::{SecretSource, SecretsManagerSource, DEFAULT_SECRET_TTL};
use tracing::Instrument;

use crate::adapters::sqs::SqsDeliveryReports;
use crate::config::{Config, RulesSource, IDEMPOTENCY_PREFIX};
use crate::delivery_metrics::DeliveryMetrics;
use crate::error::NotifierError;
use crate::notifier::Notifier;
use crate::ports::{Clock, SystemClock};
use crate::ports::{DeliveryReports, NoDeliveryReports, SendSlots};
use crate::rate_limit::SharedRateLimit;
use crate::routing::Routing;
use crate::rules::{BuildNotifier, Check, RulesCache};

/// Delivery markers per (event, channel) in the results bucket.
type Markers = Idempotency<S3ObjectStore, Arc<dyn Clock>>;

/// Where the rules in force come from.
enum Rules {
    /// `NOTIFIER_RULES`: parsed at init.
    Inline(Arc<Notifier>),
    /// `NOTIFIER_RULES_S3_URI`: read on first use, checked again after the TTL.
    S3(Box<RulesCache<S3ObjectStore, Arc<dyn Clock>>>),
}

/// Everything built once at init and shared by every invocation.
pub struct App {
    rules: Rules,
    markers: Markers,
    dead_letters: DeadLetters,
    batch_concurrency: usize,
    metrics_namespace: String,
    safety_margin: Duration,
    clock: Arc<dyn Clock>,
}

/// Builds the function once at init: Secrets Manager for the channels' secrets. No network:
/// rules in S3 are read on first use.
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
    let common = &config.common;
    // One HTTP client for the process: connections are reused across records and invocations.
    let http = channels::http_client(config.delivery.attempt_timeout)
        .map_err(NotifierError::HttpClient)?;
    let slots: Arc<dyn SendSlots> = Arc::new(SharedRateLimit::per_minute(
        S3ObjectStore::new(s3.clone(), &common.results_bucket),
        clock.clone(),
    ));
    let reports: Arc<dyn DeliveryReports> = match &config.stats_ingest_queue_url {
        Some(url) => Arc::new(SqsDeliveryReports::new(sqs.clone(), url.clone())),
        None => Arc::new(NoDeliveryReports),
    };
    let consumed: Vec<String> = config
        .consumed_topics()
        .into_iter()
        .map(str::to_string)
        .collect();
    let (tuning, build_clock) = (config.delivery, clock.clone());
    let time_zone = common.time_zone.clone();
    let build_notifier: BuildNotifier = Box::new(move |routing: Routing| {
        let consumed: Vec<&str> = consumed.iter().map(String::as_str).collect();
        routing.check_no_loop(&consumed)?;
        let adapters = channels::build(&routing.channels, secrets.clone(), &sns, &http);
        Ok(Notifier::new(
            routing,
            adapters,
            tuning,
            build_clock.clone(),
            slots.clone(),
        )?
        .with_reports(reports.clone())
        .with_time_zone(time_zone.clone()))
    });
    let rules = match &config.rules {
        RulesSource::Inline(json) => {
            Rules::Inline(Arc::new(build_notifier(Routing::parse(json)?)?))
        }
        RulesSource::S3 { bucket, key } => Rules::S3(Box::new(RulesCache::new(
            S3ObjectStore::new(s3.clone(), bucket),
            bucket.clone(),
            key.clone(),
            config.rules_ttl,
            clock.clone(),
            build_notifier,
        ))),
    };
    Ok(App {
        rules,
        markers: Idempotency::new(
            S3ObjectStore::new(s3, &common.results_bucket),
            IDEMPOTENCY_PREFIX,
            common.idempotency_lease,
            clock.clone(),
        ),
        dead_letters: DeadLetters::new(sqs, common.dead_letter_queue_url.clone()),
        batch_concurrency: common.batch_concurrency,
        metrics_namespace: common.metrics_namespace.clone(),
        safety_margin: config.delivery.safety_margin,
        clock,
    })
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

/// Every record back to the queue: nothing can be delivered without rules.
fn retry_all(event: &SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in &event.records {
        let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
        failure.item_identifier = record.message_id.clone().unwrap_or_default();
        response.batch_item_failures.push(failure);
    }
    response
}

impl App {
    /// The notifier of the rules in force; `None` (logged, counted) when no valid rules were
    /// ever read.
    async fn notifier(&self) -> Option<Arc<Notifier>> {
        let cache = match &self.rules {
            Rules::Inline(notifier) => return Some(notifier.clone()),
            Rules::S3(cache) => cache,
        };
        let invalid = || {
            let mut m = shared::metrics::MetricSet::new(&self.metrics_namespace, "notifier");
            m.count("RoutingRulesInvalid", 1);
            m.emit();
        };
        match cache.current().await {
            Ok((notifier, check)) => {
                match check {
                    Check::Reloaded => tracing::info!(
                        version = notifier.rules_version().unwrap_or("unknown"),
                        "routing rules loaded"
                    ),
                    Check::KeptLastGood(problem) => {
                        tracing::error!(%problem, "the routing rules in S3 are not usable; the last good rules stay in force");
                        invalid();
                    }
                    Check::Fresh | Check::Unchanged => {}
                }
                Some(notifier)
            }
            Err(problem) => {
                tracing::error!(%problem, "no usable routing rules; every record is returned to the queue");
                invalid();
                None
            }
        }
    }

    /// The SQS handler: delivers every record, reports the ones to deliver again.
    pub async fn handle(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> Result<SqsBatchResponse, NotifierError> {
        let span = shared::logging::invocation_span("notifier", &event.context);
        async move {
            let remaining =
                remaining_time(event.context.deadline, SystemTime::from(self.clock.now()));
            let deadline = Deadline::after(remaining.saturating_sub(self.safety_margin));
            let notifier = match self.notifier().await {
                Some(notifier) => notifier,
                None => return Ok(retry_all(&event.payload)),
            };
            let metrics = DeliveryMetrics::default();
            let records = event.payload.records.len();
            let (response, summary) = notifier
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
