//! Every sample in `events/stats-aggregator/` and `events/invalid/stats-aggregator/` goes
//! through the handler against the local AWS, in the order a day would bring them.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;
use shared::testkit;

const VALID_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/stats-aggregator");
const INVALID_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../events/invalid/stats-aggregator"
);

fn sample(dir: &str, name: &str) -> Value {
    let path = format!("{dir}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn names_in(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[tokio::test]
async fn every_valid_sample_is_handled() {
    let valid = [
        "sqs-raw-delivery.json",
        "sqs-sns-wrapped.json",
        "scheduled-hourly.json",
        "scheduled-daily.json",
        "backfill-hourly.json",
        "backfill-daily.json",
    ];
    assert_eq!(
        names_in(VALID_DIR),
        valid.iter().map(|s| s.to_string()).collect()
    );
    let stack = stack(60).await;
    let run = |name: &'static str| {
        let app = &stack.app;
        async move {
            app.handle(sample(VALID_DIR, name))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        }
    };

    let response = run("sqs-raw-delivery.json").await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert_eq!(keys(&stack, "stats/raw/2026/11/24/12/").await.len(), 1);
    assert_eq!(keys(&stack, "stats/raw/2026/11/24/13/").await.len(), 1);
    let response = run("sqs-sns-wrapped.json").await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert_eq!(keys(&stack, "stats/raw/2026/11/24/13/").await.len(), 2);

    let report = run("scheduled-hourly.json").await;
    assert_eq!(report["periods"][1]["period"], "2026-11-24T13");
    assert_eq!(report["periods"][1]["events"], 4);
    let hour = json_object(&stack, "stats/hourly/2026/11/24/13.json").await;
    assert_eq!(hour["uploads"]["by_outcome"]["failed"], 1);
    assert_eq!(hour["verdicts"]["by_verdict"]["review"], 1);
    assert_eq!(
        hour["transcription"]["by_language"]["zh-CN"]["duration_ms"],
        1_834_600
    );

    let report = run("scheduled-daily.json").await;
    assert_eq!(report["periods"][0]["events"], 5);
    let digest_id = report["digest_event_id"].clone();
    assert!(digest_id.is_string());
    let report = run("backfill-hourly.json").await;
    assert_eq!(
        (
            report["backfill"].clone(),
            report["periods"][0]["events"].clone()
        ),
        (true.into(), 4.into())
    );
    let report = run("backfill-daily.json").await;
    assert_eq!(report["digest_event_id"], digest_id);
    let daily = json_object(&stack, "stats/daily/2026/11/24.json").await;
    assert_eq!(daily["cost"]["alerts_by_budget"]["monthly"], 1);
    assert_eq!(daily["hours_with_data"], 2);
}

#[tokio::test]
async fn every_invalid_sample_is_refused_with_a_clear_reason_or_dead_lettered() {
    let refused = [
        ("backfill-bad-period.json", "the month must be 01 to 12"),
        ("backfill-period-not-ended.json", "has not ended yet"),
        ("not-an-event.json", "unrecognised event"),
        ("s3-notification-sent-here.json", "eventSource \"aws:s3\""),
        (
            "scheduled-rule-without-kind.json",
            "cannot tell which rollup to run",
        ),
    ];
    let dead_lettered = "sqs-malformed-records.json";
    let mut expected: BTreeSet<String> = refused.iter().map(|(n, _)| n.to_string()).collect();
    expected.insert(dead_lettered.to_string());
    assert_eq!(names_in(INVALID_DIR), expected);

    let stack = stack(60).await;
    for (name, reason) in refused {
        let err = stack
            .app
            .handle(sample(INVALID_DIR, name))
            .await
            .expect_err(name)
            .to_string();
        assert!(err.contains(reason), "{name}: {err}");
    }
    let response = stack
        .app
        .handle(sample(INVALID_DIR, dead_lettered))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    let dead = testkit::receive_all(&stack.sqs, &stack.dead_letter_queue_url, 3).await;
    assert_eq!(dead.len(), 3);
    assert!(keys(&stack, "stats/raw/").await.is_empty());
}
