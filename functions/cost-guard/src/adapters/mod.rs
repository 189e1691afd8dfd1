//! One adapter per AWS service the guard calls (SNS is `shared::events::SnsEventPublisher`).

pub mod app_runner;
pub mod cost_explorer;
pub mod ecs;
pub mod lambda;
pub mod s3_state;

pub use app_runner::AppRunnerTarget;
pub use cost_explorer::{cost_explorer_config, CostExplorerSource};
pub use ecs::EcsTarget;
pub use lambda::LambdaTarget;
pub use s3_state::S3StateStore;
