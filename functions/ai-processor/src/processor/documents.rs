//! The analysis document in the results bucket (conditional writes, so a completion and a
//! redelivered upload event never overwrite each other) and the verdict tags on the upload.

use shared::batch::RecordError;
use shared::time::Clock;

use super::{Adapters, Processor, BACKEND_TAG, SKIP_REASON_TAG, VERDICT_TAG};
use crate::analysis::{document_key, AnalysisDocument, PartState};
use shared::results::{ObjectStore, WriteCondition, WriteOutcome};

use crate::model::ObjectRef;
use crate::ports::MediaStore;

/// S3 allows at most 10 tags per object.
const MAX_TAGS: usize = 10;
/// Attempts of a read-modify-write of a document before giving the record back to SQS.
const DOCUMENT_WRITE_ATTEMPTS: usize = 5;
const JSON: &str = "application/json";
/// The tags this function owns on an upload.
const OWN_TAGS: [&str; 3] = [VERDICT_TAG, BACKEND_TAG, SKIP_REASON_TAG];

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
        // The ETag the next write must match; `None`: the key must be absent.
        let mut expected: Option<String> = None;
        for _ in 0..DOCUMENT_WRITE_ATTEMPTS {
            let condition = match &expected {
                None => WriteCondition::Absent,
                Some(etag) => WriteCondition::Matches(etag),
            };
            let outcome = results
                .put(&key, candidate.to_json(), JSON, condition)
                .await?;
            if outcome.is_written() {
                tracing::info!(document = %self.results_uri(&key), status = ?candidate.status, "analysis document written");
                return Ok(candidate);
            }
            match results.get(&key).await? {
                None => {
                    candidate = fresh.clone();
                    expected = None;
                }
                Some(stored) => {
                    let etag = stored.etag.ok_or_else(|| {
                        RecordError::retryable(format!(
                            "{} came back without an ETag",
                            self.results_uri(&key)
                        ))
                    })?;
                    candidate = match AnalysisDocument::from_json(&stored.body) {
                        Ok(existing) => fresh.clone().merged_over(existing, self.ports.clock.now()),
                        Err(problem) => {
                            tracing::warn!(%problem, "replacing an unreadable analysis document");
                            fresh.clone()
                        }
                    };
                    expected = Some(etag);
                }
            }
        }
        Err(RecordError::retryable(format!(
            "{} kept changing during {DOCUMENT_WRITE_ATTEMPTS} write attempts",
            self.results_uri(&key)
        )))
    }

    /// The stored document of `media_key` for a job completion. `None` when there is none
    /// because the upload was deleted meanwhile (nothing left to finish); retryable when the
    /// upload exists but its event has not been processed yet; permanent when unreadable.
    pub(super) async fn stored_document(
        &self,
        media_key: &str,
    ) -> Result<Option<AnalysisDocument>, RecordError> {
        let key = document_key(media_key);
        let Some(stored) = self.ports.results.get(&key).await? else {
            let upload = ObjectRef {
                bucket: self.settings.media_bucket.clone(),
                key: media_key.to_string(),
                version_id: None,
            };
            if self.ports.media.head(&upload).await?.is_none() {
                return Ok(None);
            }
            return Err(RecordError::retryable(format!(
                "{} does not exist yet: the upload event of s3://{}/{media_key} has not been processed",
                self.results_uri(&key),
                self.settings.media_bucket
            )));
        };
        AnalysisDocument::from_json(&stored.body)
            .map(Some)
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
            let stored = results.get(&key).await?.ok_or_else(|| {
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
            let mut doc = AnalysisDocument::from_json(&stored.body)
                .map_err(|e| RecordError::permanent(format!("{}: {e}", self.results_uri(&key))))?;
            if !apply(&mut doc) {
                return Ok(None);
            }
            match results
                .put(&key, doc.to_json(), JSON, WriteCondition::Matches(&etag))
                .await?
            {
                WriteOutcome::Written { .. } => return Ok(Some(doc)),
                WriteOutcome::ConditionFailed | WriteOutcome::ConcurrentWrite => continue,
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
        let verdict = match (doc.verdict_part(), doc.verdict) {
            (PartState::NotApplicable, _) => return Ok(()),
            (PartState::Done, Some(verdict)) => verdict.as_str(),
            (PartState::Pending, _) => "pending",
            (PartState::Done, None) | (PartState::Failed, _) => "failed",
        };
        self.write_tags(
            &doc.source.object(),
            &[(VERDICT_TAG, verdict), (BACKEND_TAG, doc.backend.as_str())],
        )
        .await
    }

    /// Sets `ours` on the object, replacing every tag this function owns and keeping the
    /// object's other tags.
    pub(super) async fn write_tags(
        &self,
        object: &ObjectRef,
        ours: &[(&str, &str)],
    ) -> Result<(), RecordError> {
        let mut tags = self.ports.media.tags(object).await?;
        tags.retain(|(k, _)| !OWN_TAGS.contains(&k.as_str()));
        let others = tags.len();
        tags.extend(ours.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if tags.len() > MAX_TAGS {
            return Err(RecordError::permanent(format!(
                "{} already has {others} tags; S3 allows {MAX_TAGS}, so the verdict tags do not fit",
                object.uri()
            )));
        }
        self.ports.media.put_tags(object, &tags).await
    }

    /// `s3://<results bucket>/<key>`.
    pub(super) fn results_uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.settings.results_bucket)
    }

    pub(super) fn document_uri(&self, doc: &AnalysisDocument) -> String {
        self.results_uri(&document_key(&doc.source.key))
    }
}
