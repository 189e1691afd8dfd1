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

impl Invocation {
    pub fn parse(event: &Value) -> Result<Self, InvocationError> {
        let Some(object) = event.as_object() else {
            return Err(InvocationError(format!(
                "the event is not a JSON object; {EXPECTED}"
            )));
        };
        if let Some(detail_type) = object.get("detail-type") {
            let source = object.get("source").and_then(Value::as_str);
            return match (detail_type.as_str(), source) {
                (Some("Scheduled Event"), Some("aws.events")) => Ok(Invocation::Scheduled),
                (detail_type, source) => Err(InvocationError(format!(
                    "EventBridge event with detail-type {detail_type:?} from source {source:?} is not a schedule; {EXPECTED}"
                ))),
            };
        }
        match object.get("action") {
            Some(Value::String(action)) => match action.as_str() {
                "report" => Ok(Invocation::Report),
                "dry-run" => Ok(Invocation::DryRun),
                "restore" => Ok(Invocation::Restore),
                other => Err(InvocationError(format!(
                    "unknown action {other:?}; {EXPECTED}"
                ))),
            },
            Some(other) => Err(InvocationError(format!(
                "`action` must be a string, got {other}; {EXPECTED}"
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
    }
}
