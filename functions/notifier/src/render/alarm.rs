//! `alarm.state_changed`: which alarm, what it watches, why it changed, in words.

use std::collections::BTreeMap;

use shared::events::contracts::alarm::{AlarmCondition, AlarmState, AlarmStateChanged, MetricName};

use super::{fact, Fact};
use crate::language::Language;

fn state_name(state: AlarmState, language: Language) -> &'static str {
    language.pick(match state {
        AlarmState::Ok => ("OK", "正常"),
        AlarmState::Alarm => ("ALARM", "告警"),
        AlarmState::InsufficientData => ("INSUFFICIENT_DATA", "数据不足"),
    })
}

/// `GreaterThanThreshold` as `>`; unknown operators as they are.
fn comparison_symbol(operator: &str) -> &str {
    match operator {
        "GreaterThanThreshold" => ">",
        "GreaterThanOrEqualToThreshold" => "≥",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "≤",
        "LessThanLowerOrGreaterThanUpperThreshold" => "outside band",
        "LessThanLowerThreshold" => "< lower band",
        "GreaterThanUpperThreshold" => "> upper band",
        other => other,
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

/// `AWS/Lambda Errors (FunctionName=x)`.
fn metric_text(metric: &MetricName) -> String {
    let dims = |d: &BTreeMap<String, String>| {
        d.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if metric.dimensions.is_empty() {
        format!("{} {}", metric.namespace, metric.name)
    } else {
        format!(
            "{} {} ({})",
            metric.namespace,
            metric.name,
            dims(&metric.dimensions)
        )
    }
}

/// The CloudWatch console page of the alarm, from its ARN (`aws`, `aws-cn` partitions).
fn console_link(alarm: &AlarmStateChanged) -> Option<String> {
    let arn = alarm.alarm_arn.as_deref()?;
    let mut parts = arn.split(':');
    let (_, partition, _, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let host = match partition {
        "aws" => format!("{region}.console.aws.amazon.com"),
        "aws-cn" => format!("{region}.console.amazonaws.cn"),
        _ => return None,
    };
    if !region
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return None;
    }
    Some(format!(
        "https://{host}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        urlencoding::encode(&alarm.alarm_name)
    ))
}

/// Title (without the severity tag), facts and link.
pub fn render(
    alarm: &AlarmStateChanged,
    language: Language,
) -> (String, Vec<Fact>, Option<String>) {
    let what = language.pick(match alarm.state {
        AlarmState::Alarm => ("Alarm firing", "告警触发"),
        AlarmState::Ok => ("Alarm resolved", "告警恢复"),
        AlarmState::InsufficientData => ("Alarm lacks data", "告警数据不足"),
    });
    let colon = language.pick((": ", "："));
    let title = format!("{what}{colon}{}", alarm.alarm_name);
    let mut facts = vec![fact(
        language,
        ("State", "状态"),
        format!(
            "{} → {}",
            state_name(alarm.previous_state, language),
            state_name(alarm.state, language)
        ),
    )];
    if let Some(description) = &alarm.description {
        facts.push(fact(language, ("Description", "说明"), description.clone()));
    }
    match &alarm.condition {
        AlarmCondition::Metric {
            metric,
            statistic,
            period_seconds,
            comparison,
            threshold,
            ..
        } => {
            let mut text = metric_text(metric);
            if let Some(statistic) = statistic {
                text.push_str(&format!(", {statistic}"));
            }
            if let Some(period) = period_seconds {
                text.push_str(&match language {
                    Language::En => format!(" over {period} s"),
                    Language::Zh => format!("，周期 {period} 秒"),
                });
            }
            facts.push(fact(language, ("Metric", "指标"), text));
            facts.push(fact(
                language,
                ("Threshold", "阈值"),
                format!("{} {}", comparison_symbol(comparison), number(*threshold)),
            ));
        }
        AlarmCondition::MetricMath {
            queries,
            comparison,
            threshold,
            ..
        } => {
            if let Some(returned) = queries.iter().find(|q| q.return_data) {
                let name = returned
                    .label
                    .clone()
                    .unwrap_or_else(|| returned.id.clone());
                let value = match (&returned.expression, &returned.metric) {
                    (Some(expression), _) => format!("{name} = {expression}"),
                    (None, Some(metric)) => format!("{name} = {}", metric_text(metric)),
                    (None, None) => name,
                };
                facts.push(fact(language, ("Metric", "指标"), value));
            }
            let inputs: Vec<String> = queries
                .iter()
                .filter(|q| !q.return_data)
                .filter_map(|q| {
                    let metric = q.metric.as_ref()?;
                    let stat = q
                        .statistic
                        .as_deref()
                        .map(|s| format!(" {s}"))
                        .unwrap_or_default();
                    Some(format!("{}: {}{stat}", q.id, metric_text(metric)))
                })
                .collect();
            if !inputs.is_empty() {
                facts.push(fact(language, ("Inputs", "输入指标"), inputs.join("; ")));
            }
            facts.push(fact(
                language,
                ("Threshold", "阈值"),
                format!("{} {}", comparison_symbol(comparison), number(*threshold)),
            ));
        }
        AlarmCondition::Composite {
            rule,
            triggering_children,
        } => {
            facts.push(fact(language, ("Rule", "规则"), rule.clone()));
            if !triggering_children.is_empty() {
                facts.push(fact(
                    language,
                    ("Triggered by", "触发告警"),
                    triggering_children.join(", "),
                ));
            }
        }
    }
    facts.push(fact(language, ("Reason", "原因"), alarm.reason.clone()));
    if let Some(region) = &alarm.region {
        facts.push(fact(language, ("Region", "区域"), region.clone()));
    }
    (title, facts, console_link(alarm))
}
