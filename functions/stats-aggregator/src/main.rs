//! Wiring only: read the configuration once, build the clients once, run the handler.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::batch::DeadLetters;
use shared::events::SnsEventPublisher;
use stats_aggregator::store::S3ResultsStore;
use stats_aggregator::{Config, HandlerError, StatsAggregator, SERVICE};
use tracing::Instrument;

type App = StatsAggregator<S3ResultsStore, SnsEventPublisher, DeadLetters>;

/// Errors reach Lambda as `errorType` `StatsAggregator.<kind>` (see `HandlerError::kind`).
async fn handler(app: &App, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
    let span = shared::logging::invocation_span(SERVICE);
    // Boxed: the handler's future is deep (SDK calls inside rollups), too deep to lay out inline.
    Box::pin(app.handle(event.payload))
        .instrument(span)
        .await
        .inspect_err(|e| tracing::error!(error_type = e.kind(), error = %e, "invocation failed"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let config = Config::from_env(shared::config::Env::from_process())?;
    let sdk = shared::aws::load_sdk_config().await;
    let app = StatsAggregator {
        store: S3ResultsStore::new(
            shared::aws::s3_client(&sdk),
            &config.settings.results_bucket,
        ),
        publisher: SnsEventPublisher::new(shared::aws::sns_client(&sdk), &config.events_topic_arn),
        dead_letters: DeadLetters::new(shared::aws::sqs_client(&sdk), config.dead_letter_queue_url),
        settings: config.settings,
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event| handler(app, event))).await
}
