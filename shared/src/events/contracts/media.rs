//! Payloads of the `media` events (see [`super`]), produced by ai-processor for every upload
//! of the media bucket: analysed, flagged, failed, skipped and deleted.
//!
//! Every payload names the upload by `bucket`, `key` and `version_id` (`null` when the bucket
//! is not versioned). Sizes are bytes; times are RFC 3339 UTC; confidences are percent.

use serde::{Deserialize, Serialize};

use crate::events::EventPayload;

/// What kind of media an upload was analysed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    /// PDFs and scans under `documents/`: text extraction (OCR).
    Document,
}

impl MediaKind {
    /// The name used in documents, events and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
        }
    }
}

/// The moderation outcome, strictest last (so `max` is the strictest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approved,
    Review,
    Rejected,
}

impl Verdict {
    /// The name used in tags, documents and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "approved",
            Verdict::Review => "review",
            Verdict::Rejected => "rejected",
        }
    }
}

/// A moderation label that counted against the upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlaggedLabel {
    /// The label as the moderation service named it (`Graphic Violence`).
    pub name: String,
    /// The top of its parent chain (`Violence`): what statistics count by.
    pub category: String,
    /// Percent, 0-100.
    pub confidence: f32,
    /// What this label alone would make of the upload (`review` or `rejected`).
    pub verdict: Verdict,
}

/// Where a part of the analysis stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartState {
    NotApplicable,
    Pending,
    Done,
    Failed,
}

/// `media.analyzed`: the analysis of an upload is complete (no part waits for a job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaAnalyzed {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub etag: String,
    pub kind: MediaKind,
    /// The upload prefix (`covers/`, `videos/`, ...).
    pub prefix: Option<String>,
    pub size_bytes: u64,
    /// `null` for audio (not moderated) and when moderation failed.
    pub verdict: Option<Verdict>,
    /// `rekognition` or `sagemaker`.
    pub backend: String,
    /// The moderation labels that made the verdict, strictest first.
    pub labels: Vec<FlaggedLabel>,
    pub uploaded_at: Option<String>,
    pub analyzed_at: String,
    /// Upload to complete analysis.
    pub latency_ms: Option<u64>,
    pub moderation_state: PartState,
    pub transcript_state: PartState,
    /// `s3://` URI of the transcript, for video and audio.
    pub transcript: Option<String>,
    /// `s3://` URI of the analysis document.
    pub analysis_document: String,
}

impl EventPayload for MediaAnalyzed {
    const TYPE: &'static str = "media.analyzed";
}

/// `media.flagged`: the verdict is `review` (severity warning) or `rejected` (critical), sent as
/// soon as moderation is done, without waiting for a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaFlagged {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub kind: MediaKind,
    pub verdict: Verdict,
    pub labels: Vec<FlaggedLabel>,
    pub backend: String,
    pub analysis_document: String,
}

impl EventPayload for MediaFlagged {
    const TYPE: &'static str = "media.flagged";
}

/// `media.failed`: a part of the analysis failed for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaFailed {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub kind: MediaKind,
    /// `moderation`, `transcription` or `text`.
    pub stage: String,
    pub reason: String,
    pub analysis_document: String,
}

impl EventPayload for MediaFailed {
    const TYPE: &'static str = "media.failed";
}

/// `media.skipped`: an upload that is not analysed (not a supported media type); it is
/// tagged `moderation-verdict=skipped`, so it is never served as approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaSkipped {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub etag: String,
    pub prefix: Option<String>,
    pub size_bytes: u64,
    pub content_type: Option<String>,
    /// A short code (`not-media`), also the object's `moderation-skip-reason` tag.
    pub reason_code: String,
    /// The reason in words.
    pub reason: String,
}

impl EventPayload for MediaSkipped {
    const TYPE: &'static str = "media.skipped";
}

/// `media.deleted`: an upload was deleted and what the suite derived from it is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaDeleted {
    pub bucket: String,
    pub key: String,
    /// The version the deletion named, if any.
    pub version_id: Option<String>,
    /// A delete marker was created (versioned bucket, delete without a version id).
    pub delete_marker: bool,
    pub kind: Option<MediaKind>,
    pub prefix: Option<String>,
    /// How many derived objects (document, transcript, subtitles, text) were removed.
    pub removed_objects: u32,
    pub deleted_at: String,
}

impl EventPayload for MediaDeleted {
    const TYPE: &'static str = "media.deleted";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_wire_names() {
        assert_eq!(serde_json::to_value(MediaKind::Video).unwrap(), "video");
        assert_eq!(serde_json::to_value(Verdict::Review).unwrap(), "review");
        assert_eq!(
            serde_json::to_value(PartState::NotApplicable).unwrap(),
            "not_applicable"
        );
        assert!(Verdict::Rejected > Verdict::Review && Verdict::Review > Verdict::Approved);
        assert_eq!(MediaKind::Document.as_str(), "document");
    }
}
