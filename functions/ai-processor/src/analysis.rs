//! The analysis document: one JSON per upload at `analysis/<media key>.json` in the results
//! bucket. `schema_version` changes only when a field changes meaning or disappears; readers
//! ignore fields they do not know.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{Findings, Label, ModerationLabel, ObjectRef, Verdict};
use crate::policy::{FlaggedLabel, Judgement};
use crate::review::ReviewEntry;
use crate::routing::MediaKind;
use crate::transcript::TranscriptSummary;

pub const SCHEMA_VERSION: u32 = 1;

/// Where the document of a media object lives in the results bucket.
pub fn document_key(media_key: &str) -> String {
    format!("analysis/{media_key}.json")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisDocument {
    pub schema_version: u32,
    /// `in_progress` while a part waits for an asynchronous job, then `complete`.
    pub status: DocumentStatus,
    pub source: SourceObject,
    pub kind: MediaKind,
    /// `rekognition` or `sagemaker`.
    pub backend: String,
    /// `null` until moderation is done, and for audio (not moderated).
    pub verdict: Option<Verdict>,
    pub labels: Vec<Label>,
    pub moderation_labels: Vec<ModerationLabel>,
    /// The moderation labels that made the verdict, with their category.
    pub flagged: Vec<FlaggedLabel>,
    pub moderation: ModerationPart,
    pub transcript: TranscriptPart,
    /// Text extraction of documents (absent in documents written before it existed).
    #[serde(default)]
    pub text: TextPart,
    pub timings: Timings,
    /// The audit trail of review decisions, oldest first; the last one set `verdict`.
    /// Absent until the first decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<ReviewEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    InProgress,
    Complete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceObject {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub etag: String,
    pub size: i64,
    pub content_type: Option<String>,
}

impl SourceObject {
    /// The version id when the bucket is versioned, else the ETag: what tells two uploads of
    /// the same key apart.
    pub fn discriminator(&self) -> &str {
        self.version_id.as_deref().unwrap_or(&self.etag)
    }

    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The analysed version of the upload.
    pub fn object(&self) -> ObjectRef {
        ObjectRef {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            version_id: self.version_id.clone(),
        }
    }
}

pub use shared::events::contracts::media::PartState;

fn is_terminal(state: PartState) -> bool {
    matches!(state, PartState::Done | PartState::Failed)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationPart {
    pub state: PartState,
    /// The video job (Rekognition job id or SageMaker inference id), while and after it runs.
    pub job_id: Option<String>,
    /// Where an asynchronous SageMaker job writes its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_location: Option<String>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptPart {
    pub state: PartState,
    pub job_name: Option<String>,
    /// `s3://<results bucket>/transcripts/<job name>.json`
    pub transcript_uri: Option<String>,
    /// `s3://` URIs of the SubRip and WebVTT subtitles Transcribe writes beside it.
    #[serde(default)]
    pub subtitles: Vec<String>,
    pub summary: Option<TranscriptSummary>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextPart {
    pub state: PartState,
    /// The text extraction job (Textract job id or SageMaker inference id), while and after
    /// it runs.
    pub job_id: Option<String>,
    /// Where an asynchronous SageMaker job writes its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_location: Option<String>,
    /// `s3://<results bucket>/text/<media key>.json`: lines with confidence and page numbers.
    pub text_uri: Option<String>,
    pub pages: u32,
    pub lines: u32,
    /// `zh` or `en`, by the script most of the text is in.
    pub language: Option<String>,
    /// The `OCR_KEYWORDS` found in the text.
    pub matched_terms: Vec<String>,
    pub failure_reason: Option<String>,
}

impl Default for TextPart {
    fn default() -> Self {
        Self {
            state: PartState::NotApplicable,
            job_id: None,
            output_location: None,
            text_uri: None,
            pages: 0,
            lines: 0,
            language: None,
            matched_terms: Vec::new(),
            failure_reason: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// From the S3 event.
    pub uploaded_at: Option<String>,
    pub analysis_started_at: String,
    pub moderation_completed_at: Option<String>,
    /// Time spent in the synchronous moderation call (images, SageMaker videos).
    pub moderation_ms: Option<u64>,
    pub transcript_completed_at: Option<String>,
    pub completed_at: Option<String>,
}

fn stamp(at: OffsetDateTime) -> String {
    shared::time::rfc3339(at)
}

impl AnalysisDocument {
    pub fn new(
        source: SourceObject,
        kind: MediaKind,
        backend: &str,
        uploaded_at: Option<String>,
        at: OffsetDateTime,
    ) -> Self {
        let not_applicable_moderation = ModerationPart {
            state: PartState::NotApplicable,
            job_id: None,
            output_location: None,
            failure_reason: None,
        };
        Self {
            schema_version: SCHEMA_VERSION,
            status: DocumentStatus::InProgress,
            source,
            kind,
            backend: backend.to_string(),
            verdict: None,
            labels: Vec::new(),
            moderation_labels: Vec::new(),
            flagged: Vec::new(),
            moderation: not_applicable_moderation,
            text: TextPart::default(),
            transcript: TranscriptPart {
                state: PartState::NotApplicable,
                job_name: None,
                transcript_uri: None,
                subtitles: Vec::new(),
                summary: None,
                failure_reason: None,
            },
            timings: Timings {
                uploaded_at,
                analysis_started_at: stamp(at),
                moderation_completed_at: None,
                moderation_ms: None,
                transcript_completed_at: None,
                completed_at: None,
            },
            reviews: Vec::new(),
        }
    }

    /// Reads a stored document; a newer schema than this code knows is refused.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("analysis document is not JSON: {e}"))?;
        let version = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(SCHEMA_VERSION)) {
            return Err(format!(
                "analysis document has schema_version {version:?}; this function reads {SCHEMA_VERSION}"
            ));
        }
        serde_json::from_value(value).map_err(|e| format!("analysis document: {e}"))
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    pub fn moderation_pending(&mut self, job_id: &str, output_location: Option<String>) {
        self.moderation = ModerationPart {
            state: PartState::Pending,
            job_id: Some(job_id.to_string()),
            output_location,
            failure_reason: None,
        };
    }

    pub fn record_moderation(
        &mut self,
        findings: Findings,
        judgement: Judgement,
        elapsed_ms: Option<u64>,
        at: OffsetDateTime,
    ) {
        self.labels = findings.labels;
        self.moderation_labels = findings.moderation_labels;
        self.verdict = Some(judgement.verdict);
        self.flagged = judgement.flagged;
        self.moderation.state = PartState::Done;
        self.moderation.failure_reason = None;
        self.timings.moderation_completed_at = Some(stamp(at));
        self.timings.moderation_ms = elapsed_ms;
        self.refresh_status(at);
    }

    pub fn moderation_failed(&mut self, reason: &str, at: OffsetDateTime) {
        self.moderation.state = PartState::Failed;
        self.moderation.failure_reason = Some(reason.to_string());
        self.verdict = None;
        self.timings.moderation_completed_at = Some(stamp(at));
        self.refresh_status(at);
    }

    pub fn transcript_pending(&mut self, job_name: &str, transcript_uri: &str) {
        self.transcript = TranscriptPart {
            state: PartState::Pending,
            job_name: Some(job_name.to_string()),
            transcript_uri: Some(transcript_uri.to_string()),
            subtitles: Vec::new(),
            summary: None,
            failure_reason: None,
        };
    }

    pub fn record_transcript(&mut self, summary: TranscriptSummary, at: OffsetDateTime) {
        self.transcript.state = PartState::Done;
        self.transcript.summary = Some(summary);
        self.transcript.failure_reason = None;
        self.timings.transcript_completed_at = Some(stamp(at));
        self.refresh_status(at);
    }

    pub fn transcript_failed(&mut self, reason: &str, at: OffsetDateTime) {
        self.transcript.state = PartState::Failed;
        self.transcript.failure_reason = Some(reason.to_string());
        self.timings.transcript_completed_at = Some(stamp(at));
        self.refresh_status(at);
    }

    pub fn text_pending(&mut self, job_id: &str, output_location: Option<String>) {
        self.text = TextPart {
            state: PartState::Pending,
            job_id: Some(job_id.to_string()),
            output_location,
            ..TextPart::default()
        };
    }

    /// The extracted text is stored; the verdict is `review` when a keyword matched.
    pub fn record_text(&mut self, text: TextPart, flagged: Vec<FlaggedLabel>, at: OffsetDateTime) {
        self.verdict = Some(if flagged.is_empty() {
            Verdict::Approved
        } else {
            Verdict::Review
        });
        self.flagged = flagged;
        self.text = TextPart {
            state: PartState::Done,
            job_id: self.text.job_id.take(),
            output_location: self.text.output_location.take(),
            failure_reason: None,
            ..text
        };
        self.timings.moderation_completed_at = Some(stamp(at));
        self.refresh_status(at);
    }

    pub fn text_failed(&mut self, reason: &str, at: OffsetDateTime) {
        self.text.state = PartState::Failed;
        self.text.failure_reason = Some(reason.to_string());
        self.verdict = None;
        self.timings.moderation_completed_at = Some(stamp(at));
        self.refresh_status(at);
    }

    /// The inference ids of the parts that ran on an asynchronous SageMaker endpoint (they
    /// have an output location); each left a request in the results bucket.
    pub fn async_inferences(&self) -> Vec<&str> {
        [
            (&self.moderation.job_id, &self.moderation.output_location),
            (&self.text.job_id, &self.text.output_location),
        ]
        .into_iter()
        .filter_map(|(job_id, output)| output.as_ref().and(job_id.as_deref()))
        .collect()
    }

    /// The part that gives this upload its verdict tag: moderation, or text for documents.
    pub fn verdict_part(&self) -> PartState {
        if self.kind == MediaKind::Document {
            self.text.state
        } else {
            self.moderation.state
        }
    }

    /// Complete once no part waits for a job.
    pub fn refresh_status(&mut self, at: OffsetDateTime) {
        let pending = self.moderation.state == PartState::Pending
            || self.transcript.state == PartState::Pending
            || self.text.state == PartState::Pending;
        if pending {
            self.status = DocumentStatus::InProgress;
        } else if self.status != DocumentStatus::Complete {
            self.status = DocumentStatus::Complete;
            self.timings.completed_at = Some(stamp(at));
        }
    }

    pub fn is_complete(&self) -> bool {
        self.status == DocumentStatus::Complete
    }

    /// Combines this fresh document with one already stored for the same key (a redelivered
    /// or retried upload event): for the same upload, parts a job completion already finished
    /// are kept; for another upload of the key, the fresh document replaces the old one.
    pub fn merged_over(mut self, stored: AnalysisDocument, at: OffsetDateTime) -> AnalysisDocument {
        if stored.source.discriminator() != self.source.discriminator() {
            return self;
        }
        if is_terminal(stored.moderation.state) && !is_terminal(self.moderation.state) {
            self.moderation = stored.moderation;
            self.verdict = stored.verdict;
            self.labels = stored.labels;
            self.moderation_labels = stored.moderation_labels;
            self.flagged = stored.flagged.clone();
            self.timings.moderation_completed_at = stored.timings.moderation_completed_at;
        }
        if is_terminal(stored.text.state) && !is_terminal(self.text.state) {
            self.text = stored.text;
            self.verdict = stored.verdict;
            self.flagged = stored.flagged;
        }
        if is_terminal(stored.transcript.state) && !is_terminal(self.transcript.state) {
            self.transcript = stored.transcript;
            self.timings.transcript_completed_at = stored.timings.transcript_completed_at;
        }
        self.timings.analysis_started_at = stored.timings.analysis_started_at;
        if !stored.reviews.is_empty() {
            // A person's decision on this upload stands over a repeated analysis of it.
            self.verdict = stored.verdict;
            self.reviews = stored.reviews;
        }
        self.refresh_status(at);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ModerationPolicy;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn source(etag: &str) -> SourceObject {
        SourceObject {
            bucket: "media".into(),
            key: "videos/a.mp4".into(),
            version_id: None,
            etag: etag.into(),
            size: 10,
            content_type: Some("video/mp4".into()),
        }
    }

    #[test]
    fn complete_only_when_no_part_is_pending() {
        let mut doc =
            AnalysisDocument::new(source("e1"), MediaKind::Video, "rekognition", None, AT);
        doc.moderation_pending("job-1", None);
        doc.transcript_pending("t-1", "s3://results/transcripts/t-1.json");
        doc.refresh_status(AT);
        assert!(!doc.is_complete());
        doc.record_moderation(
            Findings::default(),
            ModerationPolicy::default().judge(&[]),
            None,
            AT,
        );
        assert!(!doc.is_complete());
        doc.transcript_failed("unsupported media", AT);
        assert!(doc.is_complete());
        assert_eq!(
            doc.timings.completed_at.as_deref(),
            Some("2026-11-25T12:00:00Z")
        );
        let round_trip = AnalysisDocument::from_json(&doc.to_json()).unwrap();
        assert_eq!(round_trip, doc);
    }

    #[test]
    fn a_retried_upload_keeps_parts_a_completion_finished() {
        let mut stored =
            AnalysisDocument::new(source("e1"), MediaKind::Video, "rekognition", None, AT);
        stored.moderation_pending("job-1", None);
        stored.transcript_pending("t-1", "s3://r/t");
        stored.record_transcript(TranscriptSummary::default(), AT);
        let mut fresh =
            AnalysisDocument::new(source("e1"), MediaKind::Video, "rekognition", None, AT);
        fresh.moderation_pending("job-1", None);
        fresh.transcript_pending("t-1", "s3://r/t");
        let merged = fresh.clone().merged_over(stored.clone(), AT);
        assert_eq!(merged.transcript.state, PartState::Done);
        assert_eq!(merged.moderation.state, PartState::Pending);
        // A new upload of the same key starts over.
        let mut newer = fresh;
        newer.source.etag = "e2".into();
        assert_eq!(
            newer.merged_over(stored, AT).transcript.state,
            PartState::Pending
        );
    }

    #[test]
    fn newer_schema_is_refused() {
        let err = AnalysisDocument::from_json(br#"{"schema_version": 2}"#).unwrap_err();
        assert!(err.contains("schema_version Some(2)"), "{err}");
    }
}
