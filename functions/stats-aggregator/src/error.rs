//! The one error an invocation can end with; `kind()` is the Lambda `errorType`.

use crate::rollup::RollupError;
use crate::schedule::ScheduleError;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("unrecognised event: expected an SQS batch (`Records`) or an EventBridge scheduled event (`detail-type`); top-level keys: {0:?}")]
    Unrecognised(Vec<String>),
    #[error("malformed {shape}: {reason}")]
    Malformed { shape: &'static str, reason: String },
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("rollup of {period} failed: {source}")]
    Rollup { period: String, source: RollupError },
    #[error(transparent)]
    Publish(#[from] shared::events::PublishError),
}

impl HandlerError {
    /// The Lambda `errorType`: what kind of failure, without the Rust type name.
    pub fn kind(&self) -> &'static str {
        match self {
            HandlerError::Unrecognised(_) => "StatsAggregator.UnrecognisedEvent",
            HandlerError::Malformed { .. } => "StatsAggregator.MalformedEvent",
            HandlerError::Schedule(_) => "StatsAggregator.InvalidSchedule",
            HandlerError::Rollup { .. } => "StatsAggregator.RollupFailed",
            HandlerError::Publish(_) => "StatsAggregator.PublishFailed",
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_string(),
            error_message: error.to_string(),
        }
    }
}
