//! The domain events this function publishes, built from the analysis document. Event ids
//! are stable per upload version (and stage), so a duplicate publish de-duplicates downstream.

use serde_json::json;
use shared::batch::RecordError;
use shared::events::{types, Envelope, EventPublisher, Severity};
use time::OffsetDateTime;

use super::{Adapters, Processor, SOURCE};
use crate::analysis::{AnalysisDocument, SourceObject};
use crate::model::Verdict;
use crate::transcript::TranscriptSummary;

/// `media.analyzed`: the document is complete (no part waits for a job).
pub fn analyzed(doc: &AnalysisDocument, document_uri: &str, now: OffsetDateTime) -> Envelope {
    let analyzed_at = doc
        .timings
        .completed_at
        .clone()
        .unwrap_or_else(|| shared::time::rfc3339(now));
    let latency_ms = doc.timings.uploaded_at.as_deref().and_then(|uploaded| {
        let uploaded = shared::time::parse_rfc3339_lenient(uploaded)?;
        let analyzed = shared::time::parse_rfc3339_lenient(&analyzed_at)?;
        u64::try_from((analyzed - uploaded).whole_milliseconds()).ok()
    });
    let top_labels: Vec<&str> = doc
        .labels
        .iter()
        .take(10)
        .map(|l| l.name.as_str())
        .collect();
    Envelope::new(
        types::MEDIA_ANALYZED,
        SOURCE,
        &doc.source.uri(),
        Severity::Info,
        doc.source.discriminator(),
        json!({
            "bucket": doc.source.bucket,
            "key": doc.source.key,
            "version_id": doc.source.version_id,
            "etag": doc.source.etag,
            "kind": doc.kind,
            "prefix": upload_prefix(&doc.source.key),
            "size": doc.source.size,
            "size_bytes": doc.source.size,
            "verdict": doc.verdict,
            "backend": doc.backend,
            "labels": top_labels,
            "flagged": doc.flagged,
            // What stats-aggregator reads: flagged labels with their category, and the
            // upload-to-analysis latency.
            "moderation_labels": doc.flagged,
            "uploaded_at": doc.timings.uploaded_at,
            "analyzed_at": analyzed_at,
            "latency_ms": latency_ms,
            "moderation_state": doc.moderation.state,
            "transcript_state": doc.transcript.state,
            "transcript": doc.transcript.transcript_uri,
            "analysis_document": document_uri,
        }),
    )
}

/// `media.flagged` as soon as the verdict is review (warning) or rejected (critical),
/// without waiting for a transcript; `None` for any other verdict.
pub fn flagged(doc: &AnalysisDocument, document_uri: &str) -> Option<Envelope> {
    let severity = match doc.verdict {
        Some(Verdict::Review) => Severity::Warning,
        Some(Verdict::Rejected) => Severity::Critical,
        _ => return None,
    };
    Some(Envelope::new(
        types::MEDIA_FLAGGED,
        SOURCE,
        &doc.source.uri(),
        severity,
        doc.source.discriminator(),
        json!({
            "bucket": doc.source.bucket,
            "key": doc.source.key,
            "version_id": doc.source.version_id,
            "kind": doc.kind,
            "verdict": doc.verdict,
            "flagged": doc.flagged,
            "backend": doc.backend,
            "analysis_document": document_uri,
        }),
    ))
}

/// `media.failed`: a part (`stage` = `moderation` or `transcription`) failed for good.
pub fn failed(doc: &AnalysisDocument, document_uri: &str, stage: &str, reason: &str) -> Envelope {
    Envelope::new(
        types::MEDIA_FAILED,
        SOURCE,
        &doc.source.uri(),
        Severity::Warning,
        &format!("{}/{stage}", doc.source.discriminator()),
        json!({
            "bucket": doc.source.bucket,
            "key": doc.source.key,
            "version_id": doc.source.version_id,
            "kind": doc.kind,
            "stage": stage,
            "reason": reason,
            "analysis_document": document_uri,
        }),
    )
}

/// `transcript.ready`: language, duration, word count and the first lines.
pub fn transcript_ready(
    doc: &AnalysisDocument,
    document_uri: &str,
    summary: &TranscriptSummary,
) -> Envelope {
    Envelope::new(
        types::TRANSCRIPT_READY,
        SOURCE,
        &doc.source.uri(),
        Severity::Info,
        doc.source.discriminator(),
        json!({
            "bucket": doc.source.bucket,
            "key": doc.source.key,
            "version_id": doc.source.version_id,
            "language": summary.language,
            "duration_seconds": summary.duration_seconds,
            "word_count": summary.word_count,
            "first_lines": summary.first_lines,
            "transcript": doc.transcript.transcript_uri,
            "analysis_document": document_uri,
        }),
    )
}

/// `media.skipped`: an upload that is no media this suite analyses.
pub fn skipped(source: &SourceObject, content_type: Option<&str>, reason: &str) -> Envelope {
    Envelope::new(
        types::MEDIA_SKIPPED,
        SOURCE,
        &source.uri(),
        Severity::Info,
        source.discriminator(),
        json!({
            "bucket": source.bucket,
            "key": source.key,
            "version_id": source.version_id,
            "etag": source.etag,
            "content_type": content_type,
            "reason": reason,
        }),
    )
}

/// `covers/` for `covers/a/b.jpg`: the upload prefix the key was routed by.
fn upload_prefix(key: &str) -> Option<String> {
    key.split_once('/').map(|(first, _)| format!("{first}/"))
}

impl<A: Adapters> Processor<A> {
    pub(super) async fn publish(&self, event: Envelope) -> Result<(), RecordError> {
        self.ports
            .publisher
            .publish(&event)
            .await
            .map_err(RecordError::retryable)
    }

    pub(super) async fn publish_analyzed(&self, doc: &AnalysisDocument) -> Result<(), RecordError> {
        let now = self.ports.clock.now();
        self.publish(analyzed(doc, &self.document_uri(doc), now))
            .await
    }

    pub(super) async fn publish_flagged(&self, doc: &AnalysisDocument) -> Result<(), RecordError> {
        match flagged(doc, &self.document_uri(doc)) {
            Some(event) => self.publish(event).await,
            None => Ok(()),
        }
    }

    pub(super) async fn publish_failed(
        &self,
        doc: &AnalysisDocument,
        stage: &str,
        reason: &str,
    ) -> Result<(), RecordError> {
        tracing::error!(stage, reason, key = %doc.source.key, "analysis failed for good");
        self.publish(failed(doc, &self.document_uri(doc), stage, reason))
            .await
    }

    pub(super) async fn publish_transcript_ready(
        &self,
        doc: &AnalysisDocument,
        summary: &TranscriptSummary,
    ) -> Result<(), RecordError> {
        self.publish(transcript_ready(doc, &self.document_uri(doc), summary))
            .await
    }
}
