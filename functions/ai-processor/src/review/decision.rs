//! A decision input, checked: which upload, which version, what was decided, by whom, why.
//! Nothing is read or written before an input passes these checks.

use serde::{Deserialize, Serialize};
use shared::events::contracts::review::Decision;

use crate::inbound::shown;
use crate::model::{ObjectRef, Verdict};
use crate::routing;

/// The most characters `reviewer` may have.
pub const MAX_REVIEWER_CHARS: usize = 128;
/// The most characters `reason` may have.
pub const MAX_REASON_CHARS: usize = 1000;
/// What the decision inputs shown to moderators hold in place of a name.
pub const REVIEWER_PLACEHOLDER: &str = "<your name>";

/// The decision input as sent (`{"review": {...}}` of a direct invocation or a function URL
/// request body). Every field is read as given; [`DecisionInput::check`] judges them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub bucket: String,
    pub key: String,
    /// Required when the bucket keeps versions (the analysed upload has a version id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Optional for an unversioned bucket: the ETag of the upload the moderator looked at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `approved` or `rejected`.
    pub decision: String,
    #[serde(default)]
    pub reviewer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A decision input that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDecision {
    /// The upload (with the version the decision is about, when given).
    pub upload: ObjectRef,
    pub etag: Option<String>,
    pub decision: Decision,
    pub reviewer: String,
    pub reason: Option<String>,
    /// The IAM principal that signed the request, when the function URL carried it.
    pub caller: Option<String>,
}

/// The verdict a decision gives the upload.
pub fn verdict_of(decision: Decision) -> Verdict {
    match decision {
        Decision::Approved => Verdict::Approved,
        Decision::Rejected => Verdict::Rejected,
    }
}

impl DecisionInput {
    /// Checks every field; all problems are listed together.
    pub fn check(
        self,
        media_bucket: &str,
        caller: Option<String>,
    ) -> Result<ReviewDecision, String> {
        let mut problems = Vec::new();
        if self.bucket != media_bucket {
            problems.push(format!(
                "bucket {} is not the media bucket {media_bucket}",
                shown(&self.bucket)
            ));
        }
        if let Err(reason) = routing::upload_area(&self.key) {
            problems.push(format!("key: {reason}"));
        }
        let version_id = optional_text("version_id", self.version_id, 1024, &mut problems);
        let etag = optional_text("etag", self.etag, 1024, &mut problems)
            .map(|e| e.trim_matches('"').to_string());
        let decision = match self.decision.as_str() {
            "approved" => Some(Decision::Approved),
            "rejected" => Some(Decision::Rejected),
            other => {
                problems.push(format!(
                    "decision {} is not a decision: use \"approved\" or \"rejected\"",
                    shown(other)
                ));
                None
            }
        };
        let reviewer = match self.reviewer.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push("reviewer is missing: say who decided".to_string());
                String::new()
            }
            Some(REVIEWER_PLACEHOLDER) => {
                problems.push(format!(
                    "reviewer is still the placeholder {REVIEWER_PLACEHOLDER}: put your name there"
                ));
                String::new()
            }
            Some(name) => {
                text_problems("reviewer", name, MAX_REVIEWER_CHARS, &mut problems);
                name.to_string()
            }
        };
        let reason = optional_text("reason", self.reason, MAX_REASON_CHARS, &mut problems);
        match decision {
            Some(decision) if problems.is_empty() => Ok(ReviewDecision {
                upload: ObjectRef {
                    bucket: self.bucket,
                    key: self.key,
                    version_id,
                },
                etag,
                decision,
                reviewer,
                reason,
                caller,
            }),
            _ => Err(problems.join("; ")),
        }
    }
}

/// A trimmed optional field, `None` when empty; problems noted.
fn optional_text(
    field: &str,
    value: Option<String>,
    max_chars: usize,
    problems: &mut Vec<String>,
) -> Option<String> {
    let value = value?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return None;
    }
    text_problems(field, trimmed, max_chars, problems);
    Some(trimmed.to_string())
}

fn text_problems(field: &str, value: &str, max_chars: usize, problems: &mut Vec<String>) {
    let chars = value.chars().count();
    if chars > max_chars {
        problems.push(format!(
            "{field} has {chars} characters; at most {max_chars} are kept"
        ));
    }
    if value.chars().any(char::is_control) {
        problems.push(format!(
            "{field} has control characters (line breaks, tabs, ...); write it on one line"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> DecisionInput {
        DecisionInput {
            bucket: "media".into(),
            key: "videos/a.mp4".into(),
            version_id: Some("v1".into()),
            etag: None,
            decision: "approved".into(),
            reviewer: Some(" mei ".into()),
            reason: Some("fine on a second look".into()),
        }
    }

    #[test]
    fn a_complete_input_passes_trimmed() {
        let checked = input().check("media", None).unwrap();
        assert_eq!(checked.decision, Decision::Approved);
        assert_eq!(checked.reviewer, "mei");
        assert_eq!(checked.upload.version_id.as_deref(), Some("v1"));
        assert_eq!(verdict_of(checked.decision), Verdict::Approved);
    }

    #[test]
    fn every_problem_is_named_together() {
        let bad = DecisionInput {
            bucket: "other".into(),
            key: "analysis/videos/a.mp4.json".into(),
            decision: "approve".into(),
            reviewer: None,
            reason: Some("x".repeat(MAX_REASON_CHARS + 1)),
            ..input()
        };
        let problems = bad.check("media", None).unwrap_err();
        for expected in [
            "bucket \"other\" is not the media bucket media",
            "is under a results prefix",
            "decision \"approve\" is not a decision",
            "reviewer is missing",
            "reason has 1001 characters; at most 1000",
        ] {
            assert!(problems.contains(expected), "{expected} not in {problems}");
        }
    }

    #[test]
    fn placeholders_control_characters_and_long_names_are_refused() {
        let placeholder = DecisionInput {
            reviewer: Some(REVIEWER_PLACEHOLDER.into()),
            ..input()
        };
        assert!(placeholder
            .check("media", None)
            .unwrap_err()
            .contains("placeholder"));
        let control = DecisionInput {
            reviewer: Some("mei\u{1b}[31m".into()),
            reason: Some("line one\nline two".into()),
            ..input()
        };
        let problems = control.check("media", None).unwrap_err();
        assert!(problems.contains("reviewer has control characters"));
        assert!(problems.contains("reason has control characters"));
        let long = DecisionInput {
            reviewer: Some("名".repeat(MAX_REVIEWER_CHARS + 1)),
            ..input()
        };
        assert!(long
            .check("media", None)
            .unwrap_err()
            .contains("129 characters"));
        let outside = DecisionInput {
            key: "uploads/x.jpg".into(),
            ..input()
        };
        assert!(outside
            .check("media", None)
            .unwrap_err()
            .contains("not under an upload prefix"));
    }

    #[test]
    fn empty_optional_fields_are_absent() {
        let checked = DecisionInput {
            version_id: Some("".into()),
            reason: Some("  ".into()),
            etag: Some("\"abc\"".into()),
            ..input()
        }
        .check("media", Some("arn:aws:iam::1:user/mei".into()))
        .unwrap();
        assert_eq!(checked.upload.version_id, None);
        assert_eq!(checked.reason, None);
        assert_eq!(checked.etag.as_deref(), Some("abc"));
        assert_eq!(checked.caller.as_deref(), Some("arn:aws:iam::1:user/mei"));
    }
}
