//! Budgets from `COST_BUDGETS` (JSON), validated at init, and the pure comparison of spend
//! with them.
//!
//! ```json
//! {
//!   "currency": "USD",
//!   "monthly": 10,
//!   "daily": 0.33,
//!   "thresholds": [80, 100],
//!   "forecast_threshold": 100,
//!   "services": { "AWS App Runner": 5, "Amazon EC2 Container Registry (ECR)": 1 },
//!   "other": 4
//! }
//! ```
//! `thresholds` (percent, default 50, 80, 100) apply to every budget; `forecast_threshold`
//! (percent of the monthly budget, default 100) applies to the month-end forecast. Service names
//! are the Cost Explorer `SERVICE` dimension values; `other` covers every service not named.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::events::Severity;

pub const DEFAULT_THRESHOLDS: [u32; 3] = [50, 80, 100];
pub const DEFAULT_FORECAST_THRESHOLD: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetsDocument {
    currency: String,
    monthly: f64,
    #[serde(default)]
    daily: Option<f64>,
    #[serde(default)]
    thresholds: Option<Vec<u32>>,
    #[serde(default)]
    forecast_threshold: Option<u32>,
    #[serde(default)]
    services: BTreeMap<String, f64>,
    #[serde(default)]
    other: Option<f64>,
}

/// The validated budgets.
#[derive(Debug, Clone, PartialEq)]
pub struct Budgets {
    pub currency: String,
    pub monthly: f64,
    pub daily: Option<f64>,
    /// Ascending, without duplicates.
    pub thresholds: Vec<u32>,
    pub forecast_threshold: u32,
    pub services: BTreeMap<String, f64>,
    pub other: Option<f64>,
}

impl Budgets {
    /// Parses and validates the JSON; every problem is returned, not just the first.
    pub fn parse(json: &str) -> Result<Self, Vec<String>> {
        let doc: BudgetsDocument = serde_json::from_str(json).map_err(|e| {
            vec![format!(
                "COST_BUDGETS is not valid JSON of the documented shape: {e}"
            )]
        })?;
        let mut problems = Vec::new();
        let currency = doc.currency.trim().to_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            problems.push(format!(
                "COST_BUDGETS currency {:?} is not a three-letter currency code",
                doc.currency
            ));
        }
        let mut check_amount = |what: &str, amount: f64| {
            if !(amount.is_finite() && amount > 0.0) {
                problems.push(format!(
                    "COST_BUDGETS {what} must be a positive amount, got {amount}"
                ));
            }
        };
        check_amount("monthly", doc.monthly);
        if let Some(daily) = doc.daily {
            check_amount("daily", daily);
        }
        if let Some(other) = doc.other {
            check_amount("other", other);
        }
        for (service, amount) in &doc.services {
            check_amount(&format!("services[{service:?}]"), *amount);
        }
        if doc.services.keys().any(|s| s.trim().is_empty()) {
            problems.push("COST_BUDGETS services has an empty service name".to_string());
        }
        let mut thresholds = doc
            .thresholds
            .unwrap_or_else(|| DEFAULT_THRESHOLDS.to_vec());
        thresholds.sort_unstable();
        thresholds.dedup();
        if thresholds.is_empty() {
            problems.push("COST_BUDGETS thresholds must list at least one percentage".to_string());
        }
        if thresholds.iter().any(|t| *t == 0 || *t > 1000) {
            problems.push(format!(
                "COST_BUDGETS thresholds must be percentages between 1 and 1000, got {thresholds:?}"
            ));
        }
        let forecast_threshold = doc.forecast_threshold.unwrap_or(DEFAULT_FORECAST_THRESHOLD);
        if forecast_threshold == 0 || forecast_threshold > 1000 {
            problems.push(format!(
                "COST_BUDGETS forecast_threshold must be a percentage between 1 and 1000, got {forecast_threshold}"
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            currency,
            monthly: doc.monthly,
            daily: doc.daily,
            thresholds,
            forecast_threshold,
            services: doc.services,
            other: doc.other,
        })
    }

    /// The highest threshold that `percent` reached, if any.
    pub fn level_for(&self, percent: f64) -> Option<u32> {
        self.thresholds
            .iter()
            .rev()
            .find(|t| percent >= f64::from(**t))
            .copied()
    }
}

/// Which budget a status belongs to; its id names the state object and the event subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BudgetKind {
    Monthly,
    Daily,
    Service { service: String },
    Other,
    Forecast,
}

impl BudgetKind {
    /// Stable, S3-key-safe id: `monthly`, `daily`, `service-aws-app-runner`, `other`, `forecast`.
    pub fn id(&self) -> String {
        match self {
            BudgetKind::Monthly => "monthly".into(),
            BudgetKind::Daily => "daily".into(),
            BudgetKind::Other => "other".into(),
            BudgetKind::Forecast => "forecast".into(),
            BudgetKind::Service { service } => format!("service-{}", slug(service)),
        }
    }
}

/// Lowercase ASCII letters and digits, other runs of characters become one `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Severity of a threshold level: 100 % and above critical, 80 % and above warning, else info.
pub fn severity_for(level: u32) -> Severity {
    match level {
        l if l >= 100 => Severity::Critical,
        l if l >= 80 => Severity::Warning,
        _ => Severity::Info,
    }
}

/// Percent of `budget` that `spend` is, rounded to 4 decimals so summing many small
/// floating-point amounts cannot put a spend of exactly 80 % just under the threshold.
pub fn percent_of(spend: f64, budget: f64) -> f64 {
    round(spend * 100.0 / budget, 4)
}

/// Rounds to `decimals`; a negative zero (the sum of no amounts) becomes 0.
pub fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"currency":"usd","monthly":10,"daily":0.33,"thresholds":[100,80],
        "services":{"AWS App Runner":5,"Amazon EC2 Container Registry (ECR)":1},"other":4}"#;

    #[test]
    fn example_budgets_parse_with_defaults() {
        let b = Budgets::parse(EXAMPLE).unwrap();
        assert_eq!(b.currency, "USD");
        assert_eq!(b.thresholds, vec![80, 100]);
        assert_eq!(b.forecast_threshold, 100);
        assert_eq!(b.services.len(), 2);
        assert_eq!(b.level_for(79.99), None);
        assert_eq!(b.level_for(80.0), Some(80));
        assert_eq!(b.level_for(250.0), Some(100));
        let defaults = Budgets::parse(r#"{"currency":"CNY","monthly":70}"#).unwrap();
        assert_eq!(defaults.thresholds, vec![50, 80, 100]);
    }

    #[test]
    fn every_problem_is_reported() {
        let problems = Budgets::parse(
            r#"{"currency":"dollars","monthly":-1,"daily":0,"thresholds":[0],"services":{"":2}}"#,
        )
        .unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("three-letter"));
        let typo = Budgets::parse(r#"{"currency":"USD","monthly":1,"montly":2}"#).unwrap_err();
        assert!(typo[0].contains("unknown field `montly`"), "{typo:?}");
    }

    #[test]
    fn ids_are_key_safe_and_severity_follows_level() {
        assert_eq!(
            BudgetKind::Service {
                service: "Amazon EC2 Container Registry (ECR)".into()
            }
            .id(),
            "service-amazon-ec2-container-registry-ecr"
        );
        assert_eq!(severity_for(50), Severity::Info);
        assert_eq!(severity_for(80), Severity::Warning);
        assert_eq!(severity_for(120), Severity::Critical);
        assert_eq!(percent_of(8.0, 10.0), 80.0);
        assert_eq!(percent_of(0.1 + 0.2 + 7.7, 10.0), 80.0);
        let nothing: f64 = std::iter::empty::<f64>().sum();
        assert!(round(nothing, 6).is_sign_positive());
    }
}
