//! Payloads of the `alarm` events (see [`super`]): a CloudWatch alarm changed state. The
//! notifier builds them from the alarm notifications CloudWatch sends through the alarm topic,
//! so alarms are routed and rendered like any other event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::EventPayload;

/// The state of a CloudWatch alarm, spelled as CloudWatch spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    /// The metric is within its threshold.
    #[serde(rename = "OK")]
    Ok,
    /// The threshold is crossed.
    #[serde(rename = "ALARM")]
    Alarm,
    /// Not enough data to decide.
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

/// A metric as CloudWatch names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricName {
    /// `AWS/Lambda`, `MediaSuite`, ...
    pub namespace: String,
    /// `Errors`, `RecordsRetryable`, ...
    pub name: String,
    /// Dimension name to value.
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
}

/// One query of a metric-math alarm: a metric (with its statistic) or an expression over others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricQuery {
    /// The query's id (`m1`, `e1`), used in expressions.
    pub id: String,
    /// A name for people, when the alarm gives one.
    #[serde(default)]
    pub label: Option<String>,
    /// Metric math over other queries (`100*m1/m2`).
    #[serde(default)]
    pub expression: Option<String>,
    /// The metric this query reads, when it is not an expression.
    #[serde(default)]
    pub metric: Option<MetricName>,
    /// Its statistic (`Sum`, `p95`).
    #[serde(default)]
    pub statistic: Option<String>,
    /// The query whose value the threshold is compared with.
    pub return_data: bool,
}

/// What the alarm watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlarmCondition {
    /// One metric against a threshold.
    Metric {
        /// The metric watched.
        metric: MetricName,
        /// Its statistic (`Sum`, `Average`, `p95`).
        #[serde(default)]
        statistic: Option<String>,
        /// Length of one evaluated period.
        #[serde(default)]
        period_seconds: Option<u64>,
        /// Periods evaluated.
        #[serde(default)]
        evaluation_periods: Option<u64>,
        /// `GreaterThanThreshold`, `LessThanOrEqualToThreshold`, ...
        comparison: String,
        /// The value compared with.
        threshold: f64,
    },
    /// Several metrics combined by metric math; one query is compared with the threshold.
    MetricMath {
        /// Every query; the one with `return_data` is compared with the threshold.
        queries: Vec<MetricQuery>,
        /// Periods evaluated.
        #[serde(default)]
        evaluation_periods: Option<u64>,
        /// `GreaterThanThreshold`, ...
        comparison: String,
        /// The value compared with.
        threshold: f64,
    },
    /// A composite alarm: a rule over other alarms.
    Composite {
        /// The alarm rule (`ALARM("a") OR ALARM("b")`).
        rule: String,
        /// The child alarms whose change triggered this one (names).
        #[serde(default)]
        triggering_children: Vec<String>,
    },
}

/// A CloudWatch alarm changed state (`alarm.state_changed`), OK transitions included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmStateChanged {
    /// The alarm's name.
    pub alarm_name: String,
    /// Its description, when it has one.
    #[serde(default)]
    pub description: Option<String>,
    /// The state it changed to.
    pub state: AlarmState,
    /// The state it left.
    pub previous_state: AlarmState,
    /// CloudWatch's explanation (`Threshold Crossed: 1 datapoint [7.0 ...] was greater than ...`).
    pub reason: String,
    /// When the state changed, RFC 3339 UTC.
    pub changed_at: String,
    /// The alarm's ARN.
    #[serde(default)]
    pub alarm_arn: Option<String>,
    /// The account the alarm belongs to.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The region's name as CloudWatch writes it (`US East (N. Virginia)`, `China (Ningxia)`).
    #[serde(default)]
    pub region: Option<String>,
    /// What the alarm watches.
    pub condition: AlarmCondition,
}

impl EventPayload for AlarmStateChanged {
    const TYPE: &'static str = "alarm.state_changed";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_spelled_as_cloudwatch_does_and_conditions_are_tagged() {
        assert_eq!(
            serde_json::to_value(AlarmState::InsufficientData).unwrap(),
            "INSUFFICIENT_DATA"
        );
        let composite = AlarmCondition::Composite {
            rule: "ALARM(\"a\")".into(),
            triggering_children: vec!["a".into()],
        };
        let json = serde_json::to_value(&composite).unwrap();
        assert_eq!(json["kind"], "composite");
        assert_eq!(
            serde_json::from_value::<AlarmCondition>(json).unwrap(),
            composite
        );
    }
}
