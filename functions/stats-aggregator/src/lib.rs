//! stats-aggregator: domain events to raw NDJSON in S3; hourly and daily rollups, metrics
//! and the daily digest.
//!
//! One binary, two triggers told apart by the payload's top level ([`inbound`]):
//! - an SQS batch from `stats-ingest`: [`ingest`] appends it to `stats/raw/`;
//! - an EventBridge scheduled event: [`schedule`] decides which periods, [`rollup`] rolls
//!   them up, [`report`] emits metrics and the `stats.digest` event ([`scheduled`] runs it).

pub mod aggregate;
pub mod config;
pub mod document;
pub mod echo;
pub mod error;
pub mod event_line;
pub mod inbound;
pub mod ingest;
pub mod labels;
pub mod latency;
mod line_scan;
pub mod merge;
pub mod period;
pub mod ports;
pub mod report;
pub mod reviews;
pub mod rollup;
pub mod schedule;
pub mod scheduled;
pub mod tally;

#[cfg(test)]
mod tests;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::batch::{DeadLetters, Deadline, DEFAULT_DEADLINE_MARGIN};
use shared::events::SnsEventPublisher;
use shared::results::S3ObjectStore;
use shared::time::SystemClock;
use tracing::Instrument;

pub use config::{Config, SERVICE};
pub use error::HandlerError;

use crate::inbound::Trigger;
use crate::ingest::IngestSummary;
use crate::ports::{Clock, DeadLetterSink, EventPublisher, ObjectStore};

/// The function: the results bucket, the events topic, the dead-letter queue and the clock
/// behind their ports, and the configuration.
pub struct StatsAggregator<S, P, D, C> {
    pub store: S,
    pub publisher: P,
    pub dead_letters: D,
    pub clock: C,
    pub config: Config,
}

/// The function as deployed: every port on its AWS adapter.
pub type App = StatsAggregator<S3ObjectStore, SnsEventPublisher, DeadLetters, SystemClock>;

/// Builds the adapters once, at init.
pub fn build(config: &Config, sdk: &SdkConfig) -> App {
    StatsAggregator {
        store: S3ObjectStore::new(shared::aws::s3_client(sdk), &config.common.results_bucket),
        publisher: SnsEventPublisher::new(shared::aws::sns_client(sdk), &config.events_topic_arn),
        dead_letters: DeadLetters::new(
            shared::aws::sqs_client(sdk),
            config.common.dead_letter_queue_url.clone(),
        ),
        clock: SystemClock,
        config: config.clone(),
    }
}

/// The Lambda handler. Errors reach Lambda as `errorType` `StatsAggregator.<kind>`.
pub async fn handler<S, P, D, C>(
    app: &StatsAggregator<S, P, D, C>,
    event: LambdaEvent<Value>,
) -> Result<Value, HandlerError>
where
    S: ObjectStore,
    P: EventPublisher,
    D: DeadLetterSink,
    C: Clock,
{
    let span = shared::logging::invocation_span(SERVICE, &event.context);
    let deadline = Deadline::from_context(&event.context, DEFAULT_DEADLINE_MARGIN);
    // Boxed: the handler's future is deep (SDK calls inside rollups), too deep to lay out inline.
    Box::pin(app.handle_until(event.payload, deadline))
        .instrument(span)
        .await
        .inspect_err(|e| tracing::error!(error_type = e.kind(), error = %e, "invocation failed"))
}

impl<S, P, D, C> StatsAggregator<S, P, D, C>
where
    S: ObjectStore,
    P: EventPublisher,
    D: DeadLetterSink,
    C: Clock,
{
    /// [`Self::handle_until`] without a deadline of its own (the SDK's timeouts bound each
    /// call): local runs and tests that are not about time.
    pub async fn handle(&self, payload: Value) -> Result<Value, HandlerError> {
        self.handle_until(payload, Deadline::none()).await
    }

    /// Entry point for any payload; the result is the Lambda response. An SQS batch's records
    /// must finish before `deadline` (the invocation's, less a margin to answer).
    pub async fn handle_until(
        &self,
        payload: Value,
        deadline: Deadline,
    ) -> Result<Value, HandlerError> {
        match Trigger::classify(payload)? {
            Trigger::Sqs(event) => {
                let (response, _) = self.ingest(event, deadline).await;
                Ok(serde_json::to_value(response).unwrap_or_default())
            }
            Trigger::Scheduled(event) => {
                let report = scheduled::run_schedule(
                    &self.store,
                    &self.publisher,
                    &self.config,
                    self.clock.now(),
                    &event,
                )
                .await?;
                Ok(serde_json::to_value(report).unwrap_or_default())
            }
        }
    }

    /// Stores an SQS batch; the response lists exactly the records SQS should deliver again,
    /// including those whose write could not finish before `deadline`.
    pub async fn ingest(
        &self,
        event: SqsEvent,
        deadline: Deadline,
    ) -> (SqsBatchResponse, IngestSummary) {
        let (response, summary) = ingest::ingest_batch(
            &self.store,
            &self.dead_letters,
            &self.config,
            self.clock.now(),
            deadline,
            event,
        )
        .await;
        report::emit_ingest_metrics(&self.config.common.metrics_namespace, &summary);
        (response, summary)
    }
}
