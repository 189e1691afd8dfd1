//! Review decisions: a person's decision (`approved` / `rejected`) on an upload whose verdict
//! was `review`, recorded in the analysis document's audit trail, on the upload's verdict tag
//! and as `media.reviewed`; and the aid a `media.flagged` event gives the moderator.
//!
//! This module is the domain (no AWS types): [`decision`] checks an input, [`trail`] judges it
//! against the stored document, [`aid`] builds the decision inputs shown to moderators,
//! [`http`] answers a function URL request. The effects run in `processor::review`.

pub mod aid;
pub mod decision;
pub mod http;
pub mod trail;

use serde::Serialize;
use shared::batch::RecordError;
use shared::events::contracts::review::Decision;

pub use aid::SignedLink;
pub use decision::{DecisionInput, ReviewDecision};
pub use trail::{Evaluation, Refusal, ReviewEntry};

use crate::model::Verdict;

/// Why a decision was not recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReviewError {
    /// The input is wrong (HTTP 400); nothing was read or changed.
    #[error("invalid decision: {0}")]
    Invalid(String),
    /// Nothing to decide on (HTTP 404): the upload or its analysis does not exist.
    #[error("decision refused: {0}")]
    NotFound(String),
    /// The upload is not in a state that takes this decision (HTTP 409); nothing changed.
    #[error("decision refused: {0}")]
    Conflict(String),
    /// Reading or writing failed; retryable ones may be sent again (duplicates have one effect).
    #[error("{0}")]
    Failed(RecordError),
}

impl From<Refusal> for ReviewError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid(m) => ReviewError::Invalid(m),
            Refusal::NotFound(m) => ReviewError::NotFound(m),
            Refusal::Conflict(m) => ReviewError::Conflict(m),
        }
    }
}

impl From<RecordError> for ReviewError {
    fn from(e: RecordError) -> Self {
        ReviewError::Failed(e)
    }
}

impl From<shared::results::StoreError> for ReviewError {
    fn from(e: shared::results::StoreError) -> Self {
        ReviewError::Failed(e.into())
    }
}

/// Whether the decision was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Recorded now: audit entry, verdict tag, `media.reviewed`.
    Recorded,
    /// The upload's verdict is already this decision: nothing new was written or announced.
    AlreadyRecorded,
}

/// The answer to a decision (the invocation's result, or the function URL's JSON body).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionAnswer {
    pub outcome: Outcome,
    /// In words, for the person who sent it.
    pub message: String,
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    /// The upload's verdict now.
    pub verdict: Verdict,
    /// The verdict before the decision that set it.
    pub previous_verdict: Option<Verdict>,
    /// That decision replaced an earlier, different one.
    pub changed: bool,
    /// Who made that decision, and when (RFC 3339 UTC).
    pub reviewer: String,
    pub decided_at: String,
}

impl DecisionAnswer {
    pub fn new(outcome: Outcome, decision: &ReviewDecision, entry: &ReviewEntry) -> Self {
        let what = match entry.decision {
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
        };
        let message = match (outcome, entry.changed) {
            (Outcome::Recorded, false) => format!("recorded: the upload is {what}"),
            (Outcome::Recorded, true) => format!(
                "recorded as a change: the upload is {what} (it was {})",
                entry.from.map_or("unknown", Verdict::as_str)
            ),
            (Outcome::AlreadyRecorded, _) => format!(
                "already recorded: the upload was {what} by {} at {}; nothing changed",
                entry.reviewer, entry.decided_at
            ),
        };
        Self {
            outcome,
            message,
            bucket: decision.upload.bucket.clone(),
            key: decision.upload.key.clone(),
            version_id: decision.upload.version_id.clone(),
            verdict: entry.to,
            previous_verdict: entry.from,
            changed: entry.changed,
            reviewer: entry.reviewer.clone(),
            decided_at: entry.decided_at.clone(),
        }
    }
}
