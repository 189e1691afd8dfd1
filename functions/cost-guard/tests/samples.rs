//! Every sample in `events/cost-guard` runs (against moto, no costs loaded: a quiet month),
//! and every sample in `events/invalid/cost-guard` is refused with a clear error.

mod common;

use common::{at, Fixture};
use cost_guard::{handle, GuardError};
use serde_json::{json, Value};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/cost-guard");
const INVALID: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../events/invalid/cost-guard"
);

fn samples(dir: &str) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(dir)
        .expect("samples directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("sample");
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn every_sample_invocation_runs() {
    let f = Fixture::new("us-east-1").await;
    let guard = f.guard(f.config(
        json!({"currency": "USD", "monthly": 10, "daily": 0.33}),
        &[],
    ));
    let found = samples(SAMPLES);
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "dry-run.json",
            "report.json",
            "restore.json",
            "scheduled.json"
        ]
    );
    for (name, event) in &found {
        let report = handle(&guard, event, at("2026-05-14T10:00:00Z"))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = name.trim_end_matches(".json");
        assert_eq!(report["invocation"], expected, "{name}");
        let requests = if expected == "restore" { 0 } else { 2 };
        assert_eq!(report["cost_explorer_requests"], requests, "{name}");
    }
    assert!(
        f.events().await.is_empty(),
        "a month without costs announces nothing"
    );
}

/// The invalid corpus as bytes (some files are not JSON, or not UTF-8), plus the cases
/// generated here rather than committed: a 1 MB action and JSON nested past serde_json's
/// recursion limit.
fn invalid_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(INVALID)
        .expect("invalid samples directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).expect("invalid sample"))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let huge = json!({ "action": "restore".repeat(150_000) });
    out.push((
        "generated: 1 MB action".into(),
        huge.to_string().into_bytes(),
    ));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    out.push(("generated: nested 10000 deep".into(), deep.into_bytes()));
    out
}

/// Each input goes the way the Lambda runtime takes it: bytes to `serde_json::Value` (what
/// the runtime rejects with a deserialization error never reaches the handler), then the real
/// handler, which must refuse it with `CostGuard.UnsupportedInvocation`, a short message, and
/// no state, action or event.
#[tokio::test]
async fn every_invalid_sample_is_refused_with_a_clear_error() {
    let f = Fixture::new("us-east-1").await;
    let guard = f.guard(f.config(json!({"currency": "USD", "monthly": 10}), &[]));
    let inputs = invalid_inputs();
    assert!(inputs.len() >= 20, "{} cases", inputs.len());
    let (mut not_json, mut refused) = (0, 0);
    for (name, bytes) in &inputs {
        let event: Value = match serde_json::from_slice(bytes) {
            Ok(event) => event,
            Err(e) => {
                assert!(!e.to_string().is_empty(), "{name}");
                not_json += 1;
                continue;
            }
        };
        let err = handle(&guard, &event, at("2026-05-14T10:00:00Z"))
            .await
            .unwrap_err();
        assert!(matches!(err, GuardError::Invocation(_)), "{name}: {err}");
        assert_eq!(err.kind(), "CostGuard.UnsupportedInvocation");
        let message = err.to_string();
        assert!(
            message.contains("expected an EventBridge \"Scheduled Event\""),
            "{name}: {message}"
        );
        assert!(message.len() < 400, "{name}: {} bytes", message.len());
        assert!(
            !message.chars().any(char::is_control),
            "{name}: {message:?}"
        );
        refused += 1;
    }
    println!(
        "{} invalid inputs: {not_json} not JSON, {refused} refused by the handler",
        inputs.len()
    );
    assert_eq!(not_json, 5, "two truncated, empty, non-UTF-8, too deep");
    assert!(f.keys("cost-guard/").await.is_empty());
    assert!(f.events().await.is_empty());
}
