//! Hourly and daily rollups.
//!
//! Hourly: every raw object of the hour is streamed (several at once, bounded), counted on a
//! blocking thread, and the per-object counts are merged in key order. An envelope id counts
//! once per hour: an object that repeats ids counted from an earlier object (a batch that
//! SQS delivered again in part) is counted again without them, so the earliest copy counts
//! whatever the timing, and a re-run gives the same document.
//!
//! Daily: the merge of the day's 24 hourly documents; an hour whose document is missing or of
//! another schema version is rolled up from raw first (and its hourly document written).

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use shared::results::{StoreError, WriteCondition};
use tokio::sync::Semaphore;

use crate::aggregate::PeriodStats;
use crate::document::{RollupDocument, CONTENT_TYPE};
use crate::merge::Merge;
use crate::period::{Day, Hour};
use crate::ports::ObjectStore;
use crate::tally::{
    add_if_disjoint, tally_object, Compression, Fingerprints, ObjectTally, SourceReadError,
};

/// Largest raw object read (compressed): ingest writes objects of one SQS batch (about 70 KB
/// for 1000 events); a larger one was dropped in by hand and is skipped, not read into memory.
pub const MAX_RAW_OBJECT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error("{key}: {source}")]
    Store { key: String, source: StoreError },
    #[error(transparent)]
    Read(#[from] SourceReadError),
    #[error("counting task failed: {0}")]
    Task(String),
}

fn store_error(key: &str) -> impl FnOnce(StoreError) -> RollupError + '_ {
    move |source| RollupError::Store {
        key: key.to_string(),
        source,
    }
}

/// Reads `key` and counts it on a blocking thread, skipping ids in `already_counted` (which
/// is handed back). `None` when the object disappeared after it was listed, or cannot be read
/// for a reason a retry would not change (counted as unreadable).
async fn tally_key<S: ObjectStore>(
    store: &S,
    cores: Option<&Arc<Semaphore>>,
    key: String,
    compression: Compression,
    already_counted: Fingerprints,
) -> Result<(Option<ObjectTally>, Fingerprints), RollupError> {
    let body = match store.get_capped(&key, MAX_RAW_OBJECT_BYTES).await {
        Ok(Some(object)) => object.body,
        Ok(None) => {
            tracing::warn!(key, "raw object disappeared before it was read; skipped");
            return Ok((None, already_counted));
        }
        Err(e) if !e.retryable => {
            tracing::warn!(key, error = %e, "raw object cannot be read; counted as unreadable");
            let mut tally = ObjectTally::default();
            tally.stats.sources.objects = 1;
            tally.stats.sources.unreadable_objects = 1;
            return Ok((Some(tally), already_counted));
        }
        Err(e) => return Err(store_error(&key)(e)),
    };
    // Downloads overlap freely; decoding and counting take a core each, no more. The permit
    // goes with the blocking work, so it is returned when the work ends. The merge loop's
    // re-count of an object takes no permit: the semaphore is fair, and a permit handed to a
    // queued download that the loop is not polling meanwhile would never come back.
    let core = match cores {
        Some(cores) => Some(
            cores
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| RollupError::Task(e.to_string()))?,
        ),
        None => None,
    };
    let (tally, already_counted) = tokio::task::spawn_blocking(move || {
        let tally = tally_object(&key, &body[..], compression, &already_counted);
        drop(core);
        (tally, already_counted)
    })
    .await
    .map_err(|e| RollupError::Task(e.to_string()))?;
    Ok((Some(tally?), already_counted))
}

/// Counts the raw events of `hour` with at most `concurrency` objects in flight.
pub async fn roll_up_hour<S: ObjectStore>(
    store: &S,
    hour: Hour,
    concurrency: usize,
) -> Result<PeriodStats, RollupError> {
    let mut objects = Vec::new();
    let prefix = hour.raw_prefix();
    let listed = store.list(&prefix).await.map_err(store_error(&prefix))?;
    for key in listed.into_iter().map(|o| o.key) {
        match Compression::of_key(&key) {
            Some(compression) => objects.push((key, compression)),
            None => tracing::warn!(key, "not a raw NDJSON object (.ndjson[.zst|.gz]); skipped"),
        }
    }
    let mut stats = PeriodStats::default();
    let mut counted = Fingerprints::default();
    let cores = Arc::new(Semaphore::new(
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    ));
    let mut tallies = stream::iter(objects)
        .map(|(key, compression)| {
            let cores = cores.clone();
            async move {
                let result = tally_key(
                    store,
                    Some(&cores),
                    key.clone(),
                    compression,
                    Fingerprints::default(),
                )
                .await;
                (key, compression, result)
            }
        })
        .buffered(concurrency.max(1));
    while let Some((key, compression, result)) = tallies.next().await {
        let (tally, _) = result?;
        let Some(mut tally) = tally else { continue };
        if !add_if_disjoint(&mut counted, &tally.counted) {
            tracing::info!(
                key,
                "object repeats events counted from an earlier object; counting it without them"
            );
            let (again, back) = tally_key(store, None, key, compression, counted).await?;
            counted = back;
            let Some(again) = again else { continue };
            tally = again;
            counted.extend(tally.counted.iter().copied());
        }
        stats.merge(&tally.stats);
    }
    Ok(stats)
}

/// Rolls up `hour` and writes its hourly document.
pub async fn write_hourly<S: ObjectStore>(
    store: &S,
    hour: Hour,
    concurrency: usize,
) -> Result<RollupDocument, RollupError> {
    let stats = roll_up_hour(store, hour, concurrency).await?;
    let document = RollupDocument::hourly(hour, stats);
    let key = hour.hourly_key();
    store
        .put(
            &key,
            document.to_json(),
            CONTENT_TYPE,
            WriteCondition::Always,
        )
        .await
        .map_err(store_error(&key))?;
    tracing::info!(
        period = %hour,
        key = %hour.hourly_key(),
        events = document.stats.events.total,
        objects = document.stats.sources.objects,
        malformed_lines = document.stats.sources.malformed_lines,
        duplicate_events = document.stats.sources.duplicate_events,
        "hourly rollup written"
    );
    Ok(document)
}

/// The hourly statistics of `hour` from its document, or rolled up from raw (and written)
/// when there is no usable document.
async fn hourly_stats<S: ObjectStore>(
    store: &S,
    hour: Hour,
    concurrency: usize,
) -> Result<PeriodStats, RollupError> {
    let key = hour.hourly_key();
    if let Some(object) = store.get(&key).await.map_err(store_error(&key))? {
        match RollupDocument::from_json(&object.body) {
            Ok(document) => return Ok(document.stats),
            Err(e) => {
                tracing::warn!(key, error = %e, "hourly document not usable; rolling the hour up from raw")
            }
        }
    } else {
        tracing::info!(key, "no hourly document; rolling the hour up from raw");
    }
    Ok(write_hourly(store, hour, concurrency).await?.stats)
}

/// Rolls up `day` from its hourly documents and writes the daily document.
pub async fn write_daily<S: ObjectStore>(
    store: &S,
    day: Day,
    concurrency: usize,
) -> Result<RollupDocument, RollupError> {
    let mut stats = PeriodStats::default();
    let mut hours_with_data = 0;
    for hour in day.hours() {
        let hourly = hourly_stats(store, hour, concurrency).await?;
        if hourly.events.total > 0 {
            hours_with_data += 1;
        }
        stats.merge(&hourly);
    }
    let document = RollupDocument::daily(day, stats, hours_with_data);
    let key = day.daily_key();
    store
        .put(
            &key,
            document.to_json(),
            CONTENT_TYPE,
            WriteCondition::Always,
        )
        .await
        .map_err(store_error(&key))?;
    tracing::info!(
        period = %day,
        key = %day.daily_key(),
        events = document.stats.events.total,
        hours_with_data,
        "daily rollup written"
    );
    Ok(document)
}
