//! The `sagemaker` backend (the choice for aws-cn) against moto's SageMaker runtime, whose
//! InvokeEndpoint answers from a queue of results loaded through
//! `POST /moto-api/static/sagemaker/endpoint-results`.
//!
//! That queue is one per moto server, so the tests take turns (`SAGEMAKER_RESULT_QUEUE` in
//! `common`), and each first drains results a failed earlier run may have left.

mod common;

use common::*;
use serde_json::json;
use shared::events::{types, Severity};

const ENDPOINT: &str = "media-moderation";

fn sagemaker_env() -> [(&'static str, &'static str); 2] {
    [
        ("MODERATION_BACKEND", "sagemaker"),
        ("SAGEMAKER_ENDPOINT_NAME", ENDPOINT),
    ]
}

#[tokio::test]
async fn sagemaker_endpoint_in_moto_rejects_an_explicit_image_and_the_upload_is_tagged_and_flagged()
{
    let _turn = SAGEMAKER_RESULT_QUEUE.lock().await;
    let stack = Stack::new().await;
    drain_results(&stack).await;
    queue_endpoint_answers(&[json!({
        "labels": [{"name": "Person", "parent": null, "confidence": 99.1}],
        "moderation_labels": [
            {"name": "Explicit Nudity", "parent": "Explicit", "confidence": 88.0},
            {"name": "Explicit", "parent": null, "confidence": 88.0}
        ]
    })
    .to_string()])
    .await;
    let key = "avatars/user-9/me.png";
    let etag = stack.put(key, b"png", Some("image/png")).await;
    let function = stack.live(&sagemaker_env());
    let upload = stack.upload_event(key, &etag, 3);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("up", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let doc = stack.document(key).await.expect("document");
    assert_eq!(doc["backend"], "sagemaker");
    assert_eq!(doc["verdict"], "rejected");
    assert_eq!(doc["labels"][0]["name"], "Person");
    assert_eq!(doc["flagged"][0]["category"], "Explicit");
    assert_eq!(
        stack.tags(key).await,
        vec![
            ("moderation-backend".into(), "sagemaker".into()),
            ("moderation-verdict".into(), "rejected".into())
        ]
    );
    let events = stack.published().await;
    let flagged = of_type(&events, types::MEDIA_FLAGGED);
    assert_eq!(flagged.len(), 1, "{events:?}");
    assert_eq!(flagged[0].severity, Severity::Critical);
    assert_eq!(of_type(&events, types::MEDIA_ANALYZED).len(), 1);
}

#[tokio::test]
async fn sagemaker_endpoint_in_moto_moderates_videos_synchronously_while_transcribe_runs() {
    let _turn = SAGEMAKER_RESULT_QUEUE.lock().await;
    let stack = Stack::new().await;
    drain_results(&stack).await;
    queue_endpoint_answers(&[json!({
        "labels": [{"name": "Stage", "parent": "Event", "confidence": 91.0}],
        "moderation_labels": [{"name": "Alcohol", "parent": null, "confidence": 40.0, "timestamp_ms": 1200}]
    })
    .to_string()])
    .await;
    let key = "videos/keynote.mp4";
    let etag = stack.put(key, b"mp4", Some("video/mp4")).await;
    let function = stack.live(&sagemaker_env());
    let upload = stack.upload_event(key, &etag, 3);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("up", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let doc = stack.document(key).await.expect("document");
    assert_eq!(doc["moderation"]["state"], "done");
    assert_eq!(doc["verdict"], "approved");
    assert_eq!(doc["labels"][0]["name"], "Stage");
    assert_eq!(doc["transcript"]["state"], "pending");
    assert_eq!(doc["status"], "in_progress");
    assert!(stack
        .tags(key)
        .await
        .contains(&("moderation-verdict".into(), "approved".into())));
    // Approved and waiting for the transcript: nothing to announce yet.
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn sagemaker_answer_outside_the_contract_fails_for_good_and_goes_to_the_dead_letter_queue() {
    let _turn = SAGEMAKER_RESULT_QUEUE.lock().await;
    let stack = Stack::new().await;
    drain_results(&stack).await;
    queue_endpoint_answers(&["<html>model server error page</html>".to_string()]).await;
    let key = "covers/broken-model.jpg";
    let etag = stack.put(key, b"jpg", Some("image/jpeg")).await;
    let mut env = sagemaker_env().to_vec();
    env.push((
        "DEAD_LETTER_QUEUE_URL",
        stack.dead_letter_queue_url.as_str(),
    ));
    let function = stack.live(&env);
    let upload = stack.upload_event(key, &etag, 3);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("up", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    // Moved to the dead-letter queue at once, so not handed back to SQS.
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let dead = shared::testkit::receive_all(&stack.sqs, &stack.dead_letter_queue_url, 1).await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0]
        .message_attributes()
        .and_then(|a| a.get("failure_reason"))
        .and_then(|v| v.string_value())
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("does not follow the contract"), "{reason}");

    let doc = stack
        .document(key)
        .await
        .expect("document records the failure");
    assert_eq!(doc["moderation"]["state"], "failed");
    assert_eq!(doc["verdict"], serde_json::Value::Null);
    assert!(stack
        .tags(key)
        .await
        .contains(&("moderation-verdict".into(), "failed".into())));
    let events = stack.published().await;
    let failed = of_type(&events, types::MEDIA_FAILED);
    assert_eq!(failed.len(), 1, "{events:?}");
    assert_eq!(failed[0].data["stage"], "moderation");
}
