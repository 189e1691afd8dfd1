//! What a review decision does: the audit entry and verdict in the analysis document (a
//! conditional write: a concurrent decision makes this one re-read and be judged again, so
//! neither is lost), the verdict tag on the upload, and `media.reviewed`. Also the review
//! aid that `media.flagged` carries for an upload sent to review.

use shared::events::contracts::media::ReviewAid;
use shared::results::ObjectStore;
use shared::time::Clock;
use time::{Duration, OffsetDateTime};

use super::{announce, Adapters, Processor};
use crate::analysis::{document_key, AnalysisDocument};
use crate::ports::MediaStore;
use crate::review::trail::{evaluate, Evaluation, ReviewEntry};
use crate::review::{aid, DecisionAnswer, DecisionInput, Outcome, ReviewDecision, ReviewError};
use shared::batch::RecordError;

/// Reads of the document while bringing the verdict tag in line with it.
const TAG_SETTLE_ATTEMPTS: usize = 6;
/// An entry left unannounced this long was written by an invocation that died (Lambda's
/// longest timeout is 15 minutes): the next decision on the upload announces it.
const ORPHANED_AFTER: Duration = Duration::minutes(15);

impl<A: Adapters> Processor<A> {
    /// Records a review decision. `caller` is the IAM principal that signed a function URL
    /// request, when there was one.
    pub async fn decide(
        &self,
        input: DecisionInput,
        caller: Option<String>,
    ) -> Result<DecisionAnswer, ReviewError> {
        let decision = input
            .check(&self.settings.media_bucket, caller)
            .map_err(ReviewError::Invalid)?;
        let result = self.record_decision(&decision).await;
        match &result {
            Ok(answer) => tracing::info!(
                key = %decision.upload.key,
                outcome = ?answer.outcome,
                verdict = answer.verdict.as_str(),
                changed = answer.changed,
                "review decision"
            ),
            Err(e) => {
                tracing::warn!(key = %decision.upload.key, error = %e, "review decision not recorded")
            }
        }
        result
    }

    async fn record_decision(
        &self,
        decision: &ReviewDecision,
    ) -> Result<DecisionAnswer, ReviewError> {
        let upload = &decision.upload;
        let media_key = upload.key.as_str();
        let named = match &upload.version_id {
            Some(version) => format!("{} (version {version})", upload.uri()),
            None => upload.uri(),
        };
        if self
            .ports
            .results
            .get(&document_key(media_key))
            .await?
            .is_none()
        {
            return Err(ReviewError::NotFound(format!(
                "{named} was never analysed, so there is no verdict to decide on"
            )));
        }
        let Some(current) = self.ports.media.head(upload).await? else {
            return Err(ReviewError::NotFound(format!(
                "{named} does not exist (deleted since it was analysed?)"
            )));
        };
        let now = self.ports.clock.now();
        let mut judged = None;
        self.update_document(media_key, |doc| {
            let evaluation = evaluate(doc, decision, &current, now);
            let record = match &evaluation {
                Ok(Evaluation::Record(entry)) => {
                    doc.record_review(entry.clone());
                    true
                }
                _ => false,
            };
            judged = Some(evaluation);
            record
        })
        .await?;
        let judged = judged.ok_or_else(|| {
            RecordError::retryable(format!("the analysis of {named} could not be read"))
        })?;
        let (outcome, entry) = match judged? {
            Evaluation::Record(entry) => (Outcome::Recorded, entry),
            Evaluation::AlreadyRecorded(entry) => (Outcome::AlreadyRecorded, entry),
        };
        if !entry.announced {
            // New, or recorded by an attempt that failed before it finished: finish it.
            self.finish_decision(media_key, &entry, now).await?;
        }
        Ok(DecisionAnswer::new(outcome, decision, &entry))
    }

    /// Tags the upload with the document's verdict, publishes `media.reviewed` of `own` (and
    /// of entries an invocation that died left behind), then notes them as announced.
    async fn finish_decision(
        &self,
        media_key: &str,
        own: &ReviewEntry,
        now: OffsetDateTime,
    ) -> Result<(), ReviewError> {
        let doc = self.settle_verdict_tag(media_key).await?;
        let uri = self.document_uri(&doc);
        let due: Vec<&ReviewEntry> = doc
            .reviews
            .iter()
            .filter(|e| !e.announced && (e.seq == own.seq || orphaned(e, now)))
            .collect();
        for entry in &due {
            self.publish(announce::reviewed(&doc, entry, &uri)).await?;
        }
        let seqs: Vec<u32> = due.iter().map(|e| e.seq).collect();
        self.update_document(media_key, |doc| doc.mark_announced(&seqs))
            .await?;
        Ok(())
    }

    /// Writes the verdict tag from the document and reads the document again until no
    /// decision came in between, so the tag always ends as the last decision left it (a
    /// concurrent decision's tag write can otherwise land before this one's).
    async fn settle_verdict_tag(&self, media_key: &str) -> Result<AnalysisDocument, ReviewError> {
        let key = document_key(media_key);
        let mut tagged: Option<String> = None;
        for _ in 0..TAG_SETTLE_ATTEMPTS {
            let stored = self.ports.results.get(&key).await?.ok_or_else(|| {
                ReviewError::Conflict(format!(
                    "the analysis of s3://{}/{media_key} was removed meanwhile (upload deleted)",
                    self.settings.media_bucket
                ))
            })?;
            let doc = AnalysisDocument::from_json(&stored.body)
                .map_err(|e| RecordError::permanent(format!("{}: {e}", self.results_uri(&key))))?;
            if stored.etag.is_some() && stored.etag == tagged {
                return Ok(doc);
            }
            self.write_verdict_tags(&doc).await?;
            tagged = stored.etag;
        }
        Err(RecordError::retryable(format!(
            "{} kept changing while its verdict tag was written",
            self.results_uri(&key)
        ))
        .into())
    }

    /// What the moderator of an upload under review needs: a link (none, logged, when it
    /// cannot be signed) and the decision inputs.
    pub(super) async fn review_aid(&self, doc: &AnalysisDocument) -> ReviewAid {
        let ttl = self.settings.review.link_ttl;
        let link = match self.ports.media.share_link(&doc.source.object(), ttl).await {
            Ok(link) => Some(link),
            Err(reason) => {
                tracing::warn!(%reason, key = %doc.source.key, "no link to the upload under review");
                None
            }
        };
        aid::review_aid(
            &doc.source,
            &self.settings.review.function_name,
            link,
            ttl,
            self.ports.clock.now(),
        )
    }
}

fn orphaned(entry: &ReviewEntry, now: OffsetDateTime) -> bool {
    shared::time::parse_rfc3339_lenient(&entry.decided_at)
        .is_some_and(|decided| now - decided > ORPHANED_AFTER)
}
