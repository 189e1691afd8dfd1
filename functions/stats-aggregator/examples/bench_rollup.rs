//! Benchmark of the hourly rollup: N generated events in compressed NDJSON objects, rolled up
//! by the same code the Lambda runs (`rollup::write_hourly` over a `ResultsStore`), with the
//! store pointed at local files instead of S3.
//!
//! `cargo run --profile measure -p stats-aggregator --example bench_rollup -- [N ...]`
//! (default: 10000 100000 1000000). Each N is measured in a fresh child process, so its peak
//! RSS (`VmHWM`) is its own; generation runs in another child before it. One JSON line per N,
//! then a JSON array of all of them. Each line has the time per phase (`--phases`), the
//! `zstd -d` floor of the same objects and the sha256 of the hourly document (a faster rollup
//! must write the same bytes).
//!
//! The events look like the suite's: envelopes of 400-900 bytes (ids, S3 subjects, moderation
//! labels, timings), mostly `media.analyzed`, written by the ingest code (`raw_objects`) as
//! zstd NDJSON objects of 1000 events, as an SQS batch of 1000 would be. One object in 200
//! repeats half of an earlier batch (a partial redelivery), so de-duplication is exercised.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::results::{
    ListedObject, ObjectStore, StoreError, StoredObject, WriteCondition, WriteOutcome,
};
use stats_aggregator::event_line::parse_line;
use stats_aggregator::inbound::AcceptedEvent;
use stats_aggregator::ingest::raw_objects;
use stats_aggregator::period::Hour;
use stats_aggregator::rollup::write_hourly;
use stats_aggregator::tally::{tally_object, with_whole_object, Compression, Fingerprints};

const EVENTS_PER_OBJECT: usize = 1000;
const REDELIVERY_EVERY: usize = 200;
const FETCH_CONCURRENCY: usize = 8;
const HOUR: &str = "2026-11-24T13";

/// The results bucket as a directory: key `a/b/c` is file `<root>/a/b/c`.
struct LocalDirStore {
    root: PathBuf,
}

fn store_error(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::permanent(format!("{key}: {e}"))
}

impl ObjectStore for LocalDirStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        match std::fs::read(self.root.join(key)) {
            Ok(body) => Ok(Some(StoredObject { body, etag: None })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(store_error(key, e)),
        }
    }

    async fn get_capped(&self, key: &str, _max: u64) -> Result<Option<StoredObject>, StoreError> {
        self.get(key).await
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        condition: WriteCondition<'_>,
    ) -> Result<WriteOutcome, StoreError> {
        let path = self.root.join(key);
        if condition == WriteCondition::Absent && path.exists() {
            return Ok(WriteOutcome::ConditionFailed);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| store_error(key, e))?;
        }
        std::fs::write(path, body).map_err(|e| store_error(key, e))?;
        Ok(WriteOutcome::Written { etag: None })
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match std::fs::remove_file(self.root.join(key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(store_error(key, e)),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        let dir = self.root.join(prefix);
        let mut listed = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listed),
            Err(e) => return Err(store_error(prefix, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| store_error(prefix, e))?;
            listed.push(ListedObject {
                key: format!("{prefix}{}", entry.file_name().to_string_lossy()),
                size: entry.metadata().map(|m| m.len()).unwrap_or(0),
                etag: None,
            });
        }
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listed)
    }
}

/// Deterministic pseudo-random numbers (SplitMix64) so every run generates the same data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, chars: usize) -> String {
        let mut s = String::with_capacity(chars);
        while s.len() < chars {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(chars);
        s
    }
}

fn envelope(rng: &mut SplitMix, i: usize) -> (String, String, String) {
    let id = rng.hex(32);
    let minute = rng.below(60);
    let second = rng.below(60);
    let time = format!("{HOUR}:{minute:02}:{second:02}.{:03}Z", rng.below(1000));
    let user = rng.below(100_000);
    let roll = rng.below(100);
    let (kind, prefix, ext, content_type) = match rng.below(4) {
        0 => ("video", "videos/", "mp4", "video/mp4"),
        1 => ("image", "covers/", "jpg", "image/jpeg"),
        2 => ("image", "avatars/", "png", "image/png"),
        _ => ("audio", "audio/", "mp3", "audio/mpeg"),
    };
    let key = format!("{prefix}u-{user}/{}-{i}.{ext}", rng.hex(12));
    let subject = format!("s3://media-suite-prod-media/{key}");
    let (event_type, severity, data) = if roll < 70 {
        let verdict = [
            "approved", "approved", "approved", "approved", "review", "rejected",
        ][rng.below(6) as usize];
        let labels = if verdict == "approved" {
            json!([])
        } else {
            json!([{"name": "Smoking", "parent_name": "Tobacco", "confidence": 80.0 + rng.below(200) as f64 / 10.0},
                   {"name": "Suggestive", "parent_name": "Suggestive", "confidence": 55.5}])
        };
        let latency = 300
            + rng.below(10_000)
            + if kind == "video" {
                rng.below(300_000)
            } else {
                0
            };
        (
            "media.analyzed",
            if verdict == "approved" {
                "info"
            } else {
                "warning"
            },
            json!({
                "kind": kind, "prefix": prefix, "size_bytes": 10_000 + rng.below(500_000_000),
                "content_type": content_type, "verdict": verdict, "moderation_labels": labels,
                "labels": ["Person", "Indoors", "Text"],
                "uploaded_at": format!("{HOUR}:{minute:02}:00Z"), "latency_ms": latency,
                "backend": "rekognition",
                "document": format!("s3://media-suite-prod-results/analysis/{key}.json")
            }),
        )
    } else if roll < 80 {
        let language = ["zh-CN", "en-US"][rng.below(2) as usize];
        (
            "transcript.ready",
            "info",
            json!({"language": language,
                   "duration_seconds": rng.below(3_600_000) as f64 / 1000.0, "word_count": rng.below(20_000),
                   "transcript": format!("s3://media-suite-prod-results/transcripts/{key}.json")}),
        )
    } else if roll < 88 {
        (
            "media.flagged",
            "warning",
            json!({"kind": kind, "verdict": "review", "reasons": ["Tobacco"]}),
        )
    } else if roll < 96 {
        let channel = ["dingtalk", "wecom", "feishu", "slack", "email"][rng.below(5) as usize];
        let failed = rng.below(20) == 0;
        (
            if failed {
                "notification.failed"
            } else {
                "notification.delivered"
            },
            "info",
            json!({"channel": channel, "event_id": rng.hex(32), "attempts": 1 + rng.below(3)}),
        )
    } else if roll < 99 {
        (
            "media.failed",
            "critical",
            json!({"kind": kind, "prefix": prefix, "size_bytes": rng.below(1_000_000), "reason": "unsupported codec"}),
        )
    } else {
        (
            "cost.threshold",
            "warning",
            json!({"budget": "monthly", "level": 80, "percentage": 81.2, "spend": 8.12, "limit": 10.0, "currency": "USD"}),
        )
    };
    let source = if event_type.starts_with("cost") {
        "cost-guard"
    } else {
        "ai-processor"
    };
    let line = json!({
        "version": 1, "id": id, "type": event_type, "source": source, "time": time,
        "subject": subject, "severity": severity, "data": data
    })
    .to_string();
    (id, event_type.to_string(), line)
}

/// Writes N events (plus redelivered copies) as raw objects; returns (objects, compressed
/// bytes, uncompressed bytes, distinct events).
fn generate(n: usize, root: &Path) -> Value {
    let hour = Hour::parse(HOUR).expect("valid hour");
    let mut rng = SplitMix(42);
    let (mut objects, mut compressed, mut uncompressed, mut lines) = (0u64, 0u64, 0u64, 0u64);
    let mut previous: Vec<AcceptedEvent> = Vec::new();
    let mut i = 0;
    let mut batch_number = 0;
    while i < n {
        let size = EVENTS_PER_OBJECT.min(n - i);
        let mut batch: Vec<AcceptedEvent> = (0..size)
            .map(|k| {
                let (envelope_id, event_type, line) = envelope(&mut rng, i + k);
                AcceptedEvent {
                    message_id: format!("{:08x}-msg-{}", rng.next() as u32, i + k),
                    envelope_id,
                    event_type,
                    hour,
                    line,
                }
            })
            .collect();
        i += size;
        batch_number += 1;
        if batch_number % REDELIVERY_EVERY == 0 && !previous.is_empty() {
            // Half of the previous batch comes again with this one.
            batch.extend(previous.iter().take(previous.len() / 2).cloned());
        }
        uncompressed += batch.iter().map(|e| e.line.len() as u64 + 1).sum::<u64>();
        lines += batch.len() as u64;
        previous = batch.clone();
        for object in raw_objects(batch).expect("compress") {
            let path = root.join(&object.key);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            compressed += object.body.len() as u64;
            std::fs::write(path, object.body).expect("write object");
            objects += 1;
        }
    }
    json!({"objects": objects, "compressed_bytes": compressed, "uncompressed_bytes": uncompressed, "lines": lines, "distinct_events": n})
}

fn peak_rss_bytes() -> Option<u64> {
    let mut status = String::new();
    std::fs::File::open("/proc/self/status")
        .ok()?
        .read_to_string(&mut status)
        .ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports these in USER_HZ, which is 100 on Linux.
    Some(ticks as f64 / 100.0)
}

fn measure(root: &Path) -> Value {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = LocalDirStore {
        root: root.to_path_buf(),
    };
    let hour = Hour::parse(HOUR).expect("valid hour");
    let started = Instant::now();
    let document = runtime
        .block_on(write_hourly(&store, hour, FETCH_CONCURRENCY))
        .expect("rollup");
    let seconds = started.elapsed().as_secs_f64();
    let s = &document.stats;
    let written = std::fs::read(root.join(hour.hourly_key())).expect("hourly document written");
    json!({
        "seconds": (seconds * 1000.0).round() / 1000.0,
        // CPU time of the whole process (mostly the rollup): compare with `seconds` to see
        // how much of the two cores the rollup got.
        "cpu_seconds": cpu_seconds(),
        "events_per_second": (s.sources.lines as f64 / seconds).round(),
        "peak_rss_mb": peak_rss_bytes().map(|b| (b as f64 / 1_048_576.0 * 10.0).round() / 10.0),
        "counted_events": s.events.total,
        "duplicate_events": s.sources.duplicate_events,
        "malformed_lines": s.sources.malformed_lines,
        "latency_p50_ms": s.latency_ms.quantile(0.5),
        "latency_p99_ms": s.latency_ms.quantile(0.99),
        "fetch_concurrency": FETCH_CONCURRENCY,
        // The document's bytes: a faster rollup must write the same ones.
        "hourly_document_sha256": format!("{:x}", Sha256::digest(&written)),
    })
}

/// The raw objects of the benchmark hour, in key order.
fn raw_files(root: &Path) -> Vec<PathBuf> {
    let dir = root.join(Hour::parse(HOUR).expect("valid hour").raw_prefix());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("raw objects")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// Where the time goes, each phase on both cores like the rollup (objects split between two
/// threads): reading the files, decompressing them, decompressing + parsing every line, and
/// counting each object on its own. The rollup's own time minus the last phase is the merge
/// in key order and the hour-wide de-duplication (and how well they overlap the counting).
fn phases(root: &Path) -> Value {
    let files = raw_files(root);
    let started = Instant::now();
    let objects: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("read"))
        .collect();
    let read = started.elapsed().as_secs_f64();
    let on_both_cores = |work: &(dyn Fn(&[u8]) -> u64 + Sync)| -> (f64, u64) {
        let started = Instant::now();
        let halves = objects.split_at(objects.len() / 2);
        let total = std::thread::scope(|scope| {
            let a = scope.spawn(|| halves.0.iter().map(|o| work(o)).sum::<u64>());
            let b: u64 = halves.1.iter().map(|o| work(o)).sum();
            a.join().expect("thread") + b
        });
        (started.elapsed().as_secs_f64(), total)
    };
    // As the rollup decodes them: whole, into one buffer (every object here is small enough).
    let decompress = |object: &[u8]| -> u64 {
        with_whole_object(object, |text| text.len() as u64).expect("decompress")
    };
    let parse = |object: &[u8]| -> u64 {
        with_whole_object(object, |text| {
            text.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .filter(|l| parse_line(l).is_ok())
                .count() as u64
        })
        .expect("decompress")
    };
    let count = |object: &[u8]| -> u64 {
        let tally = tally_object("bench", object, Compression::Zstd, &Fingerprints::default())
            .expect("tally");
        tally.stats.events.total
    };
    let (decompress_s, bytes) = on_both_cores(&decompress);
    let (parse_s, lines) = on_both_cores(&parse);
    let (count_s, _) = on_both_cores(&count);
    json!({
        "read_seconds": rounded(read),
        "decompress_seconds": rounded(decompress_s),
        "decompress_and_parse_seconds": rounded(parse_s),
        // Each object counted on its own (decompress, parse, count, de-duplicate within the
        // object), without the merge in key order and the hour-wide de-duplication.
        "decompress_parse_and_count_seconds": rounded(count_s),
        "decompressed_bytes": bytes,
        "parsed_lines": lines,
    })
}

/// `zstd -d` of the same objects (one process, one thread): the decompression floor.
fn zstd_cli_floor(root: &Path) -> Value {
    let files = raw_files(root);
    let started = Instant::now();
    let status = Command::new("zstd")
        .arg("-dcq")
        .args(&files)
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => json!(rounded(started.elapsed().as_secs_f64())),
        _ => Value::Null,
    }
}

fn rounded(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

fn child(args: &[&str]) -> Value {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe).args(args).output().expect("run child");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        std::process::exit(1);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or("null");
    serde_json::from_str(last).expect("child prints JSON")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--generate") => {
            let n: usize = args[1].parse().expect("N");
            println!("{}", generate(n, Path::new(&args[2])));
            return;
        }
        Some("--measure") => {
            println!("{}", measure(Path::new(&args[1])));
            return;
        }
        Some("--phases") => {
            println!("{}", phases(Path::new(&args[1])));
            return;
        }
        _ => {}
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        args.iter()
            .map(|a| {
                a.parse()
                    .unwrap_or_else(|_| panic!("{a:?} is not a number of events"))
            })
            .collect()
    };
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/stats-rollup");
    let mut summary = Vec::new();
    for n in sizes {
        let root = base.join(n.to_string());
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("bench directory");
        let root_arg = root.to_string_lossy().into_owned();
        let generated = child(&["--generate", &n.to_string(), &root_arg]);
        let floor = zstd_cli_floor(&root);
        let phases = child(&["--phases", &root_arg]);
        let measured = child(&["--measure", &root_arg]);
        assert_eq!(
            measured["counted_events"],
            json!(n),
            "every distinct event counted once"
        );
        let mut line = json!({"benchmark": "stats-rollup", "events": n});
        line["zstd_cli_seconds"] = floor;
        line["phases"] = phases;
        for part in [generated, measured] {
            if let (Some(line), Value::Object(part)) = (line.as_object_mut(), part) {
                line.extend(part);
            }
        }
        println!("{line}");
        summary.push(line);
        let _ = std::fs::remove_dir_all(&root);
    }
    println!("{}", Value::Array(summary));
}
