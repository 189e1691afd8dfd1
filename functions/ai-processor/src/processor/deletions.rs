//! An upload was deleted: remove what the suite derived from it (transcript, subtitles, the
//! Transcribe job record, the analysis document) and announce `media.deleted`, once.
//!
//! The document describes one version of the key (the latest analysed). Its data is removed
//! when that version is no longer the object's current version: after a delete without
//! versioning, a delete marker (versioned bucket), or the deletion of that very version. A
//! deletion of another (older) version, or a stale delete event of a key that was uploaded
//! again since, leaves the document alone.

use shared::batch::RecordError;
use shared::events::contracts::media::MediaDeleted;
use shared::events::{stable_id, Envelope, Severity};
use shared::results::ObjectStore;
use shared::time::Clock;

use super::announce::upload_prefix;
use super::{Adapters, Processor, Tally, SOURCE};
use crate::analysis::{document_key, AnalysisDocument};
use crate::inbound::ObjectRemoved;
use crate::model::ObjectRef;
use crate::ports::{MediaStore, Transcriber};
use crate::routing;
use crate::transcript;

impl<A: Adapters> Processor<A> {
    pub(super) async fn on_removed(
        &self,
        removed: ObjectRemoved,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        let (bucket, key) = (removed.bucket.as_str(), removed.key.as_str());
        if bucket != self.settings.media_bucket {
            self.skip(
                tally,
                bucket,
                key,
                "deletion in a bucket other than the media bucket",
            );
            return Ok(());
        }
        if let Err(reason) = routing::upload_area(key) {
            self.skip(tally, bucket, key, &reason);
            return Ok(());
        }
        // Each deletion of a key is its own event: the version (or marker) id tells them
        // apart in a versioned bucket, S3's sequencer otherwise.
        let which = removed
            .version_id
            .as_deref()
            .or(removed.sequencer.as_deref())
            .unwrap_or("");
        let claim = stable_id(&["delete", bucket, key, which]);
        let done = self
            .exactly_once(&claim, tally, || self.remove_derived(&removed))
            .await?;
        if done {
            Tally::add(&tally.uploads_deleted);
        }
        Ok(())
    }

    async fn remove_derived(&self, removed: &ObjectRemoved) -> Result<(), RecordError> {
        let doc_key = document_key(&removed.key);
        let Some(stored) = self.ports.results.get(&doc_key).await? else {
            tracing::info!(key = %removed.key, "deleted upload was never analysed; nothing derived to remove");
            return Ok(());
        };
        let doc = match AnalysisDocument::from_json(&stored.body) {
            Ok(doc) => doc,
            Err(problem) => {
                // Unreadable: nothing in it can be trusted, but it is derived data all the same.
                tracing::warn!(%problem, "removing an unreadable analysis document");
                self.ports.results.delete(&doc_key).await?;
                return Ok(());
            }
        };
        if !self.describes_deleted_version(&doc, removed).await? {
            tracing::info!(key = %removed.key, "the analysed version still exists; its data stays");
            return Ok(());
        }
        let mut removed_objects = 0u32;
        if let Some(job_name) = doc.transcript.job_name.as_deref() {
            for output in transcript::outputs(job_name) {
                self.ports.results.delete(&output).await?;
            }
            removed_objects += 1 + doc.transcript.subtitles.len() as u32;
            self.ports.transcriber.delete_job(job_name).await?;
        }
        for request_id in doc.async_inferences() {
            // The asynchronous request names the upload.
            self.ports
                .results
                .delete(&crate::endpoint::async_request_key(request_id))
                .await?;
            removed_objects += 1;
        }
        if doc.text.text_uri.is_some() {
            self.ports
                .results
                .delete(&super::text::text_key(&removed.key))
                .await?;
            removed_objects += 1;
        }
        // The document goes last, so a retry after a partial failure still finds what to remove.
        self.ports.results.delete(&doc_key).await?;
        removed_objects += 1;
        tracing::info!(key = %removed.key, removed_objects, "derived data of a deleted upload removed");

        let deleted_at = removed.event_time.unwrap_or_else(|| self.ports.clock.now());
        let payload = MediaDeleted {
            bucket: removed.bucket.clone(),
            key: removed.key.clone(),
            version_id: removed.version_id.clone(),
            delete_marker: removed.delete_marker,
            kind: Some(doc.kind),
            verdict: doc.verdict,
            prefix: upload_prefix(&removed.key),
            removed_objects,
            deleted_at: shared::time::rfc3339(deleted_at),
        };
        let subject = format!("s3://{}/{}", removed.bucket, removed.key);
        let discriminator = stable_id(&[
            doc.source.discriminator(),
            removed.version_id.as_deref().unwrap_or(""),
        ]);
        self.publish(
            Envelope::of(&payload, SOURCE, &subject, Severity::Info, &discriminator)
                .first_published_at(Some(deleted_at)),
        )
        .await
    }

    /// Whether the version the document describes is gone from the key's current state.
    async fn describes_deleted_version(
        &self,
        doc: &AnalysisDocument,
        removed: &ObjectRemoved,
    ) -> Result<bool, RecordError> {
        let deleted_version = removed.version_id.as_deref();
        if !removed.delete_marker
            && deleted_version.is_some()
            && deleted_version != doc.source.version_id.as_deref()
        {
            // Another version than the analysed one was deleted.
            return Ok(false);
        }
        let current = ObjectRef {
            bucket: removed.bucket.clone(),
            key: removed.key.clone(),
            version_id: None,
        };
        Ok(match self.ports.media.head(&current).await? {
            None => true,
            Some(info) => {
                let current_discriminator = info.version_id.as_deref().unwrap_or(&info.etag);
                current_discriminator != doc.source.discriminator()
            }
        })
    }
}
