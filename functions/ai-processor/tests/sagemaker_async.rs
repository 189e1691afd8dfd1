//! Asynchronous video moderation on SageMaker (`MODERATION_BACKEND=sagemaker` with
//! `SAGEMAKER_ASYNC_ENDPOINT_NAME`) against moto's InvokeEndpointAsync, whose answers are loaded
//! through `POST /moto-api/static/sagemaker/async-endpoint-results` and written by moto to S3.
//! The endpoint's success and error notifications are the samples
//! `events/ai-processor/sns-sagemaker-async-{success,failure}.json`, given this run's inference
//! id and output location (moto sends no notification itself). Transcribe is moto.

mod common;

use common::*;
use serde_json::json;
use shared::events::{types, Severity};

const SAMPLE_INFERENCE: &str = "6c0f9e1d2b3a4c5d6e7f8091a2b3c4d5";

fn async_env() -> [(&'static str, &'static str); 3] {
    [
        ("MODERATION_BACKEND", "sagemaker"),
        ("SAGEMAKER_ENDPOINT_NAME", "media-moderation"),
        ("SAGEMAKER_ASYNC_ENDPOINT_NAME", "media-moderation-async"),
    ]
}

/// The success notification sample, for this run's inference and the output moto wrote.
fn success_notification(
    stack: &Stack,
    inference: &str,
    output: &str,
) -> aws_lambda_events::event::sqs::SqsEvent {
    stack.async_notification(
        "ai-processor/sns-sagemaker-async-success.json",
        SAMPLE_INFERENCE,
        inference,
        output,
    )
}

/// Uploads a video and runs its S3 event: the request document is written, the inference
/// started; returns (key, inference id, output location).
async fn start(
    stack: &Stack,
    function: &ai_processor::App,
    name: &str,
) -> (String, String, String) {
    let key = format!("videos/{name}.mp4");
    let etag = stack.put(&key, b"mp4 bytes", Some("video/mp4")).await;
    let upload = stack.upload_event(&key, &etag, 9);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("up", &upload)])),
        function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let doc = stack.document(&key).await.expect("document");
    assert_eq!(doc["status"], "in_progress");
    assert_eq!(doc["moderation"]["state"], "pending", "{doc}");
    let inference = doc["moderation"]["job_id"]
        .as_str()
        .expect("id")
        .to_string();
    let output = doc["moderation"]["output_location"]
        .as_str()
        .expect("output location")
        .to_string();
    (key, inference, output)
}

#[tokio::test]
async fn a_video_is_moderated_through_the_async_endpoint_and_its_success_notification_once() {
    let _turn = SAGEMAKER_RESULT_QUEUE.lock().await;
    let stack = Stack::new().await;
    drain_results(&stack).await;
    queue_async_answers(&[(
        false,
        json!({"labels": [{"name": "Crowd", "parent": "Person", "confidence": 90.0}],
               "moderation_labels": [{"name": "Graphic Violence", "parent": "Violence",
                                      "confidence": 93.0, "timestamp_ms": 4000}]})
        .to_string(),
    )])
    .await;
    let function = stack.live(&async_env());
    let (key, inference, output) = start(&stack, &function, "async-teaser").await;

    // The request the model reads names the upload, never its bytes.
    let request = stack.async_request(&inference).await;
    assert_eq!(request["s3"]["bucket"], stack.media_bucket.as_str());
    assert_eq!(request["s3"]["key"], key.as_str());
    assert_eq!(request["kind"], "video");
    assert!(stack
        .tags(&key)
        .await
        .contains(&("moderation-verdict".into(), "pending".into())));
    assert!(stack.published().await.is_empty());

    let success = success_notification(&stack, &inference, &output);
    for _ in 0..2 {
        let response = ai_processor::handler(lambda_event(success.clone()), &function)
            .await
            .expect("handler");
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    let doc = stack.document(&key).await.expect("document");
    assert_eq!(doc["moderation"]["state"], "done");
    assert_eq!(doc["verdict"], "rejected");
    assert_eq!(doc["backend"], "sagemaker");
    assert_eq!(
        doc["status"], "in_progress",
        "the transcript is still pending"
    );
    assert!(stack
        .tags(&key)
        .await
        .contains(&("moderation-verdict".into(), "rejected".into())));
    let events = stack.published().await;
    let flagged = of_type(&events, types::MEDIA_FLAGGED);
    assert_eq!((flagged.len(), events.len()), (1, 1), "{events:?}");
    assert_eq!(flagged[0].severity, Severity::Critical);
    assert_eq!(flagged[0].data["labels"][0]["category"], "Violence");
}

#[tokio::test]
async fn an_async_error_notification_fails_the_moderation_and_an_answer_outside_the_contract_is_poison(
) {
    let _turn = SAGEMAKER_RESULT_QUEUE.lock().await;
    let stack = Stack::new().await;
    drain_results(&stack).await;
    queue_async_answers(&[
        (true, "model crashed".to_string()),
        (false, "<html>not the contract</html>".to_string()),
    ])
    .await;
    let dlq = stack.dead_letter_queue_url.clone();
    let mut env = async_env().to_vec();
    env.push(("DEAD_LETTER_QUEUE_URL", dlq.as_str()));
    let function = stack.live(&env);

    // The endpoint's error notification: moderation failed for good, announced.
    let (key, inference, _) = start(&stack, &function, "async-crash").await;
    let failure = stack.sample(
        "ai-processor/sns-sagemaker-async-failure.json",
        &[(SAMPLE_INFERENCE, inference.as_str())],
    );
    let response = ai_processor::handler(lambda_event(failure), &function)
        .await
        .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let doc = stack.document(&key).await.expect("document");
    assert_eq!(doc["moderation"]["state"], "failed");
    assert!(doc["moderation"]["failure_reason"]
        .as_str()
        .unwrap_or_default()
        .contains("Received server error (500) from model"));
    assert!(stack
        .tags(&key)
        .await
        .contains(&("moderation-verdict".into(), "failed".into())));
    let events = stack.published().await;
    assert_eq!(of_type(&events, types::MEDIA_FAILED).len(), 1, "{events:?}");

    // A success whose answer breaks the contract: poison, in the dead-letter queue.
    let (key, inference, output) = start(&stack, &function, "async-garbage").await;
    let success = success_notification(&stack, &inference, &output);
    let response = ai_processor::handler(lambda_event(success), &function)
        .await
        .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let dead = shared::testkit::receive_all(&stack.sqs, &dlq, 1).await;
    assert_eq!(dead.len(), 1);
    let reason = failure_reason(&dead[0]);
    assert!(reason.contains("does not follow the contract"), "{reason}");
    assert_eq!(
        stack.document(&key).await.expect("doc")["moderation"]["state"],
        "pending"
    );
}
