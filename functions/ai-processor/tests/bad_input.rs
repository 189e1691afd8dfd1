//! Every file in `events/invalid/ai-processor/` ends in a clear error or a logged skip, and
//! the batch response lists exactly the records SQS must deliver again.

mod common;

use common::*;

/// (file, ids that fail permanently, words the failure reason must contain)
const CASES: &[(&str, &[&str], &str)] = &[
    ("body-not-json.json", &["bad-not-json"], "not JSON"),
    ("body-empty.json", &["bad-empty"], "empty"),
    (
        "unknown-shape.json",
        &["bad-unknown"],
        "top-level fields: hello, items",
    ),
    (
        "s3-record-without-key.json",
        &["bad-no-key"],
        "missing field `key`",
    ),
    (
        "s3-key-bad-escape.json",
        &["bad-escape"],
        "not a %XX escape",
    ),
    (
        "sns-message-not-json.json",
        &["bad-sns"],
        "SNS `Message` is not JSON",
    ),
    (
        "transcribe-event-without-job-name.json",
        &["bad-transcribe"],
        "missing field `TranscriptionJobName`",
    ),
    // Logged skips: not ours, results of this suite, an object deleted before analysis.
    ("s3-other-bucket.json", &[], ""),
    ("s3-results-bucket-document.json", &[], ""),
    ("s3-object-vanished.json", &[], ""),
    ("mixed-batch.json", &["mixed-poison"], "not JSON"),
];

#[tokio::test]
async fn without_a_dead_letter_queue_poison_records_are_listed_for_the_redrive_policy() {
    let stack = Stack::new().await;
    let function = stack.live(&[]);
    for (file, poison, _) in CASES {
        let event = stack.sample(&format!("invalid/ai-processor/{file}"), &[]);
        let response = ai_processor::handler(lambda_event(event), &function)
            .await
            .unwrap_or_else(|e| panic!("{file}: handler error {e}"));
        assert_eq!(failed_ids(&response), *poison, "{file}");
    }
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn with_a_dead_letter_queue_poison_records_move_there_with_their_reason() {
    let stack = Stack::new().await;
    let dlq = stack.dead_letter_queue_url.clone();
    let function = stack.live(&[("DEAD_LETTER_QUEUE_URL", dlq.as_str())]);
    for (file, poison, reason_words) in CASES {
        let event = stack.sample(&format!("invalid/ai-processor/{file}"), &[]);
        let bodies: Vec<(String, String)> = event
            .records
            .iter()
            .map(|r| {
                (
                    r.message_id.clone().unwrap_or_default(),
                    r.body.clone().unwrap_or_default(),
                )
            })
            .collect();
        let response = ai_processor::handler(lambda_event(event), &function)
            .await
            .unwrap_or_else(|e| panic!("{file}: handler error {e}"));
        assert!(
            response.batch_item_failures.is_empty(),
            "{file}: {response:?}"
        );
        let dead = shared::testkit::receive_all(&stack.sqs, &dlq, poison.len()).await;
        assert_eq!(dead.len(), poison.len(), "{file}");
        for m in &dead {
            let attribute = |name: &str| {
                m.message_attributes()
                    .and_then(|a| a.get(name))
                    .and_then(|v| v.string_value())
                    .unwrap_or_default()
                    .to_string()
            };
            let source_id = attribute("source_message_id");
            assert!(poison.contains(&source_id.as_str()), "{file}: {source_id}");
            let original = bodies
                .iter()
                .find(|(id, _)| *id == source_id)
                .map(|(_, b)| b.as_str());
            assert_eq!(m.body(), original, "{file}: the message is moved unchanged");
            let reason = attribute("failure_reason");
            assert!(reason.contains(reason_words), "{file}: {reason}");
            stack
                .sqs
                .delete_message()
                .queue_url(&dlq)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}
