//! Completions of the asynchronous jobs an upload started, arriving on `ai-jobs`: a
//! Rekognition video moderation job (through SNS) and a Transcribe job (EventBridge).

use shared::batch::RecordError;
use shared::events::stable_id;
use shared::time::Clock;

use super::{Adapters, Processor, Tally};
use crate::inbound::{RekognitionJobDone, TranscribeJobChanged};
use crate::model::Findings;
use crate::policy::Judgement;
use shared::results::ObjectStore;

use crate::ports::{ModerationBackend, Transcriber};
use crate::transcript::{self, TranscriptSummary};

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
        // Whose job is it? Checked before the (paginated, billed) result read.
        let Some(stored) = self.stored_document(&done.key).await? else {
            tracing::info!(job_id = %done.job_id, key = %done.key, "moderation job of an upload deleted since; nothing to finish");
            Tally::add(&tally.messages_without_work);
            return Ok(());
        };
        if stored.moderation.job_id.as_deref() != Some(done.job_id.as_str()) {
            tracing::info!(job_id = %done.job_id, key = %done.key, "moderation job of an older upload of this key, or not of this suite; ignored");
            Tally::add(&tally.messages_without_work);
            return Ok(());
        }
        let claim = stable_id(&["rekognition", &done.job_id, &done.status]);
        self.exactly_once(&claim, tally, || async {
            let outcome: Result<(Findings, Judgement), String> = if done.succeeded() {
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
            let now = self.ports.clock.now();
            let updated = self
                .update_document(&done.key, |doc| {
                    if doc.moderation.job_id.as_deref() != Some(done.job_id.as_str()) {
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
    pub(super) async fn on_transcription_job(
        &self,
        changed: TranscribeJobChanged,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        if !transcript::is_ours(&changed.job_name) {
            tracing::info!(job_name = %changed.job_name, "transcription job this suite did not start (no {} prefix); not ours", transcript::JOB_NAME_PREFIX);
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
