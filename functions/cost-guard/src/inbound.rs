//! What an invocation asks for.
//!
//! - The EventBridge schedule: `{"detail-type": "Scheduled Event", "source": "aws.events", ...}`:
//!   a full run (alerts, and actions as `COST_GUARD_MODE` says).
//! - Manual: `{"action": "report"}`: spend, budgets and levels only; nothing is announced,
//!   recorded or changed.
//! - Manual: `{"action": "dry-run"}`: a full run whose actions are only announced and recorded
//!   as would-be actions, whatever the mode.
//! - Manual: `{"action": "restore"}`: undoes every enforced action still in place, from the
//!   recorded values; does not query Cost Explorer.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invocation {
    Scheduled,
    Report,
    DryRun,
    Restore,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported invocation: {0}")]
pub struct InvocationError(pub String);

const EXPECTED: &str = "expected an EventBridge \"Scheduled Event\" or {\"action\": \"report\" | \"dry-run\" | \"restore\"}";

/// Longest part of a refused value echoed in the error (and so in the logs).
const ECHO_LIMIT: usize = 80;

/// `value` as JSON, cut to [`ECHO_LIMIT`] characters: a huge or hostile event must not
/// become a huge log line. Control characters are escaped by the JSON encoding.
fn echo(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= ECHO_LIMIT {
        return text;
    }
    let cut: String = text.chars().take(ECHO_LIMIT).collect();
    format!("{cut}... ({} bytes)", text.len())
}

impl Invocation {
    pub fn parse(event: &Value) -> Result<Self, InvocationError> {
        let Some(object) = event.as_object() else {
            return Err(InvocationError(format!(
                "the event is not a JSON object; {EXPECTED}"
            )));
        };
        if let Some(detail_type) = object.get("detail-type") {
            if object.contains_key("action") {
                return Err(InvocationError(format!(
                    "an EventBridge event with an `action` is ambiguous; {EXPECTED}"
                )));
            }
            if let Some(version) = object.get("version").filter(|v| v.as_str() != Some("0")) {
                return Err(InvocationError(format!(
                    "EventBridge event version {} is not the known version \"0\"; {EXPECTED}",
                    echo(version)
                )));
            }
            let source = object.get("source");
            return match (detail_type.as_str(), source.and_then(Value::as_str)) {
                (Some("Scheduled Event"), Some("aws.events")) => Ok(Invocation::Scheduled),
                _ => Err(InvocationError(format!(
                    "EventBridge event with detail-type {} from source {} is not a schedule; {EXPECTED}",
                    echo(detail_type),
                    source.map_or_else(|| "(none)".to_string(), echo)
                ))),
            };
        }
        match object.get("action") {
            Some(Value::String(action)) => match action.as_str() {
                "report" => Ok(Invocation::Report),
                "dry-run" => Ok(Invocation::DryRun),
                "restore" => Ok(Invocation::Restore),
                _ => Err(InvocationError(format!(
                    "unknown action {}; {EXPECTED}",
                    echo(&object["action"])
                ))),
            },
            Some(other) => Err(InvocationError(format!(
                "`action` must be a string, got {}; {EXPECTED}",
                echo(other)
            ))),
            None => Err(InvocationError(format!(
                "neither `detail-type` nor `action` present; {EXPECTED}"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Invocation::Scheduled => "scheduled",
            Invocation::Report => "report",
            Invocation::DryRun => "dry-run",
            Invocation::Restore => "restore",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        let schedule = json!({"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}});
        assert_eq!(Invocation::parse(&schedule), Ok(Invocation::Scheduled));
        assert_eq!(
            Invocation::parse(&json!({"action":"restore"})),
            Ok(Invocation::Restore)
        );
        let err = Invocation::parse(&json!({"action":"pause-everything"})).unwrap_err();
        assert!(err
            .to_string()
            .contains("unknown action \"pause-everything\""));
        let other =
            json!({"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2"});
        assert!(Invocation::parse(&other)
            .unwrap_err()
            .to_string()
            .contains("is not a schedule"));
        assert!(Invocation::parse(&json!([1])).is_err());
        assert!(Invocation::parse(&json!({"action": 3})).is_err());
        let ambiguous =
            json!({"detail-type":"Scheduled Event","source":"aws.events","action":"restore"});
        assert!(Invocation::parse(&ambiguous)
            .unwrap_err()
            .to_string()
            .contains("ambiguous"));
        let v1 = json!({"version":"1","detail-type":"Scheduled Event","source":"aws.events"});
        assert!(Invocation::parse(&v1)
            .unwrap_err()
            .to_string()
            .contains("version \"1\""));
    }

    #[test]
    fn a_huge_refused_value_is_echoed_cut() {
        let huge = "x".repeat(1_000_000);
        let err = Invocation::parse(&json!({ "action": huge })).unwrap_err();
        assert!(err.to_string().len() < 300, "{}", err.to_string().len());
        assert!(err.to_string().contains("(1000002 bytes)"), "{err}");
    }
}
