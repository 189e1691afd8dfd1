//! The raw objects of the golden rollup test: deterministic, and covering every path of the
//! line parser and the counters (every event type, odd field types, escapes, long and many
//! labels, malformed lines, duplicates within and across objects, gzip, plain, corrupt zstd,
//! a key that is not raw NDJSON). The documents rolled up from these objects by the code of
//! 2026-11-30 (before the rollup was made parallel) are stored beside this file; the rollup
//! must keep writing them byte for byte.
//!
//! Do not change this generator: the stored documents were produced from its output.

use std::io::Write;

use serde_json::{json, Value};

/// Deterministic pseudo-random numbers (SplitMix64).
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
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One line of an object: an envelope (as JSON text) or a malformed line.
fn event_line(rng: &mut SplitMix, hour: &str, id: &str) -> String {
    let minute = rng.below(60);
    let time = format!("{hour}:{minute:02}:{:02}Z", rng.below(60));
    let kind = rng.pick(&["video", "image", "audio", "document", ""]);
    let prefix = rng.pick(&["videos/", "covers/", "avatars/", "audio/"]);
    let subject = match rng.below(5) {
        0 => Value::Null,
        1 => json!("not-an-s3-uri"),
        _ => json!(format!("s3://media/{prefix}u-{}/f{id}.bin", rng.below(50))),
    };
    let severity = rng.pick(&["info", "warning", "critical", ""]);
    let size = match rng.below(8) {
        0 => json!(format!("{}", rng.below(100_000))),
        1 => json!(rng.below(10_000) as f64 + 0.5),
        2 => json!(-5),
        3 => json!({"bytes": 1}),
        4 => Value::Null,
        _ => json!(rng.below(1_000_000_000)),
    };
    let roll = rng.below(100);
    let (event_type, data) = if roll < 40 {
        let labels = match rng.below(6) {
            0 => json!([]),
            1 => json!(["Violence", "Violence", {"Name": "Gore"}]),
            2 => json!([{"name": "Smoking", "parent_name": "Tobacco", "confidence": 81.5},
                        {"name": "Drinking", "ParentName": "Alcohol"},
                        {"category": "Drugs", "name": "Pills"}]),
            3 => json!("none"),
            4 => json!([{"name": format!("Label-{}", rng.below(140))}, 7, null, [1]]),
            _ => json!([{"parent": "Hate \u{00e9}\u{4e2d}"}, {"confidence": 3}]),
        };
        let mut data = json!({
            "kind": kind, "size_bytes": size,
            "verdict": rng.pick(&["approved", "approved", "review", "rejected", ""]),
            "moderation_labels": labels,
            "labels": ["Person", "Text"], "extra": {"nested": [1, {"deep": [true]}]},
        });
        if rng.below(3) > 0 {
            data["prefix"] = json!(prefix);
        }
        match rng.below(5) {
            0 => data["latency_ms"] = json!(100 + rng.below(600_000)),
            1 => data["latency_ms"] = json!(format!("{}.25", rng.below(5000))),
            2 => {
                data["uploaded_at"] = json!(format!("{hour}:{minute:02}:00Z"));
                data["analyzed_at"] = json!(format!(
                    "{hour}:{minute:02}:{:02}.{:03}Z",
                    rng.below(60),
                    rng.below(1000)
                ));
            }
            3 => {
                data["uploaded_at"] = json!(format!("{hour}:{minute:02}:30+08:00"));
                data["analyzed_at"] = json!("garbage");
            }
            _ => {}
        }
        ("media.analyzed", data)
    } else if roll < 48 {
        (
            rng.pick(&["media.failed", "media.skipped"]),
            json!({"kind": kind, "prefix": prefix, "size_bytes": size, "reason": "x"}),
        )
    } else if roll < 55 {
        ("media.flagged", json!({"kind": kind, "size_bytes": 3}))
    } else if roll < 65 {
        let duration = match rng.below(4) {
            0 => json!(format!("{}.5", rng.below(4000))),
            1 => json!(true),
            _ => json!(rng.below(3_600_000) as f64 / 1000.0),
        };
        let language = match rng.below(6) {
            0 => json!(null),
            1 => json!("zh\\u002dCN"),
            _ => json!(rng.pick(&["zh-CN", "en-US", "ja-JP"])),
        };
        (
            "transcript.ready",
            json!({"language": language, "duration_seconds": duration}),
        )
    } else if roll < 80 {
        // More than 100 distinct channels (bounded label maps), some long and multi-byte.
        let channel = match rng.below(10) {
            0 => json!(format!("channel-{}", rng.below(130))),
            1 => json!("\u{98de}".repeat(70)),
            2 => json!(format!("{}{}", "x".repeat(64), rng.below(3))),
            3 => json!(42),
            _ => json!(rng.pick(&["dingtalk", "wecom", "feishu", "slack", "email", " "])),
        };
        (
            rng.pick(&["notification.delivered", "notification.failed"]),
            json!({"channel": channel}),
        )
    } else if roll < 86 {
        (
            "cost.threshold",
            json!({"budget": rng.pick(&["monthly", "daily", ""]), "level": 80}),
        )
    } else if roll < 90 {
        (
            "cost.action",
            json!({"action": rng.pick(&["lambda.concurrency_zero", "ecs.scale_zero"]), "mode": rng.pick(&["dry-run", "enforce"])}),
        )
    } else if roll < 93 {
        ("something.new", json!([1, 2]))
    } else if roll < 95 {
        ("media.analyzed", json!("data as a string"))
    } else {
        // Malformed lines of several kinds.
        return match rng.below(6) {
            0 => "{broken".to_string(),
            1 => json!({"version": 2, "id": id, "type": "media.analyzed"}).to_string(),
            2 => json!({"version": 1, "type": "media.analyzed"}).to_string(),
            3 => "[1,2,3]".to_string(),
            4 => json!({"version": "1", "id": id, "type": "x"}).to_string(),
            _ => json!({"version": 1, "id": id, "type": ""}).to_string(),
        };
    };
    json!({
        "version": 1, "id": id, "type": event_type, "source": "golden", "time": time,
        "subject": subject, "severity": severity, "data": data
    })
    .to_string()
}

fn zstd_of(text: &str) -> Vec<u8> {
    zstd::encode_all(text.as_bytes(), 3).expect("zstd")
}

fn gzip_of(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).expect("gzip");
    gz.finish().expect("gzip")
}

/// `(key, body)` of every raw object, for hours 13 and 14 of 2026-11-24.
pub fn raw_objects() -> Vec<(String, Vec<u8>)> {
    let mut rng = SplitMix(20_261_130);
    let mut objects = Vec::new();
    let mut previous: Vec<String> = Vec::new();
    for (hour, prefix, count) in [
        ("2026-11-24T13", "stats/raw/2026/11/24/13/", 40usize),
        ("2026-11-24T14", "stats/raw/2026/11/24/14/", 6usize),
    ] {
        for n in 0..count {
            let mut lines: Vec<String> = (0..(200 + rng.below(400) as usize))
                .map(|i| {
                    // Ids repeat within an object now and then (SNS delivering twice).
                    let id = if i > 10 && rng.below(50) == 0 {
                        format!("{hour}-{n:03}-{:04}", i - 3)
                    } else {
                        format!("{hour}-{n:03}-{i:04}")
                    };
                    event_line(&mut rng, hour, &id)
                })
                .collect();
            if n % 7 == 3 {
                // A batch delivered again in part: half of the previous object comes again.
                lines.extend(previous.iter().take(previous.len() / 2).cloned());
            }
            if n % 5 == 1 {
                lines.insert(3, String::new());
                lines.insert(5, "   ".to_string());
                lines[7].push('\r');
            }
            previous = lines.clone();
            let text = lines.join("\n") + "\n";
            let key = format!("{prefix}{n:03}-{:016x}", rng.next());
            let (key, body) = match n % 11 {
                4 => (format!("{key}.ndjson.gz"), gzip_of(&text)),
                8 => (format!("{key}.ndjson"), text.into_bytes()),
                9 => {
                    let mut body = zstd_of(&text);
                    let cut = body.len() / 2;
                    body.truncate(cut);
                    body.extend_from_slice(&[0xFF; 64]);
                    (format!("{key}.ndjson.zst"), body)
                }
                _ => (format!("{key}.ndjson.zst"), zstd_of(&text)),
            };
            objects.push((key, body));
        }
        objects.push((format!("{prefix}manifest.csv"), b"not,raw\n".to_vec()));
    }
    objects
}
