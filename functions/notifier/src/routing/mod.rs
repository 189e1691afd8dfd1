//! Routing rules: which channels an event goes to.
//!
//! The document (from `NOTIFIER_RULES` or an S3 object) names the channels and the rules:
//!
//! ```json
//! {
//!   "channels": {
//!     "ops-dingtalk": {"kind": "dingtalk", "secret_id": "notifier/ops-dingtalk", "language": "zh",
//!                      "at_mobiles": ["13800000000"]},
//!     "ops-mail": {"kind": "email", "smtp_host": "smtp.example.com", "from": "bot@example.com",
//!                  "to": ["ops@example.com"], "secret_id": "notifier/smtp"}
//!   },
//!   "rules": [
//!     {"types": ["media.*"], "min_severity": "warning", "channels": ["ops-dingtalk"]},
//!     {"types": ["cost.*"], "channels": ["ops-dingtalk", "ops-mail"]}
//!   ]
//! }
//! ```
//!
//! Everything is checked at init and every problem is reported at once.

mod channel_specs;
mod pattern;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use shared::config::ConfigError;
use shared::events::{Envelope, Severity};

pub use crate::language::Language;
pub use channel_specs::*;
pub use pattern::TypePattern;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub types: Vec<TypePattern>,
    pub min_severity: Severity,
    pub channels: Vec<String>,
}

impl Rule {
    fn matches(&self, envelope: &Envelope) -> bool {
        envelope.severity >= self.min_severity
            && self.types.iter().any(|t| t.matches(&envelope.event_type))
    }
}

/// The validated routing document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub channels: Vec<ChannelSpec>,
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    channels: BTreeMap<String, Map<String, Value>>,
    rules: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    types: Vec<String>,
    #[serde(default)]
    min_severity: Option<Severity>,
    channels: Vec<String>,
}

impl Routing {
    /// Parses and validates the document; the error lists every problem found.
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        let raw: RawRouting = serde_json::from_str(json).map_err(|e| {
            ConfigError::single(format!(
                "routing rules are not valid JSON of the form {{\"channels\": {{...}}, \"rules\": [...]}}: {e}"
            ))
        })?;
        let mut problems = Vec::new();
        if raw.channels.is_empty() {
            problems.push("routing rules define no channels".to_string());
        }
        if raw.rules.is_empty() {
            problems.push("routing rules have no rules, so nothing would be delivered".to_string());
        }
        let mut channels = Vec::new();
        for (name, fields) in raw.channels {
            match parse_channel(&name, fields) {
                Ok(spec) => channels.push(spec),
                Err(mut p) => problems.append(&mut p),
            }
        }
        let mut rules = Vec::new();
        for (index, value) in raw.rules.into_iter().enumerate() {
            match parse_rule(index, value, &channels) {
                Ok(rule) => rules.push(rule),
                Err(mut p) => problems.append(&mut p),
            }
        }
        if problems.is_empty() {
            Ok(Self { channels, rules })
        } else {
            Err(ConfigError { problems })
        }
    }

    /// Refuses SNS channels that publish to a topic the notifier itself consumes (`suite-events`,
    /// the alarm topic): each notification would come back as an event and be sent again.
    pub fn check_no_loop(&self, consumed_topics: &[&str]) -> Result<(), ConfigError> {
        let problems: Vec<String> = self
            .channels
            .iter()
            .filter_map(|c| match &c.kind {
                ChannelKind::Sns(s) if consumed_topics.contains(&s.topic_arn.as_str()) => Some(format!(
                    "channel {:?}: topic_arn {:?} is a topic the notifier reads from; its notifications would come back as events and be sent again",
                    c.name, s.topic_arn
                )),
                _ => None,
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The channels an event goes to, each once, in rule order. Empty when no rule matches.
    pub fn route(&self, envelope: &Envelope) -> Vec<&ChannelSpec> {
        let mut out: Vec<&ChannelSpec> = Vec::new();
        for rule in self.rules.iter().filter(|r| r.matches(envelope)) {
            for name in &rule.channels {
                if out.iter().any(|c| &c.name == name) {
                    continue;
                }
                if let Some(spec) = self.channels.iter().find(|c| &c.name == name) {
                    out.push(spec);
                }
            }
        }
        out
    }
}

fn parse_rule(index: usize, value: Value, channels: &[ChannelSpec]) -> Result<Rule, Vec<String>> {
    let at = |what: String| format!("rule {}: {what}", index + 1);
    let raw: RawRule = serde_json::from_value(value).map_err(|e| vec![at(e.to_string())])?;
    let mut problems = Vec::new();
    if raw.types.is_empty() {
        problems.push(at("types is empty (use [\"*\"] for every type)".into()));
    }
    let mut types = Vec::new();
    for t in &raw.types {
        match TypePattern::parse(t) {
            Ok(p) => types.push(p),
            Err(e) => problems.push(at(e)),
        }
    }
    if raw.channels.is_empty() {
        problems.push(at("channels is empty".into()));
    }
    for name in &raw.channels {
        if !channels.iter().any(|c| &c.name == name) {
            problems.push(at(format!(
                "channel {name:?} is not defined under \"channels\""
            )));
        }
    }
    if problems.is_empty() {
        Ok(Rule {
            types,
            min_severity: raw.min_severity.unwrap_or(Severity::Info),
            channels: raw.channels,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event_type: &str, severity: Severity) -> Envelope {
        Envelope::new(
            event_type,
            "test",
            "s3://media/videos/a.mp4",
            severity,
            "",
            Value::Null,
        )
    }

    const DOC: &str = r#"{
        "channels": {
            "ops": {"kind": "dingtalk", "secret_id": "s/ops", "language": "zh"},
            "hook": {"kind": "webhook", "secret_id": "s/hook", "rate_limit_per_minute": 5},
            "mail": {"kind": "email", "smtp_host": "smtp.example.com", "from": "Bot <bot@example.com>", "to": ["ops@example.com"]}
        },
        "rules": [
            {"types": ["media.*"], "min_severity": "warning", "channels": ["ops", "hook"]},
            {"types": ["*.failed", "cost.threshold"], "channels": ["hook", "mail"]}
        ]
    }"#;

    #[test]
    fn routes_by_type_pattern_and_minimum_severity_each_channel_once() {
        let routing = Routing::parse(DOC).unwrap();
        let names = |e: &Envelope| {
            routing
                .route(e)
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&envelope("media.flagged", Severity::Critical)),
            vec!["ops", "hook"]
        );
        assert_eq!(
            names(&envelope("media.analyzed", Severity::Info)),
            Vec::<String>::new()
        );
        assert_eq!(
            names(&envelope("media.failed", Severity::Warning)),
            vec!["ops", "hook", "mail"]
        );
        assert_eq!(
            names(&envelope("media.failed", Severity::Info)),
            vec!["hook", "mail"]
        );
        assert_eq!(
            names(&envelope("cost.threshold", Severity::Info)),
            vec!["hook", "mail"]
        );
        assert_eq!(
            names(&envelope("brand.new", Severity::Critical)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn defaults_and_documented_rate_limits_apply() {
        let routing = Routing::parse(DOC).unwrap();
        let ops = routing.channels.iter().find(|c| c.name == "ops").unwrap();
        assert_eq!(ops.language, Language::Zh);
        assert_eq!(ops.rate_limit_per_minute, Some(20));
        let hook = routing.channels.iter().find(|c| c.name == "hook").unwrap();
        assert_eq!(hook.rate_limit_per_minute, Some(5));
        let ChannelKind::Email(mail) = &routing
            .channels
            .iter()
            .find(|c| c.name == "mail")
            .unwrap()
            .kind
        else {
            panic!("mail is an email channel")
        };
        assert_eq!((mail.security, mail.port()), (SmtpSecurity::Starttls, 587));
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let doc = r#"{
            "channels": {
                "a": {"kind": "pager"},
                "b": {"kind": "slack", "secret_id": "x", "colour": "red"},
                "c": {"kind": "email", "smtp_host": "mail.example.com", "security": "none", "from": "nobody", "to": []},
                "d": {"kind": "sns", "topic_arn": "events"},
                "e": {"kind": "feishu", "secret_id": "f", "language": "fr"}
            },
            "rules": [
                {"types": [], "channels": ["a"]},
                {"types": ["media.*"], "min_severity": "loud", "channels": ["b"]},
                {"types": ["media flagged"], "channels": ["zzz"]}
            ]
        }"#;
        let err = Routing::parse(doc).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                "channel \"a\": kind \"pager\" is not known (use sns, webhook, dingtalk, wecom, feishu, slack or email)",
                "channel \"b\": unknown field `colour`, expected `secret_id`",
                "channel \"c\": security \"none\" sends mail unencrypted and is allowed only for a loopback relay, not \"mail.example.com\"; use \"starttls\" or \"tls\"",
                "channel \"c\": from \"nobody\" is not an e-mail address",
                "channel \"c\": to lists no recipients",
                "channel \"d\": topic_arn \"events\" is not an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)",
                "channel \"e\": language \"fr\" is not supported (use \"zh\" or \"en\")",
                "rule 1: types is empty (use [\"*\"] for every type)",
                "rule 1: channel \"a\" is not defined under \"channels\"",
                "rule 2: unknown variant `loud`, expected one of `info`, `warning`, `critical`",
                "rule 3: type pattern \"media flagged\" contains ' ' (allowed: letters, digits, . _ - and * as wildcard)",
                "rule 3: channel \"zzz\" is not defined under \"channels\"",
            ]
        );
        assert!(Routing::parse("[]")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert_eq!(
            Routing::parse(r#"{"channels": {}, "rules": []}"#)
                .unwrap_err()
                .problems,
            vec![
                "routing rules define no channels",
                "routing rules have no rules, so nothing would be delivered"
            ]
        );
    }

    #[test]
    fn an_sns_channel_on_a_topic_the_notifier_reads_is_refused() {
        let doc = r#"{"channels": {"ops": {"kind": "sns", "topic_arn": "arn:aws-cn:sns:cn-northwest-1:123456789012:alarms"}},
                      "rules": [{"types": ["*"], "channels": ["ops"]}]}"#;
        let routing = Routing::parse(doc).unwrap();
        assert!(routing
            .check_no_loop(&["arn:aws-cn:sns:cn-northwest-1:123456789012:suite-events"])
            .is_ok());
        let err = routing
            .check_no_loop(&["arn:aws-cn:sns:cn-northwest-1:123456789012:alarms"])
            .unwrap_err();
        assert!(
            err.problems[0].starts_with("channel \"ops\": topic_arn"),
            "{err}"
        );
    }
}
