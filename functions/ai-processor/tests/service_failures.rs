//! Throttling, 5xx and refusals of the AI services, which moto cannot produce, answered
//! through `aws-smithy-mocks`; S3, SNS and SQS are moto. The mocked clients retry like the
//! deployed ones (3 attempts).

mod common;

use aws_sdk_rekognition::operation::detect_labels::DetectLabelsOutput;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointOutput;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::*;
use shared::events::types;

fn labels_rule() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_rekognition::Client::detect_labels)
        .then_output(|| DetectLabelsOutput::builder().build())
}

#[tokio::test]
async fn rekognition_throttling_is_retried_by_the_sdk_then_given_back_to_sqs_via_sdk_mock() {
    let stack = Stack::new().await;
    let key = "covers/busy.jpg";
    let etag = stack.put(key, b"jpg", Some("image/jpeg")).await;
    let throttled = throttled_image_moderation();
    let labels = labels_rule();
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        [&throttled, &labels],
        |c| c.retry_config(deployed_retries())
    );
    let dlq = stack.dead_letter_queue_url.clone();
    let function = stack.with(
        &[("DEAD_LETTER_QUEUE_URL", dlq.as_str())],
        rekognition_backend(rekognition),
        stack.transcribe(),
    );
    let upload = stack.upload_event(key, &etag, 3);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![
            message("busy", &upload),
            message("test", r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#),
        ])),
        &function,
    )
    .await
    .expect("handler");
    assert_eq!(throttled.num_calls(), 3, "the SDK retries before giving up");
    assert_eq!(
        failed_ids(&response),
        vec!["busy"],
        "only the throttled record is retried"
    );
    assert!(
        shared::testkit::receive_all(&stack.sqs, &dlq, 1)
            .await
            .is_empty(),
        "retryable: not dead-lettered"
    );
    assert!(stack.document(key).await.is_none());
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn sagemaker_5xx_is_retried_by_the_sdk_then_given_back_to_sqs_and_a_later_delivery_succeeds_via_sdk_mock(
) {
    let stack = Stack::new().await;
    let key = "covers/flaky.jpg";
    let etag = stack.put(key, b"jpg", Some("image/jpeg")).await;
    let endpoint = mock!(aws_sdk_sagemakerruntime::Client::invoke_endpoint)
        .sequence()
        .http_status(503, Some(r#"{"message":"upstream unavailable"}"#.into()))
        .times(3)
        .output(|| {
            InvokeEndpointOutput::builder()
                .body(Blob::new(r#"{"labels":[],"moderation_labels":[]}"#))
                .content_type("application/json")
                .build()
        })
        .build();
    let sagemaker = mock_client!(
        aws_sdk_sagemakerruntime,
        RuleMode::MatchAny,
        [&endpoint],
        |c| c.retry_config(deployed_retries())
    );
    let backend =
        ai_processor::adapters::sagemaker::SageMakerModeration::new(sagemaker, "media-moderation");
    let function = stack.with(
        &[
            ("MODERATION_BACKEND", "sagemaker"),
            ("SAGEMAKER_ENDPOINT_NAME", "media-moderation"),
        ],
        backend,
        stack.transcribe(),
    );
    let upload = stack.upload_event(key, &etag, 3);
    let first = ai_processor::handler(
        lambda_event(sqs_event(vec![message("m", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    assert_eq!(endpoint.num_calls(), 3);
    assert_eq!(failed_ids(&first), vec!["m"]);
    assert!(stack.document(key).await.is_none());

    let second = ai_processor::handler(
        lambda_event(sqs_event(vec![message("m", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(second.batch_item_failures.is_empty(), "{second:?}");
    assert_eq!(
        stack.document(key).await.expect("doc")["verdict"],
        "approved"
    );
    assert_eq!(
        of_type(&stack.published().await, types::MEDIA_ANALYZED).len(),
        1
    );
}

#[tokio::test]
async fn rekognition_refusing_the_image_format_fails_for_good_announced_and_dead_lettered_via_sdk_mock(
) {
    let stack = Stack::new().await;
    let key = "covers/animated.gif";
    let etag = stack.put(key, b"GIF89a", Some("image/gif")).await;
    let refused = mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"InvalidImageFormatException","message":"Request has invalid image format"}"#.into()),
        )
        .repeatedly()
        .build();
    let labels = labels_rule();
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        [&refused, &labels],
        |c| c.retry_config(deployed_retries())
    );
    let dlq = stack.dead_letter_queue_url.clone();
    let function = stack.with(
        &[("DEAD_LETTER_QUEUE_URL", dlq.as_str())],
        rekognition_backend(rekognition),
        stack.transcribe(),
    );
    let upload = stack.upload_event(key, &etag, 6);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("gif", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    assert_eq!(refused.num_calls(), 1, "a refusal is not retried");
    assert!(
        response.batch_item_failures.is_empty(),
        "moved to the DLQ instead: {response:?}"
    );
    let dead = shared::testkit::receive_all(&stack.sqs, &dlq, 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some(upload.as_str()));

    let doc = stack.document(key).await.expect("doc");
    assert_eq!(doc["moderation"]["state"], "failed");
    assert_eq!(
        doc["moderation"]["failure_reason"],
        format!(
            "Rekognition DetectModerationLabels s3://{}/{key} failed: \
             InvalidImageFormatException: Request has invalid image format (HTTP 400)",
            stack.media_bucket
        )
        .as_str()
    );
    assert!(stack
        .tags(key)
        .await
        .contains(&("moderation-verdict".into(), "failed".into())));
    let events = stack.published().await;
    assert_eq!(of_type(&events, types::MEDIA_FAILED).len(), 1, "{events:?}");
    assert_eq!(of_type(&events, types::MEDIA_ANALYZED).len(), 1);
}
