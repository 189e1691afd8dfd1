//! Wiring only: read the configuration once, build the clients once, run the handler.

// The SDK and runtime futures nest deeper than the default limit when the test profile lays out main.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error};
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let sdk = shared::aws::load_sdk_config().await;
    let config = notifier::config::Config::from_env(Env::from_process())?;
    let app = notifier::build(&config, &sdk).await?;
    lambda_runtime::run(service_fn(|event| notifier::handler(event, &app))).await
}
