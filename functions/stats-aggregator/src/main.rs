//! Wiring only: read the configuration once, build the clients once, run the handler.

use lambda_runtime::{service_fn, Error};
use shared::config::Env;
use stats_aggregator::{build, handler, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let config = Config::from_env(Env::from_process())?;
    let app = build(&config, &shared::aws::load_sdk_config().await);
    lambda_runtime::run(service_fn(|event| handler(&app, event))).await
}
