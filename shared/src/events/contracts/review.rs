//! Payloads of the `review` events (see [`super`]), produced by ai-processor when a person
//! records a decision on an upload whose verdict was `review`.

use serde::{Deserialize, Serialize};

use crate::events::contracts::media::Verdict;
use crate::events::EventPayload;

/// A moderator's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The upload is acceptable; its verdict becomes `approved`.
    Approved,
    /// The upload is not acceptable; its verdict becomes `rejected`.
    Rejected,
}

/// `media.reviewed`: a decision was recorded on the upload's tags and analysis document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaReviewed {
    /// Bucket the upload is in.
    pub bucket: String,
    /// Object key of the upload (its path in the bucket).
    pub key: String,
    /// The upload's object version; `None` when the bucket is not versioned.
    pub version_id: Option<String>,
    /// What the moderator decided.
    pub decision: Decision,
    /// Who decided (an id or name the caller gives).
    pub reviewer: String,
    /// Why, in the reviewer's words, when given.
    pub reason: Option<String>,
    /// The verdict before this decision (`review`, or an earlier decision's).
    pub previous_verdict: Option<Verdict>,
    /// True when this decision replaced an earlier, different decision.
    pub changed: bool,
    /// When the object was uploaded (RFC 3339 UTC), when known.
    pub uploaded_at: Option<String>,
    /// When the decision was recorded (RFC 3339 UTC).
    pub decided_at: String,
    /// Upload to decision.
    pub wait_ms: Option<u64>,
    /// `s3://` URI of the analysis document.
    pub analysis_document: String,
}

impl EventPayload for MediaReviewed {
    const TYPE: &'static str = "media.reviewed";
}
