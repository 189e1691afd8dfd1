//! Hourly and daily rollups.
//!
//! Hourly: every raw object of the hour is streamed (several at once, bounded), counted on a
//! blocking thread, and the per-object counts are merged in key order. An envelope id counts
//! once per hour: an object that repeats ids counted from an earlier object (a batch that
//! SQS delivered again in part) is counted again without them, so the earliest copy counts
//! whatever the timing, and a re-run gives the same document.
//!
//! Daily: the merge of the hourly documents of the UTC hours that make up the local day of the
//! business time zone (23, 24 or 25); an hour whose document is missing or of another schema
//! version is rolled up from raw first (and its hourly document written).
//!
//! Late: events written into an hour after the hourly schedule stopped rolling it (a DLQ
//! redrive, a republished event keeping its first time) leave a marker under `stats/late/`;
//! [`reroll_late_hours`] rolls those hours again and rewrites the daily documents they feed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use futures::stream::{self, StreamExt};
use shared::results::{StoreError, WriteCondition};
use shared::time::BusinessTimeZone;
use time::OffsetDateTime;

use crate::aggregate::PeriodStats;
use crate::document::{RollupDocument, CONTENT_TYPE};
use crate::merge::Merge;
use crate::period::{Day, Hour, ZoneError, LATE_PREFIX};
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
    #[error(transparent)]
    Zone(#[from] ZoneError),
}

fn store_error(key: &str) -> impl FnOnce(StoreError) -> RollupError + '_ {
    move |source| RollupError::Store {
        key: key.to_string(),
        source,
    }
}

/// A raw object as read from the store.
enum Fetched {
    Body(Vec<u8>),
    /// It disappeared after it was listed: skipped.
    Missing,
    /// It cannot be read for a reason a retry would not change: counted as unreadable.
    Unreadable,
}

async fn fetch<S: ObjectStore>(store: &S, key: &str) -> Result<Fetched, RollupError> {
    match store.get_capped(key, MAX_RAW_OBJECT_BYTES).await {
        Ok(Some(object)) => Ok(Fetched::Body(object.body)),
        Ok(None) => {
            tracing::warn!(key, "raw object disappeared before it was read; skipped");
            Ok(Fetched::Missing)
        }
        Err(e) if !e.retryable => {
            tracing::warn!(key, error = %e, "raw object cannot be read; counted as unreadable");
            Ok(Fetched::Unreadable)
        }
        Err(e) => Err(store_error(key)(e)),
    }
}

fn unreadable_object() -> ObjectTally {
    let mut tally = ObjectTally::default();
    tally.stats.sources.objects = 1;
    tally.stats.sources.unreadable_objects = 1;
    tally
}

/// Reads `key` again and counts it on a blocking thread, skipping ids in `already_counted`
/// (which is handed back). `None` when the object disappeared meanwhile.
async fn tally_again<S: ObjectStore>(
    store: &S,
    key: String,
    compression: Compression,
    already_counted: Fingerprints,
) -> Result<(Option<ObjectTally>, Fingerprints), RollupError> {
    let body = match fetch(store, &key).await? {
        Fetched::Body(body) => body,
        Fetched::Missing => return Ok((None, already_counted)),
        Fetched::Unreadable => return Ok((Some(unreadable_object()), already_counted)),
    };
    let (tally, already_counted) = tokio::task::spawn_blocking(move || {
        let tally = tally_object(&key, &body[..], compression, &already_counted);
        (tally, already_counted)
    })
    .await
    .map_err(|e| RollupError::Task(e.to_string()))?;
    Ok((Some(tally?), already_counted))
}

/// Most fingerprints the hour's set is sized for before it fills (18 MB; an hour with more
/// events grows it as needed).
const PRESIZED_FINGERPRINTS: usize = 1 << 20;

/// What became of the object at a place in key order: `None` when it was skipped.
type Counted = (usize, Option<Result<ObjectTally, SourceReadError>>);

/// Counts the raw events of `hour` with at most `concurrency` downloads in flight.
///
/// Downloads overlap; one thread per core decodes and counts, each taking the next
/// downloaded object as soon as it is free (the objects wait in key order in a channel), and
/// the per-object tallies are merged in key order as they complete. The threads never wait
/// for the merge: when the merge loop handed out the work itself, a core sat idle while the
/// loop merged, read or was not scheduled, and the rollup used little more than one core.
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
    let objects = Arc::new(objects);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // One object waits for a free thread; the rest of what is read waits in the downloads.
    let (work, work_queue) = tokio::sync::mpsc::channel::<(usize, Vec<u8>)>(1);
    let work_queue = Arc::new(Mutex::new(work_queue));
    let (done, mut done_queue) = tokio::sync::mpsc::unbounded_channel::<Counted>();
    for _ in 0..cores.min(objects.len()) {
        let (work_queue, done, objects) = (work_queue.clone(), done.clone(), objects.clone());
        tokio::task::spawn_blocking(move || {
            // Ends when the downloads end (or the rollup gave up and dropped its side).
            while let Some((place, body)) =
                work_queue.lock().ok().and_then(|mut q| q.blocking_recv())
            {
                let (key, compression) = &objects[place];
                let tally = tally_object(key, &body[..], *compression, &Fingerprints::default());
                if done.send((place, Some(tally))).is_err() {
                    break;
                }
            }
        });
    }
    // Only the threads hold the queue now: should they all stop, sending to it fails instead
    // of waiting for ever.
    drop(work_queue);
    let downloads = {
        let objects = objects.clone();
        async move {
            let mut fetched = stream::iter(0..objects.len())
                .map(|place| {
                    let key = &objects[place].0;
                    async move { (place, fetch(store, key).await) }
                })
                .buffered(concurrency.max(1));
            while let Some((place, result)) = fetched.next().await {
                let stopped = || RollupError::Task("the counting threads stopped".into());
                match result? {
                    Fetched::Body(body) => work.send((place, body)).await.map_err(|_| stopped())?,
                    Fetched::Missing => done.send((place, None)).map_err(|_| stopped())?,
                    Fetched::Unreadable => done
                        .send((place, Some(Ok(unreadable_object()))))
                        .map_err(|_| stopped())?,
                }
            }
            Ok::<(), RollupError>(())
        }
    };
    let merged = async {
        let mut stats = PeriodStats::default();
        let mut counted = Fingerprints::default();
        let mut early = BTreeMap::new();
        for place in 0..objects.len() {
            let tally = loop {
                if let Some(tally) = early.remove(&place) {
                    break tally;
                }
                let (at, tally) = done_queue.recv().await.ok_or_else(|| {
                    RollupError::Task(
                        "the counting threads stopped before every object was counted".into(),
                    )
                })?;
                early.insert(at, tally);
            };
            let Some(tally) = tally else { continue };
            let mut tally = tally?;
            if counted.is_empty() {
                // Sized once from the first object instead of doubling (and rehashing, an
                // access per id that misses the cache) some ten times as it grows.
                let expected = tally.counted.len().saturating_mul(objects.len() - place);
                counted.reserve(expected.min(PRESIZED_FINGERPRINTS));
            }
            if !add_if_disjoint(&mut counted, &tally.counted) {
                let (key, compression) = &objects[place];
                tracing::info!(
                    key,
                    "object repeats events counted from an earlier object; counting it without them"
                );
                let (again, back) = tally_again(store, key.clone(), *compression, counted).await?;
                counted = back;
                let Some(again) = again else { continue };
                tally = again;
                counted.extend(tally.counted.iter().copied());
            }
            stats.merge(&tally.stats);
        }
        Ok::<PeriodStats, RollupError>(stats)
    };
    let ((), stats) = futures::future::try_join(downloads, merged).await?;
    Ok(stats)
}

/// Writes a rollup document, replacing the one a re-run or a re-roll finds there.
async fn store_document<S: ObjectStore>(
    store: &S,
    key: &str,
    document: &RollupDocument,
) -> Result<(), RollupError> {
    store
        .put(
            key,
            document.to_json(),
            CONTENT_TYPE,
            WriteCondition::Always,
        )
        .await
        .map_err(store_error(key))?;
    Ok(())
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
    store_document(store, &key, &document).await?;
    tracing::info!(
        period = %hour,
        key = %key,
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

/// Reviews pending at the end of the day before `day`, when its document exists. A document
/// without the figure (its own previous day had none, or it predates reviews) gives its own
/// requests less first decisions and undecided deletions: the count starts that day.
async fn previous_pending<S: ObjectStore>(store: &S, day: Day) -> Result<Option<u64>, RollupError> {
    let key = day.previous().daily_key();
    let Some(object) = store.get(&key).await.map_err(store_error(&key))? else {
        return Ok(None);
    };
    match RollupDocument::from_json(&object.body) {
        Ok(document) => {
            let reviews = document.stats.reviews;
            Ok(Some(reviews.pending.unwrap_or_else(|| {
                reviews
                    .requested
                    .saturating_sub(reviews.first_decisions + reviews.withdrawn)
            })))
        }
        Err(e) => {
            tracing::warn!(key, error = %e, "previous daily document not usable; pending reviews unknown");
            Ok(None)
        }
    }
}

/// Rolls up the local day `day` of `zone` from its hourly documents and writes the daily
/// document.
pub async fn write_daily<S: ObjectStore>(
    store: &S,
    day: Day,
    zone: &BusinessTimeZone,
    concurrency: usize,
) -> Result<RollupDocument, RollupError> {
    let mut stats = PeriodStats::default();
    let mut hours_with_data = 0;
    for hour in day.hours_in(zone)? {
        let hourly = hourly_stats(store, hour, concurrency).await?;
        if hourly.events.total > 0 {
            hours_with_data += 1;
        }
        stats.merge(&hourly);
    }
    stats.reviews.pending = stats
        .reviews
        .pending_after(previous_pending(store, day).await?);
    let document = RollupDocument::daily(day, zone, stats, hours_with_data);
    let key = day.daily_key();
    store_document(store, &key, &document).await?;
    tracing::info!(
        period = %day,
        key = %key,
        events = document.stats.events.total,
        hours_with_data,
        "daily rollup written"
    );
    Ok(document)
}

/// What [`reroll_late_hours`] rewrote.
#[derive(Debug, Default)]
pub struct LateRollup {
    /// The hours rolled again, with their new documents.
    pub hours: Vec<(Hour, RollupDocument)>,
    /// The existing daily documents rewritten because one of their hours changed.
    pub days: Vec<(Day, RollupDocument)>,
}

/// Rolls up again every hour that has late markers, deletes the markers it listed (a marker
/// written meanwhile stays for the next run: it is listed before the hour's raw objects), and
/// rewrites the existing daily documents of the local days those hours belong to, except
/// `except` (the day the caller is about to write). Hours that ended before `horizon` are not
/// rolled again (their earlier raw objects may have expired; their markers are dropped). A
/// failure names the period it was in.
pub async fn reroll_late_hours<S: ObjectStore>(
    store: &S,
    zone: &BusinessTimeZone,
    concurrency: usize,
    except: Option<Day>,
    horizon: OffsetDateTime,
) -> Result<LateRollup, (String, RollupError)> {
    fn in_period(period: impl ToString) -> impl FnOnce(RollupError) -> (String, RollupError) {
        let period = period.to_string();
        move |e| (period, e)
    }
    let listed = store
        .list(LATE_PREFIX)
        .await
        .map_err(store_error(LATE_PREFIX))
        .map_err(in_period("hours with late events"))?;
    let mut markers: BTreeMap<Hour, Vec<String>> = BTreeMap::new();
    for key in listed.into_iter().map(|o| o.key) {
        match Hour::of_late_key(&key) {
            Some(hour) => markers.entry(hour).or_default().push(key),
            None => tracing::warn!(
                key,
                "not a late marker (stats/late/YYYY/MM/DD/HH/...); left alone"
            ),
        }
    }
    let mut late = LateRollup::default();
    let mut days = BTreeSet::new();
    for (hour, keys) in markers {
        let too_old = hour.end() <= horizon;
        let document = if too_old {
            tracing::warn!(period = %hour, markers = keys.len(), "hour too old to roll again (its earlier raw objects may have expired); late events not counted");
            None
        } else {
            Some(
                write_hourly(store, hour, concurrency)
                    .await
                    .map_err(in_period(hour))?,
            )
        };
        for key in &keys {
            store
                .delete(key)
                .await
                .map_err(store_error(key))
                .map_err(in_period(hour))?;
        }
        let Some(document) = document else { continue };
        tracing::info!(period = %hour, markers = keys.len(), events = document.stats.events.total, "hour rolled again for events that arrived after its lateness window");
        days.insert(Day::local_containing(hour.start(), zone));
        late.hours.push((hour, document));
    }
    for day in days.into_iter().filter(|d| Some(*d) != except) {
        let key = day.daily_key();
        let existing = store
            .get(&key)
            .await
            .map_err(store_error(&key))
            .map_err(in_period(day))?;
        if existing.is_some() {
            let document = write_daily(store, day, zone, concurrency)
                .await
                .map_err(in_period(day))?;
            late.days.push((day, document));
        }
    }
    Ok(late)
}
