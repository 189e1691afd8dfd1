//! Counting the events of one raw object from any byte stream.
//!
//! A zstd object that decompresses to at most 4 MB (every object ingest writes) is decoded in
//! one call into a buffer the thread keeps; any other object is decompressed while it is read,
//! in pieces of one reused buffer. Either way lines are parsed where they lie, and memory does
//! not depend on the object's size. This is the code path the rollup runs on S3 objects and
//! the benchmark runs on local files: the source is just a `Read`.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::sync::Mutex;

use crate::aggregate::PeriodStats;
use crate::event_line::parse_line;
use crate::line_scan::find_byte;

/// Malformed lines logged per object; the rest are only counted.
const LOGGED_MALFORMED_LINES: u64 = 20;
const READ_BUFFER: usize = 256 * 1024;

/// How a raw object is compressed, from its key's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Zstd,
    Gzip,
    None,
}

impl Compression {
    /// `.ndjson.zst` (what ingest writes), `.ndjson.gz`, `.ndjson` / `.jsonl`; else `None`.
    pub fn of_key(key: &str) -> Option<Self> {
        if key.ends_with(".zst") {
            Some(Compression::Zstd)
        } else if key.ends_with(".gz") {
            Some(Compression::Gzip)
        } else if key.ends_with(".ndjson") || key.ends_with(".jsonl") {
            Some(Compression::None)
        } else {
            None
        }
    }
}

/// A 64-bit fingerprint of an envelope id. Ids are de-duplicated by fingerprint to keep the
/// set small (8 bytes per event); two distinct ids collide with probability about n²/2⁶⁵
/// (3·10⁻⁸ for a million events in one hour).
pub fn fingerprint(id: &str) -> u64 {
    // foldhash's quality variant with a fixed seed: the same id gives the same fingerprint in
    // every run (fingerprints never leave the process). It replaced SipHash (`DefaultHasher`),
    // which is slower on short strings; neither resists ids chosen to collide, since
    // SipHash's keys were fixed and known too.
    foldhash::quality::FixedState::with_seed(FINGERPRINT_SEED).hash_one(id)
}

const FINGERPRINT_SEED: u64 = 0x5354_4154_5321_0001;

/// A set of [`fingerprint`]s. Fingerprints are already uniform 64-bit hashes, so the set uses
/// them as they are instead of hashing them again (a third of the counting time otherwise).
pub type Fingerprints = HashSet<u64, BuildHasherDefault<FingerprintHasher>>;

/// The identity hash of a `u64` fingerprint (see [`Fingerprints`]).
#[derive(Default)]
pub struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed with it; fold anything else in so it still works.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Adds `ids` to `counted` unless one of them is there already; then `counted` is left as it
/// was and the answer is `false`. One probe per id in the common case (no overlap), where
/// checking first and adding after would take two.
pub fn add_if_disjoint(counted: &mut Fingerprints, ids: &Fingerprints) -> bool {
    counted.reserve(ids.len());
    for (added, id) in ids.iter().enumerate() {
        if !counted.insert(*id) {
            for id in ids.iter().take(added) {
                counted.remove(id);
            }
            return false;
        }
    }
    true
}

/// Fingerprints a set holds before it grows: one ingest object (an SQS batch of up to 1000
/// events) without rehashing.
const OBJECT_EVENTS: usize = 1024;

/// What one object contributed.
#[derive(Debug, Default)]
pub struct ObjectTally {
    pub stats: PeriodStats,
    /// Fingerprints of the events counted from this object.
    pub counted: Fingerprints,
}

/// The source itself failed (network, S3): the whole rollup should be retried. Corrupt
/// compressed data is not this error: it is counted in `unreadable_objects`.
#[derive(Debug, thiserror::Error)]
#[error("reading {key} failed: {reason}")]
pub struct SourceReadError {
    pub key: String,
    pub reason: String,
}

/// Remembers an error of the underlying source so it can be told apart from a decoding error.
struct TrackedSource<'f, R> {
    inner: R,
    failure: &'f Mutex<Option<String>>,
}

impl<R: Read> Read for TrackedSource<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if let Ok(mut failure) = self.failure.lock() {
                *failure = Some(e.to_string());
            }
        })
    }
}

/// Counts the lines of one object, in order.
struct LineCounter<'a> {
    key: &'a str,
    already_counted: &'a Fingerprints,
    tally: ObjectTally,
    /// Lines seen so far, blank ones included (for the log).
    line_number: u64,
}

impl LineCounter<'_> {
    /// Counts the complete lines of `text` (which has no newline before `searched`) and
    /// returns where the unfinished rest begins.
    fn lines(&mut self, text: &[u8], searched: usize) -> usize {
        let mut start = 0;
        let mut from = searched;
        while let Some(at) = find_byte(b'\n', &text[from..]) {
            let end = from + at;
            self.line(&text[start..end]);
            start = end + 1;
            from = start;
        }
        start
    }

    /// Counts what follows the last newline, if anything (the last line may have none).
    fn last_line(&mut self, rest: &[u8]) {
        if !rest.is_empty() {
            self.line(rest);
        }
    }

    /// Counts `line` (without its newline).
    fn line(&mut self, line: &[u8]) {
        self.line_number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            return;
        }
        let tally = &mut self.tally;
        tally.stats.sources.lines += 1;
        match parse_line(text) {
            Ok(event) => {
                let id = fingerprint(&event.id);
                if self.already_counted.contains(&id) || !tally.counted.insert(id) {
                    tally.stats.sources.duplicate_events += 1;
                    return;
                }
                tally.stats.record(&event);
            }
            Err(e) => {
                tally.stats.sources.malformed_lines += 1;
                if tally.stats.sources.malformed_lines <= LOGGED_MALFORMED_LINES {
                    tracing::warn!(key = self.key, line = self.line_number, error = %e, "malformed line skipped");
                }
            }
        }
    }
}

/// Counts the events of object `key` read from `source`, skipping every event whose
/// fingerprint is in `already_counted` or was seen earlier in this object.
pub fn tally_object(
    key: &str,
    mut source: impl Read,
    compression: Compression,
    already_counted: &Fingerprints,
) -> Result<ObjectTally, SourceReadError> {
    let mut counter = LineCounter {
        key,
        already_counted,
        tally: ObjectTally {
            stats: PeriodStats::default(),
            counted: Fingerprints::with_capacity_and_hasher(OBJECT_EVENTS, Default::default()),
        },
        line_number: 0,
    };
    counter.tally.stats.sources.objects = 1;
    let source_error = |reason: String| SourceReadError {
        key: key.to_string(),
        reason,
    };
    match compression {
        Compression::Zstd => {
            // Objects are read whole from S3 anyway; in memory, one that decompresses to a
            // bounded size is decoded in one call (see `decompress_whole`).
            let mut compressed = Vec::new();
            source
                .read_to_end(&mut compressed)
                .map_err(|e| source_error(e.to_string()))?;
            let whole = with_whole_object(&compressed, |text| {
                let unfinished = counter.lines(text, 0);
                counter.last_line(&text[unfinished..]);
            });
            match whole {
                Some(()) => {}
                None => {
                    let decoder = zstd::stream::read::Decoder::new(&compressed[..])
                        .map_err(|e| source_error(format!("zstd decoder: {e}")))?;
                    count_stream(&mut counter, decoder, None)?;
                }
            }
        }
        Compression::Gzip | Compression::None => {
            let failure = Mutex::new(None);
            let tracked = TrackedSource {
                inner: source,
                failure: &failure,
            };
            if compression == Compression::Gzip {
                count_stream(
                    &mut counter,
                    flate2::read::MultiGzDecoder::new(tracked),
                    Some(&failure),
                )?;
            } else {
                count_stream(&mut counter, tracked, Some(&failure))?;
            }
        }
    }
    let tally = counter.tally;
    if tally.stats.sources.malformed_lines > LOGGED_MALFORMED_LINES {
        tracing::warn!(
            key,
            malformed_lines = tally.stats.sources.malformed_lines,
            logged = LOGGED_MALFORMED_LINES,
            "more malformed lines skipped than logged"
        );
    }
    Ok(tally)
}

/// Decompressed objects decoded in one call are at most this large (ingest's objects are
/// about 0.5 MB); a larger one is decoded as a stream, in `READ_BUFFER` pieces.
const MAX_WHOLE_OBJECT: usize = 4 * 1024 * 1024;
/// The buffer for a whole object: this many times its compressed size (ingest's level-3
/// objects shrink about 8 times), within 64 KB and `MAX_WHOLE_OBJECT`.
const WHOLE_OBJECT_RATIO: usize = 16;

/// Calls `count` with the decompressed object, when it decodes in one call into a buffer of
/// bounded size; `None` when it does not fit, or is damaged or empty: then it is read as a
/// stream, which counts the lines before any damage as it always has.
///
/// Why: the streaming decoder writes into its own 2 MB window and copies out of it, and the
/// window pushes the lines and the object's fingerprints out of the core's cache before they
/// are counted; decoding straight into one buffer took about 7 % off the rollup's CPU time.
///
/// The decoder and the buffer are kept per thread: a new decoder context and a fresh megabyte
/// of memory per object (page faults included) were 2 % of the rollup.
pub fn with_whole_object<R>(compressed: &[u8], count: impl FnOnce(&[u8]) -> R) -> Option<R> {
    thread_local! {
        static WHOLE: RefCell<(Option<zstd::bulk::Decompressor<'static>>, Vec<u8>)> =
            const { RefCell::new((None, Vec::new())) };
    }
    if compressed.is_empty() {
        return None;
    }
    let capacity = compressed
        .len()
        .saturating_mul(WHOLE_OBJECT_RATIO)
        .clamp(64 * 1024, MAX_WHOLE_OBJECT);
    WHOLE.with(|whole| {
        // Busy only if `count` itself decodes an object: then that one is streamed.
        let mut whole = whole.try_borrow_mut().ok()?;
        let (decompressor, text) = &mut *whole;
        let decompressor = match decompressor {
            Some(d) => d,
            None => decompressor.insert(zstd::bulk::Decompressor::new().ok()?),
        };
        text.clear();
        // Never more than `MAX_WHOLE_OBJECT`, which is what a thread keeps between objects.
        text.reserve_exact(capacity);
        decompressor.decompress_to_buffer(compressed, text).ok()?;
        Some(count(text))
    })
}

/// Counts the lines of a decompressing stream. Lines are counted where the decoder wrote
/// them: a line is copied only when it straddles two reads (to the front of the buffer, with
/// the rest of it read after it). `failure` tells an error of the source under `decoded`
/// (returned, so the rollup is retried) from damaged data (counted as an unreadable object).
fn count_stream(
    counter: &mut LineCounter<'_>,
    mut decoded: impl Read,
    failure: Option<&Mutex<Option<String>>>,
) -> Result<(), SourceReadError> {
    let mut buffer = vec![0; READ_BUFFER];
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            // One line longer than the buffer.
            buffer.resize(buffer.len() * 2, 0);
        }
        let read = match decoded.read(&mut buffer[filled..]) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let source_failure = failure.and_then(|f| f.lock().ok().and_then(|f| f.clone()));
                if let Some(reason) = source_failure {
                    return Err(SourceReadError {
                        key: counter.key.to_string(),
                        reason,
                    });
                }
                // The unfinished line before the damage is not counted.
                counter.tally.stats.sources.unreadable_objects = 1;
                tracing::warn!(key = counter.key, after_line = counter.line_number, error = %e, "raw object is corrupt; lines after the damage are not counted");
                return Ok(());
            }
        };
        if read == 0 {
            counter.last_line(&buffer[..filled]);
            return Ok(());
        }
        let searched = filled;
        filled += read;
        let unfinished = counter.lines(&buffer[..filled], searched);
        buffer.copy_within(unfinished..filled, 0);
        filled -= unfinished;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(id: &str, kind: &str) -> String {
        format!(
            r#"{{"version":1,"id":"{id}","type":"media.analyzed","source":"ai-processor","time":"2026-11-24T13:00:00Z","subject":"s3://m/videos/{id}","severity":"info","data":{{"kind":"{kind}","size_bytes":10,"latency_ms":100}}}}"#
        )
    }

    fn zstd_of(text: &str) -> Vec<u8> {
        zstd::encode_all(text.as_bytes(), 3).unwrap()
    }

    #[test]
    fn counts_each_id_once_and_skips_malformed_lines() {
        let text = [
            line("a", "video"),
            "{broken".to_string(),
            String::new(),
            line("b", "image"),
            line("a", "video"),
            r#"{"version":3,"id":"z","type":"t"}"#.to_string(),
        ]
        .join("\n");
        let t = tally_object(
            "k.ndjson.zst",
            &zstd_of(&text)[..],
            Compression::Zstd,
            &Fingerprints::default(),
        )
        .unwrap();
        assert_eq!(t.stats.events.total, 2);
        assert_eq!(t.stats.sources.lines, 5);
        assert_eq!(t.stats.sources.malformed_lines, 2);
        assert_eq!(t.stats.sources.duplicate_events, 1);
        assert_eq!(t.counted.len(), 2);
    }

    /// Hands out its bytes a few at a time, as a slow network read would.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_split_across_reads_or_longer_than_the_buffer_are_counted_whole() {
        let long = format!(
            r#"{{"version":1,"id":"long","type":"media.analyzed","data":{{"kind":"video","note":"{}"}}}}"#,
            "x".repeat(3 * READ_BUFFER)
        );
        let mut lines: Vec<String> = (0..300)
            .map(|i| line(&format!("id-{i}"), "image"))
            .collect();
        lines.insert(150, long);
        lines.push(String::new());
        // No newline after the last line.
        lines.push(line("last", "audio"));
        let text = lines.join("\r\n");
        for step in [7, 4096, usize::MAX] {
            let t = tally_object(
                "k.ndjson",
                Trickle(text.as_bytes(), step),
                Compression::None,
                &Fingerprints::default(),
            )
            .unwrap();
            assert_eq!(t.stats.sources.lines, 302, "reads of {step} bytes");
            assert_eq!(t.stats.events.total, 302);
            assert_eq!(t.stats.sources.malformed_lines, 0);
            assert_eq!(
                t.stats.uploads.by_kind.get("video").map(|c| c.count),
                Some(1)
            );
            assert_eq!(
                t.stats.uploads.by_kind.get("audio").map(|c| c.count),
                Some(1)
            );
        }
    }

    #[test]
    fn objects_too_large_to_decode_whole_are_streamed_with_the_same_counts() {
        let lines = |n: usize| -> String {
            (0..n)
                .map(|i| line(&format!("id-{i}"), ["video", "image"][i % 2]))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for n in [10, 40_000] {
            let text = lines(n);
            let compressed = zstd_of(&text);
            assert_eq!(
                with_whole_object(&compressed, |_| ()).is_some(),
                text.len() <= MAX_WHOLE_OBJECT,
                "{n} lines, {} bytes",
                text.len()
            );
            let t = tally_object(
                "k.ndjson.zst",
                &compressed[..],
                Compression::Zstd,
                &Fingerprints::default(),
            )
            .unwrap();
            assert_eq!(t.stats.events.total, n as u64);
            assert_eq!(t.stats.sources.lines, n as u64);
            assert_eq!(
                t.stats.uploads.by_kind.get("video").map(|c| c.count),
                Some(n.div_ceil(2) as u64)
            );
        }
    }

    #[test]
    fn ids_join_the_hour_only_when_none_was_counted_before() {
        let mut counted: Fingerprints = [1, 2, 3].into_iter().collect();
        let overlapping: Fingerprints = [10, 11, 3, 12].into_iter().collect();
        assert!(!add_if_disjoint(&mut counted, &overlapping));
        assert_eq!(counted, [1, 2, 3].into_iter().collect());
        let fresh: Fingerprints = [10, 11, 12].into_iter().collect();
        assert!(add_if_disjoint(&mut counted, &fresh));
        assert_eq!(counted.len(), 6);
    }

    #[test]
    fn events_counted_elsewhere_are_skipped() {
        let text = [line("a", "video"), line("b", "image")].join("\n");
        let seen: Fingerprints = [fingerprint("a")].into_iter().collect();
        let t = tally_object("k.ndjson", text.as_bytes(), Compression::None, &seen).unwrap();
        assert_eq!(t.stats.events.total, 1);
        assert_eq!(
            t.stats.uploads.by_kind.get("image").map(|c| c.count),
            Some(1)
        );
        assert_eq!(t.stats.sources.duplicate_events, 1);
    }

    #[test]
    fn gzip_objects_are_read_too() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(line("a", "audio").as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        let t = tally_object(
            "k.ndjson.gz",
            &bytes[..],
            Compression::Gzip,
            &Fingerprints::default(),
        )
        .unwrap();
        assert_eq!(t.stats.events.total, 1);
    }

    #[test]
    fn corrupt_compressed_data_counts_what_came_before_and_marks_the_object() {
        let text: Vec<String> = (0..2000)
            .map(|i| line(&format!("id-{i}"), "video"))
            .collect();
        let mut bytes = zstd_of(&text.join("\n"));
        let cut = bytes.len() / 2;
        bytes.truncate(cut);
        bytes.extend_from_slice(&[0xFF; 64]);
        let t = tally_object(
            "k.ndjson.zst",
            &bytes[..],
            Compression::Zstd,
            &Fingerprints::default(),
        )
        .unwrap();
        assert_eq!(t.stats.sources.unreadable_objects, 1);
        assert!(t.stats.events.total < 2000);
    }

    struct FailingSource;
    impl Read for FailingSource {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset",
            ))
        }
    }

    #[test]
    fn a_failing_source_is_an_error_to_retry() {
        let err = tally_object(
            "k.ndjson.zst",
            FailingSource,
            Compression::Zstd,
            &Fingerprints::default(),
        )
        .unwrap_err();
        assert_eq!(err.key, "k.ndjson.zst");
        assert!(err.reason.contains("connection reset"), "{}", err.reason);
    }

    #[test]
    fn keys_name_their_compression() {
        assert_eq!(
            Compression::of_key("a/b.ndjson.zst"),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::of_key("a/b.ndjson.gz"),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::of_key("a/b.jsonl"), Some(Compression::None));
        assert_eq!(Compression::of_key("a/b.csv"), None);
    }
}
