//! Wiring only: configuration and clients once at init, then the runtime loop.

use cost_guard::actions::Targets;
use cost_guard::adapters::{
    cost_explorer_config, AppRunnerTarget, CostExplorerSource, EcsTarget, LambdaTarget,
    S3StateStore,
};
use cost_guard::config::Config;
use cost_guard::{handle, Guard, SOURCE};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::config::Env;
use shared::events::SnsEventPublisher;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let sdk = shared::aws::load_sdk_config().await;
    let partition = shared::aws::partition(&sdk);
    let config = Config::from_env(Env::from_process(), partition).inspect_err(|e| {
        tracing::error!(error = %e, "cost-guard cannot start");
    })?;
    let guard = Guard {
        costs: CostExplorerSource::new(aws_sdk_costexplorer::Client::from_conf(
            cost_explorer_config(&sdk, partition).build(),
        )),
        state: S3StateStore::new(shared::aws::s3_client(&sdk), &config.results_bucket),
        events: SnsEventPublisher::new(shared::aws::sns_client(&sdk), &config.events_topic_arn),
        targets: Targets {
            lambda: LambdaTarget::new(aws_sdk_lambda::Client::new(&sdk)),
            ecs: EcsTarget::new(aws_sdk_ecs::Client::new(&sdk)),
            app_runner: AppRunnerTarget::new(aws_sdk_apprunner::Client::new(&sdk)),
        },
        config,
    };
    let guard = &guard;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(guard, &event.payload, shared::time::now_utc())
            .instrument(shared::logging::invocation_span(SOURCE))
            .await
    }))
    .await
}
