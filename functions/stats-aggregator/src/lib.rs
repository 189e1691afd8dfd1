//! stats-aggregator: domain events to raw NDJSON in S3; hourly and daily rollups, metrics
//! and the daily digest.
//!
//! One binary, two triggers told apart by the payload's top level ([`inbound`]):
//! - an SQS batch from `stats-ingest`: [`ingest`] appends it to `stats/raw/`;
//! - an EventBridge scheduled event: [`schedule`] decides which periods, [`rollup`] rolls
//!   them up, [`report`] emits metrics and the `stats.digest` event ([`scheduled`] runs it).

pub mod adapters;
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
pub mod rollup;
pub mod schedule;
pub mod scheduled;
pub mod tally;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::batch::{DeadLetterSink, DeadLetters};
use shared::events::{EventPublisher, SnsEventPublisher};
use tracing::Instrument;

pub use config::{Config, Settings, SERVICE};
pub use error::HandlerError;

use crate::adapters::s3::S3ResultsStore;
use crate::inbound::Trigger;
use crate::ingest::IngestSummary;
use crate::ports::ResultsStore;

/// The function: ports for the results bucket, the events topic and the dead-letter queue.
pub struct StatsAggregator<S, P, D> {
    pub store: S,
    pub publisher: P,
    pub dead_letters: D,
    pub settings: Settings,
}

/// The function as deployed: every port on its AWS adapter.
pub type App = StatsAggregator<S3ResultsStore, SnsEventPublisher, DeadLetters>;

/// Builds the adapters once, at init.
pub fn build(config: &Config, sdk: &SdkConfig) -> App {
    StatsAggregator {
        store: S3ResultsStore::new(shared::aws::s3_client(sdk), &config.settings.results_bucket),
        publisher: SnsEventPublisher::new(shared::aws::sns_client(sdk), &config.events_topic_arn),
        dead_letters: DeadLetters::new(
            shared::aws::sqs_client(sdk),
            config.dead_letter_queue_url.clone(),
        ),
        settings: config.settings.clone(),
    }
}

/// The Lambda handler. Errors reach Lambda as `errorType` `StatsAggregator.<kind>`.
pub async fn handler<S, P, D>(
    app: &StatsAggregator<S, P, D>,
    event: LambdaEvent<Value>,
) -> Result<Value, HandlerError>
where
    S: ResultsStore,
    P: EventPublisher,
    D: DeadLetterSink,
{
    let span = shared::logging::invocation_span(SERVICE);
    // Boxed: the handler's future is deep (SDK calls inside rollups), too deep to lay out inline.
    Box::pin(app.handle(event.payload))
        .instrument(span)
        .await
        .inspect_err(|e| tracing::error!(error_type = e.kind(), error = %e, "invocation failed"))
}

impl<S: ResultsStore, P: EventPublisher, D: DeadLetterSink> StatsAggregator<S, P, D> {
    /// Entry point for any payload; the result is the Lambda response.
    pub async fn handle(&self, payload: Value) -> Result<Value, HandlerError> {
        match Trigger::classify(payload)? {
            Trigger::Sqs(event) => {
                let (response, _) = self.ingest(event).await;
                Ok(serde_json::to_value(response).unwrap_or_default())
            }
            Trigger::Scheduled(event) => {
                let report = scheduled::run_schedule(
                    &self.store,
                    &self.publisher,
                    &self.settings,
                    shared::time::now_utc(),
                    &event,
                )
                .await?;
                Ok(serde_json::to_value(report).unwrap_or_default())
            }
        }
    }

    /// Stores an SQS batch; the response lists exactly the records SQS should deliver again.
    pub async fn ingest(&self, event: SqsEvent) -> (SqsBatchResponse, IngestSummary) {
        let (response, summary) =
            ingest::ingest_batch(&self.store, &self.dead_letters, &self.settings, event).await;
        report::emit_ingest_metrics(&self.settings.metrics_namespace, &summary);
        (response, summary)
    }
}
