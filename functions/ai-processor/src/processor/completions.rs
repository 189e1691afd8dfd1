//! Completions of the asynchronous jobs an upload started, arriving on `ai-jobs`: a
//! Rekognition video moderation job (through SNS), a SageMaker asynchronous inference
//! (moderation or OCR, told apart by the request this suite stored) and a Transcribe job
//! (EventBridge).

use shared::batch::RecordError;
use shared::events::stable_id;
use shared::time::Clock;

use super::{Adapters, Processor, Tally};
use crate::analysis::AnalysisDocument;
use crate::endpoint::{self, EndpointRequest, Task};
use crate::inbound::{RekognitionJobDone, SageMakerJobDone, TranscribeJobChanged};
use crate::model::Findings;
use crate::policy::Judgement;
use shared::results::ObjectStore;

use crate::ports::{ModerationBackend, Transcriber};
use crate::transcript::{self, TranscriptSummary};

/// The end of an asynchronous job of an upload (video moderation or text extraction),
/// whichever service ran it.
pub(super) struct JobEnded {
    pub job_id: String,
    pub media_key: String,
    /// The final status as the service names it; with the job id, what makes a completion
    /// one effect.
    pub status: String,
    /// `Ok(where the answer is, if the service says)` or `Err(why it failed)`.
    pub outcome: Result<Option<String>, String>,
}

/// Where to read a job's answer: where the service said at the start (recorded in the
/// document), else where its notification says. A notification naming another place is not
/// trusted.
pub(super) fn answer_location<'a>(
    recorded: Option<&'a str>,
    notified: Option<&'a str>,
) -> Option<&'a str> {
    if let (Some(recorded), Some(notified)) = (recorded, notified) {
        if recorded != notified {
            tracing::warn!(
                recorded,
                notified,
                "the notification names another output than the job's start; reading the recorded one"
            );
        }
    }
    recorded.or(notified)
}

/// The largest job output (a transcript) read into the function; a larger one is refused
/// for good rather than risking the function's memory.
pub const MAX_OUTPUT_BYTES: u64 = 5 * 1024 * 1024;

impl<A: Adapters> Processor<A> {
    /// A Rekognition video moderation job ended.
    pub(super) async fn on_moderation_job(
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
        let failure = format!(
            "Rekognition video moderation job {} ended {}{}",
            done.job_id,
            done.status,
            done.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
        let ended = JobEnded {
            job_id: done.job_id.clone(),
            media_key: done.key.clone(),
            outcome: if done.succeeded() {
                Ok(None)
            } else {
                Err(failure)
            },
            status: done.status,
        };
        self.finish_video_moderation(ended, tally).await
    }

    /// A SageMaker asynchronous inference ended (success or error notification). Which part
    /// of the analysis it finishes (video moderation or a document's text) comes from the
    /// request this suite stored for it, never from the notification alone.
    pub(super) async fn on_sagemaker_job(
        &self,
        done: SageMakerJobDone,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        let requests = format!(
            "s3://{}/{}",
            self.settings.results_bucket,
            endpoint::ASYNC_REQUEST_PREFIX
        );
        let Some(request_key) = done
            .input_location
            .strip_prefix(&requests)
            .map(|name| format!("{}{name}", endpoint::ASYNC_REQUEST_PREFIX))
        else {
            tracing::info!(inference_id = %done.inference_id, input = %done.input_location, "SageMaker inference this suite did not request; not ours");
            Tally::add(&tally.messages_without_work);
            return Ok(());
        };
        let Some(stored) = self.ports.results.get(&request_key).await? else {
            tracing::info!(inference_id = %done.inference_id, "the request of this inference is gone (its upload was deleted); nothing to finish");
            Tally::add(&tally.messages_without_work);
            return Ok(());
        };
        let request = EndpointRequest::from_json(&stored.body).map_err(|e| {
            RecordError::permanent(format!("{}: {e}", self.results_uri(&request_key)))
        })?;
        if request.s3.bucket != self.settings.media_bucket {
            self.skip(
                tally,
                &request.s3.bucket,
                &request.s3.key,
                "asynchronous request of an object outside the media bucket",
            );
            return Ok(());
        }
        let ended = JobEnded {
            job_id: done.inference_id.clone(),
            media_key: request.s3.key,
            status: if done.succeeded {
                "Completed"
            } else {
                "Failed"
            }
            .to_string(),
            outcome: if done.succeeded {
                Ok(done.output_location.clone())
            } else {
                Err(format!(
                    "SageMaker asynchronous inference {} failed: {}",
                    done.inference_id,
                    done.failure_reason.as_deref().unwrap_or("no reason given")
                ))
            },
        };
        match request.task {
            Task::Moderation => self.finish_video_moderation(ended, tally).await,
            Task::Ocr => self.finish_text_job(ended, tally).await,
        }
    }

    /// The stored document of the job's upload when `waiting` says its part waits for this
    /// job; `None` (logged, counted as no work) when the upload was deleted since, or the job
    /// is an older upload's of the key or not this suite's.
    pub(super) async fn document_waiting_for(
        &self,
        ended: &JobEnded,
        part: &str,
        waiting: impl Fn(&AnalysisDocument) -> bool,
        tally: &Tally,
    ) -> Result<Option<AnalysisDocument>, RecordError> {
        let (job_id, key) = (ended.job_id.as_str(), ended.media_key.as_str());
        let Some(stored) = self.stored_document(key).await? else {
            tracing::info!(
                job_id,
                key,
                part,
                "job of an upload deleted since; nothing to finish"
            );
            Tally::add(&tally.messages_without_work);
            return Ok(None);
        };
        if !waiting(&stored) {
            tracing::info!(
                job_id,
                key,
                part,
                "job of an older upload of this key, or not of this suite; ignored"
            );
            Tally::add(&tally.messages_without_work);
            return Ok(None);
        }
        Ok(Some(stored))
    }

    /// The moderation job of a video ended: record the verdict (or the failure) once, tag the
    /// upload, announce it.
    async fn finish_video_moderation(
        &self,
        ended: JobEnded,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        let (job_id, key) = (ended.job_id.as_str(), ended.media_key.as_str());
        // Whose job is it? Checked before the (paginated, billed) result read.
        let waiting = |doc: &AnalysisDocument| doc.moderation.job_id.as_deref() == Some(job_id);
        let Some(stored) = self
            .document_waiting_for(&ended, "moderation", waiting, tally)
            .await?
        else {
            return Ok(());
        };
        let claim = stable_id(&["moderation-job", job_id, &ended.status]);
        self.exactly_once(&claim, tally, || async {
            let outcome: Result<(Findings, Judgement), String> = match &ended.outcome {
                Ok(notified) => {
                    let output = answer_location(
                        stored.moderation.output_location.as_deref(),
                        notified.as_deref(),
                    );
                    let findings = self.ports.backend.video_results(job_id, output).await?;
                    let judgement = self.settings.policy.judge(&findings.moderation_labels);
                    Ok((findings, judgement))
                }
                Err(reason) => Err(reason.clone()),
            };
            let now = self.ports.clock.now();
            let updated = self
                .update_document(key, |doc| {
                    if !waiting(doc) {
                        return false;
                    }
                    match &outcome {
                        Ok((findings, judgement)) => {
                            doc.record_moderation(findings.clone(), judgement.clone(), None, now)
                        }
                        Err(reason) => doc.moderation_failed(reason, now),
                    }
                    true
                })
                .await?;
            let Some(doc) = updated else {
                tracing::info!(
                    job_id,
                    key,
                    "moderation job of an older upload of this key; ignored"
                );
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
    pub(super) async fn on_transcription_job(
        &self,
        changed: TranscribeJobChanged,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        if !transcript::is_ours(&self.settings.transcribe_job_prefix, &changed.job_name) {
            tracing::info!(job_name = %changed.job_name, "transcription job this stack did not start (no {} prefix); not ours", self.settings.transcribe_job_prefix);
            Tally::add(&tally.messages_without_work);
            return Ok(());
        }
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
        if self.stored_document(media_key).await?.is_none() {
            tracing::info!(job_name = %job.name, key = media_key, "transcription job of an upload deleted since; nothing to finish");
            Tally::add(&tally.messages_without_work);
            return Ok(());
        }
        let claim = stable_id(&["transcribe", &job.name, &job.status]);
        self.exactly_once(&claim, tally, || async {
            let outcome: Result<TranscriptSummary, String> = if job.status == "COMPLETED" {
                Ok(self.read_transcript(&job.name, job.language.as_deref()).await?)
            } else {
                Err(format!(
                    "Transcribe job {} failed: {}",
                    job.name,
                    job.failure_reason.as_deref().unwrap_or("no reason given")
                ))
            };
            let now = self.ports.clock.now();
            let updated = self
                .update_document(media_key, |doc| {
                    if doc.source.bucket != bucket
                        || doc.transcript.job_name.as_deref() != Some(job.name.as_str())
                    {
                        return false;
                    }
                    match &outcome {
                        Ok(summary) => {
                            doc.transcript.subtitles = transcript::subtitle_keys(&job.name)
                                .iter()
                                .map(|key| self.results_uri(key))
                                .collect();
                            doc.record_transcript(summary.clone(), now)
                        }
                        Err(reason) => doc.transcript_failed(reason, now),
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
        let stored = self
            .ports
            .results
            .get_capped(&key, MAX_OUTPUT_BYTES)
            .await?
            .ok_or_else(|| {
                RecordError::retryable(format!(
                    "transcript {} of COMPLETED job {job_name} does not exist; \
                 retrying in case it is not visible yet",
                    self.results_uri(&key)
                ))
            })?;
        transcript::summarise(&stored.body, job_language)
            .map_err(|e| RecordError::permanent(format!("{}: {e}", self.results_uri(&key))))
    }
}

/// `s3://bucket/key` -> (bucket, key).
fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}
