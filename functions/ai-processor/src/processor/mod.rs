//! The function's behaviour: one SQS message in, analysis documents, tags and events out.
//!
//! Upload events start the analysis (`uploads`: synchronous moderation for images, jobs for
//! videos and audio); job completions finish it (`completions`). Every effect is keyed by
//! the upload (bucket, key, version or ETag) so duplicate deliveries have one effect, and the
//! document is updated with conditional writes (`documents`) so two completions arriving
//! together do not overwrite each other; `deletions` removes what a deleted upload left;
//! `announce` builds the domain events.

mod announce;
mod completions;
mod deletions;
mod documents;
mod review;
mod tally;
mod text;
mod uploads;

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shared::batch::{process_batch_until, DeadLetterSink, Deadline, RecordError};
use shared::events::EventPublisher;
use shared::idempotency::{once, IdempotencyError, IdempotencyStore, Once};
use shared::results::ObjectStore;
use shared::time::Clock;
use tracing::Instrument;

use crate::config::{Config, ReviewConfig};
use crate::inbound::{self, Inbound};
use crate::policy::ModerationPolicy;
use crate::ports::{KeywordSource, MediaStore, ModerationBackend, TextExtractor, Transcriber};
pub use tally::Tally;

/// The `source` of every event this function publishes, and its metrics service name.
pub const SOURCE: &str = "ai-processor";

/// Tags this function owns on an upload; other tags are kept as they are.
pub const VERDICT_TAG: &str = "moderation-verdict";
pub const BACKEND_TAG: &str = "moderation-backend";
/// Why an upload was not analysed (a short code), beside `moderation-verdict=skipped`.
pub const SKIP_REASON_TAG: &str = "moderation-skip-reason";
/// The `moderation-verdict` of an upload that is not analysed.
pub const SKIPPED: &str = "skipped";

/// The part of the configuration the behaviour needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub media_bucket: String,
    pub results_bucket: String,
    pub transcribe_languages: Vec<String>,
    /// Prefix of the Transcribe job names this stack starts (`TRANSCRIBE_JOB_PREFIX`).
    pub transcribe_job_prefix: String,
    pub policy: ModerationPolicy,
    pub emit_skip_events: bool,
    /// Documents get their text extracted (`OCR_BACKEND` is not `none`).
    pub ocr_enabled: bool,
    /// Lower-cased `OCR_KEYWORDS`.
    pub ocr_keywords: Vec<String>,
    pub batch_concurrency: usize,
    pub metrics_namespace: String,
    /// The function name and link validity shown with uploads under review.
    pub review: ReviewConfig,
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Self {
            media_bucket: c.media_bucket.clone(),
            results_bucket: c.common.results_bucket.clone(),
            transcribe_languages: c.transcribe_languages.clone(),
            transcribe_job_prefix: c.transcribe_job_prefix.clone(),
            policy: c.policy.clone(),
            emit_skip_events: c.emit_skip_events,
            ocr_enabled: c.ocr != crate::config::OcrConfig::Off,
            ocr_keywords: c.ocr_keywords.iter().map(|k| k.to_lowercase()).collect(),
            batch_concurrency: c.common.batch_concurrency,
            metrics_namespace: c.common.metrics_namespace.clone(),
            review: c.review.clone(),
        }
    }
}

/// The adapter types one processor runs against: AWS in production, fakes in domain tests.
pub trait Adapters {
    type Media: MediaStore;
    type Results: ObjectStore;
    type Backend: ModerationBackend;
    type Transcriber: Transcriber;
    type Text: TextExtractor;
    type Keywords: KeywordSource;
    type Publisher: EventPublisher;
    type Idempotency: IdempotencyStore;
    type DeadLetters: DeadLetterSink;
}

/// The adapters the behaviour runs against.
pub struct Ports<A: Adapters> {
    pub media: A::Media,
    pub results: A::Results,
    pub backend: A::Backend,
    pub transcriber: A::Transcriber,
    pub text: A::Text,
    pub keywords: A::Keywords,
    pub publisher: A::Publisher,
    pub idempotency: A::Idempotency,
    pub dead_letters: A::DeadLetters,
    pub clock: Arc<dyn Clock>,
}

pub struct Processor<A: Adapters> {
    settings: Settings,
    ports: Ports<A>,
}

/// Carries a record error through `idempotency::once`, whose store failures are retryable.
struct Failed(RecordError);

impl From<IdempotencyError> for Failed {
    fn from(e: IdempotencyError) -> Self {
        Failed(e.into())
    }
}

impl From<RecordError> for Failed {
    fn from(e: RecordError) -> Self {
        Failed(e)
    }
}

impl<A: Adapters> Processor<A> {
    pub fn new(settings: Settings, ports: Ports<A>) -> Self {
        Self { settings, ports }
    }

    /// Handles one SQS batch and reports exactly the records SQS must deliver again; a record
    /// still running at `deadline` is handed back as retryable.
    pub async fn handle_batch(&self, event: SqsEvent, deadline: Deadline) -> SqsBatchResponse {
        let tally = Tally::default();
        let tally_ref = &tally;
        let (response, summary) = process_batch_until(
            event,
            self.settings.batch_concurrency,
            deadline,
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
        tally.emit(&self.settings.metrics_namespace, SOURCE);
        response
    }

    /// Handles an S3 event notification invoked directly (not through a queue).
    pub async fn handle_notification(&self, body: &str) -> Result<(), RecordError> {
        let tally = Tally::default();
        let result = self.process(Some(body), &tally).await;
        tally.emit(&self.settings.metrics_namespace, SOURCE);
        if let Err(e) = &result {
            tracing::error!(error = %e, "direct S3 notification failed");
        }
        result
    }

    /// Handles one message body.
    pub async fn process(&self, body: Option<&str>, tally: &Tally) -> Result<(), RecordError> {
        let inbound = inbound::parse(body.unwrap_or("")).map_err(RecordError::permanent)?;
        match inbound {
            Inbound::S3Objects { created, removed } => {
                if created.is_empty() && removed.is_empty() {
                    Tally::add(&tally.messages_without_work);
                }
                for object in created {
                    self.ingest(object, tally).await?;
                }
                for object in removed {
                    self.on_removed(object, tally).await?;
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
            Inbound::SageMakerJob(done) => self.on_sagemaker_job(done, tally).await,
            Inbound::TextractJob(done) => self.on_text_job(done, tally).await,
            Inbound::TranscribeJob(changed) => self.on_transcription_job(changed, tally).await,
        }
    }

    /// Runs `effect` once per `key`; a concurrent delivery holding the key is retried later.
    /// `Ok(false)`: it was done before (a duplicate delivery).
    async fn exactly_once<F, Fut>(
        &self,
        key: &str,
        tally: &Tally,
        effect: F,
    ) -> Result<bool, RecordError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), RecordError>>,
    {
        let effect = || async { effect().await.map_err(Failed) };
        match once(&self.ports.idempotency, key, effect).await {
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

    fn skip(&self, tally: &Tally, bucket: &str, key: &str, reason: &str) {
        tracing::info!(bucket, key, reason, "upload skipped");
        Tally::add(&tally.uploads_skipped);
    }
}
