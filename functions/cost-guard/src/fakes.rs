//! In-memory stand-ins for every port, for domain tests without a network.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shared::events::{Envelope, EventPublisher, PublishError};
use time::Date;

use crate::ports::{
    ActionError, ActionTarget, Amount, CostQuery, CostSource, CostSourceError, DayCosts,
    ForecastQuery, PauseOutcome, Previous, RestoreOutcome, ServiceCost, StateStore, StoreError,
    Stored, Written,
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

/// A document and its version.
type Versioned = (Vec<u8>, u64);

/// Documents with versions and conditional writes, like S3 with `If-None-Match`/`If-Match`.
#[derive(Clone, Default)]
pub struct MemoryState {
    docs: Arc<Mutex<HashMap<String, Versioned>>>,
    next_version: Arc<Mutex<u64>>,
}

impl MemoryState {
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.docs.lock().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    pub fn json(&self, key: &str) -> serde_json::Value {
        let docs = self.docs.lock().unwrap();
        serde_json::from_slice(&docs[key].0).expect("json document")
    }

    fn write(&self, key: &str, body: Vec<u8>) -> Written {
        let mut next = self.next_version.lock().unwrap();
        *next += 1;
        self.docs
            .lock()
            .unwrap()
            .insert(key.to_string(), (body, *next));
        Written::Done(next.to_string())
    }
}

impl StateStore for MemoryState {
    async fn read(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        Ok(self.docs.lock().unwrap().get(key).map(|(body, v)| Stored {
            body: body.clone(),
            version: v.to_string(),
        }))
    }

    async fn create(&self, key: &str, body: Vec<u8>) -> Result<Written, StoreError> {
        if self.docs.lock().unwrap().contains_key(key) {
            return Ok(Written::Conflict);
        }
        Ok(self.write(key, body))
    }

    async fn replace(
        &self,
        key: &str,
        body: Vec<u8>,
        version: &str,
    ) -> Result<Written, StoreError> {
        let current = self
            .docs
            .lock()
            .unwrap()
            .get(key)
            .map(|(_, v)| v.to_string());
        if current.as_deref() != Some(version) {
            return Ok(Written::Conflict);
        }
        Ok(self.write(key, body))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .collect())
    }
}

/// Records what is published; refuses the next `refuse` publishes.
#[derive(Clone, Default)]
pub struct FakePublisher {
    pub published: Arc<Mutex<Vec<Envelope>>>,
    pub refuse: Arc<Mutex<usize>>,
}

impl FakePublisher {
    pub fn take(&self) -> Vec<Envelope> {
        std::mem::take(&mut *self.published.lock().unwrap())
    }
}

impl EventPublisher for FakePublisher {
    async fn publish(&self, event: &Envelope) -> Result<(), PublishError> {
        let mut refuse = self.refuse.lock().unwrap();
        if *refuse > 0 {
            *refuse -= 1;
            return Err(PublishError {
                id: event.id.clone(),
                event_type: event.event_type.clone(),
                reason: "InternalError: try again".into(),
            });
        }
        self.published.lock().unwrap().push(event.clone());
        Ok(())
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
