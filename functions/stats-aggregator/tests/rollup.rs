//! Rollups against the local AWS: events ingested through the handler, rolled up by
//! scheduled events, documents and the digest checked against counts computed here.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};
use shared::testkit;
use stats_aggregator::latency::RELATIVE_ACCURACY;

/// One generated event and what it should contribute.
struct Generated {
    message_id: String,
    body: String,
    event_type: &'static str,
    kind: Option<&'static str>,
    size: u64,
    verdict: Option<&'static str>,
    latency_ms: Option<u64>,
    language: Option<&'static str>,
    duration_s: u64,
}

fn generate() -> Vec<Generated> {
    let mut out = Vec::new();
    let mut push = |i: usize, event_type: &'static str, data: Value, g: Generated| {
        let time = format!(
            "2026-11-24T{:02}:{:02}:{:02}Z",
            9 + i % 3,
            i % 60,
            (i * 7) % 60
        );
        out.push(Generated {
            message_id: format!("m{i:05}"),
            body: envelope(&format!("e{i:05}"), event_type, &time, data),
            event_type,
            ..g
        });
    };
    let none = || Generated {
        message_id: String::new(),
        body: String::new(),
        event_type: "",
        kind: None,
        size: 0,
        verdict: None,
        latency_ms: None,
        language: None,
        duration_s: 0,
    };
    let mut i = 0;
    for n in 0..1200usize {
        let (kind, prefix) = [
            ("video", "videos/"),
            ("image", "covers/"),
            ("audio", "audio/"),
        ][n % 3];
        let verdict = ["approved", "approved", "approved", "review", "rejected"][n % 5];
        let size = 1_000 + n as u64 * 13;
        let latency = 100 + (n as u64 * 7_919) % 20_000;
        let data = json!({"kind": kind, "prefix": prefix, "size_bytes": size, "verdict": verdict,
            "moderation_labels": if verdict == "approved" { json!([]) } else { json!([{"name": "Smoking", "parent_name": "Tobacco", "confidence": 91.0}]) },
            "uploaded_at": "2026-11-24T09:00:00Z", "latency_ms": latency});
        push(
            i,
            "media.analyzed",
            data,
            Generated {
                kind: Some(kind),
                size,
                verdict: Some(verdict),
                latency_ms: Some(latency),
                ..none()
            },
        );
        i += 1;
    }
    for n in 0..150usize {
        let language = ["zh-CN", "en-US"][n % 2];
        let duration = 30 + n as u64;
        push(
            i,
            "transcript.ready",
            json!({"language": language, "duration_seconds": duration}),
            Generated {
                language: Some(language),
                duration_s: duration,
                ..none()
            },
        );
        i += 1;
    }
    for n in 0..25usize {
        let (t, channel) = if n < 20 {
            ("notification.delivered", "slack")
        } else {
            ("notification.failed", "dingtalk")
        };
        push(i, t, json!({"channel": channel}), none());
        i += 1;
    }
    for _ in 0..3 {
        push(
            i,
            "cost.threshold",
            json!({"budget": "monthly", "percentage": 80}),
            none(),
        );
        i += 1;
    }
    push(
        i,
        "cost.action",
        json!({"action": "lambda.concurrency_zero", "mode": "dry-run"}),
        none(),
    );
    i += 1;
    for _ in 0..10 {
        push(i, "media.flagged", json!({"kind": "image"}), none());
        i += 1;
    }
    out
}

async fn ingest_all(stack: &Stack, events: &[Generated], batch_size: usize) {
    for batch in events.chunks(batch_size) {
        let records: Vec<(&str, String)> = batch
            .iter()
            .map(|g| (g.message_id.as_str(), g.body.clone()))
            .collect();
        let response = stack.app.handle(sqs_event(&records)).await.expect("ingest");
        assert_eq!(failed_ids(&response), Vec::<String>::new());
    }
}

/// The value at the rank DDSketch uses: floor(q * (n - 1)) of the sorted values.
fn exact_quantile(sorted: &[u64], q: f64) -> f64 {
    sorted[(q * (sorted.len() as f64 - 1.0)) as usize] as f64
}

fn assert_within_accuracy(got: &Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what} missing"));
    assert!(
        (got - want).abs() <= want * RELATIVE_ACCURACY + 0.001,
        "{what}: {got} is not within 1 % of {want}"
    );
}

#[tokio::test]
async fn hourly_and_daily_rollups_count_every_event_once_with_exact_figures() {
    let stack = stack(60).await;
    let events = generate();
    ingest_all(&stack, &events, 100).await;
    // Full redelivery of one batch, and a partial one mixing messages of two earlier batches.
    ingest_all(&stack, &events[200..300], 100).await;
    let mixed: Vec<(&str, String)> = events[0..10]
        .iter()
        .chain(&events[100..110])
        .map(|g| (g.message_id.as_str(), g.body.clone()))
        .collect();
    ingest_all_bodies(&stack, &mixed).await;

    let report = stack
        .app
        .handle(scheduled_event(
            "media-suite-test-stats-daily",
            "2026-11-25T01:15:00Z",
            json!({}),
        ))
        .await
        .expect("daily rollup");
    assert_eq!(report["rollup"], "daily");
    assert_eq!(report["periods"][0]["period"], "2026-11-24");

    // Every hour of the day has an explicit hourly document, also the empty ones.
    assert_eq!(keys(&stack, "stats/hourly/2026/11/24/").await.len(), 24);
    let empty = json_object(&stack, "stats/hourly/2026/11/24/00.json").await;
    assert_eq!(empty["events"]["total"], 0);
    assert_eq!(empty["sources"]["objects"], 0);

    let daily = json_object(&stack, "stats/daily/2026/11/24.json").await;
    assert_eq!(daily["schema_version"], 1);
    assert_eq!(daily["hours_with_data"], 3);
    assert_eq!(daily["events"]["total"], events.len());
    assert_eq!(daily["sources"]["duplicate_events"], 20);
    assert_eq!(daily["sources"]["malformed_lines"], 0);

    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut verdicts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut languages: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut latencies = Vec::new();
    for g in &events {
        *by_type.entry(g.event_type).or_default() += 1;
        if let Some(kind) = g.kind {
            let e = kinds.entry(kind).or_default();
            e.0 += 1;
            e.1 += g.size;
        }
        if let Some(v) = g.verdict {
            *verdicts.entry(v).or_default() += 1;
        }
        if let Some(l) = g.language {
            let e = languages.entry(l).or_default();
            e.0 += 1;
            e.1 += g.duration_s;
        }
        latencies.extend(g.latency_ms);
    }
    for (t, n) in &by_type {
        assert_eq!(daily["events"]["by_type"][t], *n, "events of type {t}");
    }
    assert_eq!(daily["uploads"]["total"], 1200);
    for (kind, (count, bytes)) in &kinds {
        assert_eq!(
            daily["uploads"]["by_kind"][kind],
            json!({"count": count, "bytes": bytes})
        );
    }
    assert_eq!(daily["uploads"]["by_prefix"]["covers/"]["count"], 400);
    assert_eq!(
        daily["uploads"]["bytes"],
        kinds.values().map(|k| k.1).sum::<u64>()
    );
    for (v, n) in &verdicts {
        assert_eq!(daily["verdicts"]["by_verdict"][v], *n);
    }
    assert_eq!(
        daily["verdicts"]["by_category"]["Tobacco"],
        verdicts["review"] + verdicts["rejected"]
    );
    for (language, (jobs, seconds)) in &languages {
        let entry = &daily["transcription"]["by_language"][language];
        assert_eq!(entry["jobs"], *jobs);
        assert_eq!(entry["duration_ms"], seconds * 1000);
        assert_eq!(
            entry["minutes"],
            ((*seconds as f64 / 60.0) * 1000.0).round() / 1000.0
        );
    }
    assert_eq!(
        daily["notifications"]["by_channel"]["slack"],
        json!({"delivered": 20, "failed": 0})
    );
    assert_eq!(daily["notifications"]["failed"], 5);
    assert_eq!(daily["cost"]["alerts"], 3);
    assert_eq!(daily["cost"]["alerts_by_budget"]["monthly"], 3);
    assert_eq!(daily["cost"]["actions_by_mode"]["dry-run"], 1);

    latencies.sort_unstable();
    let latency = &daily["latency_ms"];
    assert_eq!(latency["count"], latencies.len());
    assert_eq!(latency["min"], latencies[0] as f64);
    assert_eq!(latency["max"], *latencies.last().unwrap() as f64);
    assert_eq!(latency["relative_accuracy"], 0.01);
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        assert_within_accuracy(&latency[name], exact_quantile(&latencies, q), name);
    }

    // The digest is announced on the events topic with the report's id.
    let seen = testkit::receive_all(&stack.sqs, &stack.events_queue_url, 1).await;
    assert_eq!(seen.len(), 1);
    let digest: Value = serde_json::from_str(seen[0].body().unwrap()).unwrap();
    assert_eq!(digest["type"], "stats.digest");
    assert_eq!(digest["id"], report["digest_event_id"]);
    assert_eq!(digest["data"]["events"], events.len());
    assert_eq!(
        digest["data"]["flagged_uploads"],
        verdicts["review"] + verdicts["rejected"]
    );
    assert_eq!(
        digest["subject"],
        format!("s3://{}/stats/daily/2026/11/24.json", stack.bucket)
    );

    // Re-running gives the same document and the same digest id.
    let before = object(&stack, "stats/daily/2026/11/24.json").await;
    let hourly_before = object(&stack, "stats/hourly/2026/11/24/10.json").await;
    let again = stack
        .app
        .handle(json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {"rollup": "hourly", "period": "2026-11-24T10"}}))
        .await
        .unwrap();
    assert_eq!(again["backfill"], true);
    assert_eq!(
        object(&stack, "stats/hourly/2026/11/24/10.json").await,
        hourly_before
    );
    let report_again = stack
        .app
        .handle(scheduled_event(
            "media-suite-test-stats-daily",
            "2026-11-25T01:15:00Z",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(object(&stack, "stats/daily/2026/11/24.json").await, before);
    assert_eq!(report_again["digest_event_id"], report["digest_event_id"]);
}

fn analyzed(id: &str, time: &str, latency: u64) -> String {
    envelope(
        id,
        "media.analyzed",
        time,
        json!({"kind": "video", "latency_ms": latency}),
    )
}

#[tokio::test]
async fn the_hourly_schedule_folds_in_late_events_by_rolling_recent_hours_again() {
    let stack = stack(90).await;
    ingest_all_bodies(
        &stack,
        &[("m1", analyzed("e1", "2026-11-24T12:15:00Z", 100))],
    )
    .await;
    let report = stack
        .app
        .handle(scheduled_event(
            "stats-hourly",
            "2026-11-24T14:05:00Z",
            json!({}),
        ))
        .await
        .unwrap();
    let periods: Vec<&str> = report["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods, ["2026-11-24T11", "2026-11-24T12", "2026-11-24T13"]);
    assert_eq!(
        json_object(&stack, "stats/hourly/2026/11/24/12.json").await["events"]["total"],
        1
    );

    // An event of hour 12 arrives at 15:00, within the 90 minutes of lateness.
    ingest_all_bodies(
        &stack,
        &[("m2", analyzed("e2", "2026-11-24T12:50:00Z", 300))],
    )
    .await;
    let report = stack
        .app
        .handle(scheduled_event(
            "stats-hourly",
            "2026-11-24T15:05:00Z",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(report["periods"][0]["period"], "2026-11-24T12");
    let hour = json_object(&stack, "stats/hourly/2026/11/24/12.json").await;
    assert_eq!(hour["events"]["total"], 2);
    assert_eq!(hour["latency_ms"]["count"], 2);
}

async fn ingest_all_bodies(stack: &Stack, records: &[(&str, String)]) {
    let response = stack.app.handle(sqs_event(records)).await.expect("ingest");
    assert_eq!(failed_ids(&response), Vec::<String>::new());
}

#[tokio::test]
async fn a_back_fill_rolls_the_named_period_and_an_empty_one_is_written_explicitly() {
    let stack = stack(60).await;
    ingest_all_bodies(
        &stack,
        &[("m1", analyzed("e1", "2026-11-20T08:30:00Z", 250))],
    )
    .await;
    let report = stack
        .app
        .handle(scheduled_event(
            "stats-backfill",
            "2026-11-25T10:00:00Z",
            json!({"rollup": "hourly", "period": "2026-11-20T08"}),
        ))
        .await
        .unwrap();
    assert_eq!(report["periods"][0]["events"], 1);
    let doc = json_object(&stack, "stats/hourly/2026/11/20/08.json").await;
    assert_eq!(doc["uploads"]["by_kind"]["video"]["count"], 1);
    assert_within_accuracy(&doc["latency_ms"]["p50"], 250.0, "p50");

    stack
        .app
        .handle(scheduled_event(
            "stats-backfill",
            "2026-11-25T10:00:00Z",
            json!({"period": "2026-11-19T08"}),
        ))
        .await
        .unwrap();
    let empty = json_object(&stack, "stats/hourly/2026/11/19/08.json").await;
    assert_eq!(empty["events"]["total"], 0);
    assert_eq!(empty["period"]["id"], "2026-11-19T08");
    assert!(empty["latency_ms"]["p50"].is_null());

    // A daily back-fill of a day without any data: an explicit empty daily document and digest.
    let report = stack
        .app
        .handle(scheduled_event(
            "stats-backfill",
            "2026-11-25T10:00:00Z",
            json!({"rollup": "daily", "period": "2026-11-18"}),
        ))
        .await
        .unwrap();
    assert!(report["digest_event_id"].is_string());
    let daily = json_object(&stack, "stats/daily/2026/11/18.json").await;
    assert_eq!(daily["events"]["total"], 0);
    assert_eq!(daily["hours_with_data"], 0);
}

#[tokio::test]
async fn malformed_lines_and_damaged_objects_are_counted_and_skipped() {
    let stack = stack(60).await;
    let good = analyzed("e1", "2026-11-24T16:00:00Z", 100);
    let text = format!(
        "{good}\n{{\"version\":1,\"id\":\"x\"\nnot json at all\n\n{}\n",
        analyzed("e2", "2026-11-24T16:01:00Z", 200)
    );
    put(
        &stack,
        "stats/raw/2026/11/24/16/manual.ndjson.zst",
        zstd::encode_all(text.as_bytes(), 3).unwrap(),
    )
    .await;
    let mut damaged = zstd::encode_all(
        format!("{}\n", analyzed("e3", "2026-11-24T16:02:00Z", 300))
            .repeat(1)
            .as_bytes(),
        3,
    )
    .unwrap();
    damaged.truncate(damaged.len() - 4);
    damaged.extend_from_slice(&[0xAB; 16]);
    put(
        &stack,
        "stats/raw/2026/11/24/16/damaged.ndjson.zst",
        damaged,
    )
    .await;
    put(
        &stack,
        "stats/raw/2026/11/24/16/notes.txt",
        b"ignored".to_vec(),
    )
    .await;

    let report = stack
        .app
        .handle(scheduled_event(
            "stats-hourly",
            "2026-11-24T17:00:00Z",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(report["periods"][1]["period"], "2026-11-24T16");
    let doc = json_object(&stack, "stats/hourly/2026/11/24/16.json").await;
    assert_eq!(doc["events"]["total"], 2);
    assert_eq!(doc["sources"]["objects"], 2);
    assert_eq!(doc["sources"]["lines"], 4);
    assert_eq!(doc["sources"]["malformed_lines"], 2);
    assert_eq!(doc["sources"]["unreadable_objects"], 1);
}

#[tokio::test]
async fn the_daily_rollup_rebuilds_hourly_documents_of_another_schema() {
    let stack = stack(60).await;
    ingest_all_bodies(
        &stack,
        &[("m1", analyzed("e1", "2026-11-23T05:00:00Z", 100))],
    )
    .await;
    put(
        &stack,
        "stats/hourly/2026/11/23/05.json",
        br#"{"schema_version": 0, "events": {"total": 999}}"#.to_vec(),
    )
    .await;
    stack
        .app
        .handle(scheduled_event(
            "stats-daily",
            "2026-11-24T02:00:00Z",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(
        json_object(&stack, "stats/daily/2026/11/23.json").await["events"]["total"],
        1
    );
    assert_eq!(
        json_object(&stack, "stats/hourly/2026/11/23/05.json").await["schema_version"],
        1
    );
}

#[tokio::test]
async fn a_republished_event_counts_once_and_a_redriven_one_is_rolled_into_its_day_by_the_next_run()
{
    // The function's clock is the wall clock, days after these events: every write is late.
    let stack = stack(60).await;
    let e1 = analyzed("e1", "2026-11-24T10:05:00Z", 100);
    ingest_all_bodies(&stack, &[("m1", e1.clone())]).await;
    assert_eq!(keys(&stack, "stats/late/2026/11/24/10/").await.len(), 1);
    let report = stack
        .app
        .handle(scheduled_event(
            "stats-daily",
            "2026-11-25T01:20:00Z",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(report["late"][0]["period"], "2026-11-24T10");
    assert_eq!(report["periods"][0]["events"], 1);
    assert!(keys(&stack, "stats/late/").await.is_empty());

    // After the digest, e1 is published again (same id and first time, new SQS message) and
    // a genuinely new event of the same hour comes back from a dead-letter redrive.
    ingest_all_bodies(
        &stack,
        &[
            ("m2", e1),
            ("m3", analyzed("e2", "2026-11-24T10:40:00Z", 300)),
        ],
    )
    .await;
    let report = stack
        .app
        .handle(scheduled_event(
            "stats-hourly",
            "2026-11-25T05:05:00Z",
            json!({}),
        ))
        .await
        .unwrap();
    let late: Vec<&str> = report["late"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(late, ["2026-11-24T10", "2026-11-24"]);
    let day = json_object(&stack, "stats/daily/2026/11/24.json").await;
    assert_eq!(day["events"]["total"], 2);
    assert_eq!(day["sources"]["duplicate_events"], 1);
    assert_eq!(day["latency_ms"]["count"], 2);
    assert!(keys(&stack, "stats/late/").await.is_empty());
}
