//! Documents read through a SageMaker asynchronous endpoint speaking the OCR contract
//! (`OCR_BACKEND=sagemaker`, the path where Textract does not exist, such as `aws-cn`)
//! against moto's InvokeEndpointAsync: the answers are loaded through
//! `POST /moto-api/static/sagemaker/async-endpoint-results` and written by moto to S3 (the
//! model's answer is the sample `events/ai-processor/sagemaker-async-ocr-output.json`). The
//! endpoint's notifications are the samples
//! `events/ai-processor/sns-sagemaker-async-ocr-{success,failure}.json` (raw SNS delivery, as
//! the template subscribes `ai-jobs`), given this run's inference id and output location
//! (moto sends no notification itself). S3, SNS and SQS are moto.

mod common;

use common::*;
use shared::events::types;

/// The inference id and output location in the notification samples.
const SAMPLE_INFERENCE: &str = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
const SUCCESS: &str = "ai-processor/sns-sagemaker-async-ocr-success.json";
const FAILURE: &str = "ai-processor/sns-sagemaker-async-ocr-failure.json";

fn ocr_env(dead_letter_queue_url: &str) -> Vec<(&str, &str)> {
    vec![
        ("MODERATION_BACKEND", "sagemaker"),
        ("SAGEMAKER_ENDPOINT_NAME", "media-moderation"),
        ("OCR_BACKEND", "sagemaker"),
        ("SAGEMAKER_OCR_ENDPOINT_NAME", "media-suite-dev-ocr-async"),
        ("OCR_KEYWORDS", "赌博, casino"),
        ("DEAD_LETTER_QUEUE_URL", dead_letter_queue_url),
    ]
}

/// What the operator's OCR model writes for the sample contract.
fn sample_answer() -> String {
    let path = format!(
        "{}/../../events/ai-processor/sagemaker-async-ocr-output.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A started OCR inference of an upload.
struct Started {
    key: String,
    inference: String,
    output: String,
}

/// Uploads a document and runs its S3 event: the request document is written and the
/// inference started; the document waits for it.
async fn start(
    stack: &Stack,
    function: &ai_processor::App,
    key: &str,
    content_type: Option<&str>,
) -> Started {
    let body = format!("%PDF-1.7 {key}").into_bytes();
    let etag = stack.put(key, &body, content_type).await;
    let upload = stack.upload_event(key, &etag, body.len());
    handle_ok(function, sqs_event(vec![message("up", &upload)])).await;
    let doc = stack.document(key).await.expect("document");
    assert_eq!(
        (doc["status"].as_str(), doc["text"]["state"].as_str()),
        (Some("in_progress"), Some("pending")),
        "{doc}"
    );
    Started {
        key: key.to_string(),
        inference: doc["text"]["job_id"].as_str().expect("id").to_string(),
        output: doc["text"]["output_location"]
            .as_str()
            .expect("output location")
            .to_string(),
    }
}

/// A notification sample for this run's inference (and, for a success, the output moto wrote).
fn notification(
    stack: &Stack,
    sample: &str,
    started: &Started,
) -> aws_lambda_events::event::sqs::SqsEvent {
    stack.async_notification(
        sample,
        SAMPLE_INFERENCE,
        &started.inference,
        &started.output,
    )
}

#[tokio::test]
async fn a_document_is_read_through_the_async_ocr_endpoint_and_its_completion_counts_once() {
    let _turn = SAGEMAKER_RESULT_QUEUE.lock().await;
    let stack = Stack::new().await;
    drain_results(&stack).await;
    queue_async_answers(&[(false, sample_answer())]).await;
    let function = stack.live(&ocr_env(&stack.dead_letter_queue_url));
    let started = start(
        &stack,
        &function,
        "documents/contracts/合同.pdf",
        Some("application/pdf"),
    )
    .await;

    // The request the model reads names the upload and its format, never its bytes.
    let request = stack.async_request(&started.inference).await;
    assert_eq!(request["s3"]["bucket"], stack.media_bucket.as_str());
    assert_eq!(request["s3"]["key"], started.key.as_str());
    assert_eq!(
        (&request["task"], &request["kind"], &request["content_type"]),
        (
            &serde_json::json!("ocr"),
            &serde_json::json!("document"),
            &serde_json::json!("application/pdf")
        )
    );
    assert_eq!(request["request_id"], started.inference.as_str());
    assert!(stack
        .tags(&started.key)
        .await
        .contains(&("moderation-verdict".into(), "pending".into())));
    assert!(stack.published().await.is_empty());

    // The success notification, delivered twice and then as three copies in one batch.
    let success = notification(&stack, SUCCESS, &started);
    for _ in 0..2 {
        handle_ok(&function, success.clone()).await;
    }
    let body = success.records[0].body.clone().expect("body");
    deliver_copies(&function, &body, 3).await;

    let doc = stack.document(&started.key).await.expect("document");
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["verdict"], "review");
    assert_eq!(doc["text"]["state"], "done");
    assert_eq!(
        (&doc["text"]["pages"], &doc["text"]["lines"]),
        (&serde_json::json!(2), &serde_json::json!(3))
    );
    assert_eq!(doc["text"]["language"], "zh");
    assert_eq!(
        doc["text"]["matched_terms"],
        serde_json::json!(["赌博", "casino"])
    );
    let text_key = format!("text/{}.json", started.key);
    let text: serde_json::Value = serde_json::from_slice(
        &stack
            .results_object(&text_key)
            .await
            .expect("text document"),
    )
    .expect("json");
    assert_eq!(text["pages"], 2);
    assert_eq!(text["language"], "zh");
    assert_eq!(text["lines"][0]["text"], "服务合同");
    assert_eq!(text["lines"][2]["page"], 2);
    assert_eq!(text["lines"][2]["confidence"], 93.8);
    assert!(stack
        .tags(&started.key)
        .await
        .contains(&("moderation-verdict".into(), "review".into())));

    let events = stack.published().await;
    let ready = of_type(&events, "document.text_ready");
    assert_eq!(ready.len(), 1, "{events:?}");
    let text_uri = format!("s3://{}/{text_key}", stack.results_bucket);
    assert_eq!(ready[0].data["text"], text_uri.as_str());
    assert_eq!(ready[0].data["pages"], 2);
    assert_eq!(ready[0].data["language"], "zh");
    assert_eq!(ready[0].data["backend"], "sagemaker");
    let flagged = of_type(&events, types::MEDIA_FLAGGED);
    assert_eq!(flagged.len(), 1, "{events:?}");
    assert_eq!(flagged[0].data["labels"][0]["category"], "Keyword");
    assert_eq!(of_type(&events, types::MEDIA_ANALYZED).len(), 1);
    assert_eq!(events.len(), 3, "one of each, however often it came");
}

#[tokio::test]
async fn an_ocr_error_notification_fails_the_text_and_unreadable_answers_are_dead_lettered_with_a_reason(
) {
    let _turn = SAGEMAKER_RESULT_QUEUE.lock().await;
    let stack = Stack::new().await;
    drain_results(&stack).await;
    let over_five_mb = format!(
        r#"{{"pages": 1, "lines": [], "debug": "{}"}}"#,
        "x".repeat(5 * 1024 * 1024)
    );
    // In the order the uploads below start their inferences.
    queue_async_answers(&[
        (true, "the PDF is encrypted".to_string()),
        (
            false,
            r#"{"labels": [], "moderation_labels": []}"#.to_string(),
        ),
        (false, "<html>502 Bad Gateway</html>".to_string()),
        (false, over_five_mb),
        (false, sample_answer()),
    ])
    .await;
    let dlq = stack.dead_letter_queue_url.clone();
    let function = stack.live(&ocr_env(&dlq));

    // The endpoint's error notification: the text part failed for good, announced once.
    let locked = start(&stack, &function, "documents/locked.pdf", None).await;
    let failure = notification(&stack, FAILURE, &locked);
    for _ in 0..2 {
        handle_ok(&function, failure.clone()).await;
    }
    let doc = stack.document(&locked.key).await.expect("document");
    assert_eq!(doc["text"]["state"], "failed");
    assert!(doc["text"]["failure_reason"]
        .as_str()
        .unwrap_or_default()
        .contains("the PDF is encrypted and cannot be read"));
    assert!(stack
        .tags(&locked.key)
        .await
        .contains(&("moderation-verdict".into(), "failed".into())));
    let events = stack.published().await;
    let failed = of_type(&events, types::MEDIA_FAILED);
    assert_eq!((failed.len(), events.len()), (1, 2), "{events:?}");
    assert_eq!(failed[0].data["stage"], "text");

    // Answers the function cannot use: each notification goes to the dead-letter queue at
    // once with a reason, and the document keeps waiting (nothing half-written).
    let labels = start(&stack, &function, "documents/labels.png", None).await;
    let garbage = start(&stack, &function, "documents/garbage.jpg", None).await;
    let huge = start(&stack, &function, "documents/huge.tiff", None).await;
    let vanished = start(&stack, &function, "documents/vanished.pdf", None).await;
    let (bucket, key) = vanished
        .output
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .expect("s3 uri");
    stack
        .s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("delete the answer");
    for (started, expected) in [
        (&labels, "does not follow the OCR contract"),
        (&garbage, "does not follow the OCR contract"),
        (&huge, "over the 5242880-byte limit"),
        (&vanished, "does not exist"),
    ] {
        handle_ok(&function, notification(&stack, SUCCESS, started)).await;
        let dead = shared::testkit::receive_all(&stack.sqs, &dlq, 1).await;
        assert_eq!(dead.len(), 1, "{}", started.key);
        let reason = failure_reason(&dead[0]);
        assert!(reason.contains(expected), "{}: {reason}", started.key);
        if let Some(handle) = dead[0].receipt_handle() {
            stack
                .sqs
                .delete_message()
                .queue_url(&dlq)
                .receipt_handle(handle)
                .send()
                .await
                .expect("delete");
        }
        let doc = stack.document(&started.key).await.expect("document");
        assert_eq!(doc["text"]["state"], "pending", "{}", started.key);
        assert!(stack
            .results_object(&format!("text/{}.json", started.key))
            .await
            .is_none());
    }
    assert!(stack.published().await.is_empty());
}
