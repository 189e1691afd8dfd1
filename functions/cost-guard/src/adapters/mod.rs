//! One adapter per AWS service the guard calls (S3 is `shared::results::S3ObjectStore`, SNS
//! `shared::events::SnsEventPublisher`).

pub mod app_runner;
pub mod cost_explorer;
pub mod ecs;
pub mod lambda;

pub use app_runner::AppRunnerTarget;
pub use cost_explorer::{cost_explorer_config, CostExplorerSource};
pub use ecs::EcsTarget;
pub use lambda::LambdaTarget;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use shared::aws::{classify, SdkError};

use crate::ports::CallFailed;

/// Maps a failed call of `operation` to the one-line reason the report carries, through the
/// suite's one SDK error classifier.
fn call_failed<E>(operation: &'static str) -> impl FnOnce(SdkError<E>) -> CallFailed
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| CallFailed(classify(operation, e).detail)
}
