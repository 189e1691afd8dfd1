//! Payloads of the `review` events (see [`super`]), produced by ai-processor when a person
//! records a decision on an upload whose verdict was `review`.

use serde::{Deserialize, Serialize};

use crate::events::contracts::media::Verdict;
use crate::events::EventPayload;

/// A moderator's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approved,
    Rejected,
}

/// `media.reviewed`: a decision was recorded on the upload's tags and analysis document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaReviewed {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub decision: Decision,
    /// Who decided (an id or name the caller gives).
    pub reviewer: String,
    pub reason: Option<String>,
    /// The verdict before this decision (`review`, or an earlier decision's).
    pub previous_verdict: Option<Verdict>,
    /// True when this decision replaced an earlier, different decision.
    pub changed: bool,
    pub uploaded_at: Option<String>,
    pub decided_at: String,
    /// Upload to decision.
    pub wait_ms: Option<u64>,
    pub analysis_document: String,
}

impl EventPayload for MediaReviewed {
    const TYPE: &'static str = "media.reviewed";
}
