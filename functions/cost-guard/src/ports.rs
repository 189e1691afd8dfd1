//! The guard's ports: where costs come from and what it can pause. State lives in the results
//! bucket behind `shared::results::ObjectStore`; events go through
//! `shared::events::EventPublisher`. No AWS types here.

use std::future::Future;

use time::Date;

use crate::resources::Resource;

/// One service's cost on one day, in the unit Cost Explorer reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCost {
    pub service: String,
    pub amount: f64,
    pub unit: String,
}

/// Costs of one day, grouped by service. `estimated` is Cost Explorer's own flag: the day's
/// data may still change.
#[derive(Debug, Clone, PartialEq)]
pub struct DayCosts {
    pub date: Date,
    pub estimated: bool,
    pub services: Vec<ServiceCost>,
}

/// The daily costs of a period and how many (billed) requests fetching them took.
#[derive(Debug, Clone, PartialEq)]
pub struct CostQuery {
    pub days: Vec<DayCosts>,
    pub requests: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub value: f64,
    pub unit: String,
}

/// A forecast, or why there is none (Cost Explorer refuses to forecast with too little
/// history, e.g. early on the first of a month). The request is billed either way.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastQuery {
    pub forecast: Result<Amount, String>,
    pub requests: u32,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("cost query failed after {requests} request(s): {reason}")]
pub struct CostSourceError {
    pub reason: String,
    pub requests: u32,
}

pub trait CostSource: Send + Sync {
    /// Daily unblended costs grouped by service for `[start, end)`.
    fn daily_costs_by_service(
        &self,
        start: Date,
        end: Date,
    ) -> impl Future<Output = Result<CostQuery, CostSourceError>> + Send;

    /// Forecast unblended cost for `[start, end)`, `start` being today.
    fn forecast(&self, start: Date, end: Date) -> impl Future<Output = ForecastQuery> + Send;
}

/// What a resource was like before the guard paused it; restore returns it to this.
pub use shared::events::contracts::cost::Previous;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PauseOutcome {
    Paused {
        previous: Previous,
    },
    /// Nothing to pause (e.g. an App Runner service that is not running).
    NotRunning {
        status: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreOutcome {
    Restored { to: Previous },
    NothingToRestore { reason: String },
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{action} on {arn} failed: {reason}")]
pub struct ActionError {
    pub arn: String,
    pub action: String,
    pub reason: String,
}

impl ActionError {
    pub fn new(resource: &Resource, action: &str, reason: impl std::fmt::Display) -> Self {
        Self {
            arn: resource.arn.clone(),
            action: action.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Something the guard can pause and restore (one adapter per kind of resource).
pub trait ActionTarget: Send + Sync {
    /// Pauses the resource, recording its previous state on the resource where the service
    /// allows (a tag), and returns that previous state. Pausing a resource the guard already
    /// paused keeps the first recorded state.
    fn pause(
        &self,
        resource: &Resource,
    ) -> impl Future<Output = Result<PauseOutcome, ActionError>> + Send;
    /// Restores the state recorded on the resource, else `recorded` (from the action record).
    fn restore(
        &self,
        resource: &Resource,
        recorded: Option<&Previous>,
    ) -> impl Future<Output = Result<RestoreOutcome, ActionError>> + Send;
}

/// A call to a resource's service that failed; the reason is one line for the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CallFailed(pub String);

/// A number the guard turns down to pause a resource (Lambda reserved concurrency, ECS
/// desired count) and whose value before the pause it keeps in a tag on the resource, so a
/// restore finds it even when the guard's own record is gone. The flow (tag the previous
/// value once, else use the record) is [`crate::tagged`]; adapters only make the calls.
pub trait TaggedSetting: Send + Sync {
    /// The value of tag `key` on the resource, if it has one.
    fn read_tag(
        &self,
        resource: &Resource,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, CallFailed>> + Send;
    fn write_tag(
        &self,
        resource: &Resource,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), CallFailed>> + Send;
    fn remove_tag(
        &self,
        resource: &Resource,
        key: &str,
    ) -> impl Future<Output = Result<(), CallFailed>> + Send;
    /// The setting now.
    fn current(
        &self,
        resource: &Resource,
    ) -> impl Future<Output = Result<Previous, CallFailed>> + Send;
    /// Changes the setting to `value` (of this resource's kind).
    fn set(
        &self,
        resource: &Resource,
        value: &Previous,
    ) -> impl Future<Output = Result<(), CallFailed>> + Send;
}
