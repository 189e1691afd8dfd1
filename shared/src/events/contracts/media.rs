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
    /// A still image: moderated.
    Image,
    /// A video: moderated and transcribed.
    Video,
    /// An audio file: transcribed, not moderated.
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
    /// The upload is acceptable.
    Approved,
    /// A person should decide (see the `review` events).
    Review,
    /// The upload is not acceptable.
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
    /// The part does not apply to this kind of upload.
    NotApplicable,
    /// Started; waits for its job to complete.
    Pending,
    /// Completed successfully.
    Done,
    /// Failed for good (see `media.failed`).
    Failed,
}

/// `media.analyzed`: the analysis of an upload is complete (no part waits for a job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaAnalyzed {
    /// Bucket the upload is in.
    pub bucket: String,
    /// Object key of the upload (its path in the bucket).
    pub key: String,
    /// The upload's object version; `None` when the bucket is not versioned.
    pub version_id: Option<String>,
    /// ETag of the uploaded object.
    pub etag: String,
    /// What the upload was analysed as.
    pub kind: MediaKind,
    /// The upload prefix (`covers/`, `videos/`, ...).
    pub prefix: Option<String>,
    /// Size of the upload in bytes.
    pub size_bytes: u64,
    /// `null` for audio (not moderated) and when moderation failed.
    pub verdict: Option<Verdict>,
    /// `rekognition` or `sagemaker`.
    pub backend: String,
    /// The moderation labels that made the verdict, strictest first.
    pub labels: Vec<FlaggedLabel>,
    /// When the object was uploaded (RFC 3339 UTC), when known.
    pub uploaded_at: Option<String>,
    /// When the analysis completed (RFC 3339 UTC).
    pub analyzed_at: String,
    /// Upload to complete analysis.
    pub latency_ms: Option<u64>,
    /// Where the moderation part stands.
    pub moderation_state: PartState,
    /// Where the transcription part stands.
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
    /// Bucket the upload is in.
    pub bucket: String,
    /// Object key of the upload (its path in the bucket).
    pub key: String,
    /// The upload's object version; `None` when the bucket is not versioned.
    pub version_id: Option<String>,
    /// What the upload was analysed as.
    pub kind: MediaKind,
    /// `review` or `rejected`.
    pub verdict: Verdict,
    /// The moderation labels that made the verdict, strictest first.
    pub labels: Vec<FlaggedLabel>,
    /// `rekognition` or `sagemaker`.
    pub backend: String,
    /// `s3://` URI of the analysis document.
    pub analysis_document: String,
    /// What the moderator needs to decide a `review` verdict; absent for `rejected` and from
    /// producers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewAid>,
}

/// How a moderator looks at an upload under review and records the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewAid {
    /// Presigned HTTPS link to the upload (this version), valid until `link_expires_at`;
    /// `None` when no link could be signed.
    pub link: Option<String>,
    /// When `link` stops working (RFC 3339 UTC).
    pub link_expires_at: Option<String>,
    /// The name of the function that records decisions (ai-processor's deployed name).
    pub function_name: String,
    /// The decision input to send to it for approval, as JSON (replace `approved` with
    /// `rejected` to reject); the notifier shows it as the command to run.
    pub approve_input: String,
    /// The same input for rejection.
    pub reject_input: String,
}

impl EventPayload for MediaFlagged {
    const TYPE: &'static str = "media.flagged";
}

/// `media.failed`: a part of the analysis failed for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaFailed {
    /// Bucket the upload is in.
    pub bucket: String,
    /// Object key of the upload (its path in the bucket).
    pub key: String,
    /// The upload's object version; `None` when the bucket is not versioned.
    pub version_id: Option<String>,
    /// What the upload was analysed as.
    pub kind: MediaKind,
    /// `moderation`, `transcription` or `text`.
    pub stage: String,
    /// What went wrong, in words.
    pub reason: String,
    /// `s3://` URI of the analysis document.
    pub analysis_document: String,
}

impl EventPayload for MediaFailed {
    const TYPE: &'static str = "media.failed";
}

/// `media.skipped`: an upload that is not analysed (not a supported media type); it is
/// tagged `moderation-verdict=skipped`, so it is never served as approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaSkipped {
    /// Bucket the upload is in.
    pub bucket: String,
    /// Object key of the upload (its path in the bucket).
    pub key: String,
    /// The upload's object version; `None` when the bucket is not versioned.
    pub version_id: Option<String>,
    /// ETag of the uploaded object.
    pub etag: String,
    /// The upload prefix (`covers/`, `videos/`, ...), if any.
    pub prefix: Option<String>,
    /// Size of the upload in bytes.
    pub size_bytes: u64,
    /// The object's `Content-Type`, when set.
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
    /// Bucket the upload is in.
    pub bucket: String,
    /// Object key of the upload (its path in the bucket).
    pub key: String,
    /// The version the deletion named, if any.
    pub version_id: Option<String>,
    /// A delete marker was created (versioned bucket, delete without a version id).
    pub delete_marker: bool,
    /// What the upload had been analysed as, when known.
    pub kind: Option<MediaKind>,
    /// The upload prefix (`covers/`, `videos/`, ...), if any.
    pub prefix: Option<String>,
    /// How many derived objects (document, transcript, subtitles, text) were removed.
    pub removed_objects: u32,
    /// When the deletion was handled (RFC 3339 UTC).
    pub deleted_at: String,
    /// The upload's verdict when it was deleted, when known: `review` means it left the
    /// moderators' queue without a decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
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
