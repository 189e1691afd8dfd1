//! One run: fetch spend, compare with budgets, announce crossings, act at the action level.

use serde::Serialize;
use shared::events::contracts::cost::{self, ActionReason, CostThreshold, PeriodKind};
use shared::events::{Envelope, EventPublisher, Severity};
use shared::idempotency::Idempotency;
use shared::results::ObjectStore;
use shared::time::Clock;
use time::{Date, OffsetDateTime};

use crate::actions::{ActionOutcome, ActionReport, Actor, Targets};
use crate::alerts::{announce_once, Announcement, Crossing, CLAIMS_PREFIX};
use crate::budgets::{percent_of, round, severity_for, BudgetKind};
use crate::config::{Config, Mode};
use crate::error::GuardError;
use crate::inbound::Invocation;
use crate::ports::{ActionTarget, CostSource, TaggedSetting};
use crate::spend::{day_string, Calendar, Spend};
use crate::SOURCE;

/// The month-end forecast, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastReport {
    pub available: bool,
    /// Spend before the forecast's first day plus Cost Explorer's forecast to the month's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month_end: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_of_monthly_budget: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_reason: Option<String>,
}

/// One budget in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetReport {
    pub budget: String,
    #[serde(flatten)]
    pub kind: BudgetKind,
    pub period: String,
    pub spend: f64,
    pub amount: f64,
    pub percent: f64,
    /// Highest threshold reached (for the forecast: the forecast threshold).
    pub level: Option<u32>,
    pub severity: Option<Severity>,
    pub announcement: Announcement,
    /// Level announced earlier in this period.
    pub previously_announced: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a run returns and logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub invocation: Invocation,
    /// The mode actions ran in: `dry-run` for a manual dry run and `enforce` for a restore,
    /// whatever the configuration; else `COST_GUARD_MODE`.
    pub mode: Mode,
    pub as_of: String,
    pub partition: String,
    /// The business time zone whose days and months the budgets follow.
    pub time_zone: String,
    pub currency: String,
    pub month: String,
    /// Billed Cost Explorer requests made by this run (GetCostAndUsage pages + GetCostForecast).
    pub cost_explorer_requests: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<Spend>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<ForecastReport>,
    pub budgets: Vec<BudgetReport>,
    pub action_level: u32,
    pub action_level_reached: bool,
    pub actions: Vec<ActionReport>,
    /// Problems that did not stop the run (a failed publish, a failed action); the
    /// invocation fails when there are any, so the scheduler's retry tries again.
    pub errors: Vec<String>,
}

/// The guard with its ports; `state` is the results bucket.
pub struct Guard<C, S, P, L, E, A> {
    pub config: Config,
    pub costs: C,
    pub state: S,
    pub events: P,
    pub targets: Targets<L, E, A>,
}

/// The instant of one run: every claim a run makes is dated by the run's own `now`.
#[derive(Clone, Copy)]
struct RunInstant(OffsetDateTime);

impl Clock for RunInstant {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// One budget's comparison before announcing.
struct Evaluated {
    kind: BudgetKind,
    period: String,
    /// Business days `[first, end)` of the period.
    days: (Date, Date),
    spend: f64,
    amount: f64,
    /// Whether the spend includes days Cost Explorer may still revise.
    estimated: bool,
    thresholds_level: Option<u32>,
    severity: Option<Severity>,
}

impl<C, S, P, L, E, A> Guard<C, S, P, L, E, A>
where
    C: CostSource,
    S: ObjectStore + Clone,
    P: EventPublisher,
    L: TaggedSetting,
    E: TaggedSetting,
    A: ActionTarget,
{
    fn actor(&self, now: OffsetDateTime) -> Actor<'_, S, P, L, E, A> {
        Actor {
            store: &self.state,
            publisher: &self.events,
            targets: &self.targets,
            now,
            lease: self.config.common.idempotency_lease,
        }
    }

    pub async fn run(
        &self,
        invocation: Invocation,
        now: OffsetDateTime,
    ) -> Result<Report, GuardError> {
        let config = &self.config;
        let calendar = Calendar::at(now, &config.common.time_zone);
        let mode = match invocation {
            Invocation::DryRun => Mode::DryRun,
            // Restoring always acts, whatever the mode is now.
            Invocation::Restore => Mode::Enforce,
            _ => config.mode,
        };
        let mut report = Report {
            invocation,
            mode,
            as_of: shared::time::rfc3339(now),
            partition: config.partition.id().to_string(),
            time_zone: config.common.time_zone.name().to_string(),
            currency: config.budgets.currency.clone(),
            month: calendar.month_period(),
            cost_explorer_requests: 0,
            spend: None,
            forecast: None,
            budgets: Vec::new(),
            action_level: config.action_level,
            action_level_reached: false,
            actions: Vec::new(),
            errors: Vec::new(),
        };
        if invocation == Invocation::Restore {
            report.actions = self.actor(now).restore_all().await?;
            collect_action_errors(&mut report);
            return Ok(report);
        }

        let costs = self
            .costs
            .daily_costs_by_service(calendar.query_start(), calendar.query_end())
            .await
            .inspect_err(|e| {
                tracing::error!(requests = e.requests, error = %e, "Cost Explorer query failed")
            })?;
        let forecast = if calendar.forecast_start() < calendar.next_month_start {
            self.costs
                .forecast(calendar.forecast_start(), calendar.next_month_start)
                .await
        } else {
            crate::ports::ForecastQuery {
                forecast: Err("the month ends before Cost Explorer's next day".into()),
                requests: 0,
            }
        };
        report.cost_explorer_requests = costs.requests + forecast.requests;
        tracing::info!(
            cost_explorer_requests = report.cost_explorer_requests,
            cost_and_usage_pages = costs.requests,
            "Cost Explorer queried"
        );
        let spend = Spend::from_days(&costs.days, &config.budgets.currency, &calendar)?;
        let forecast = self.forecast_report(&spend, forecast.forecast)?;

        let read_only = invocation == Invocation::Report;
        let claims = Idempotency::new(
            self.state.clone(),
            CLAIMS_PREFIX,
            config.common.idempotency_lease,
            RunInstant(now),
        );
        for evaluated in self.evaluate(&spend, &forecast, &calendar) {
            let payload = self.payload(&evaluated, &spend, &forecast, &calendar);
            let budget_report = self
                .announce(evaluated, payload, &claims, read_only, now)
                .await;
            if let Some(error) = &budget_report.error {
                report
                    .errors
                    .push(format!("budget {}: {error}", budget_report.budget));
            }
            report.budgets.push(budget_report);
        }

        let monthly_percent = percent_of(spend.month_to_date, config.budgets.monthly);
        report.action_level_reached = monthly_percent >= f64::from(config.action_level);
        if report.action_level_reached && mode != Mode::Off {
            let reason = ActionReason {
                monthly_spend: spend.month_to_date,
                monthly_budget: config.budgets.monthly,
                percent: monthly_percent,
                action_level: config.action_level,
                currency: spend.currency.clone(),
            };
            let actor = self.actor(now);
            for resource in &config.allow_list {
                if read_only {
                    report.actions.push(ActionReport {
                        resource: resource.arn.clone(),
                        kind: resource.kind,
                        action: resource.kind.pause_action().to_string(),
                        mode,
                        outcome: ActionOutcome::ReportOnly,
                        previous: None,
                        event_id: None,
                        error: None,
                    });
                    continue;
                }
                match actor
                    .pause_once(resource, mode, &report.month, &reason)
                    .await
                {
                    Ok(action) => report.actions.push(action),
                    Err(e) => report
                        .errors
                        .push(format!("action on {}: {e}", resource.arn)),
                }
            }
        }
        collect_action_errors(&mut report);
        report.spend = Some(spend);
        report.forecast = Some(forecast);
        Ok(report)
    }

    fn forecast_report(
        &self,
        spend: &Spend,
        forecast: Result<crate::ports::Amount, String>,
    ) -> Result<ForecastReport, GuardError> {
        match forecast {
            Ok(amount) => {
                if amount.unit != spend.currency {
                    return Err(GuardError::ForecastCurrency {
                        found: amount.unit,
                        expected: spend.currency.clone(),
                    });
                }
                let month_end = round(spend.before_forecast + amount.value, 6);
                Ok(ForecastReport {
                    available: true,
                    month_end: Some(month_end),
                    percent_of_monthly_budget: Some(percent_of(
                        month_end,
                        self.config.budgets.monthly,
                    )),
                    unavailable_reason: None,
                })
            }
            Err(reason) => {
                tracing::warn!(%reason, "no month-end forecast this run");
                Ok(ForecastReport {
                    available: false,
                    month_end: None,
                    percent_of_monthly_budget: None,
                    unavailable_reason: Some(reason),
                })
            }
        }
    }

    /// Every budget of this run: monthly, daily (yesterday and today), per service, other,
    /// and the forecast.
    fn evaluate(
        &self,
        spend: &Spend,
        forecast: &ForecastReport,
        calendar: &Calendar,
    ) -> Vec<Evaluated> {
        let budgets = &self.config.budgets;
        let month = calendar.month_period();
        let month_days = (calendar.month_start, calendar.next_month_start);
        let month_estimated = !spend.estimated_days.is_empty();
        let by_thresholds = |kind: BudgetKind,
                             period: String,
                             days: (Date, Date),
                             estimated: bool,
                             spend: f64,
                             amount: f64| {
            let level = budgets.level_for(percent_of(spend, amount));
            Evaluated {
                kind,
                period,
                days,
                spend,
                amount,
                estimated,
                thresholds_level: level,
                severity: level.map(severity_for),
            }
        };
        let monthly = |kind, spend, amount| {
            by_thresholds(
                kind,
                month.clone(),
                month_days,
                month_estimated,
                spend,
                amount,
            )
        };
        let mut out = vec![monthly(
            BudgetKind::Monthly,
            spend.month_to_date,
            budgets.monthly,
        )];
        if let Some(daily) = budgets.daily {
            for day in [calendar.yesterday(), calendar.today] {
                let recorded = spend.day(day);
                let estimated = day >= calendar.today || recorded.is_none_or(|d| d.estimated);
                out.push(by_thresholds(
                    BudgetKind::Daily,
                    day_string(day),
                    (day, day.next_day().unwrap_or(day)),
                    estimated,
                    recorded.map_or(0.0, |d| d.amount),
                    daily,
                ));
            }
        }
        for (service, amount) in &budgets.services {
            let kind = BudgetKind::Service {
                service: service.clone(),
            };
            out.push(monthly(kind, spend.of_service(service), *amount));
        }
        if let Some(other) = budgets.other {
            let named: f64 = budgets.services.keys().map(|s| spend.of_service(s)).sum();
            out.push(monthly(
                BudgetKind::Other,
                round(spend.month_to_date - named, 6),
                other,
            ));
        }
        if let Some(month_end) = forecast.month_end {
            let reached =
                percent_of(month_end, budgets.monthly) >= f64::from(budgets.forecast_threshold);
            out.push(Evaluated {
                thresholds_level: reached.then_some(budgets.forecast_threshold),
                severity: reached.then_some(Severity::Warning),
                ..monthly(BudgetKind::Forecast, month_end, budgets.monthly)
            });
        }
        out
    }

    /// The `cost.threshold` payload of a budget that reached a threshold.
    fn payload(
        &self,
        evaluated: &Evaluated,
        spend: &Spend,
        forecast: &ForecastReport,
        calendar: &Calendar,
    ) -> Option<CostThreshold> {
        let threshold = evaluated.thresholds_level?;
        let (first, end) = evaluated.days;
        let (period_start, period_end) = calendar.bounds(first, end);
        let (budget_kind, service) = match &evaluated.kind {
            BudgetKind::Monthly => (cost::BudgetKind::Monthly, None),
            BudgetKind::Daily => (cost::BudgetKind::Daily, None),
            BudgetKind::Service { service } => (cost::BudgetKind::Service, Some(service.clone())),
            BudgetKind::Other => (cost::BudgetKind::Other, None),
            BudgetKind::Forecast => (cost::BudgetKind::Forecast, None),
        };
        let top = self.config.top_services.min(spend.by_service.len());
        Some(CostThreshold {
            budget: evaluated.kind.id(),
            budget_kind,
            service,
            period: evaluated.period.clone(),
            period_kind: if evaluated.kind == BudgetKind::Daily {
                PeriodKind::Day
            } else {
                PeriodKind::Month
            },
            time_zone: calendar.zone.name().to_string(),
            period_start,
            period_end,
            threshold,
            percent: percent_of(evaluated.spend, evaluated.amount),
            spent: evaluated.spend,
            limit: evaluated.amount,
            currency: spend.currency.clone(),
            forecast: forecast.month_end,
            month_to_date: spend.month_to_date,
            top_services: spend.by_service[..top].to_vec(),
            estimated: evaluated.estimated,
            utc_measure: calendar.utc_measure(first, end),
        })
    }

    async fn announce<I: shared::idempotency::IdempotencyStore>(
        &self,
        evaluated: Evaluated,
        payload: Option<CostThreshold>,
        claims: &I,
        read_only: bool,
        now: OffsetDateTime,
    ) -> BudgetReport {
        let budget = evaluated.kind.id();
        let mut report = BudgetReport {
            budget: budget.clone(),
            kind: evaluated.kind.clone(),
            period: evaluated.period.clone(),
            spend: evaluated.spend,
            amount: evaluated.amount,
            percent: percent_of(evaluated.spend, evaluated.amount),
            level: evaluated.thresholds_level,
            severity: evaluated.severity,
            announcement: Announcement::None,
            previously_announced: None,
            event_id: None,
            error: None,
        };
        let (Some(payload), Some(severity)) = (payload, evaluated.severity) else {
            return report;
        };
        let event = Envelope::of(
            &payload,
            SOURCE,
            &format!("cost-budget:{budget}"),
            severity,
            &format!("{}/{}", evaluated.period, payload.threshold),
        );
        let crossing = Crossing {
            budget_id: &budget,
            period: &evaluated.period,
            level: payload.threshold,
            event: &event,
        };
        match announce_once(&self.state, claims, &self.events, &crossing, read_only, now).await {
            Ok((announcement, previous)) => {
                report.announcement = announcement;
                report.previously_announced = previous;
                if announcement == Announcement::Announced {
                    report.event_id = Some(event.id);
                }
            }
            Err(e) => report.error = Some(e.to_string()),
        }
        report
    }
}

fn collect_action_errors(report: &mut Report) {
    for action in &report.actions {
        if action.outcome == ActionOutcome::Failed {
            report.errors.push(format!(
                "{} on {}: {}",
                action.action,
                action.resource,
                action.error.as_deref().unwrap_or("failed")
            ));
        }
    }
}

#[cfg(test)]
mod tests;
