//! Payloads of the `cost` events (see [`super`]), produced by cost-guard: a budget threshold
//! crossed ([`CostThreshold`]) and a resource paused or restored ([`CostAction`]).
//!
//! Amounts are in `currency` (the partition's billing currency). Periods are business periods
//! in the suite's time zone (`SUITE_TIMEZONE`); Cost Explorer counts whole UTC days, so where
//! the two differ the payload names the UTC window actually measured ([`UtcMeasure`]).

use serde::{Deserialize, Serialize};

use crate::events::{types, EventPayload};

/// Which budget a threshold belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    /// Month-to-date spend against the monthly budget.
    Monthly,
    /// One business day's spend against the daily budget.
    Daily,
    /// Month-to-date spend of one named service (see [`CostThreshold::service`]).
    Service,
    /// Month-to-date spend of every service without a budget of its own.
    Other,
    /// Month-end forecast (spend so far plus Cost Explorer's forecast) against the monthly budget.
    Forecast,
}

/// The length of a budget's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// `period` is a date: `2026-11-30`.
    Day,
    /// `period` is a month: `2026-11`.
    Month,
}

/// The UTC window Cost Explorer's daily figures cover for a period, present when it differs
/// from the business period (a time zone other than UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtcMeasure {
    /// Start of the measured window (RFC 3339, UTC, a UTC midnight).
    pub start: String,
    /// End of the measured window, exclusive (RFC 3339, UTC).
    pub end: String,
    /// How many minutes the measured window starts after the business period
    /// (480 for Asia/Shanghai; negative west of UTC).
    pub offset_minutes: i32,
}

/// A service's month-to-date spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpend {
    /// Cost Explorer's `SERVICE` name, e.g. `AWS Lambda`.
    pub service: String,
    /// Month-to-date spend of the service, in the payload's currency.
    pub amount: f64,
}

/// `cost.threshold`: a budget reached one of its thresholds in a period; announced once per
/// budget, period and threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostThreshold {
    /// Stable id of the budget: `monthly`, `daily`, `service-aws-app-runner`, `other`, `forecast`.
    pub budget: String,
    /// What the budget measures.
    pub budget_kind: BudgetKind,
    /// The service of a [`BudgetKind::Service`] budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The business period: `2026-11-30` (day) or `2026-11` (month).
    pub period: String,
    /// Whether `period` is a day or a month.
    pub period_kind: PeriodKind,
    /// IANA name of the business time zone the period is in.
    pub time_zone: String,
    /// Start of the period in the business time zone (RFC 3339 with offset).
    pub period_start: String,
    /// End of the period, exclusive (RFC 3339 with offset).
    pub period_end: String,
    /// The threshold crossed, percent of the limit.
    pub threshold: u32,
    /// Spent as a percentage of the limit.
    pub percent: f64,
    /// Spent in the period (for the forecast budget: the forecast month-end total).
    pub spent: f64,
    /// The budget's amount for the period.
    pub limit: f64,
    /// ISO currency of every amount (`USD`, `CNY`).
    pub currency: String,
    /// Cost Explorer's month-end forecast of the whole month's spend, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<f64>,
    /// Month-to-date spend of all services.
    pub month_to_date: f64,
    /// Services by month-to-date spend, highest first (at most `COST_GUARD_TOP_SERVICES`).
    pub top_services: Vec<ServiceSpend>,
    /// Whether `spent` includes days Cost Explorer may still revise.
    pub estimated: bool,
    /// Present when Cost Explorer's UTC days are not the business days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_measure: Option<UtcMeasure>,
}

impl EventPayload for CostThreshold {
    const TYPE: &'static str = types::COST_THRESHOLD;
}

/// The kinds of resource cost-guard may pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// Paused by setting its reserved concurrency to 0.
    LambdaFunction,
    /// Paused by scaling its desired task count to 0.
    EcsService,
    /// Paused with App Runner's own pause (not in `aws-cn`).
    AppRunnerService,
}

impl ResourceKind {
    /// The pause action on this kind of resource, as named in [`CostAction::action`].
    pub fn pause_action(self) -> &'static str {
        match self {
            ResourceKind::LambdaFunction => "set-reserved-concurrency-to-zero",
            ResourceKind::EcsService => "scale-desired-count-to-zero",
            ResourceKind::AppRunnerService => "pause-service",
        }
    }
}

/// The setting a pause changed, as it was before (what a restore puts back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Previous {
    /// Lambda reserved concurrency; `None` when the function had none reserved.
    ReservedConcurrency {
        /// Reserved concurrent executions, if any were reserved.
        value: Option<i32>,
    },
    /// ECS service desired task count.
    DesiredCount {
        /// Desired number of tasks.
        value: i32,
    },
    /// The App Runner service was running.
    Running,
}

/// Why cost-guard paused: month-to-date spend against the action level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionReason {
    /// Month-to-date spend of all services.
    pub monthly_spend: f64,
    /// The monthly budget.
    pub monthly_budget: f64,
    /// Month-to-date spend as a percentage of the monthly budget.
    pub percent: f64,
    /// `COST_GUARD_ACTION_LEVEL`: the percentage at which actions start.
    pub action_level: u32,
    /// ISO currency of the amounts.
    pub currency: String,
}

/// `cost.action`: cost-guard paused a resource (or, in dry-run, would have), or restored one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostAction {
    /// A pause action ([`ResourceKind::pause_action`]) or `restore`.
    pub action: String,
    /// True when nothing was changed: the pause is only announced (`COST_GUARD_MODE=dry-run`
    /// or a manual dry run).
    pub dry_run: bool,
    /// ARN of the resource.
    pub resource: String,
    /// What kind of resource, which says what the pause changed.
    pub resource_kind: ResourceKind,
    /// Function or service name, for people.
    pub resource_name: String,
    /// The setting before the pause: what a restore puts back (for a restore: what it put back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
    /// The month (`2026-11`) whose spend led to the pause.
    pub period: String,
    /// Spend against the action level (pauses only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ActionReason>,
    /// For a restore: the pause action it undoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

impl EventPayload for CostAction {
    const TYPE: &'static str = types::COST_ACTION;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_threshold_in_shanghai_round_trips_with_its_utc_window() {
        let payload = CostThreshold {
            budget: "daily".into(),
            budget_kind: BudgetKind::Daily,
            service: None,
            period: "2026-11-30".into(),
            period_kind: PeriodKind::Day,
            time_zone: "Asia/Shanghai".into(),
            period_start: "2026-11-30T00:00:00+08:00".into(),
            period_end: "2026-12-01T00:00:00+08:00".into(),
            threshold: 80,
            percent: 87.8788,
            spent: 0.29,
            limit: 0.33,
            currency: "USD".into(),
            forecast: Some(9.5),
            month_to_date: 8.1,
            top_services: vec![ServiceSpend {
                service: "AWS Lambda".into(),
                amount: 5.0,
            }],
            estimated: true,
            utc_measure: Some(UtcMeasure {
                start: "2026-11-30T00:00:00Z".into(),
                end: "2026-12-01T00:00:00Z".into(),
                offset_minutes: 480,
            }),
        };
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(json["budget_kind"], "daily");
        assert_eq!(json["period_kind"], "day");
        assert!(json.get("service").is_none());
        let back: CostThreshold = serde_json::from_value(json).unwrap();
        assert_eq!(back, payload);
    }

    #[test]
    fn previous_settings_are_tagged_by_kind() {
        let json = serde_json::to_value(Previous::ReservedConcurrency { value: None }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "reserved-concurrency", "value": null})
        );
        assert_eq!(
            ResourceKind::EcsService.pause_action(),
            "scale-desired-count-to-zero"
        );
    }
}
