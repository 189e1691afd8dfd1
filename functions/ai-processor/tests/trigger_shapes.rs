//! The invocations the function accepts besides an SQS batch, and where poison goes:
//! a direct S3 notification (S3 -> Lambda, or `cargo lambda invoke` with an S3 event), an
//! invocation of no known shape, and each source queue's own dead-letter queue. S3, SNS and
//! SQS are moto; Rekognition's throttling is answered through `aws-smithy-mocks` (moto lacks
//! moderation), and so is S3's 403 for HeadObject (moto answers 404 for a missing key).

mod common;

use ai_processor::model::ObjectRef;
use ai_processor::ports::MediaStore;
use aws_sdk_rekognition::operation::detect_labels::DetectLabelsOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::*;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::json;
use shared::batch::RecordError;

fn direct(payload: serde_json::Value) -> LambdaEvent<serde_json::Value> {
    LambdaEvent::new(payload, context())
}

#[tokio::test]
async fn a_direct_s3_notification_whose_analysis_is_throttled_fails_the_invocation_as_retryable_via_sdk_mock(
) {
    let stack = Stack::new().await;
    let key = "covers/direct-busy.jpg";
    let etag = stack.put(key, b"jpg", Some("image/jpeg")).await;
    let throttled = throttled_image_moderation();
    let labels = mock!(aws_sdk_rekognition::Client::detect_labels)
        .then_output(|| DetectLabelsOutput::builder().build());
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        [&throttled, &labels],
        |c| c.retry_config(deployed_retries())
    );
    let function = stack.with(&[], rekognition_backend(rekognition), stack.transcribe());
    let notification: serde_json::Value =
        serde_json::from_str(&stack.upload_event(key, &etag, 3)).expect("json");
    let error = ai_processor::handler(direct(notification), &function)
        .await
        .expect_err("the invocation fails so Lambda invokes again");
    assert_eq!(error.kind(), "RetryableFailure");
    assert!(error.to_string().contains("ThrottlingException"), "{error}");
    assert!(stack.document(key).await.is_none());
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn an_invocation_that_is_neither_an_sqs_batch_nor_an_s3_notification_is_refused_clearly() {
    let stack = Stack::new().await;
    let function = stack.live(&[]);
    for payload in [
        json!({"hello": "world"}),
        json!([1, 2]),
        json!({"Records": 7}),
    ] {
        let error = ai_processor::handler(direct(payload.clone()), &function)
            .await
            .expect_err("refused");
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "UnsupportedEvent", "{payload}");
        assert!(
            diagnostic
                .error_message
                .contains("neither an SQS batch nor an S3 event notification"),
            "{}",
            diagnostic.error_message
        );
    }
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn poison_from_ai_jobs_goes_to_its_own_dead_letter_queue_and_upload_poison_to_the_ingest_one()
{
    let stack = Stack::new().await;
    let jobs_name = shared::testkit::unique("aip-ai-jobs");
    let (_, jobs_arn) = create_named_queue(&stack, &jobs_name).await;
    let (jobs_dlq, _) = create_named_queue(&stack, &format!("{jobs_name}-dlq")).await;
    let ingest_dlq = stack.dead_letter_queue_url.clone();
    let function = stack.live(&[
        ("DEAD_LETTER_QUEUE_URL", ingest_dlq.as_str()),
        ("AI_JOBS_DEAD_LETTER_QUEUE_URL", jobs_dlq.as_str()),
    ]);
    let unknown_job = json!({"version": "0", "id": "1", "detail-type": "Transcribe Job State Change",
        "source": "aws.transcribe", "account": "123456789012", "time": "2026-11-25T12:10:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"TranscriptionJobName": "media-suite-never-started-0", "TranscriptionJobStatus": "COMPLETED"}})
    .to_string();
    let mut from_jobs = message("job-poison", &unknown_job);
    from_jobs.event_source_arn = Some(jobs_arn);
    let mut from_ingest = message("upload-poison", "{not json");
    from_ingest.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:aip-ingest".into());
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![from_jobs, from_ingest])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let source_ids = |messages: Vec<aws_sdk_sqs::types::Message>| -> Vec<String> {
        messages
            .iter()
            .filter_map(|m| {
                m.message_attributes()?
                    .get("source_message_id")?
                    .string_value()
                    .map(str::to_string)
            })
            .collect()
    };
    let in_jobs_dlq = shared::testkit::receive_all(&stack.sqs, &jobs_dlq, 1).await;
    let in_ingest_dlq = shared::testkit::receive_all(&stack.sqs, &ingest_dlq, 1).await;
    assert_eq!(source_ids(in_jobs_dlq), vec!["job-poison"]);
    assert_eq!(source_ids(in_ingest_dlq), vec!["upload-poison"]);
}

async fn create_named_queue(stack: &Stack, name: &str) -> (String, String) {
    let url = stack
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("url");
    let arn = shared::testkit::queue_arn(&stack.sqs, &url).await;
    (url, arn)
}

#[tokio::test]
async fn sdk_mock_head_object_answering_403_is_retried_with_a_reason_that_names_s3_list_bucket_because_moto_answers_404(
) {
    let forbidden = mock!(aws_sdk_s3::Client::head_object)
        .sequence()
        .http_status(403, None)
        .repeatedly()
        .build();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&forbidden], |c| c
        .retry_config(deployed_retries()));
    let store = ai_processor::adapters::s3::S3MediaStore::new(s3);
    let object = ObjectRef {
        bucket: "media".into(),
        key: "covers/deleted-before-analysis.jpg".into(),
        version_id: None,
    };
    let Err(RecordError::Retryable(reason)) = store.head(&object).await else {
        panic!("a 403 is retried (an operator fixes the role; the redrive policy dead-letters meanwhile)")
    };
    assert!(reason.contains("403 Forbidden"), "{reason}");
    assert!(reason.contains("s3:ListBucket"), "{reason}");
}
