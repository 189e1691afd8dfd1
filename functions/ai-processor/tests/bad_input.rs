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
    ("body-truncated-json.json", &["bad-truncated"], "not JSON"),
    ("body-json-array.json", &["bad-array"], "not a JSON object"),
    (
        "body-nested-beyond-recursion-limit.json",
        &["bad-deep"],
        "recursion limit exceeded",
    ),
    (
        "s3-records-not-an-array.json",
        &["bad-records-object"],
        "`Records` is not an array",
    ),
    (
        "s3-records-empty.json",
        &["bad-records-empty"],
        "`Records` is empty",
    ),
    (
        "s3-object-size-wrong-type.json",
        &["bad-size-type"],
        "invalid type: string \"twelve kilobytes\", expected i64",
    ),
    (
        "s3-bucket-name-wrong-type.json",
        &["bad-bucket-type"],
        "invalid type: integer `42`, expected a string",
    ),
    ("s3-key-empty.json", &["bad-empty-key"], "has an empty key"),
    (
        "s3-key-percent-encoded-non-utf8.json",
        &["bad-non-utf8"],
        "does not decode to UTF-8",
    ),
    (
        "s3-event-unknown-event-version.json",
        &["bad-event-version"],
        "eventVersion \"3.0\"; only 2.x is understood",
    ),
    (
        "s3-event-source-not-s3.json",
        &["bad-event-source"],
        "comes from \"aws:sqs\", not aws:s3",
    ),
    (
        "sns-notification-nested-in-notification.json",
        &["bad-sns-nested"],
        "SNS notification nested in an SNS notification",
    ),
    (
        "sns-message-wrong-type.json",
        &["bad-sns-message-type"],
        "without a `Message` string",
    ),
    (
        "eventbridge-unknown-version.json",
        &["bad-eb-version"],
        "EventBridge event version \"1\"; only 0 is understood",
    ),
    (
        "eventbridge-transcribe-unknown-job.json",
        &["bad-unknown-job"],
        "no transcription job named media-suite-never-started-0123456789abcdef",
    ),
    (
        "eventbridge-transcribe-job-name-wrong-type.json",
        &["bad-job-name-type"],
        "invalid type: sequence, expected a string",
    ),
    // Logged skips: not ours, results of this suite, an object deleted before analysis.
    ("s3-other-bucket.json", &[], ""),
    ("s3-results-bucket-document.json", &[], ""),
    ("s3-object-vanished.json", &[], ""),
    ("s3-object-removed-not-created.json", &[], ""),
    // Skipped for their key, not because nothing is there (see `EXISTING_UPLOADS`): analysing
    // them would call Rekognition, which the live wiring points at moto, where the call fails
    // and the record would be listed.
    ("s3-key-with-dot-dot-slash.json", &[], ""),
    ("s3-key-with-control-characters.json", &[], ""),
    // Well-formed but no work: a forged SNS type carrying an upload, another bucket's job.
    ("sns-forged-type-subscription-confirmation.json", &[], ""),
    ("rekognition-completion-for-foreign-bucket.json", &[], ""),
    // Another team's Transcribe job (no `media-suite-` prefix): not ours, never a dead letter.
    ("eventbridge-transcribe-foreign-job.json", &[], ""),
    // A SageMaker inference whose request this suite did not write: not ours, nothing read.
    ("sns-sagemaker-async-foreign-input.json", &[], ""),
    ("mixed-batch.json", &["mixed-poison"], "not JSON"),
];

/// Uploads that exist in the media bucket although their events are bad input. S3 cannot
/// even be asked for `covers/../avatars/summer.jpg`: the HTTP path is normalised on the way
/// (moto answers for `avatars/summer.jpg`), so analysing that key would moderate and tag
/// another object than the event names.
const EXISTING_UPLOADS: &[&str] = &["avatars/summer.jpg", "covers/bell\u{7}ring\u{1b}[31m.jpg"];

async fn put_existing_uploads(stack: &Stack) {
    for key in EXISTING_UPLOADS {
        stack.put(key, b"jpg bytes", Some("image/jpeg")).await;
    }
}

#[test]
fn every_invalid_file_is_a_case() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/invalid/ai-processor"
    );
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|(f, _, _)| f.to_string()).collect();
    cases.sort();
    assert_eq!(files, cases);
    assert!(files.len() >= 20, "{} cases", files.len());
}

/// SQS's largest body (256 KiB): an S3 event whose key is far longer than S3 allows. It is
/// refused on its length and the reason repeats only the start of the key.
fn huge_key_body(media_bucket: &str) -> String {
    let key = format!("covers/{}.jpg", "a".repeat(255 * 1024));
    moto_s3_event(media_bucket, &key, "d41d8cd98f00b204e9800998ecf8427e", 5)
}

/// SQS's largest body made of many records for a bucket the suite does not own: each is a
/// logged skip, quickly.
fn many_foreign_records_body() -> String {
    let one: serde_json::Value = serde_json::from_str(&moto_s3_event(
        "someone-elses-bucket",
        "covers/x.jpg",
        "e",
        1,
    ))
    .expect("json");
    let record = one["Records"][0].clone();
    let per_record = record.to_string().len() + 1;
    let records = vec![record; 255 * 1024 / per_record];
    serde_json::json!({ "Records": records }).to_string()
}

#[tokio::test]
async fn generated_huge_payloads_are_refused_or_skipped_quickly_with_short_reasons() {
    let stack = Stack::new().await;
    let dlq = stack.dead_letter_queue_url.clone();
    let function = stack.live(&[("DEAD_LETTER_QUEUE_URL", dlq.as_str())]);
    let huge_key = huge_key_body(&stack.media_bucket);
    let many = many_foreign_records_body();
    assert!(huge_key.len() > 250 * 1024 && many.len() > 250 * 1024);
    let started = std::time::Instant::now();
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![
            message("huge-key", &huge_key),
            message("many-foreign-records", &many),
        ])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let dead = shared::testkit::receive_all(&stack.sqs, &dlq, 1).await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0]
        .message_attributes()
        .and_then(|a| a.get("failure_reason"))
        .and_then(|v| v.string_value())
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("is longer than S3 allows (1024 bytes)"),
        "{reason}"
    );
    assert!(reason.len() < 400, "the reason repeats the whole key");
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn without_a_dead_letter_queue_poison_records_are_listed_for_the_redrive_policy() {
    let stack = Stack::new().await;
    put_existing_uploads(&stack).await;
    let function = stack.live(&[]);
    for (file, poison, _) in CASES {
        let event = stack.sample(&format!("invalid/ai-processor/{file}"), &[]);
        let response = ai_processor::handler(lambda_event(event), &function)
            .await
            .unwrap_or_else(|e| panic!("{file}: handler error {e}"));
        assert_eq!(failed_ids(&response), *poison, "{file}");
    }
    assert!(stack.published().await.is_empty());
    for key in EXISTING_UPLOADS {
        assert!(stack.document(key).await.is_none(), "{key:?} was analysed");
        assert!(stack.tags(key).await.is_empty(), "{key:?} was tagged");
    }
}

#[tokio::test]
async fn with_a_dead_letter_queue_poison_records_move_there_with_their_reason() {
    let stack = Stack::new().await;
    put_existing_uploads(&stack).await;
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
