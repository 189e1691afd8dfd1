//! An upload's S3 event: check it is ours and still there, then the first analysis
//! (synchronous moderation for images, moderation and transcription jobs for videos, a
//! transcription job for audio).

use std::time::Instant;

use shared::batch::RecordError;
use shared::events::stable_id;

use super::{announce, Adapters, Processor, Tally, SKIPPED, SKIP_REASON_TAG, VERDICT_TAG};
use crate::analysis::{AnalysisDocument, PartState, SourceObject};
use crate::inbound::ObjectCreated;
use crate::model::{Findings, ObjectInfo};
use shared::time::Clock;

use crate::ports::{
    MediaStore, ModerationBackend, TextExtractor, Transcriber, TranscriptionRequest,
    TranscriptionStart, VideoModeration,
};
use crate::routing::{self, MediaKind, Route};
use crate::transcript;

/// The `moderation-skip-reason` of an upload whose content type or extension is no media.
const NOT_MEDIA: &str = "not-media";
/// ... of a document while text extraction is off.
const OCR_OFF: &str = "ocr-off";

/// A part of the analysis that failed for good: (stage, reason).
type PartFailure = (&'static str, String);

impl<A: Adapters> Processor<A> {
    pub(super) async fn ingest(
        &self,
        created: ObjectCreated,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        let (bucket, key) = (created.bucket.as_str(), created.key.as_str());
        if bucket != self.settings.media_bucket {
            let reason = format!(
                "bucket {bucket} is not the media bucket {}",
                self.settings.media_bucket
            );
            self.skip(tally, bucket, key, &reason);
            return Ok(());
        }
        if let Err(reason) = routing::upload_area(key) {
            self.skip(tally, bucket, key, &reason);
            return Ok(());
        }
        let Some(info) = self.ports.media.head(&created.object()).await? else {
            self.skip(
                tally,
                bucket,
                key,
                "the object no longer exists (deleted before it was analysed)",
            );
            return Ok(());
        };
        if created.version_id.is_none() {
            if let Some(event_etag) = created.etag.as_deref() {
                if event_etag != info.etag {
                    self.skip(tally, bucket, key, "the object was replaced after this event; the newer upload's own event analyses it");
                    return Ok(());
                }
            }
        }
        let source = SourceObject {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: info.version_id.clone().or(created.version_id.clone()),
            etag: info.etag.clone(),
            size: info.size,
            content_type: info.content_type.clone(),
        };
        let kind = match routing::route(key, info.content_type.as_deref()) {
            Route::Analyse(MediaKind::Document) if !self.settings.ocr_enabled => {
                let reason = "text extraction is off (OCR_BACKEND=none)";
                self.skip(tally, bucket, key, reason);
                return self
                    .mark_skipped(&source, &info, OCR_OFF, reason, tally)
                    .await;
            }
            Route::Analyse(kind) => kind,
            Route::Skip(reason) => {
                self.skip(tally, bucket, key, &reason);
                return self
                    .mark_skipped(&source, &info, NOT_MEDIA, &reason, tally)
                    .await;
            }
        };
        let uploaded_at = created.event_time.map(shared::time::rfc3339);
        let claim = stable_id(&["ingest", bucket, key, source.discriminator()]);
        let done = self
            .exactly_once(&claim, tally, || {
                self.analyse(source.clone(), kind, uploaded_at)
            })
            .await?;
        if done {
            Tally::add(&tally.uploads_analysed);
        }
        Ok(())
    }

    /// A skipped upload is visible: tagged `moderation-verdict=skipped` with the reason's code
    /// in `moderation-skip-reason` (so it is never served as approved), and announced with
    /// `media.skipped` unless the operator turned that off (`EMIT_SKIP_EVENTS=false`).
    async fn mark_skipped(
        &self,
        source: &SourceObject,
        info: &ObjectInfo,
        reason_code: &str,
        reason: &str,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        let claim = stable_id(&["skip", &source.bucket, &source.key, source.discriminator()]);
        self.exactly_once(&claim, tally, || async {
            self.write_tags(
                &source.object(),
                &[(VERDICT_TAG, SKIPPED), (SKIP_REASON_TAG, reason_code)],
            )
            .await?;
            if self.settings.emit_skip_events {
                self.publish(announce::skipped(
                    source,
                    info.content_type.as_deref(),
                    reason_code,
                    reason,
                ))
                .await?;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// The first analysis of an upload. Parts that fail for good are recorded in the
    /// document and announced with `media.failed`; the record is then a permanent failure.
    async fn analyse(
        &self,
        source: SourceObject,
        kind: MediaKind,
        uploaded_at: Option<String>,
    ) -> Result<(), RecordError> {
        let object = source.object();
        let now = self.ports.clock.now();
        let mut doc =
            AnalysisDocument::new(source, kind, self.ports.backend.name(), uploaded_at, now);
        let mut failures: Vec<PartFailure> = Vec::new();

        match kind {
            MediaKind::Image => {
                let started = Instant::now();
                match self.ports.backend.analyse_image(&object).await {
                    Ok(findings) => self.record_findings(&mut doc, findings, Some(started)),
                    Err(RecordError::Permanent(reason)) => {
                        doc.moderation_failed(&reason, self.ports.clock.now());
                        failures.push(("moderation", reason));
                    }
                    Err(retryable) => return Err(retryable),
                }
            }
            MediaKind::Video => {
                let token = stable_id(&[
                    "moderation",
                    &object.bucket,
                    &object.key,
                    doc.source.discriminator(),
                ]);
                let started = Instant::now();
                match self.ports.backend.analyse_video(&object, &token).await {
                    Ok(VideoModeration::Started {
                        job_id,
                        output_location,
                    }) => {
                        tracing::info!(job_id = %job_id, "video moderation job started");
                        doc.moderation_pending(&job_id, output_location);
                    }
                    Ok(VideoModeration::Finished(findings)) => {
                        self.record_findings(&mut doc, findings, Some(started))
                    }
                    Err(RecordError::Permanent(reason)) => {
                        doc.moderation_failed(&reason, self.ports.clock.now());
                        failures.push(("moderation", reason));
                    }
                    Err(retryable) => return Err(retryable),
                }
                self.start_transcription(&mut doc, &mut failures).await?;
            }
            MediaKind::Audio => self.start_transcription(&mut doc, &mut failures).await?,
            MediaKind::Document => {
                let token = stable_id(&[
                    "text",
                    &object.bucket,
                    &object.key,
                    doc.source.discriminator(),
                ]);
                // Routed as a document, so it has a format (the fallback is never used).
                let format =
                    routing::document_format(&doc.source.key, doc.source.content_type.as_deref())
                        .unwrap_or("application/octet-stream");
                match self.ports.text.start(&object, format, &token).await {
                    Ok(job) => {
                        tracing::info!(job_id = %job.job_id, "text extraction job started");
                        doc.text_pending(&job.job_id, job.output_location);
                    }
                    Err(RecordError::Permanent(reason)) => {
                        doc.text_failed(&reason, self.ports.clock.now());
                        failures.push(("text", reason));
                    }
                    Err(retryable) => return Err(retryable),
                }
            }
        }
        doc.refresh_status(self.ports.clock.now());

        let doc = self.save_fresh_document(doc).await?;
        self.write_verdict_tags(&doc).await?;
        for (stage, reason) in &failures {
            self.publish_failed(&doc, stage, reason).await?;
        }
        if doc.moderation.state == PartState::Done {
            self.publish_flagged(&doc).await?;
        }
        if doc.is_complete() {
            self.publish_analyzed(&doc).await?;
        }
        if failures.is_empty() {
            Ok(())
        } else {
            let reasons: Vec<String> = failures.iter().map(|(s, r)| format!("{s}: {r}")).collect();
            Err(RecordError::permanent(format!(
                "analysis of {} failed for good ({})",
                doc.source.uri(),
                reasons.join("; ")
            )))
        }
    }

    fn record_findings(
        &self,
        doc: &mut AnalysisDocument,
        findings: Findings,
        started: Option<Instant>,
    ) {
        let judgement = self.settings.policy.judge(&findings.moderation_labels);
        tracing::info!(
            verdict = judgement.verdict.as_str(),
            labels = findings.labels.len(),
            moderation_labels = findings.moderation_labels.len(),
            "moderation done"
        );
        let elapsed = started.map(|s| s.elapsed().as_millis() as u64);
        doc.record_moderation(findings, judgement, elapsed, self.ports.clock.now());
    }

    async fn start_transcription(
        &self,
        doc: &mut AnalysisDocument,
        failures: &mut Vec<PartFailure>,
    ) -> Result<(), RecordError> {
        let source = &doc.source;
        let job_name = transcript::job_name(
            &self.settings.transcribe_job_prefix,
            &source.bucket,
            &source.key,
            source.discriminator(),
        );
        let output_key = transcript::output_key(&job_name);
        let results_bucket = self.settings.results_bucket.clone();
        let request = TranscriptionRequest {
            job_name: job_name.clone(),
            media_uri: source.uri(),
            output_bucket: results_bucket.clone(),
            output_key: output_key.clone(),
            languages: self.settings.transcribe_languages.clone(),
        };
        let transcript_uri = format!("s3://{results_bucket}/{output_key}");
        doc.transcript_pending(&job_name, &transcript_uri);
        match self.ports.transcriber.start(&request).await {
            Ok(TranscriptionStart::Started) => {
                tracing::info!(job_name = %job_name, "transcription job started")
            }
            Ok(TranscriptionStart::AlreadyExists) => {
                tracing::info!(job_name = %job_name, "transcription job already exists (duplicate upload event); not starting another")
            }
            Err(RecordError::Permanent(reason)) => {
                doc.transcript_failed(&reason, self.ports.clock.now());
                failures.push(("transcription", reason));
            }
            Err(retryable) => return Err(retryable),
        }
        Ok(())
    }
}
