//! Wiring only: read the configuration once, build the clients once, run the handler.

use lambda_runtime::{service_fn, Error};
use shared::config::Env;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let sdk = shared::aws::load_sdk_config().await;
    let config =
        ai_processor::config::Config::from_env(Env::from_process(), shared::aws::partition(&sdk))
            .inspect_err(|e| tracing::error!(error = %e, "ai-processor cannot start"))?;
    let processor = ai_processor::build(&config, &sdk);
    lambda_runtime::run(service_fn(|event| ai_processor::handler(event, &processor))).await
}
