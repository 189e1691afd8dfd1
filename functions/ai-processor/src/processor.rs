//! The function's behaviour: one SQS message in, analysis documents, tags and events out.
//!
//! Upload events start the analysis (synchronous moderation for images, jobs for videos and
//! audio); job completions finish it. Every effect is keyed by the upload (bucket, key,
//! version or ETag) so duplicate deliveries have one effect, and the document is updated with
//! conditional writes so two completions arriving together do not overwrite each other.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::json;
use shared::batch::{process_batch, DeadLetterSink, RecordError};
use shared::events::{stable_id, types, Envelope, EventPublisher, Severity};
use shared::idempotency::{once, IdempotencyError, IdempotencyStore, Once};
use shared::metrics::MetricSet;
use tracing::Instrument;

use crate::analysis::{document_key, AnalysisDocument, PartState, SourceObject};
use crate::config::Config;
use crate::inbound::{self, Inbound, ObjectCreated, RekognitionJobDone, TranscribeJobChanged};
use crate::model::{Findings, ObjectInfo, ObjectRef, Verdict};
use crate::policy::ModerationPolicy;
use crate::ports::{
    ModerationBackend, ObjectStore, Transcriber, TranscriptionRequest, TranscriptionStart,
    VideoModeration, WriteCondition, WriteOutcome,
};
use crate::routing::{self, MediaKind, Route};
use crate::transcript::{self, TranscriptSummary};

/// The `source` of every event this function publishes, and its metrics service name.
pub const SOURCE: &str = "ai-processor";

/// Tags this function owns on an upload; other tags are kept as they are.
pub const VERDICT_TAG: &str = "moderation-verdict";
pub const BACKEND_TAG: &str = "moderation-backend";

/// S3 allows at most 10 tags per object.
const MAX_TAGS: usize = 10;
/// Attempts of a read-modify-write of a document before giving the record back to SQS.
const DOCUMENT_WRITE_ATTEMPTS: usize = 5;

/// The part of the configuration the behaviour needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub media_bucket: String,
    pub results_bucket: String,
    pub transcribe_languages: Vec<String>,
    pub policy: ModerationPolicy,
    pub emit_skip_events: bool,
    pub batch_concurrency: usize,
    pub metrics_namespace: String,
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Self {
            media_bucket: c.media_bucket.clone(),
            results_bucket: c.results_bucket.clone(),
            transcribe_languages: c.transcribe_languages.clone(),
            policy: c.policy.clone(),
            emit_skip_events: c.emit_skip_events,
            batch_concurrency: c.batch_concurrency,
            metrics_namespace: c.metrics_namespace.clone(),
        }
    }
}

/// The adapters the behaviour runs against.
pub struct Ports<S, B, T, P, I, D> {
    pub store: S,
    pub backend: B,
    pub transcriber: T,
    pub publisher: P,
    pub idempotency: I,
    pub dead_letters: D,
}

pub struct Processor<S, B, T, P, I, D> {
    settings: Settings,
    ports: Ports<S, B, T, P, I, D>,
}

/// What the messages of one batch led to; emitted as metrics.
#[derive(Debug, Default)]
pub struct Tally {
    pub uploads_analysed: AtomicU64,
    pub uploads_skipped: AtomicU64,
    pub job_completions: AtomicU64,
    pub duplicate_deliveries: AtomicU64,
    pub messages_without_work: AtomicU64,
}

impl Tally {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn emit(&self, namespace: &str) {
        let mut m = MetricSet::new(namespace, SOURCE);
        m.count(
            "UploadsAnalysed",
            self.uploads_analysed.load(Ordering::Relaxed),
        )
        .count(
            "UploadsSkipped",
            self.uploads_skipped.load(Ordering::Relaxed),
        )
        .count(
            "JobCompletions",
            self.job_completions.load(Ordering::Relaxed),
        )
        .count(
            "DuplicateDeliveries",
            self.duplicate_deliveries.load(Ordering::Relaxed),
        )
        .count(
            "MessagesWithoutWork",
            self.messages_without_work.load(Ordering::Relaxed),
        );
        m.emit();
    }
}

/// Carries a record error through `idempotency::once`, whose store failures are retryable.
struct Failed(RecordError);

impl From<IdempotencyError> for Failed {
    fn from(e: IdempotencyError) -> Self {
        Failed(RecordError::retryable(e))
    }
}

impl From<RecordError> for Failed {
    fn from(e: RecordError) -> Self {
        Failed(e)
    }
}

/// Runs `effect` once per `key`; a concurrent delivery holding the key is retried later.
async fn exactly_once<I, F, Fut>(
    store: &I,
    key: &str,
    tally: &Tally,
    effect: F,
) -> Result<bool, RecordError>
where
    I: IdempotencyStore,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), Failed>>,
{
    match once(store, key, effect).await {
        Ok(Once::Done(())) => Ok(true),
        Ok(Once::AlreadyDone) => {
            tracing::info!("duplicate delivery: this was already done");
            Tally::add(&tally.duplicate_deliveries);
            Ok(false)
        }
        Ok(Once::InProgress) => Err(RecordError::retryable(
            "another delivery of the same work is running now; SQS will deliver this one again",
        )),
        Err(Failed(e)) => Err(e),
    }
}

fn publish_failure(e: shared::events::PublishError) -> RecordError {
    RecordError::retryable(e)
}

impl<S, B, T, P, I, D> Processor<S, B, T, P, I, D>
where
    S: ObjectStore,
    B: ModerationBackend,
    T: Transcriber,
    P: EventPublisher,
    I: IdempotencyStore,
    D: DeadLetterSink,
{
    pub fn new(settings: Settings, ports: Ports<S, B, T, P, I, D>) -> Self {
        Self { settings, ports }
    }

    /// Handles one SQS batch and reports exactly the records SQS must deliver again.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let tally = Tally::default();
        let tally_ref = &tally;
        let (response, summary) = process_batch(
            event,
            self.settings.batch_concurrency,
            &self.ports.dead_letters,
            |message| async move {
                let span = tracing::info_span!(
                    "record",
                    message_id = message.message_id.as_deref().unwrap_or("unknown")
                );
                self.process(message.body.as_deref(), tally_ref)
                    .instrument(span)
                    .await
            },
        )
        .await;
        summary.emit_metrics(&self.settings.metrics_namespace, SOURCE);
        tally.emit(&self.settings.metrics_namespace);
        response
    }

    /// Handles one message body.
    pub async fn process(&self, body: Option<&str>, tally: &Tally) -> Result<(), RecordError> {
        let inbound = inbound::parse(body.unwrap_or("")).map_err(RecordError::permanent)?;
        match inbound {
            Inbound::ObjectsCreated(objects) => {
                if objects.is_empty() {
                    Tally::add(&tally.messages_without_work);
                }
                for object in objects {
                    self.ingest(object, tally).await?;
                }
                Ok(())
            }
            Inbound::S3TestEvent { bucket } => {
                tracing::info!(
                    bucket = bucket.as_deref().unwrap_or(""),
                    "S3 test event (sent when notifications are configured); nothing to analyse"
                );
                Tally::add(&tally.messages_without_work);
                Ok(())
            }
            Inbound::NothingToDo(reason) => {
                tracing::info!(%reason, "message needs no work");
                Tally::add(&tally.messages_without_work);
                Ok(())
            }
            Inbound::RekognitionJob(done) => self.on_moderation_job(done, tally).await,
            Inbound::TranscribeJob(changed) => self.on_transcription_job(changed, tally).await,
        }
    }

    fn skip(&self, tally: &Tally, bucket: &str, key: &str, reason: &str) {
        tracing::info!(bucket, key, reason, "upload skipped");
        Tally::add(&tally.uploads_skipped);
    }

    async fn ingest(&self, created: ObjectCreated, tally: &Tally) -> Result<(), RecordError> {
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
        let object = ObjectRef {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: created.version_id.clone(),
        };
        let Some(info) = self.ports.store.head(&object).await? else {
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
            Route::Analyse(kind) => kind,
            Route::Skip(reason) => {
                self.skip(tally, bucket, key, &reason);
                return self.announce_skip(&source, &info, &reason, tally).await;
            }
        };
        let uploaded_at = created.event_time.map(shared::time::rfc3339);
        let claim = stable_id(&["ingest", bucket, key, source.discriminator()]);
        let done = exactly_once(&self.ports.idempotency, &claim, tally, || async {
            self.analyse(source.clone(), kind, uploaded_at)
                .await
                .map_err(Failed::from)
        })
        .await?;
        if done {
            Tally::add(&tally.uploads_analysed);
        }
        Ok(())
    }

    async fn announce_skip(
        &self,
        source: &SourceObject,
        info: &ObjectInfo,
        reason: &str,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        if !self.settings.emit_skip_events {
            return Ok(());
        }
        let claim = stable_id(&["skip", &source.bucket, &source.key, source.discriminator()]);
        exactly_once(&self.ports.idempotency, &claim, tally, || async {
            let event = Envelope::new(
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
                    "content_type": info.content_type,
                    "reason": reason,
                }),
            );
            self.ports
                .publisher
                .publish(&event)
                .await
                .map_err(|e| Failed(publish_failure(e)))
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
        let object = ObjectRef {
            bucket: source.bucket.clone(),
            key: source.key.clone(),
            version_id: source.version_id.clone(),
        };
        let mut doc =
            AnalysisDocument::new(source.clone(), kind, self.ports.backend.name(), uploaded_at);
        let mut failures: Vec<(&'static str, String)> = Vec::new();

        match kind {
            MediaKind::Image => {
                let started = Instant::now();
                match self.ports.backend.analyse_image(&object).await {
                    Ok(findings) => self.record_findings(&mut doc, findings, Some(started)),
                    Err(RecordError::Permanent(reason)) => {
                        doc.moderation_failed(&reason);
                        failures.push(("moderation", reason));
                    }
                    Err(retryable) => return Err(retryable),
                }
            }
            MediaKind::Video => {
                let token = stable_id(&[
                    "moderation",
                    &source.bucket,
                    &source.key,
                    source.discriminator(),
                ]);
                let started = Instant::now();
                match self.ports.backend.analyse_video(&object, &token).await {
                    Ok(VideoModeration::Started { job_id }) => {
                        tracing::info!(job_id = %job_id, "video moderation job started");
                        doc.moderation_pending(&job_id);
                    }
                    Ok(VideoModeration::Finished(findings)) => {
                        self.record_findings(&mut doc, findings, Some(started))
                    }
                    Err(RecordError::Permanent(reason)) => {
                        doc.moderation_failed(&reason);
                        failures.push(("moderation", reason));
                    }
                    Err(retryable) => return Err(retryable),
                }
                self.start_transcription(&mut doc, &mut failures).await?;
            }
            MediaKind::Audio => self.start_transcription(&mut doc, &mut failures).await?,
        }
        doc.refresh_status();

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
        doc.record_moderation(findings, judgement, elapsed);
    }

    async fn start_transcription(
        &self,
        doc: &mut AnalysisDocument,
        failures: &mut Vec<(&'static str, String)>,
    ) -> Result<(), RecordError> {
        let source = &doc.source;
        let job_name = transcript::job_name(&source.bucket, &source.key, source.discriminator());
        let output_key = transcript::output_key(&job_name);
        let request = TranscriptionRequest {
            job_name: job_name.clone(),
            media_uri: source.uri(),
            output_bucket: self.settings.results_bucket.clone(),
            output_key: output_key.clone(),
            languages: self.settings.transcribe_languages.clone(),
        };
        let transcript_uri = format!("s3://{}/{output_key}", self.settings.results_bucket);
        doc.transcript_pending(&job_name, &transcript_uri);
        match self.ports.transcriber.start(&request).await {
            Ok(TranscriptionStart::Started) => {
                tracing::info!(job_name = %job_name, "transcription job started")
            }
            Ok(TranscriptionStart::AlreadyExists) => {
                tracing::info!(job_name = %job_name, "transcription job already exists (duplicate upload event); not starting another")
            }
            Err(RecordError::Permanent(reason)) => {
                doc.transcript_failed(&reason);
                failures.push(("transcription", reason));
            }
            Err(retryable) => return Err(retryable),
        }
        Ok(())
    }

    /// Writes the document of a fresh analysis. When one exists already (a redelivery, or a
    /// completion that raced ahead), parts it finished are kept.
    async fn save_fresh_document(
        &self,
        fresh: AnalysisDocument,
    ) -> Result<AnalysisDocument, RecordError> {
        let key = document_key(&fresh.source.key);
        let bucket = &self.settings.results_bucket;
        let mut candidate = fresh.clone();
        let mut condition = WriteCondition::Absent;
        for _ in 0..DOCUMENT_WRITE_ATTEMPTS {
            let outcome = self
                .ports
                .store
                .write_json(bucket, &key, candidate.to_json(), condition.clone())
                .await?;
            if outcome == WriteOutcome::Written {
                tracing::info!(document = %format!("s3://{bucket}/{key}"), status = ?candidate.status, "analysis document written");
                return Ok(candidate);
            }
            match self.ports.store.read(bucket, &key).await? {
                None => {
                    candidate = fresh.clone();
                    condition = WriteCondition::Absent;
                }
                Some(stored) => {
                    let etag = stored.etag.ok_or_else(|| {
                        RecordError::retryable(format!(
                            "s3://{bucket}/{key} came back without an ETag"
                        ))
                    })?;
                    candidate = match AnalysisDocument::from_json(&stored.bytes) {
                        Ok(existing) => fresh.clone().merged_over(existing),
                        Err(problem) => {
                            tracing::warn!(%problem, "replacing an unreadable analysis document");
                            fresh.clone()
                        }
                    };
                    condition = WriteCondition::Matches(etag);
                }
            }
        }
        Err(RecordError::retryable(format!(
            "s3://{bucket}/{key} kept changing during {DOCUMENT_WRITE_ATTEMPTS} write attempts"
        )))
    }

    /// Read-modify-write of the document of `media_key`. `apply` returns false when the
    /// completion does not belong to the stored document (an older upload's job); then
    /// nothing is written and `None` is returned.
    async fn update_document<F>(
        &self,
        media_key: &str,
        mut apply: F,
    ) -> Result<Option<AnalysisDocument>, RecordError>
    where
        F: FnMut(&mut AnalysisDocument) -> bool,
    {
        let key = document_key(media_key);
        let bucket = &self.settings.results_bucket;
        for _ in 0..DOCUMENT_WRITE_ATTEMPTS {
            let stored = self.ports.store.read(bucket, &key).await?.ok_or_else(|| {
                RecordError::retryable(format!(
                    "s3://{bucket}/{key} does not exist yet: the upload event of s3://{}/{media_key} has not been processed",
                    self.settings.media_bucket
                ))
            })?;
            let etag = stored.etag.ok_or_else(|| {
                RecordError::retryable(format!("s3://{bucket}/{key} came back without an ETag"))
            })?;
            let mut doc = AnalysisDocument::from_json(&stored.bytes)
                .map_err(|e| RecordError::permanent(format!("s3://{bucket}/{key}: {e}")))?;
            if !apply(&mut doc) {
                return Ok(None);
            }
            match self
                .ports
                .store
                .write_json(bucket, &key, doc.to_json(), WriteCondition::Matches(etag))
                .await?
            {
                WriteOutcome::Written => return Ok(Some(doc)),
                WriteOutcome::ConditionFailed => continue,
            }
        }
        Err(RecordError::retryable(format!(
            "s3://{bucket}/{key} kept changing during {DOCUMENT_WRITE_ATTEMPTS} write attempts"
        )))
    }

    /// Sets `moderation-verdict` (approved, review, rejected, pending or failed) and
    /// `moderation-backend` on the analysed version, keeping the object's other tags.
    async fn write_verdict_tags(&self, doc: &AnalysisDocument) -> Result<(), RecordError> {
        let verdict = match (doc.moderation.state, doc.verdict) {
            (PartState::NotApplicable, _) => return Ok(()),
            (PartState::Done, Some(verdict)) => verdict.as_str(),
            (PartState::Pending, _) => "pending",
            (PartState::Done, None) | (PartState::Failed, _) => "failed",
        };
        let object = ObjectRef {
            bucket: doc.source.bucket.clone(),
            key: doc.source.key.clone(),
            version_id: doc.source.version_id.clone(),
        };
        let mut tags = self.ports.store.tags(&object).await?;
        tags.retain(|(k, _)| k != VERDICT_TAG && k != BACKEND_TAG);
        tags.push((VERDICT_TAG.to_string(), verdict.to_string()));
        tags.push((BACKEND_TAG.to_string(), doc.backend.clone()));
        if tags.len() > MAX_TAGS {
            return Err(RecordError::permanent(format!(
                "{} already has {} tags; S3 allows {MAX_TAGS}, so the verdict tags do not fit",
                doc.source.uri(),
                tags.len() - 2
            )));
        }
        self.ports.store.put_tags(&object, &tags).await
    }

    fn document_uri(&self, doc: &AnalysisDocument) -> String {
        format!(
            "s3://{}/{}",
            self.settings.results_bucket,
            document_key(&doc.source.key)
        )
    }

    async fn publish(&self, event: Envelope) -> Result<(), RecordError> {
        self.ports
            .publisher
            .publish(&event)
            .await
            .map_err(publish_failure)
    }

    /// `media.analyzed`: the document is complete (no part waits for a job).
    async fn publish_analyzed(&self, doc: &AnalysisDocument) -> Result<(), RecordError> {
        let analyzed_at = doc
            .timings
            .completed_at
            .clone()
            .unwrap_or_else(|| shared::time::rfc3339(shared::time::now_utc()));
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
        self.publish(Envelope::new(
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
                "analysis_document": self.document_uri(doc),
            }),
        ))
        .await
    }

    /// `media.flagged` as soon as the verdict is review (warning) or rejected (critical),
    /// without waiting for a transcript.
    async fn publish_flagged(&self, doc: &AnalysisDocument) -> Result<(), RecordError> {
        let severity = match doc.verdict {
            Some(Verdict::Review) => Severity::Warning,
            Some(Verdict::Rejected) => Severity::Critical,
            _ => return Ok(()),
        };
        self.publish(Envelope::new(
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
                "analysis_document": self.document_uri(doc),
            }),
        ))
        .await
    }

    async fn publish_failed(
        &self,
        doc: &AnalysisDocument,
        stage: &str,
        reason: &str,
    ) -> Result<(), RecordError> {
        tracing::error!(stage, reason, key = %doc.source.key, "analysis failed for good");
        self.publish(Envelope::new(
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
                "analysis_document": self.document_uri(doc),
            }),
        ))
        .await
    }

    async fn publish_transcript_ready(
        &self,
        doc: &AnalysisDocument,
        summary: &TranscriptSummary,
    ) -> Result<(), RecordError> {
        self.publish(Envelope::new(
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
                "analysis_document": self.document_uri(doc),
            }),
        ))
        .await
    }

    /// A Rekognition video moderation job ended.
    async fn on_moderation_job(
        &self,
        done: RekognitionJobDone,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        if !done.is_content_moderation() {
            tracing::info!(api = %done.api, job_id = %done.job_id, "Rekognition job of another kind; nothing to do");
            Tally::add(&tally.messages_without_work);
            return Ok(());
        }
        if done.bucket != self.settings.media_bucket {
            self.skip(
                tally,
                &done.bucket,
                &done.key,
                "moderation job of an object outside the media bucket",
            );
            return Ok(());
        }
        let claim = stable_id(&["rekognition", &done.job_id, &done.status]);
        exactly_once(&self.ports.idempotency, &claim, tally, || async {
            let outcome: Result<(Findings, _), String> = if done.succeeded() {
                let findings = self.ports.backend.video_results(&done.job_id).await?;
                let judgement = self.settings.policy.judge(&findings.moderation_labels);
                Ok((findings, judgement))
            } else {
                Err(format!(
                    "Rekognition video moderation job {} ended {}{}",
                    done.job_id,
                    done.status,
                    done.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ))
            };
            let updated = self
                .update_document(&done.key, |doc| {
                    if doc.moderation.job_id.as_deref() != Some(done.job_id.as_str()) {
                        return false;
                    }
                    match &outcome {
                        Ok((findings, judgement)) => {
                            doc.record_moderation(findings.clone(), judgement.clone(), None)
                        }
                        Err(reason) => doc.moderation_failed(reason),
                    }
                    true
                })
                .await?;
            let Some(doc) = updated else {
                tracing::info!(job_id = %done.job_id, key = %done.key, "moderation job of an older upload of this key; ignored");
                return Ok(());
            };
            Tally::add(&tally.job_completions);
            self.write_verdict_tags(&doc).await?;
            match &outcome {
                Ok(_) => self.publish_flagged(&doc).await?,
                Err(reason) => self.publish_failed(&doc, "moderation", reason).await?,
            }
            if doc.is_complete() {
                self.publish_analyzed(&doc).await?;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// A Transcribe job changed state.
    async fn on_transcription_job(
        &self,
        changed: TranscribeJobChanged,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        if !matches!(changed.status.as_str(), "COMPLETED" | "FAILED") {
            tracing::info!(job_name = %changed.job_name, status = %changed.status, "transcription job not finished; nothing to do");
            Tally::add(&tally.messages_without_work);
            return Ok(());
        }
        let job = self
            .ports
            .transcriber
            .job(&changed.job_name)
            .await?
            .ok_or_else(|| {
                RecordError::permanent(format!("no transcription job named {}", changed.job_name))
            })?;
        let media = job.media_uri.as_deref().and_then(parse_s3_uri);
        let Some((bucket, media_key)) = media.filter(|(b, _)| *b == self.settings.media_bucket)
        else {
            tracing::info!(job_name = %job.name, media = job.media_uri.as_deref().unwrap_or(""), "transcription job of something other than the media bucket; not ours");
            Tally::add(&tally.messages_without_work);
            return Ok(());
        };
        if !matches!(job.status.as_str(), "COMPLETED" | "FAILED") {
            return Err(RecordError::retryable(format!(
                "event says transcription job {} is {} but the job reports {}",
                job.name, changed.status, job.status
            )));
        }
        let claim = stable_id(&["transcribe", &job.name, &job.status]);
        exactly_once(&self.ports.idempotency, &claim, tally, || async {
            let outcome: Result<TranscriptSummary, String> = if job.status == "COMPLETED" {
                Ok(self.read_transcript(&job.name, job.language.as_deref()).await?)
            } else {
                Err(format!(
                    "Transcribe job {} failed: {}",
                    job.name,
                    job.failure_reason.as_deref().unwrap_or("no reason given")
                ))
            };
            let updated = self
                .update_document(media_key, |doc| {
                    if doc.source.bucket != bucket
                        || doc.transcript.job_name.as_deref() != Some(job.name.as_str())
                    {
                        return false;
                    }
                    match &outcome {
                        Ok(summary) => doc.record_transcript(summary.clone()),
                        Err(reason) => doc.transcript_failed(reason),
                    }
                    true
                })
                .await?;
            let Some(doc) = updated else {
                tracing::info!(job_name = %job.name, key = media_key, "transcription job of an older upload of this key; ignored");
                return Ok(());
            };
            Tally::add(&tally.job_completions);
            match &outcome {
                Ok(summary) => self.publish_transcript_ready(&doc, summary).await?,
                Err(reason) => self.publish_failed(&doc, "transcription", reason).await?,
            }
            if doc.is_complete() {
                self.publish_analyzed(&doc).await?;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    async fn read_transcript(
        &self,
        job_name: &str,
        job_language: Option<&str>,
    ) -> Result<TranscriptSummary, RecordError> {
        let key = transcript::output_key(job_name);
        let bucket = &self.settings.results_bucket;
        let stored = self.ports.store.read(bucket, &key).await?.ok_or_else(|| {
            RecordError::retryable(format!(
                "transcript s3://{bucket}/{key} of COMPLETED job {job_name} does not exist; \
                 retrying in case it is not visible yet"
            ))
        })?;
        transcript::summarise(&stored.bytes, job_language)
            .map_err(|e| RecordError::permanent(format!("s3://{bucket}/{key}: {e}")))
    }
}

/// `s3://bucket/key` -> (bucket, key).
fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// `covers/` for `covers/a/b.jpg`: the upload prefix the key was routed by.
fn upload_prefix(key: &str) -> Option<String> {
    key.split_once('/').map(|(first, _)| format!("{first}/"))
}
