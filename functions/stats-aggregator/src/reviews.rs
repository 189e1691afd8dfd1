//! Reviews: uploads sent to a person and the decisions recorded on them (issue 20).
//!
//! - a request is a `media.flagged` event with verdict `review`;
//! - a decision is a `media.reviewed` event (`shared::events::contracts::review::MediaReviewed`):
//!   `decision` `approved` or `rejected`, `changed` when it replaced an earlier, different
//!   decision, `wait_ms` from upload to decision.
//!
//! A first decision (not a change) takes an upload out of the queue, so the wait is measured
//! on first decisions only: a change made days later says nothing about how long uploads wait.
//! What is still pending at the end of a day needs the previous day's figure, so it is set on
//! daily documents only ([`crate::rollup::write_daily`]).

use serde::{Deserialize, Serialize};
use shared::events::contracts::media::MediaDeleted;
use shared::events::contracts::review::MediaReviewed;
use shared::events::contracts::stats::ReviewFigures;
use shared::events::{types, EventPayload};

use crate::event_line::EventLine;
use crate::latency::LatencySketch;
use crate::merge::Merge;

/// The verdict of a `media.flagged` event that asks a person to decide.
const REVIEW_VERDICT: &str = "review";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewCounts {
    /// `media.flagged` events with verdict `review`.
    pub requested: u64,
    /// Decisions `approved` (first decisions and changes).
    pub approved: u64,
    /// Decisions `rejected` (first decisions and changes).
    pub rejected: u64,
    /// Decisions that replaced an earlier, different decision.
    pub changed: u64,
    /// Decisions that were the first on their upload.
    pub first_decisions: u64,
    /// Uploads deleted while their verdict was `review` (`media.deleted`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub withdrawn: u64,
    /// Upload to first decision.
    pub wait_ms: LatencySketch,
    /// Daily documents: uploads still waiting for a decision at the end of the day, when the
    /// previous day's document exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
}

impl ReviewCounts {
    /// Adds one (already de-duplicated) event; events other than requests and decisions are
    /// ignored, and so is a decision other than `approved` / `rejected`.
    pub fn record(&mut self, event: &EventLine<'_>) {
        let data = &event.data;
        if event.event_type == types::MEDIA_FLAGGED || event.event_type == MediaDeleted::TYPE {
            if data.verdict.as_deref() == Some(REVIEW_VERDICT) {
                if event.event_type == types::MEDIA_FLAGGED {
                    self.requested += 1;
                } else {
                    self.withdrawn += 1;
                }
            }
            return;
        }
        if event.event_type != MediaReviewed::TYPE {
            return;
        }
        match data.decision.as_deref() {
            Some("approved") => self.approved += 1,
            Some("rejected") => self.rejected += 1,
            other => {
                tracing::debug!(decision = ?other, "a media.reviewed event without a known decision is not counted as one");
                return;
            }
        }
        if data.changed.as_deref() == Some("true") {
            self.changed += 1;
            return;
        }
        self.first_decisions += 1;
        if let Some(ms) = data
            .wait_ms
            .0
            .filter(|v| *v >= 0.0 && *v < 1e18)
            .map(|v| v.round() as u64)
        {
            self.wait_ms.add(ms);
        }
    }

    /// Pending at the end of a day: the previous day's pending plus the day's requests less its
    /// first decisions and the uploads deleted undecided (never below zero: decisions on uploads
    /// requested before reviews were counted). `None` without a previous figure.
    pub fn pending_after(&self, previous_pending: Option<u64>) -> Option<u64> {
        previous_pending
            .map(|p| (p + self.requested).saturating_sub(self.first_decisions + self.withdrawn))
    }

    /// The figures of the `stats.digest` contract.
    pub fn figures(&self) -> ReviewFigures {
        ReviewFigures {
            requested: self.requested,
            approved: self.approved,
            rejected: self.rejected,
            changed: self.changed,
            withdrawn: self.withdrawn,
            pending: self.pending,
            wait_ms_p50: self.wait_ms.quantile(0.5),
            wait_ms_p95: self.wait_ms.quantile(0.95),
        }
    }
}

/// Counts add up; `pending` is a daily figure and does not merge.
impl Merge for ReviewCounts {
    fn merge(&mut self, o: &Self) {
        self.requested += o.requested;
        self.approved += o.approved;
        self.rejected += o.rejected;
        self.changed += o.changed;
        self.first_decisions += o.first_decisions;
        self.withdrawn += o.withdrawn;
        self.wait_ms.merge(&o.wait_ms);
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_line::parse_line;

    fn counts(lines: &[&str]) -> ReviewCounts {
        let mut c = ReviewCounts::default();
        for line in lines {
            c.record(&parse_line(line.as_bytes()).unwrap());
        }
        c
    }

    #[test]
    fn requests_decisions_changes_and_waits_are_counted() {
        let c = counts(&[
            r#"{"version":1,"id":"f1","type":"media.flagged","data":{"verdict":"review"}}"#,
            r#"{"version":1,"id":"f2","type":"media.flagged","data":{"verdict":"rejected"}}"#,
            r#"{"version":1,"id":"f3","type":"media.flagged","data":{"verdict":"review"}}"#,
            r#"{"version":1,"id":"r1","type":"media.reviewed","data":{"decision":"approved","changed":false,"wait_ms":60000}}"#,
            r#"{"version":1,"id":"r2","type":"media.reviewed","data":{"decision":"rejected","changed":false,"wait_ms":120000}}"#,
            r#"{"version":1,"id":"r3","type":"media.reviewed","data":{"decision":"approved","changed":true,"wait_ms":999999999}}"#,
            r#"{"version":1,"id":"r4","type":"media.reviewed","data":{"decision":"maybe"}}"#,
            r#"{"version":1,"id":"a1","type":"media.analyzed","data":{"verdict":"review"}}"#,
        ]);
        assert_eq!(
            (
                c.requested,
                c.approved,
                c.rejected,
                c.changed,
                c.first_decisions
            ),
            (2, 2, 1, 1, 2)
        );
        // The change's wait is not a wait.
        assert_eq!(c.wait_ms.count(), 2);
        let figures = c.figures();
        let (p50, p95) = (figures.wait_ms_p50.unwrap(), figures.wait_ms_p95.unwrap());
        // Within the sketch's 1 % of one of the two waits.
        assert!(
            [60_000.0, 120_000.0]
                .iter()
                .any(|w| (p50 - w).abs() <= w * 0.01),
            "{p50}"
        );
        assert!(p95 >= p50 && p95 <= 120_000.0 * 1.01, "{p95}");
        assert_eq!(figures.pending, None);
        assert_eq!(c.pending_after(Some(5)), Some(5));
        assert_eq!(c.pending_after(Some(0)), Some(0));
        assert_eq!(counts(&[]).pending_after(Some(3)), Some(3));
        assert_eq!(c.pending_after(None), None);
    }

    #[test]
    fn an_upload_deleted_while_under_review_leaves_the_queue_undecided() {
        let c = counts(&[
            r#"{"version":1,"id":"f1","type":"media.flagged","data":{"verdict":"review"}}"#,
            r#"{"version":1,"id":"f2","type":"media.flagged","data":{"verdict":"review"}}"#,
            r#"{"version":1,"id":"d1","type":"media.deleted","data":{"verdict":"review"}}"#,
            r#"{"version":1,"id":"d2","type":"media.deleted","data":{"verdict":"approved"}}"#,
            r#"{"version":1,"id":"d3","type":"media.deleted","data":{}}"#,
        ]);
        assert_eq!((c.requested, c.withdrawn, c.first_decisions), (2, 1, 0));
        assert_eq!(c.pending_after(Some(0)), Some(1));
        assert_eq!(c.figures().withdrawn, 1);
        // Not written while zero, so documents without deletions stay as they were.
        let json = serde_json::to_value(counts(&[])).unwrap();
        assert!(json.get("withdrawn").is_none());
    }

    #[test]
    fn counts_merge_and_read_back() {
        let mut a = counts(&[
            r#"{"version":1,"id":"r1","type":"media.reviewed","data":{"decision":"approved","changed":false,"wait_ms":1000}}"#,
        ]);
        let b = counts(&[
            r#"{"version":1,"id":"f1","type":"media.flagged","data":{"verdict":"review"}}"#,
        ]);
        a.merge(&b);
        assert_eq!((a.requested, a.approved, a.wait_ms.count()), (1, 1, 1));
        let json = serde_json::to_value(&a).unwrap();
        assert!(json.get("pending").is_none());
        let back: ReviewCounts = serde_json::from_value(json).unwrap();
        assert_eq!(back, a);
    }
}
