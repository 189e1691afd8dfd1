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

#[tokio::test]
async fn every_invalid_sample_is_refused_with_a_clear_error() {
    let f = Fixture::new("us-east-1").await;
    let guard = f.guard(f.config(json!({"currency": "USD", "monthly": 10}), &[]));
    let found = samples(INVALID);
    assert_eq!(found.len(), 3);
    for (name, event) in &found {
        let err = handle(&guard, event, at("2026-05-14T10:00:00Z"))
            .await
            .unwrap_err();
        assert!(matches!(err, GuardError::Invocation(_)), "{name}: {err}");
        assert_eq!(err.kind(), "CostGuard.UnsupportedInvocation");
        assert!(
            err.to_string()
                .contains("expected an EventBridge \"Scheduled Event\""),
            "{name}: {err}"
        );
    }
    assert!(f.keys("cost-guard/").await.is_empty());
}
