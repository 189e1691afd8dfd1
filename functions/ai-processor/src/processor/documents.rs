//! The analysis document in the results bucket (conditional writes, so a completion and a
//! redelivered upload event never overwrite each other) and the verdict tags on the upload.

use shared::batch::RecordError;

use super::{Adapters, Processor, BACKEND_TAG, VERDICT_TAG};
use crate::analysis::{document_key, AnalysisDocument, PartState};
use crate::ports::{MediaStore, ResultsStore, WriteCondition, WriteOutcome};

/// S3 allows at most 10 tags per object.
const MAX_TAGS: usize = 10;
/// Attempts of a read-modify-write of a document before giving the record back to SQS.
const DOCUMENT_WRITE_ATTEMPTS: usize = 5;

impl<A: Adapters> Processor<A> {
    /// Writes the document of a fresh analysis. When one exists already (a redelivery, or a
    /// completion that raced ahead), parts it finished are kept.
    pub(super) async fn save_fresh_document(
        &self,
        fresh: AnalysisDocument,
    ) -> Result<AnalysisDocument, RecordError> {
        let key = document_key(&fresh.source.key);
        let results = &self.ports.results;
        let mut candidate = fresh.clone();
        let mut condition = WriteCondition::Absent;
        for _ in 0..DOCUMENT_WRITE_ATTEMPTS {
            let outcome = results
                .write_json(&key, candidate.to_json(), condition.clone())
                .await?;
            if outcome == WriteOutcome::Written {
                tracing::info!(document = %self.results_uri(&key), status = ?candidate.status, "analysis document written");
                return Ok(candidate);
            }
            match results.read(&key).await? {
                None => {
                    candidate = fresh.clone();
                    condition = WriteCondition::Absent;
                }
                Some(stored) => {
                    let etag = stored.etag.ok_or_else(|| {
                        RecordError::retryable(format!(
                            "{} came back without an ETag",
                            self.results_uri(&key)
                        ))
                    })?;
                    candidate = match AnalysisDocument::from_json(&stored.bytes) {
                        Ok(existing) => fresh.clone().merged_over(existing, self.ports.clock.now()),
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
            "{} kept changing during {DOCUMENT_WRITE_ATTEMPTS} write attempts",
            self.results_uri(&key)
        )))
    }

    /// The stored document of `media_key`; retryable when there is none yet (the upload
    /// event has not been processed), permanent when it cannot be read.
    pub(super) async fn stored_document(
        &self,
        media_key: &str,
    ) -> Result<AnalysisDocument, RecordError> {
        let key = document_key(media_key);
        let stored = self.ports.results.read(&key).await?.ok_or_else(|| {
            RecordError::retryable(format!(
                "{} does not exist yet: the upload event of s3://{}/{media_key} has not been processed",
                self.results_uri(&key),
                self.settings.media_bucket
            ))
        })?;
        AnalysisDocument::from_json(&stored.bytes)
            .map_err(|e| RecordError::permanent(format!("{}: {e}", self.results_uri(&key))))
    }

    /// Read-modify-write of the document of `media_key`. `apply` returns false when the
    /// completion does not belong to the stored document (an older upload's job); then
    /// nothing is written and `None` is returned.
    pub(super) async fn update_document<F>(
        &self,
        media_key: &str,
        mut apply: F,
    ) -> Result<Option<AnalysisDocument>, RecordError>
    where
        F: FnMut(&mut AnalysisDocument) -> bool,
    {
        let key = document_key(media_key);
        let results = &self.ports.results;
        for _ in 0..DOCUMENT_WRITE_ATTEMPTS {
            let stored = results.read(&key).await?.ok_or_else(|| {
                RecordError::retryable(format!(
                    "{} does not exist yet: the upload event of s3://{}/{media_key} has not been processed",
                    self.results_uri(&key),
                    self.settings.media_bucket
                ))
            })?;
            let etag = stored.etag.ok_or_else(|| {
                RecordError::retryable(format!(
                    "{} came back without an ETag",
                    self.results_uri(&key)
                ))
            })?;
            let mut doc = AnalysisDocument::from_json(&stored.bytes)
                .map_err(|e| RecordError::permanent(format!("{}: {e}", self.results_uri(&key))))?;
            if !apply(&mut doc) {
                return Ok(None);
            }
            match results
                .write_json(&key, doc.to_json(), WriteCondition::Matches(etag))
                .await?
            {
                WriteOutcome::Written => return Ok(Some(doc)),
                WriteOutcome::ConditionFailed => continue,
            }
        }
        Err(RecordError::retryable(format!(
            "{} kept changing during {DOCUMENT_WRITE_ATTEMPTS} write attempts",
            self.results_uri(&key)
        )))
    }

    /// Sets `moderation-verdict` (approved, review, rejected, pending or failed) and
    /// `moderation-backend` on the analysed version, keeping the object's other tags.
    pub(super) async fn write_verdict_tags(
        &self,
        doc: &AnalysisDocument,
    ) -> Result<(), RecordError> {
        let verdict = match (doc.moderation.state, doc.verdict) {
            (PartState::NotApplicable, _) => return Ok(()),
            (PartState::Done, Some(verdict)) => verdict.as_str(),
            (PartState::Pending, _) => "pending",
            (PartState::Done, None) | (PartState::Failed, _) => "failed",
        };
        let object = doc.source.object();
        let mut tags = self.ports.media.tags(&object).await?;
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
        self.ports.media.put_tags(&object, &tags).await
    }

    /// `s3://<results bucket>/<key>`.
    pub(super) fn results_uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.ports.results.bucket())
    }

    pub(super) fn document_uri(&self, doc: &AnalysisDocument) -> String {
        self.results_uri(&document_key(&doc.source.key))
    }
}
