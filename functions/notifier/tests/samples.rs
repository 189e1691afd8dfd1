//! Every sample in `events/notifier` and `events/invalid/notifier`, invoked through the handler.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::json;
use support::stub_servers::{HttpStub, Reply};
use support::*;

fn samples(dir: &str) -> Vec<(PathBuf, SqsEvent)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no samples in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let event: SqsEvent =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, event)
        })
        .collect()
}

fn suite_rules() -> serde_json::Value {
    json!({
        "channels": {"hook": {"kind": "webhook", "secret_id": "hook"}},
        "rules": [{"types": ["media.*", "transcript.*", "cost.*", "stats.*"], "channels": ["hook"]}]
    })
}

#[tokio::test]
async fn every_valid_sample_is_delivered_and_unknown_types_are_skipped() {
    for (path, event) in samples("notifier") {
        let local = local().await;
        let hook = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
        let app = app(
            &local,
            settings(&suite_rules(), &local.bucket, &[]),
            secrets(&[("hook", hook.url("/h"))]),
        )
        .await;
        let bodies: Vec<String> = event
            .records
            .iter()
            .map(|r| r.body.clone().unwrap())
            .collect();
        let response = app
            .handle(invocation(event, Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(
            failed_ids(&response).is_empty(),
            "{}: {:?}",
            path.display(),
            response
        );
        let delivered: Vec<String> = hook
            .requests()
            .iter()
            .map(|r| r.json()["event"]["id"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = bodies
            .iter()
            .map(|b| notifier::trigger::envelope_from_body(Some(b)).unwrap())
            .filter(|e| {
                ["media.", "transcript.", "cost.", "stats."]
                    .iter()
                    .any(|p| e.event_type.starts_with(p))
            })
            .map(|e| e.id)
            .collect();
        let mut got = delivered.clone();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want, "{}", path.display());
    }
}

#[tokio::test]
async fn every_invalid_sample_ends_in_the_dead_letter_queue_with_a_reason() {
    for (path, event) in samples("invalid/notifier") {
        let local = local().await;
        let hook = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
        let (dlq, _) = shared::testkit::create_queue(&local.sqs, "notifier-dlq").await;
        let app = app(
            &local,
            settings(
                &suite_rules(),
                &local.bucket,
                &[("DEAD_LETTER_QUEUE_URL", &dlq)],
            ),
            secrets(&[("hook", hook.url("/h"))]),
        )
        .await;
        let records = event.records.len();
        let response = app
            .handle(invocation(event, Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(failed_ids(&response).is_empty(), "{}", path.display());
        assert!(hook.requests().is_empty(), "{}", path.display());
        let dead = shared::testkit::receive_all(&local.sqs, &dlq, records).await;
        assert_eq!(dead.len(), records, "{}", path.display());
        for m in dead {
            let reason = m.message_attributes().unwrap()["failure_reason"]
                .string_value()
                .unwrap()
                .to_string();
            assert!(!reason.is_empty(), "{}", path.display());
        }
    }
}
