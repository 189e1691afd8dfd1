//! Issue 15.1: routing decides, not the subscription filter. Every event type the producers
//! emit, at every severity, is published to a local `suite-events` topic whose subscription
//! admits everything; the notifications queue is drained through the real handler (the event
//! source mapping played by `shared::testkit`). A rule naming a type delivers each of its
//! events; a type no rule names is delivered nowhere.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use shared::events::contracts::cost::{CostAction, CostThreshold};
use shared::events::{types, Envelope, EventPayload, EventPublisher, Severity, SnsEventPublisher};
use shared::testkit::{EventSourceMapping, Invocation};
use support::stub_servers::{HttpStub, Reply};
use support::*;

/// Every type on `suite-events`: ai-processor (media, transcript, document, review),
/// cost-guard (cost) and stats-aggregator (stats). `notification.*` go to the stats queue and
/// `alarm.*` come from CloudWatch, so neither is published here.
fn producer_types() -> Vec<&'static str> {
    vec![
        types::MEDIA_ANALYZED,
        types::MEDIA_FLAGGED,
        types::MEDIA_FAILED,
        types::MEDIA_SKIPPED,
        "media.deleted",
        "media.reviewed",
        types::TRANSCRIPT_READY,
        "document.text_ready",
        CostThreshold::TYPE,
        CostAction::TYPE,
        types::STATS_DIGEST,
    ]
}

const SEVERITIES: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

/// Publishes every type at every severity; returns (type, id) of each event.
async fn publish_all(local: &Local, topic: &str) -> Vec<(String, String)> {
    let publisher = SnsEventPublisher::new(local.sns.clone(), topic);
    let run = shared::testkit::unique("run");
    let mut sent = Vec::new();
    for event_type in producer_types() {
        for severity in SEVERITIES {
            let e = Envelope::new(
                event_type,
                "test",
                &format!("s3://media/{run}/{event_type}.mp4"),
                severity,
                severity.as_str(),
                json!({}),
            );
            publisher.publish(&e).await.unwrap();
            sent.push((event_type.to_string(), e.id));
        }
    }
    sent
}

/// Runs the whole path with `rules`; returns the ids the webhook received.
async fn delivered_with(rules: serde_json::Value) -> (Vec<(String, String)>, Vec<String>) {
    let local = local().await;
    let topic = shared::testkit::create_topic(&local.sns, "suite-events").await;
    let (queue, queue_arn) = shared::testkit::create_queue(&local.sqs, "notifications").await;
    // The subscription admits every event: no filter policy.
    shared::testkit::subscribe_queue(&local.sns, &topic, &queue_arn, None).await;
    let hook = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    let app = app(
        &local,
        settings(&rules, &local.bucket, &[]),
        secrets(&[("hook", hook.url("/h"))]),
    )
    .await;
    let sent = publish_all(&local, &topic).await;
    let mapping = EventSourceMapping::new(&local.sqs, &queue, &queue_arn);
    let report = mapping
        .drain(|_, event| {
            let app = &app;
            async move {
                Invocation::Answered(
                    app.handle(invocation(event, Duration::from_secs(10)))
                        .await
                        .unwrap(),
                )
            }
        })
        .await;
    assert_eq!(report.reported_failures, 0, "nothing comes back");
    assert_eq!(
        report.deliveries.len(),
        sent.len(),
        "every event reached the queue"
    );
    let received = hook
        .requests()
        .iter()
        .map(|r| r.json()["event"]["id"].as_str().unwrap().to_string())
        .collect();
    (sent, received)
}

#[tokio::test]
async fn a_rule_naming_a_type_delivers_it_at_every_severity_and_no_rule_means_no_delivery() {
    let all = producer_types();
    // Every other type is named, each in its own rule with the lowest severity.
    let named: Vec<&str> = all.iter().copied().step_by(2).collect();
    let rules: Vec<serde_json::Value> = named
        .iter()
        .map(|t| json!({"types": [t], "min_severity": "info", "channels": ["hook"]}))
        .collect();
    let (sent, received) = delivered_with(json!({
        "channels": {"hook": {"kind": "webhook", "secret_id": "hook"}},
        "rules": rules
    }))
    .await;
    let received: BTreeSet<String> = received.into_iter().collect();
    for (event_type, id) in &sent {
        let wanted = named.contains(&event_type.as_str());
        assert_eq!(
            received.contains(id),
            wanted,
            "{event_type} {id}: delivered {} but a rule {} it",
            received.contains(id),
            if wanted { "names" } else { "does not name" }
        );
    }
    assert_eq!(received.len(), named.len() * SEVERITIES.len());
}

#[tokio::test]
async fn min_severity_decides_per_rule_for_every_type() {
    let (sent, received) = delivered_with(json!({
        "channels": {"hook": {"kind": "webhook", "secret_id": "hook"}},
        "rules": [{"types": ["*"], "min_severity": "warning", "channels": ["hook"]}]
    }))
    .await;
    let received: BTreeSet<String> = received.into_iter().collect();
    // Published in SEVERITIES order per type: info, warning, critical.
    for (i, (event_type, id)) in sent.iter().enumerate() {
        let severity = SEVERITIES[i % 3];
        assert_eq!(
            received.contains(id),
            severity >= Severity::Warning,
            "{event_type} at {severity}"
        );
    }
}
