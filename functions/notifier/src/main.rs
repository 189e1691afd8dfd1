use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use notifier::settings::Settings;
use notifier::App;
use shared::config::Env;
use shared::secrets::{SecretsManagerSource, DEFAULT_SECRET_TTL};
use shared::BoxError;

async fn handler(
    app: &App,
    event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, BoxError> {
    app.handle(event).await
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    shared::logging::init();
    let settings = Settings::from_env(Env::from_process())?;
    let sdk = shared::aws::load_sdk_config().await;
    let secrets = Arc::new(SecretsManagerSource::new(&sdk, DEFAULT_SECRET_TTL).await?);
    let app = App::new(settings, &sdk, secrets).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event| handler(app, event))).await
}
