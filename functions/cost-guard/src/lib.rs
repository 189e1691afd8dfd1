//! cost-guard: keeps the AWS bill inside its budgets.
//!
//! A run reads the month's daily costs by service and the month-end forecast from Cost
//! Explorer (2 billed requests), compares them with the budgets of `COST_BUDGETS`, announces
//! each threshold crossing once per budget period (`cost.threshold`), and at the action level
//! pauses allow-listed resources (`cost.action`), for real only in `enforce` mode.
//!
//! Modules: [`invocation`] (what an event asks for), [`config`] and [`budgets`] (validated at
//! init), [`spend`] (month to date from daily costs), [`alerts`] (announce once, S3 state),
//! [`actions`] (pause and restore with records), [`guard`] (one run), [`ports`] (traits) and
//! [`adapters`] (Cost Explorer, S3, Lambda, ECS, App Runner).

pub mod actions;
pub mod adapters;
pub mod alerts;
pub mod budgets;
pub mod config;
pub mod guard;
pub mod invocation;
pub mod ports;
pub mod resources;
pub mod spend;

use serde_json::Value;
use shared::events::{EventPublisher, PublishError};
use shared::metrics::{MetricSet, Unit};
use time::OffsetDateTime;

pub use guard::{Guard, Report};
pub use invocation::Invocation;

/// The `source` of the events this function publishes, and its service name in logs.
pub const SOURCE: &str = "cost-guard";

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(transparent)]
    Invocation(#[from] invocation::InvocationError),
    #[error(transparent)]
    Costs(#[from] ports::CostSourceError),
    #[error(transparent)]
    Currency(#[from] spend::CurrencyMismatch),
    #[error("Cost Explorer forecast is in {found}, the budgets are in {expected}")]
    ForecastCurrency { found: String, expected: String },
    #[error(transparent)]
    Store(#[from] ports::StoreError),
    #[error("state: {0}")]
    State(String),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("the run finished with {} problem(s): {}", .0.len(), .0.join("; "))]
    Incomplete(Vec<String>),
}

impl GuardError {
    /// Short category for the Lambda error type.
    pub fn kind(&self) -> &'static str {
        match self {
            GuardError::Invocation(_) => "CostGuard.UnsupportedInvocation",
            GuardError::Costs(_) => "CostGuard.CostExplorer",
            GuardError::Currency(_) | GuardError::ForecastCurrency { .. } => {
                "CostGuard.CurrencyMismatch"
            }
            GuardError::Store(_) | GuardError::State(_) => "CostGuard.State",
            GuardError::Publish(_) => "CostGuard.Publish",
            GuardError::Incomplete(_) => "CostGuard.Incomplete",
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

/// The handler: parses the event, runs the guard at `now`, logs the report and its metrics,
/// and returns the report. Fails when the event is not understood or the run had problems.
pub async fn handle<C, S, P, L, E, A>(
    guard: &Guard<C, S, P, L, E, A>,
    event: &Value,
    now: OffsetDateTime,
) -> Result<Value, GuardError>
where
    C: ports::CostSource,
    S: ports::StateStore,
    P: EventPublisher,
    L: ports::ActionTarget,
    E: ports::ActionTarget,
    A: ports::ActionTarget,
{
    let invocation = Invocation::parse(event).inspect_err(|e| tracing::error!(error = %e))?;
    let report = guard.run(invocation, now).await?;
    let report_json = serde_json::to_value(&report).unwrap_or(Value::Null);
    tracing::info!(report = %report_json, "cost-guard report");
    metrics(&report, &guard.config.metrics_namespace).emit();
    if report.errors.is_empty() {
        Ok(report_json)
    } else {
        Err(GuardError::Incomplete(report.errors))
    }
}

fn metrics(report: &Report, namespace: &str) -> MetricSet {
    let mut m = MetricSet::new(namespace, SOURCE);
    m.count(
        "CostExplorerRequests",
        u64::from(report.cost_explorer_requests),
    );
    if let Some(spend) = &report.spend {
        m.put("MonthToDateSpend", Unit::None, spend.month_to_date);
    }
    if let Some(monthly) = report.budgets.iter().find(|b| b.budget == "monthly") {
        m.put("MonthlyBudgetPercent", Unit::Percent, monthly.percent);
    }
    let announced = report
        .budgets
        .iter()
        .filter(|b| b.announcement == alerts::Announcement::Announced)
        .count();
    m.count("ThresholdAlerts", announced as u64);
    let applied = report
        .actions
        .iter()
        .filter(|a| a.outcome == actions::ActionOutcome::Applied)
        .count();
    m.count("ActionsApplied", applied as u64);
    m.count("RunErrors", report.errors.len() as u64);
    m
}
