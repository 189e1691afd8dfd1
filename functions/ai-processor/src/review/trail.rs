//! The audit trail of decisions in the analysis document, and what a new decision makes of
//! the document as it stands: recorded, already recorded, or refused (and why).

use serde::{Deserialize, Serialize};
use shared::events::contracts::review::Decision;
use time::OffsetDateTime;

use super::decision::{verdict_of, ReviewDecision};
use crate::analysis::{AnalysisDocument, PartState};
use crate::model::{ObjectInfo, Verdict};

/// One decision in the document's audit trail (`reviews`, oldest first). Entries are never
/// changed afterwards, except `announced` once `media.reviewed` is published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEntry {
    /// 1 for the first decision on this upload version, then counting up.
    pub seq: u32,
    pub decision: Decision,
    /// Who decided, as the input says.
    pub reviewer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The IAM principal that signed the request (function URL); absent for direct
    /// invocations, which Lambda does not attribute (CloudTrail data events do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// RFC 3339 UTC.
    pub decided_at: String,
    /// The verdict before: `review`, or an earlier decision's.
    pub from: Option<Verdict>,
    pub to: Verdict,
    /// This decision replaced an earlier, different one.
    pub changed: bool,
    /// `media.reviewed` of this entry was published.
    #[serde(default)]
    pub announced: bool,
}

/// What a decision makes of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    /// A new entry to append (and the verdict it sets).
    Record(ReviewEntry),
    /// The upload's verdict is already this decision; the entry that made it.
    AlreadyRecorded(ReviewEntry),
}

/// Why a decision is not recorded; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The input cannot be right for this upload (a version missing where one is required).
    Invalid(String),
    /// There is nothing to decide on (never analysed, no such upload or version).
    NotFound(String),
    /// The upload is not in a state that takes this decision (another version, analysis
    /// not finished, a verdict that was never `review`).
    Conflict(String),
}

/// Judges `decision` against the stored document and the upload as it is now (`current`,
/// the version named, else the key's current object).
pub fn evaluate(
    doc: &AnalysisDocument,
    decision: &ReviewDecision,
    current: &ObjectInfo,
    at: OffsetDateTime,
) -> Result<Evaluation, Refusal> {
    let source = &doc.source;
    match (&source.version_id, &decision.upload.version_id) {
        (Some(analysed), None) => {
            return Err(Refusal::Invalid(format!(
                "version_id is required: the bucket keeps versions (the analysed version is {analysed})"
            )))
        }
        (Some(analysed), Some(named)) if analysed != named => {
            return Err(Refusal::Conflict(format!(
                "the decision is about version {named}, but the analysis is of version {analysed}: \
                 the upload changed since; decide on the version that was analysed"
            )))
        }
        (None, Some(named)) => {
            return Err(Refusal::Conflict(format!(
                "the decision names version {named}, but the analysed upload has no version id"
            )))
        }
        _ => {}
    }
    if source.version_id.is_none() && current.etag != source.etag {
        return Err(Refusal::Conflict(
            "the upload was replaced since it was analysed; its new analysis decides first".into(),
        ));
    }
    if let Some(etag) = &decision.etag {
        if *etag != source.etag {
            return Err(Refusal::Conflict(format!(
                "the decision is about the upload with ETag {etag}, but the analysis is of ETag {}: \
                 the upload changed since",
                source.etag
            )));
        }
    }
    let Some(verdict) = doc
        .verdict
        .filter(|_| doc.verdict_part() == PartState::Done)
    else {
        return Err(Refusal::Conflict(match doc.verdict_part() {
            PartState::Pending => {
                "the analysis is not finished; there is no verdict to decide on yet".into()
            }
            PartState::Failed => "the analysis failed, so there is no verdict to decide on".into(),
            _ => format!(
                "a {} upload is not moderated, so there is no verdict to decide on",
                doc.kind.as_str()
            ),
        }));
    };
    let to = verdict_of(decision.decision);
    let last = doc.reviews.last();
    match last {
        None if verdict != Verdict::Review => {
            return Err(Refusal::Conflict(format!(
                "its verdict is {} from moderation, not review; only uploads sent to review take a decision",
                verdict.as_str()
            )))
        }
        Some(entry) if verdict == to => return Ok(Evaluation::AlreadyRecorded(entry.clone())),
        _ => {}
    }
    Ok(Evaluation::Record(ReviewEntry {
        seq: u32::try_from(doc.reviews.len()).unwrap_or(u32::MAX - 1) + 1,
        decision: decision.decision,
        reviewer: decision.reviewer.clone(),
        reason: decision.reason.clone(),
        caller: decision.caller.clone(),
        decided_at: shared::time::rfc3339(at),
        from: Some(verdict),
        to,
        changed: last.is_some(),
        announced: false,
    }))
}

impl AnalysisDocument {
    /// Appends a decision to the audit trail; the upload's verdict becomes the decision's.
    pub fn record_review(&mut self, entry: ReviewEntry) {
        self.verdict = Some(entry.to);
        self.reviews.push(entry);
    }

    /// Notes that `media.reviewed` of these entries was published; false when none changed.
    pub fn mark_announced(&mut self, seqs: &[u32]) -> bool {
        let mut changed = false;
        for entry in self.reviews.iter_mut() {
            if seqs.contains(&entry.seq) && !entry.announced {
                entry.announced = true;
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::SourceObject;
    use crate::model::{Findings, ObjectRef};
    use crate::policy::{FlaggedLabel, Judgement};
    use crate::routing::MediaKind;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-25 12:30 UTC);

    fn reviewed_doc(version: Option<&str>) -> AnalysisDocument {
        let source = SourceObject {
            bucket: "media".into(),
            key: "covers/a.jpg".into(),
            version_id: version.map(Into::into),
            etag: "e1".into(),
            size: 3,
            content_type: Some("image/jpeg".into()),
        };
        let mut doc = AnalysisDocument::new(source, MediaKind::Image, "rekognition", None, AT);
        doc.moderation_pending("job", None);
        let judgement = Judgement {
            verdict: Verdict::Review,
            flagged: vec![FlaggedLabel {
                name: "Suggestive".into(),
                category: "Suggestive".into(),
                confidence: 75.0,
                verdict: Verdict::Review,
            }],
        };
        doc.record_moderation(Findings::default(), judgement, None, AT);
        doc
    }

    fn decision(decision: Decision, version: Option<&str>) -> ReviewDecision {
        ReviewDecision {
            upload: ObjectRef {
                bucket: "media".into(),
                key: "covers/a.jpg".into(),
                version_id: version.map(Into::into),
            },
            etag: None,
            decision,
            reviewer: "mei".into(),
            reason: None,
            caller: None,
        }
    }

    fn current(etag: &str) -> ObjectInfo {
        ObjectInfo {
            etag: etag.into(),
            version_id: None,
            size: 3,
            content_type: None,
        }
    }

    fn record(doc: &mut AnalysisDocument, d: &ReviewDecision) -> ReviewEntry {
        match evaluate(doc, d, &current("e1"), AT).unwrap() {
            Evaluation::Record(entry) => {
                doc.record_review(entry.clone());
                entry
            }
            other => panic!("expected a new entry, got {other:?}"),
        }
    }

    #[test]
    fn a_first_decision_is_recorded_a_repeat_is_not_a_different_one_is_a_change() {
        let mut doc = reviewed_doc(Some("v1"));
        let approve = decision(Decision::Approved, Some("v1"));
        let first = record(&mut doc, &approve);
        assert_eq!(
            (first.seq, first.from, first.to, first.changed),
            (1, Some(Verdict::Review), Verdict::Approved, false)
        );
        assert_eq!(doc.verdict, Some(Verdict::Approved));
        assert_eq!(
            evaluate(&doc, &approve, &current("e1"), AT).unwrap(),
            Evaluation::AlreadyRecorded(first)
        );
        let second = record(&mut doc, &decision(Decision::Rejected, Some("v1")));
        assert_eq!(
            (second.seq, second.from, second.changed),
            (2, Some(Verdict::Approved), true)
        );
        assert_eq!(doc.verdict, Some(Verdict::Rejected));
        assert!(doc.mark_announced(&[1, 2]));
        assert!(!doc.mark_announced(&[1, 2]));
        let round_trip = AnalysisDocument::from_json(&doc.to_json()).unwrap();
        assert_eq!(round_trip.reviews, doc.reviews);
    }

    #[test]
    fn another_version_or_a_replaced_upload_is_refused() {
        let doc = reviewed_doc(Some("v1"));
        let missing = evaluate(
            &doc,
            &decision(Decision::Approved, None),
            &current("e1"),
            AT,
        );
        assert!(
            matches!(missing, Err(Refusal::Invalid(m)) if m.contains("version_id is required"))
        );
        let other = evaluate(
            &doc,
            &decision(Decision::Approved, Some("v2")),
            &current("e1"),
            AT,
        );
        assert!(
            matches!(other, Err(Refusal::Conflict(m)) if m.contains("analysis is of version v1"))
        );
        let unversioned = reviewed_doc(None);
        let replaced = evaluate(
            &unversioned,
            &decision(Decision::Approved, None),
            &current("e2"),
            AT,
        );
        assert!(matches!(replaced, Err(Refusal::Conflict(m)) if m.contains("replaced")));
        let mut with_etag = decision(Decision::Approved, None);
        with_etag.etag = Some("e0".into());
        let stale = evaluate(&unversioned, &with_etag, &current("e1"), AT);
        assert!(matches!(stale, Err(Refusal::Conflict(m)) if m.contains("ETag e0")));
    }

    #[test]
    fn only_finished_review_verdicts_take_a_first_decision() {
        let mut doc = reviewed_doc(None);
        doc.verdict = Some(Verdict::Rejected);
        let refused = evaluate(
            &doc,
            &decision(Decision::Approved, None),
            &current("e1"),
            AT,
        );
        assert!(
            matches!(refused, Err(Refusal::Conflict(m)) if m.contains("rejected from moderation"))
        );
        doc.moderation.state = PartState::Pending;
        let pending = evaluate(
            &doc,
            &decision(Decision::Approved, None),
            &current("e1"),
            AT,
        );
        assert!(matches!(pending, Err(Refusal::Conflict(m)) if m.contains("not finished")));
    }
}
