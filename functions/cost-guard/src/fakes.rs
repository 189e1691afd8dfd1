//! In-memory stand-ins for the guard's own ports, for domain tests without a network (the
//! results bucket and the publisher are `shared::testkit`'s).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::Date;

use crate::ports::{
    ActionError, ActionTarget, Amount, CostQuery, CostSource, CostSourceError, DayCosts,
    ForecastQuery, PauseOutcome, Previous, RestoreOutcome, ServiceCost,
};
use crate::resources::Resource;

/// One day of costs for a fake: (date, estimated, [(service, amount)]).
pub type FakeDay<'a> = (Date, bool, &'a [(&'a str, f64)]);

/// Cost Explorer answering with fixed days and forecast.
#[derive(Clone, Default)]
pub struct FakeCosts {
    pub days: Vec<DayCosts>,
    /// `None`: no forecast (too little history).
    pub forecast: Option<f64>,
    pub unit: String,
}

impl FakeCosts {
    /// `days` of (date, estimated, [(service, amount)]) in USD.
    pub fn usd(days: &[FakeDay<'_>]) -> Self {
        Self {
            days: days
                .iter()
                .map(|(date, estimated, services)| DayCosts {
                    date: *date,
                    estimated: *estimated,
                    services: services
                        .iter()
                        .map(|(service, amount)| ServiceCost {
                            service: service.to_string(),
                            amount: *amount,
                            unit: "USD".into(),
                        })
                        .collect(),
                })
                .collect(),
            forecast: None,
            unit: "USD".into(),
        }
    }
}

impl CostSource for FakeCosts {
    async fn daily_costs_by_service(
        &self,
        start: Date,
        end: Date,
    ) -> Result<CostQuery, CostSourceError> {
        let days = self
            .days
            .iter()
            .filter(|d| d.date >= start && d.date < end)
            .cloned()
            .collect();
        Ok(CostQuery { days, requests: 1 })
    }

    async fn forecast(&self, _start: Date, _end: Date) -> ForecastQuery {
        ForecastQuery {
            forecast: self
                .forecast
                .map(|value| Amount {
                    value,
                    unit: self.unit.clone(),
                })
                .ok_or_else(|| "not enough cost history to forecast yet".to_string()),
            requests: 1,
        }
    }
}

/// App Runner services by ARN: `true` when running.
#[derive(Clone, Default)]
pub struct FakeAppRunner {
    pub running: Arc<Mutex<HashMap<String, bool>>>,
}

impl ActionTarget for FakeAppRunner {
    async fn pause(&self, resource: &Resource) -> Result<PauseOutcome, ActionError> {
        let mut services = self.running.lock().unwrap();
        match services.get_mut(&resource.arn) {
            None => Err(ActionError::new(resource, "pause-service", "not found")),
            Some(running) if !*running => Ok(PauseOutcome::NotRunning {
                status: "PAUSED".into(),
            }),
            Some(running) => {
                *running = false;
                Ok(PauseOutcome::Paused {
                    previous: Previous::Running,
                })
            }
        }
    }

    async fn restore(
        &self,
        resource: &Resource,
        _recorded: Option<&Previous>,
    ) -> Result<RestoreOutcome, ActionError> {
        let mut services = self.running.lock().unwrap();
        match services.get_mut(&resource.arn) {
            Some(running) if !*running => {
                *running = true;
                Ok(RestoreOutcome::Restored {
                    to: Previous::Running,
                })
            }
            _ => Ok(RestoreOutcome::NothingToRestore {
                reason: "not paused".into(),
            }),
        }
    }
}
