//! The trigger and the SNS channel on the local AWS: events published to suite-events reach
//! the notifications queue through the subscription filter, the handler reads them (raw and
//! SNS-wrapped), and the SNS channel publishes to its topic.

mod support;

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value};
use shared::events::{Envelope, EventPublisher, Severity, SnsEventPublisher};
use support::*;

/// The SQS records as Lambda would pass them.
fn as_lambda_event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| message(m.message_id().unwrap(), m.body().unwrap()))
        .collect();
    event
}

async fn subscribe(local: &Local, topic: &str, queue_arn: &str, raw: bool, filter: Option<&str>) {
    let mut req = local
        .sns
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", raw.to_string());
    if let Some(f) = filter {
        req = req.attributes("FilterPolicy", f);
    }
    req.send().await.unwrap();
}

#[tokio::test]
async fn events_flow_from_suite_events_through_the_queue_to_an_sns_channel() {
    let local = local().await;
    let suite_events = shared::testkit::create_topic(&local.sns, "suite-events").await;
    let (notifications, notifications_arn) =
        shared::testkit::create_queue(&local.sqs, "notifications").await;
    let (wrapped, wrapped_arn) =
        shared::testkit::create_queue(&local.sqs, "notifications-wrapped").await;
    let filter = r#"{"severity": ["warning", "critical"]}"#;
    subscribe(
        &local,
        &suite_events,
        &notifications_arn,
        true,
        Some(filter),
    )
    .await;
    subscribe(&local, &suite_events, &wrapped_arn, false, Some(filter)).await;

    let ops_topic = shared::testkit::create_topic(&local.sns, "ops").await;
    let (inbox, inbox_arn) = shared::testkit::create_queue(&local.sqs, "ops-inbox").await;
    subscribe(&local, &ops_topic, &inbox_arn, false, None).await;

    let publisher = SnsEventPublisher::new(local.sns.clone(), &suite_events);
    let flagged = Envelope::new(
        "media.flagged",
        "ai-processor",
        "s3://media/videos/u1/clip.mp4",
        Severity::Critical,
        &shared::testkit::unique("etag"),
        json!({"verdict": "reject", "labels": ["Violence"]}),
    );
    let analyzed = Envelope::new(
        "media.analyzed",
        "ai-processor",
        "s3://media/videos/u1/ok.mp4",
        Severity::Info,
        "e",
        json!({}),
    );
    publisher.publish(&flagged).await.unwrap();
    publisher.publish(&analyzed).await.unwrap();

    let rules = json!({"channels": {"ops": {"kind": "sns", "topic_arn": ops_topic, "language": "zh"}},
                       "rules": [{"types": ["media.*"], "channels": ["ops"]}]});
    let app = app(&local, settings(&rules, &local.bucket, &[]), secrets(&[])).await;

    // Raw delivery: the body is the envelope; the info event was filtered out by the subscription.
    let received = shared::testkit::receive_all(&local.sqs, &notifications, 2).await;
    assert_eq!(received.len(), 1);
    let response = app
        .handle(invocation(
            as_lambda_event(&received),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert!(failed_ids(&response).is_empty());

    // Raw delivery off: the body is an SNS notification around the envelope; same event id,
    // so the channel already has it and nothing is published twice.
    let received = shared::testkit::receive_all(&local.sqs, &wrapped, 2).await;
    assert_eq!(received.len(), 1);
    let body: Value = serde_json::from_str(received[0].body().unwrap()).unwrap();
    assert_eq!(body["Type"], "Notification");
    let response = app
        .handle(invocation(
            as_lambda_event(&received),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert!(failed_ids(&response).is_empty());

    let published = shared::testkit::receive_all(&local.sqs, &inbox, 2).await;
    assert_eq!(published.len(), 1, "delivered once to the SNS channel");
    let notification: Value = serde_json::from_str(published[0].body().unwrap()).unwrap();
    assert_eq!(notification["Subject"], "[严重] 媒体内容需要审核：clip.mp4");
    let message = notification["Message"].as_str().unwrap();
    assert!(message.starts_with("[严重] 媒体内容需要审核：clip.mp4\n\n对象: s3://media/videos/u1/clip.mp4\n结论: reject\n标签: Violence\n"), "{message}");
    assert_eq!(
        notification["MessageAttributes"]["type"]["Value"],
        "media.flagged"
    );
    assert_eq!(
        notification["MessageAttributes"]["severity"]["Value"],
        "critical"
    );
    assert_eq!(
        notification["MessageAttributes"]["event_id"]["Value"],
        flagged.id.as_str()
    );
}

#[tokio::test]
async fn a_missing_topic_is_a_permanent_failure() {
    let local = local().await;
    let rules = json!({"channels": {"ops": {"kind": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:does-not-exist"}},
                       "rules": [{"types": ["*"], "channels": ["ops"]}]});
    let (dlq, _) = shared::testkit::create_queue(&local.sqs, "notifier-dlq").await;
    let app = app(
        &local,
        settings(&rules, &local.bucket, &[("DEAD_LETTER_QUEUE_URL", &dlq)]),
        secrets(&[]),
    )
    .await;
    let body = envelope("media.failed", "critical", json!({})).to_string();
    let response = app
        .handle(invocation(sqs_event(&[body]), Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(failed_ids(&response).is_empty());
    let dead = shared::testkit::receive_all(&local.sqs, &dlq, 1).await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0].message_attributes().unwrap()["failure_reason"]
        .string_value()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("rejected by ops: SNS publish failed"),
        "{reason}"
    );
}
