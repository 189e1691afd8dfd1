//! CloudWatch alarm notifications (the JSON CloudWatch publishes to an alarm's SNS topic) as
//! `alarm.state_changed` envelopes, so alarms are routed and rendered like any event.
//!
//! Three shapes arrive: a single metric (`Trigger.MetricName`), several metrics combined by
//! metric math (`Trigger.Metrics`), and composite alarms (`AlarmRule`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use shared::events::contracts::alarm::{
    AlarmCondition, AlarmState, AlarmStateChanged, MetricName, MetricQuery,
};
use shared::events::{Envelope, Severity};
use time::OffsetDateTime;

/// `source` of the envelopes built here.
pub const SOURCE: &str = "cloudwatch";

/// True when `message` looks like a CloudWatch alarm notification.
pub fn is_alarm_notification(message: &Value) -> bool {
    message.get("AlarmName").is_some() && message.get("NewStateValue").is_some()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Notification {
    alarm_name: String,
    #[serde(default)]
    alarm_description: Option<String>,
    #[serde(rename = "AWSAccountId", default)]
    account_id: Option<String>,
    new_state_value: AlarmState,
    #[serde(default)]
    new_state_reason: String,
    state_change_time: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    alarm_arn: Option<String>,
    old_state_value: AlarmState,
    #[serde(default)]
    trigger: Option<Trigger>,
    #[serde(default)]
    alarm_rule: Option<String>,
    #[serde(default)]
    triggering_children: Vec<Child>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trigger {
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    statistic: Option<String>,
    #[serde(default)]
    extended_statistic: Option<String>,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    #[serde(default)]
    period: Option<u64>,
    #[serde(default)]
    evaluation_periods: Option<u64>,
    comparison_operator: String,
    threshold: f64,
    #[serde(default)]
    metrics: Vec<Query>,
}

/// CloudWatch writes dimensions as `{"value": ..., "name": ...}` (lowercase keys).
#[derive(Deserialize)]
struct Dimension {
    #[serde(alias = "Name")]
    name: String,
    #[serde(alias = "Value")]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Query {
    id: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    metric_stat: Option<MetricStat>,
    #[serde(default = "yes")]
    return_data: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricStat {
    metric: Metric,
    #[serde(default)]
    stat: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metric {
    metric_name: String,
    namespace: String,
    #[serde(default)]
    dimensions: Vec<Dimension>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Child {
    #[serde(default)]
    arn: String,
}

fn dimensions(list: Vec<Dimension>) -> BTreeMap<String, String> {
    list.into_iter().map(|d| (d.name, d.value)).collect()
}

/// `2026-11-30T10:05:32.198+0000` (CloudWatch's form) or RFC 3339, as RFC 3339 UTC.
fn change_time(raw: &str) -> Option<String> {
    let cloudwatch = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(raw, cloudwatch)
        .ok()
        .or_else(|| shared::time::parse_rfc3339_lenient(raw))
        .map(shared::time::rfc3339)
}

fn condition(n: &mut Notification) -> Result<AlarmCondition, String> {
    if let Some(rule) = n.alarm_rule.take() {
        return Ok(AlarmCondition::Composite {
            rule,
            triggering_children: n
                .triggering_children
                .iter()
                .map(|c| c.arn.rsplit(':').next().unwrap_or_default().to_string())
                .filter(|name| !name.is_empty())
                .collect(),
        });
    }
    let trigger = n
        .trigger
        .take()
        .ok_or("the alarm notification has neither `Trigger` nor `AlarmRule`")?;
    if !trigger.metrics.is_empty() {
        return Ok(AlarmCondition::MetricMath {
            queries: trigger
                .metrics
                .into_iter()
                .map(|q| MetricQuery {
                    id: q.id,
                    label: q.label,
                    expression: q.expression,
                    statistic: q.metric_stat.as_ref().and_then(|s| s.stat.clone()),
                    metric: q.metric_stat.map(|s| MetricName {
                        namespace: s.metric.namespace,
                        name: s.metric.metric_name,
                        dimensions: dimensions(s.metric.dimensions),
                    }),
                    return_data: q.return_data,
                })
                .collect(),
            evaluation_periods: trigger.evaluation_periods,
            comparison: trigger.comparison_operator,
            threshold: trigger.threshold,
        });
    }
    let (Some(name), Some(namespace)) = (trigger.metric_name, trigger.namespace) else {
        return Err("the alarm's `Trigger` names no metric and no metric math".into());
    };
    Ok(AlarmCondition::Metric {
        metric: MetricName {
            namespace,
            name,
            dimensions: dimensions(trigger.dimensions),
        },
        statistic: trigger.extended_statistic.or(trigger.statistic),
        period_seconds: trigger.period,
        evaluation_periods: trigger.evaluation_periods,
        comparison: trigger.comparison_operator,
        threshold: trigger.threshold,
    })
}

/// How urgent a state is: a firing alarm is critical, missing data a warning, recovery info.
pub fn severity(state: AlarmState) -> Severity {
    match state {
        AlarmState::Alarm => Severity::Critical,
        AlarmState::InsufficientData => Severity::Warning,
        AlarmState::Ok => Severity::Info,
    }
}

/// The envelope of one alarm notification. Its id comes from the alarm and the transition, so
/// a notification delivered twice is one event.
pub fn alarm_envelope(message: Value) -> Result<Envelope, String> {
    let mut n: Notification = serde_json::from_value(message)
        .map_err(|e| format!("not a CloudWatch alarm notification: {e}"))?;
    let changed_at = change_time(&n.state_change_time).ok_or_else(|| {
        format!(
            "alarm notification: StateChangeTime {:?} is not a time",
            n.state_change_time.chars().take(40).collect::<String>()
        )
    })?;
    let condition = condition(&mut n)?;
    let subject = n
        .alarm_arn
        .clone()
        .unwrap_or_else(|| format!("alarm:{}", n.alarm_name));
    let payload = AlarmStateChanged {
        alarm_name: n.alarm_name,
        description: n.alarm_description.filter(|d| !d.trim().is_empty()),
        state: n.new_state_value,
        previous_state: n.old_state_value,
        reason: n.new_state_reason,
        changed_at: changed_at.clone(),
        alarm_arn: n.alarm_arn,
        account_id: n.account_id,
        region: n.region,
        condition,
    };
    let discriminator = format!("{changed_at}/{:?}", payload.state);
    let mut envelope = Envelope::of(
        &payload,
        SOURCE,
        &subject,
        severity(payload.state),
        &discriminator,
    );
    envelope.time = changed_at;
    envelope
        .check_identifiers()
        .map_err(|e| format!("alarm notification: {e}"))?;
    Ok(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn single_metric() -> Value {
        json!({
            "AlarmName": "media-suite-prod-notifier-error-rate",
            "AlarmDescription": "notifier errors above 5 % of invocations over 5 minutes.",
            "AWSAccountId": "123456789012",
            "NewStateValue": "ALARM",
            "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [7.5 (30/11/26 10:00:00)] was greater than the threshold (5.0).",
            "StateChangeTime": "2026-11-30T10:05:32.198+0000",
            "Region": "China (Ningxia)",
            "AlarmArn": "arn:aws-cn:cloudwatch:cn-northwest-1:123456789012:alarm:media-suite-prod-notifier-error-rate",
            "OldStateValue": "OK",
            "Trigger": {
                "MetricName": "Errors", "Namespace": "AWS/Lambda", "StatisticType": "Statistic",
                "Statistic": "SUM", "Unit": null,
                "Dimensions": [{"value": "media-suite-prod-notifier", "name": "FunctionName"}],
                "Period": 300, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 5.0, "TreatMissingData": "notBreaching", "EvaluateLowSampleCountPercentile": ""
            }
        })
    }

    #[test]
    fn a_single_metric_alarm_becomes_a_critical_alarm_event() {
        let e = alarm_envelope(single_metric()).unwrap();
        assert_eq!(e.event_type, "alarm.state_changed");
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.time, "2026-11-30T10:05:32.198Z");
        let p: AlarmStateChanged = e.payload().unwrap();
        assert_eq!(
            (p.state, p.previous_state),
            (AlarmState::Alarm, AlarmState::Ok)
        );
        let AlarmCondition::Metric {
            metric,
            statistic,
            threshold,
            comparison,
            ..
        } = p.condition
        else {
            panic!("a single metric")
        };
        assert_eq!(
            (metric.namespace.as_str(), metric.name.as_str()),
            ("AWS/Lambda", "Errors")
        );
        assert_eq!(
            metric.dimensions["FunctionName"],
            "media-suite-prod-notifier"
        );
        assert_eq!(
            (statistic.as_deref(), threshold, comparison.as_str()),
            (Some("SUM"), 5.0, "GreaterThanThreshold")
        );
        assert_eq!(
            alarm_envelope(single_metric()).unwrap().id,
            e.id,
            "same transition, same id"
        );
        shared::testkit::contract::check(&[e]);
    }

    #[test]
    fn an_ok_transition_is_info_and_a_distinct_event() {
        let mut ok = single_metric();
        ok["NewStateValue"] = json!("OK");
        ok["OldStateValue"] = json!("ALARM");
        ok["StateChangeTime"] = json!("2026-11-30T10:20:32.198+0000");
        let e = alarm_envelope(ok).unwrap();
        assert_eq!(e.severity, Severity::Info);
        assert_ne!(e.id, alarm_envelope(single_metric()).unwrap().id);
    }

    #[test]
    fn notifications_without_a_state_or_a_condition_are_refused_with_a_reason() {
        let mut v = single_metric();
        v.as_object_mut().unwrap().remove("Trigger");
        assert!(alarm_envelope(v)
            .unwrap_err()
            .contains("neither `Trigger` nor `AlarmRule`"));
        let mut v = single_metric();
        v["NewStateValue"] = json!("ON_FIRE");
        assert!(alarm_envelope(v)
            .unwrap_err()
            .contains("not a CloudWatch alarm notification"));
        let mut v = single_metric();
        v["StateChangeTime"] = json!("yesterday");
        assert!(alarm_envelope(v).unwrap_err().contains("is not a time"));
    }
}
