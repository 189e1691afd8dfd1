//! Wiring only: read the configuration once, build the clients once, run the handler.

use ai_processor::{build, config::Config, entry, Error};
use lambda_runtime::service_fn;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let sdk = shared::aws::load_sdk_config().await;
    let env = shared::config::Env::from_process();
    let config = Config::from_env(env, shared::aws::partition(&sdk))
        .inspect_err(|e| tracing::error!(error = %e, "ai-processor cannot start"))
        .map_err(Error::from)?;
    let app = build(&config, &sdk);
    lambda_runtime::run(service_fn(|event| entry(event, &app))).await
}
