//! cost-guard: keeps the AWS bill inside its budgets.
//!
//! A run reads the month's daily costs by service and the month-end forecast from Cost
//! Explorer (2 billed requests), compares them with the budgets of `COST_BUDGETS`, announces
//! each threshold crossing once per budget period (`cost.threshold`), and at the action level
//! pauses allow-listed resources (`cost.action`), for real only in `enforce` mode.
//!
//! Modules: [`inbound`] (what an event asks for), [`config`] and [`budgets`] (validated at
//! init), [`spend`] (month to date from daily costs), [`alerts`] (announce once, S3 state),
//! [`actions`] (pause and restore with records), [`tagged`] (the tag-the-previous-value flow
//! of Lambda and ECS), [`guard`] (one run), [`error`], [`ports`] (traits) and [`adapters`]
//! (Cost Explorer, S3, Lambda, ECS, App Runner).

pub mod actions;
pub mod adapters;
pub mod alerts;
pub mod budgets;
pub mod config;
pub mod error;
pub mod guard;
pub mod inbound;
pub mod ports;
pub mod resources;
pub mod spend;
pub mod state;
pub mod tagged;

#[cfg(test)]
mod fakes;

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::events::{EventPublisher, SnsEventPublisher};
use shared::metrics::{MetricSet, Unit};
use shared::results::{ObjectStore, S3ObjectStore};
use shared::time::{Clock, SystemClock};
use time::OffsetDateTime;
use tracing::Instrument;

use crate::actions::Targets;
use crate::adapters::{
    cost_explorer_config, AppRunnerTarget, CostExplorerSource, EcsTarget, LambdaTarget,
};
use crate::config::Config;

pub use error::GuardError;
pub use guard::{Guard, Report};
pub use inbound::Invocation;

/// The `source` of the events this function publishes, and its service name in logs.
pub const SOURCE: &str = "cost-guard";

/// The guard wired to AWS.
pub type AwsGuard = Guard<
    CostExplorerSource,
    S3ObjectStore,
    SnsEventPublisher,
    LambdaTarget,
    EcsTarget,
    AppRunnerTarget,
>;

/// What the handler runs: the guard and the clock that dates each run.
pub struct App<K: Clock = SystemClock> {
    pub guard: AwsGuard,
    pub clock: K,
}

/// Builds the clients once, at init.
pub fn build(config: &Config, sdk: &SdkConfig) -> App {
    let guard = Guard {
        costs: CostExplorerSource::new(aws_sdk_costexplorer::Client::from_conf(
            cost_explorer_config(sdk, config.partition).build(),
        )),
        state: S3ObjectStore::new(shared::aws::s3_client(sdk), &config.common.results_bucket),
        events: SnsEventPublisher::new(shared::aws::sns_client(sdk), &config.events_topic_arn),
        targets: Targets {
            lambda: LambdaTarget::new(aws_sdk_lambda::Client::new(sdk)),
            ecs: EcsTarget::new(aws_sdk_ecs::Client::new(sdk)),
            app_runner: AppRunnerTarget::new(aws_sdk_apprunner::Client::new(sdk)),
        },
        config: config.clone(),
    };
    App {
        guard,
        clock: SystemClock,
    }
}

/// The Lambda handler: one run at the clock's time, inside the invocation's log span.
pub async fn handler<K: Clock>(
    app: &App<K>,
    event: LambdaEvent<Value>,
) -> Result<Value, GuardError> {
    let span = shared::logging::invocation_span(SOURCE, &event.context);
    handle(&app.guard, &event.payload, app.clock.now())
        .instrument(span)
        .await
}

/// Parses the event, runs the guard at `now`, logs the report and its metrics, and returns
/// the report. Fails when the event is not understood or the run had problems.
pub async fn handle<C, S, P, L, E, A>(
    guard: &Guard<C, S, P, L, E, A>,
    event: &Value,
    now: OffsetDateTime,
) -> Result<Value, GuardError>
where
    C: ports::CostSource,
    S: ObjectStore + Clone,
    P: EventPublisher,
    L: ports::TaggedSetting,
    E: ports::TaggedSetting,
    A: ports::ActionTarget,
{
    let invocation = Invocation::parse(event).inspect_err(|e| tracing::error!(error = %e))?;
    let report = guard.run(invocation, now).await?;
    let report_json = serde_json::to_value(&report).unwrap_or(Value::Null);
    tracing::info!(report = %report_json, "cost-guard report");
    metrics(&report, &guard.config.common.metrics_namespace).emit();
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
