//! The one error a run can fail with; its [`GuardError::kind`] is the Lambda error type.

use shared::events::PublishError;
use shared::idempotency::IdempotencyError;

use crate::inbound::InvocationError;
use crate::ports::CostSourceError;
use crate::spend::CurrencyMismatch;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(transparent)]
    Invocation(#[from] InvocationError),
    #[error(transparent)]
    Costs(#[from] CostSourceError),
    #[error(transparent)]
    Currency(#[from] CurrencyMismatch),
    #[error("Cost Explorer forecast is in {found}, the budgets are in {expected}")]
    ForecastCurrency { found: String, expected: String },
    #[error("state store failed for {key}: {reason}")]
    Store { key: String, reason: String },
    #[error("state: {0}")]
    State(String),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("the run finished with {} problem(s): {}", .0.len(), .0.join("; "))]
    Incomplete(Vec<String>),
}

impl GuardError {
    /// The Lambda error type: `CostGuard.<category>`.
    pub fn kind(&self) -> &'static str {
        match self {
            GuardError::Invocation(_) => "CostGuard.UnsupportedInvocation",
            GuardError::Costs(_) => "CostGuard.CostExplorer",
            GuardError::Currency(_) | GuardError::ForecastCurrency { .. } => {
                "CostGuard.CurrencyMismatch"
            }
            GuardError::Store { .. } | GuardError::State(_) => "CostGuard.State",
            GuardError::Publish(_) => "CostGuard.Publish",
            GuardError::Incomplete(_) => "CostGuard.Incomplete",
        }
    }
}

impl GuardError {
    /// A failed operation of the results bucket on `key`.
    pub fn store(key: &str, e: shared::results::StoreError) -> Self {
        GuardError::Store {
            key: key.to_string(),
            reason: e.reason,
        }
    }
}

impl From<IdempotencyError> for GuardError {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::Store { key, reason, .. } => GuardError::Store { key, reason },
            lost @ IdempotencyError::LostOwnership { .. } => GuardError::State(lost.to_string()),
        }
    }
}

impl From<GuardError> for lambda_runtime::Diagnostic {
    fn from(error: GuardError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_string(),
            error_message: error.to_string(),
        }
    }
}
