//! Wiring only: read the configuration once, build the clients once, run the handler.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::batch::{DeadLetterSink, RedrivePolicyOnly, SqsDeadLetterQueue};
use shared::events::SnsEventPublisher;
use stats_aggregator::store::S3ResultsStore;
use stats_aggregator::{Config, StatsAggregator, SERVICE};
use tracing::Instrument;

type App<D> = StatsAggregator<S3ResultsStore, SnsEventPublisher, D>;

async fn handler<D: DeadLetterSink>(
    app: &App<D>,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let span = shared::logging::invocation_span(SERVICE);
    // Boxed: the handler's future is deep (SDK calls inside rollups), too deep to lay out inline.
    Ok(Box::pin(app.handle(event.payload)).instrument(span).await?)
}

async fn serve<D: DeadLetterSink>(app: App<D>) -> Result<(), Error> {
    let app = &app;
    lambda_runtime::run(service_fn(move |event| handler(app, event))).await
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let config = Config::from_env(shared::config::Env::from_process())?;
    let sdk = shared::aws::load_sdk_config().await;
    let store = S3ResultsStore::new(
        shared::aws::s3_client(&sdk),
        &config.settings.results_bucket,
    );
    let publisher = SnsEventPublisher::new(shared::aws::sns_client(&sdk), &config.events_topic_arn);
    match &config.dead_letter_queue_url {
        Some(url) => {
            serve(StatsAggregator {
                store,
                publisher,
                dead_letters: SqsDeadLetterQueue::new(shared::aws::sqs_client(&sdk), url),
                settings: config.settings,
            })
            .await
        }
        None => {
            serve(StatsAggregator {
                store,
                publisher,
                dead_letters: RedrivePolicyOnly,
                settings: config.settings,
            })
            .await
        }
    }
}
