//! Ingest against the local AWS: batches become compressed NDJSON objects per event hour.

mod common;

use common::*;
use serde_json::json;
use shared::batch::{Deadline, RedrivePolicyOnly};
use shared::testkit;

fn lines_of(bytes: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8(zstd::decode_all(bytes).expect("zstd")).expect("utf-8");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one envelope per line"))
        .collect()
}

#[tokio::test]
async fn a_batch_is_stored_as_one_compressed_object_per_event_hour() {
    let stack = stack(60).await;
    let sns_wrapped = json!({
        "Type": "Notification",
        "MessageId": "0d2c3f4e-sns",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:suite-events",
        "Message": envelope("e3", "transcript.ready", "2026-11-24T14:00:00Z", json!({"language": "en-US"})),
        "Timestamp": "2026-11-24T14:00:00.100Z",
    })
    .to_string();
    let event = sqs_event(&[
        (
            "m1",
            envelope(
                "e1",
                "media.analyzed",
                "2026-11-24T13:10:00Z",
                json!({"kind": "video"}),
            ),
        ),
        (
            "m2",
            envelope(
                "e2",
                "media.analyzed",
                "2026-11-24T13:59:59.999Z",
                json!({"kind": "image"}),
            ),
        ),
        ("m3", sns_wrapped),
        ("m4", "{\"not\": \"an envelope\"".to_string()),
    ]);
    let response = stack.app.handle(event).await.expect("ingest");
    // The malformed record went to the dead-letter queue, so SQS need not deliver anything again.
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    let dead = testkit::receive_all(&stack.sqs, &stack.dead_letter_queue_url, 1).await;
    assert_eq!(dead.len(), 1);
    let source_id = dead[0]
        .message_attributes()
        .and_then(|a| a.get("source_message_id"))
        .and_then(|v| v.string_value());
    assert_eq!(source_id, Some("m4"));

    let hour_13 = keys(&stack, "stats/raw/2026/11/24/13/").await;
    let hour_14 = keys(&stack, "stats/raw/2026/11/24/14/").await;
    assert_eq!((hour_13.len(), hour_14.len()), (1, 1));
    assert!(hour_13[0].ends_with(".ndjson.zst"));
    let lines = lines_of(&object(&stack, &hour_13[0]).await);
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["e1", "e2"]);
    assert_eq!(lines[0]["data"]["kind"], "video");
    let lines = lines_of(&object(&stack, &hour_14[0]).await);
    assert_eq!(lines[0]["type"], "transcript.ready");
}

#[tokio::test]
async fn a_redelivered_batch_is_not_stored_twice() {
    let stack = stack(60).await;
    let batch = sqs_event(&[
        (
            "m1",
            envelope("e1", "media.analyzed", "2026-11-24T10:00:00Z", json!({})),
        ),
        (
            "m2",
            envelope("e2", "media.analyzed", "2026-11-24T10:01:00Z", json!({})),
        ),
    ]);
    let (first, first_summary) = stack
        .app
        .ingest(
            serde_json::from_value(batch.clone()).unwrap(),
            Deadline::none(),
        )
        .await;
    let (again, again_summary) = stack
        .app
        .ingest(serde_json::from_value(batch).unwrap(), Deadline::none())
        .await;
    assert!(first.batch_item_failures.is_empty() && again.batch_item_failures.is_empty());
    assert_eq!(
        (first_summary.objects_written, first_summary.events_stored),
        (1, 2)
    );
    assert_eq!(
        (
            again_summary.objects_written,
            again_summary.objects_already_stored
        ),
        (0, 1)
    );
    assert_eq!(keys(&stack, "stats/raw/").await.len(), 1);
}

#[tokio::test]
async fn records_whose_object_cannot_be_written_are_delivered_again() {
    let mut stack = stack(60).await;
    // A bucket that does not exist: every write fails the way S3 fails.
    stack.app.store =
        shared::results::S3ObjectStore::new(stack.s3.clone(), testkit::unique("missing-bucket"));
    let response = stack
        .app
        .handle(sqs_event(&[
            (
                "m1",
                envelope("e1", "media.analyzed", "2026-11-24T10:00:00Z", json!({})),
            ),
            (
                "m2",
                envelope("e2", "media.analyzed", "2026-11-24T11:00:00Z", json!({})),
            ),
        ]))
        .await
        .expect("a partial batch response, not an error");
    assert_eq!(failed_ids(&response), ["m1", "m2"]);
}

#[tokio::test]
async fn without_an_early_dead_letter_queue_poison_records_are_left_to_the_redrive_policy() {
    let stack = stack(60).await;
    let app = stats_aggregator::StatsAggregator {
        store: stack.app.store.clone(),
        publisher: stack.app.publisher.clone(),
        dead_letters: RedrivePolicyOnly,
        clock: shared::time::SystemClock,
        config: stack.app.config.clone(),
    };
    let response = app
        .handle(sqs_event(&[
            (
                "good",
                envelope("e1", "media.analyzed", "2026-11-24T10:00:00Z", json!({})),
            ),
            (
                "v2",
                json!({"version": 2, "id": "x", "type": "media.analyzed"}).to_string(),
            ),
            (
                "late",
                envelope("e3", "media.analyzed", "not a time", json!({})),
            ),
        ]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), ["late", "v2"]);
    assert_eq!(keys(&stack, "stats/raw/").await.len(), 1);
}
