//! Ingest: the records of one SQS batch become one compressed NDJSON object per event hour.
//!
//! Record bodies are envelopes (raw SNS delivery) or SNS notifications wrapping one. Each
//! valid envelope becomes one compact JSON line. Lines are grouped by the UTC hour of the
//! envelope's `time`; each group is written to
//! `stats/raw/YYYY/MM/DD/HH/<batch-id>.ndjson.zst`, where `<batch-id>` is a hash of the
//! group's sorted SQS message ids, with `If-None-Match: *`. A batch delivered again with the
//! same messages therefore maps to an existing key and is not written twice; a batch
//! delivered again only in part lands in a new object, and the rollup counts each envelope
//! id once.
//!
//! zstd rather than gzip: it decompresses several times faster (the rollup reads every
//! object), compresses these lines smaller at a cheap level, and Athena, Spark and the `zstd`
//! command read it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use shared::batch::{process_batch_until, Deadline, RecordError};
use shared::events::stable_id;
use shared::results::{WriteCondition, WriteOutcome};
use time::OffsetDateTime;

use crate::config::Config;
use crate::echo::reason;
use crate::inbound::{accept_record, AcceptedEvent};
use crate::period::{past_lateness, reroll_horizon, Hour, LATE_PREFIX, RAW_PREFIX};
use crate::ports::{DeadLetterSink, ObjectStore};

pub const RAW_CONTENT_TYPE: &str = "application/zstd";
pub const RAW_EXTENSION: &str = ".ndjson.zst";
/// zstd level 3 (the library default): fast enough for a 128 MB Lambda, about 8x smaller.
const ZSTD_LEVEL: i32 = 3;

/// One object to write: the events of one hour of one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject {
    pub key: String,
    pub hour: Hour,
    /// SQS message ids of the lines, sorted (the key is derived from them).
    pub message_ids: Vec<String>,
    pub body: Vec<u8>,
}

/// Groups accepted events by hour and compresses each group. The same set of messages always
/// gives the same keys and the same bytes.
pub fn raw_objects(events: Vec<AcceptedEvent>) -> std::io::Result<Vec<RawObject>> {
    let mut by_hour: BTreeMap<Hour, Vec<AcceptedEvent>> = BTreeMap::new();
    for event in events {
        by_hour.entry(event.hour).or_default().push(event);
    }
    by_hour
        .into_iter()
        .map(|(hour, mut events)| {
            events.sort_by(|a, b| a.message_id.cmp(&b.message_id));
            let message_ids: Vec<String> = events.iter().map(|e| e.message_id.clone()).collect();
            let ids: Vec<&str> = message_ids.iter().map(String::as_str).collect();
            let key = format!("{}{}{RAW_EXTENSION}", hour.raw_prefix(), stable_id(&ids));
            let mut text = String::with_capacity(events.iter().map(|e| e.line.len() + 1).sum());
            for event in &events {
                text.push_str(&event.line);
                text.push('\n');
            }
            let body = zstd::encode_all(text.as_bytes(), ZSTD_LEVEL)?;
            Ok(RawObject {
                key,
                hour,
                message_ids,
                body,
            })
        })
        .collect()
}

/// What an ingest invocation did (also emitted as metrics).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    pub records: usize,
    pub events_stored: usize,
    pub objects_written: usize,
    /// Objects whose key existed already: the same messages were stored by an earlier delivery.
    pub objects_already_stored: usize,
    /// Events stored into hours too old to be rolled again (their earlier raw objects may
    /// have expired): kept in raw, not counted in the documents.
    pub events_too_old_to_count: usize,
    pub malformed_records: usize,
    pub failed_records: usize,
}

/// Stores a batch; the response lists exactly the records SQS should deliver again. Every
/// write must finish before `deadline`: the records of a write still running then (a hung
/// S3 call) are reported as retryable failures, and the other writes' records complete.
pub async fn ingest_batch<S: ObjectStore, D: DeadLetterSink>(
    store: &S,
    dead_letters: &D,
    config: &Config,
    now: OffsetDateTime,
    deadline: Deadline,
    event: SqsEvent,
) -> (SqsBatchResponse, IngestSummary) {
    let mut summary = IngestSummary {
        records: event.records.len(),
        ..IngestSummary::default()
    };
    let accepted = Mutex::new(Vec::new());
    let (mut response, batch) = process_batch_until(
        event,
        config.common.batch_concurrency,
        deadline,
        dead_letters,
        |message| {
            let accepted = &accepted;
            async move {
                let event = accept_record(&message)
                    .map_err(|problem| RecordError::permanent(reason(problem)))?;
                accepted
                    .lock()
                    .map_err(|_| RecordError::retryable("ingest state poisoned"))?
                    .push(event);
                Ok(())
            }
        },
    )
    .await;
    summary.malformed_records = batch.permanent_failures;
    let accepted = accepted.into_inner().unwrap_or_default();
    let accepted_ids: Vec<String> = accepted.iter().map(|e| e.message_id.clone()).collect();
    let objects = match raw_objects(accepted) {
        Ok(objects) => objects,
        Err(e) => {
            tracing::error!(error = %e, "compressing the batch failed; SQS will deliver it again");
            response
                .batch_item_failures
                .extend(accepted_ids.iter().map(|id| failure(id)));
            summary.failed_records = response.batch_item_failures.len();
            return (response, summary);
        }
    };
    let writes = stream::iter(objects)
        .map(|object| async move {
            // A record's work is the write of its group: the group's records succeed or fail
            // together, within the deadline.
            let late = past_lateness(object.hour, now, config.lateness_minutes);
            let too_old = object.hour.end() <= reroll_horizon(now, config.raw_retention_days);
            let outcome = deadline
                .run(async {
                    let outcome = store
                        .put(
                            &object.key,
                            object.body,
                            RAW_CONTENT_TYPE,
                            WriteCondition::Absent,
                        )
                        .await?;
                    if late && !too_old && !matches!(outcome, WriteOutcome::ConcurrentWrite) {
                        // Also when stored by an earlier delivery: its marker may be the
                        // write that failed.
                        store
                            .put(
                                &late_marker_key(&object.key),
                                Vec::new(),
                                RAW_CONTENT_TYPE,
                                WriteCondition::Always,
                            )
                            .await?;
                    }
                    Ok::<_, RecordError>(outcome)
                })
                .await;
            match (&outcome, late, too_old) {
                (Ok(_), true, false) => tracing::info!(key = %object.key, hour = %object.hour, "events arrived after their hour's lateness window; marked for a re-roll"),
                (Ok(_), _, true) => tracing::warn!(key = %object.key, hour = %object.hour, events = object.message_ids.len(), retention_days = config.raw_retention_days, "events of an hour older than the raw retention: stored, but not counted (its earlier raw objects may be gone)"),
                _ => {}
            }
            (object.key, object.message_ids, too_old, outcome)
        })
        .buffer_unordered(config.common.batch_concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    for (key, message_ids, too_old, outcome) in writes {
        match outcome {
            Ok(WriteOutcome::Written { .. }) => {
                summary.objects_written += 1;
                summary.events_stored += message_ids.len();
                if too_old {
                    summary.events_too_old_to_count += message_ids.len();
                }
                tracing::info!(key, events = message_ids.len(), "raw events stored");
            }
            Ok(WriteOutcome::ConditionFailed) => {
                summary.objects_already_stored += 1;
                tracing::info!(
                    key,
                    events = message_ids.len(),
                    "batch was stored by an earlier delivery; not stored again"
                );
            }
            // Another delivery of the same batch is writing this object now; if it fails, this
            // one must not have been acknowledged, so it is delivered again.
            Ok(WriteOutcome::ConcurrentWrite) => {
                tracing::warn!(key, events = message_ids.len(), "a concurrent write of the same raw object is in flight; SQS will deliver these records again");
                response
                    .batch_item_failures
                    .extend(message_ids.iter().map(|id| failure(id)));
            }
            Err(e) => {
                tracing::warn!(key, error = %e, events = message_ids.len(), "storing raw events failed or ran out of time; SQS will deliver them again");
                response
                    .batch_item_failures
                    .extend(message_ids.iter().map(|id| failure(id)));
            }
        }
    }
    summary.failed_records = response.batch_item_failures.len();
    (response, summary)
}

/// `stats/late/...` for the raw object `stats/raw/...`: the marker that makes the next hourly
/// run roll the object's hour again.
fn late_marker_key(raw_key: &str) -> String {
    format!(
        "{LATE_PREFIX}{}",
        raw_key.strip_prefix(RAW_PREFIX).unwrap_or(raw_key)
    )
}

fn failure(message_id: &str) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = message_id.to_string();
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    use shared::testkit::sqs_message as message;

    fn envelope(id: &str, time: &str) -> String {
        format!(
            r#"{{"version":1,"id":"{id}","type":"media.analyzed","source":"ai-processor","time":"{time}","subject":"s3://m/videos/a.mp4","severity":"info","data":{{"kind":"video"}},"extra":"kept"}}"#
        )
    }

    #[test]
    fn one_object_per_hour_with_a_key_that_depends_only_on_the_messages() {
        let events = |order: &[usize]| -> Vec<AcceptedEvent> {
            let all = [
                ("m1", "2026-11-24T13:10:00Z"),
                ("m2", "2026-11-24T14:10:00Z"),
                ("m3", "2026-11-24T13:20:00Z"),
            ];
            order
                .iter()
                .map(|&i| accept_record(&message(all[i].0, &envelope(all[i].0, all[i].1))).unwrap())
                .collect()
        };
        let a = raw_objects(events(&[0, 1, 2])).unwrap();
        let b = raw_objects(events(&[2, 1, 0])).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        assert!(a[0].key.starts_with("stats/raw/2026/11/24/13/"));
        assert!(a[0].key.ends_with(".ndjson.zst"));
        assert_eq!(a[0].message_ids, ["m1", "m3"]);
        let text = String::from_utf8(zstd::decode_all(&a[0].body[..]).unwrap()).unwrap();
        assert_eq!(text.lines().count(), 2);
        let partial = raw_objects(events(&[2])).unwrap();
        assert_ne!(partial[0].key, a[0].key);
    }
}
