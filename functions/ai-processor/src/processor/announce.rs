//! The domain events this function publishes, built from the analysis document as the typed
//! payloads of `shared::events::contracts`. Event ids are stable per upload version (and
//! stage), so a duplicate publish de-duplicates downstream.

use shared::batch::RecordError;
use shared::events::contracts::media::{
    MediaAnalyzed, MediaFailed, MediaFlagged, MediaSkipped, ReviewAid, Verdict,
};
use shared::events::contracts::review::MediaReviewed;
use shared::events::contracts::transcript::TranscriptReady;
use shared::events::{Envelope, EventPayload, EventPublisher, Severity};
use shared::time::Clock;
use time::OffsetDateTime;

use super::{Adapters, Processor, SOURCE};
use crate::analysis::{AnalysisDocument, SourceObject};
use crate::review::ReviewEntry;
use crate::transcript::TranscriptSummary;

/// `media.analyzed`: the document is complete (no part waits for a job).
pub fn analyzed(doc: &AnalysisDocument, document_uri: &str, now: OffsetDateTime) -> Envelope {
    let analyzed_at = doc
        .timings
        .completed_at
        .clone()
        .unwrap_or_else(|| shared::time::rfc3339(now));
    let latency_ms = since_upload_ms(doc, &analyzed_at);
    let payload = MediaAnalyzed {
        bucket: doc.source.bucket.clone(),
        key: doc.source.key.clone(),
        version_id: doc.source.version_id.clone(),
        etag: doc.source.etag.clone(),
        kind: doc.kind,
        prefix: upload_prefix(&doc.source.key),
        size_bytes: size_bytes(&doc.source),
        verdict: doc.verdict,
        backend: doc.backend.clone(),
        labels: doc.flagged.clone(),
        uploaded_at: doc.timings.uploaded_at.clone(),
        analyzed_at,
        latency_ms,
        moderation_state: doc.moderation.state,
        transcript_state: doc.transcript.state,
        transcript: doc.transcript.transcript_uri.clone(),
        analysis_document: document_uri.to_string(),
    };
    of_upload(&payload, doc, Severity::Info)
}

/// Milliseconds from the upload to `until` (RFC 3339), when both are known.
fn since_upload_ms(doc: &AnalysisDocument, until: &str) -> Option<u64> {
    let uploaded = shared::time::parse_rfc3339_lenient(doc.timings.uploaded_at.as_deref()?)?;
    let until = shared::time::parse_rfc3339_lenient(until)?;
    u64::try_from((until - uploaded).whole_milliseconds()).ok()
}

/// `media.flagged` as soon as the verdict is review (warning) or rejected (critical),
/// without waiting for a transcript; `None` for any other verdict. `review` is the aid for
/// the moderator (review verdicts only).
pub fn flagged(
    doc: &AnalysisDocument,
    document_uri: &str,
    review: Option<ReviewAid>,
) -> Option<Envelope> {
    let (verdict, severity) = match doc.verdict {
        Some(v @ Verdict::Review) => (v, Severity::Warning),
        Some(v @ Verdict::Rejected) => (v, Severity::Critical),
        _ => return None,
    };
    let payload = MediaFlagged {
        bucket: doc.source.bucket.clone(),
        key: doc.source.key.clone(),
        version_id: doc.source.version_id.clone(),
        kind: doc.kind,
        verdict,
        labels: doc.flagged.clone(),
        backend: doc.backend.clone(),
        analysis_document: document_uri.to_string(),
        review: review.filter(|_| verdict == Verdict::Review),
    };
    Some(of_upload(&payload, doc, severity))
}

/// `media.failed`: a part (`stage` = `moderation`, `transcription` or `text`) failed for good.
pub fn failed(doc: &AnalysisDocument, document_uri: &str, stage: &str, reason: &str) -> Envelope {
    let payload = MediaFailed {
        bucket: doc.source.bucket.clone(),
        key: doc.source.key.clone(),
        version_id: doc.source.version_id.clone(),
        kind: doc.kind,
        stage: stage.to_string(),
        reason: reason.to_string(),
        analysis_document: document_uri.to_string(),
    };
    Envelope::of(
        &payload,
        SOURCE,
        &doc.source.uri(),
        Severity::Warning,
        &format!("{}/{stage}", doc.source.discriminator()),
    )
    .first_published_at(upload_time(doc))
}

/// `transcript.ready`: language, duration, word count and the first lines.
pub fn transcript_ready(
    doc: &AnalysisDocument,
    document_uri: &str,
    summary: &TranscriptSummary,
) -> Envelope {
    let payload = TranscriptReady {
        bucket: doc.source.bucket.clone(),
        key: doc.source.key.clone(),
        version_id: doc.source.version_id.clone(),
        language: summary.language.clone(),
        duration_seconds: summary.duration_seconds,
        word_count: summary.word_count as u64,
        first_lines: summary.first_lines.clone(),
        transcript: doc.transcript.transcript_uri.clone(),
        subtitles: doc.transcript.subtitles.clone(),
        analysis_document: document_uri.to_string(),
    };
    of_upload(&payload, doc, Severity::Info)
}

/// `media.skipped`: an upload that is no media this suite analyses.
pub fn skipped(
    source: &SourceObject,
    content_type: Option<&str>,
    reason_code: &str,
    reason: &str,
) -> Envelope {
    let payload = MediaSkipped {
        bucket: source.bucket.clone(),
        key: source.key.clone(),
        version_id: source.version_id.clone(),
        etag: source.etag.clone(),
        prefix: upload_prefix(&source.key),
        size_bytes: size_bytes(source),
        content_type: content_type.map(str::to_string),
        reason_code: reason_code.to_string(),
        reason: reason.to_string(),
    };
    Envelope::of(
        &payload,
        SOURCE,
        &source.uri(),
        Severity::Info,
        source.discriminator(),
    )
}

/// `media.reviewed` of one entry of the audit trail (one id per entry).
pub fn reviewed(doc: &AnalysisDocument, entry: &ReviewEntry, document_uri: &str) -> Envelope {
    let payload = MediaReviewed {
        bucket: doc.source.bucket.clone(),
        key: doc.source.key.clone(),
        version_id: doc.source.version_id.clone(),
        decision: entry.decision,
        reviewer: entry.reviewer.clone(),
        reason: entry.reason.clone(),
        previous_verdict: entry.from,
        changed: entry.changed,
        uploaded_at: doc.timings.uploaded_at.clone(),
        decided_at: entry.decided_at.clone(),
        wait_ms: since_upload_ms(doc, &entry.decided_at),
        analysis_document: document_uri.to_string(),
    };
    Envelope::of(
        &payload,
        SOURCE,
        &doc.source.uri(),
        Severity::Info,
        &format!("{}/review/{}", doc.source.discriminator(), entry.seq),
    )
    // The entry's time, kept in the audit trail: publishing it again does not move it.
    .first_published_at(shared::time::parse_rfc3339_lenient(&entry.decided_at))
}

/// An event about the analysed upload version (one id per type and version, and the upload's
/// time, so publishing it again does not move it).
fn of_upload<P: EventPayload>(payload: &P, doc: &AnalysisDocument, severity: Severity) -> Envelope {
    Envelope::of(
        payload,
        SOURCE,
        &doc.source.uri(),
        severity,
        doc.source.discriminator(),
    )
    .first_published_at(upload_time(doc))
}

/// The time of every event about an upload version: the S3 event's, else when its analysis
/// started (both kept in the analysis document, so a redelivery finds the same time).
pub(super) fn upload_time(doc: &AnalysisDocument) -> Option<OffsetDateTime> {
    let timings = &doc.timings;
    [
        timings.uploaded_at.as_deref(),
        Some(&timings.analysis_started_at),
    ]
    .into_iter()
    .flatten()
    .find_map(shared::time::parse_rfc3339_lenient)
}

fn size_bytes(source: &SourceObject) -> u64 {
    u64::try_from(source.size).unwrap_or(0)
}

/// `covers/` for `covers/a/b.jpg`: the upload prefix the key was routed by.
pub fn upload_prefix(key: &str) -> Option<String> {
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
        let aid = match doc.verdict {
            Some(Verdict::Review) => Some(self.review_aid(doc).await),
            _ => None,
        };
        match flagged(doc, &self.document_uri(doc), aid) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::MediaKind;
    use time::macros::datetime;

    #[test]
    fn an_event_published_again_keeps_its_id_and_the_uploads_time() {
        let source = SourceObject {
            bucket: "media".into(),
            key: "videos/a.mp4".into(),
            version_id: Some("v1".into()),
            etag: "e1".into(),
            size: 10,
            content_type: Some("video/mp4".into()),
        };
        let uploaded = Some("2026-11-24T13:05:00Z".to_string());
        let first = AnalysisDocument::new(
            source.clone(),
            MediaKind::Video,
            "rekognition",
            uploaded.clone(),
            datetime!(2026-11-24 13:05:02 UTC),
        );
        // A redelivery hours later rebuilds the events from the stored document.
        let again = first.clone();
        let (a, b) = (
            failed(&first, "s3://r/a.json", "transcription", "gone"),
            failed(&again, "s3://r/a.json", "transcription", "gone"),
        );
        assert_eq!((&a.id, a.time.as_str()), (&b.id, "2026-11-24T13:05:00Z"));
        assert_eq!(a.time, b.time);
        let later = datetime!(2026-11-24 20:00 UTC);
        assert_eq!(analyzed(&again, "s3://r/a.json", later).time, a.time);
        // Without the S3 event's time, the time the analysis started (also in the document).
        let no_event_time = AnalysisDocument::new(
            source,
            MediaKind::Video,
            "rekognition",
            None,
            datetime!(2026-11-24 13:06 UTC),
        );
        assert_eq!(
            failed(&no_event_time, "s3://r/a.json", "moderation", "x").time,
            "2026-11-24T13:06:00Z"
        );
    }
}
