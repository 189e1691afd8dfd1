//! Wiring only: configuration and clients once at init, then the runtime loop.
// The run's future nests every port's futures; its layout needs more than the default depth.
#![recursion_limit = "256"]

use cost_guard::{build, config::Config, handler};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let sdk = shared::aws::load_sdk_config().await;
    let config = Config::from_env(Env::from_process(), shared::aws::partition(&sdk))
        .inspect_err(|e| tracing::error!(error = %e, "cost-guard cannot start"))?;
    let app = build(&config, &sdk);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| handler(&app, event))).await
}
