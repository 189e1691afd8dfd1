//! The same input delivered three times has one effect: a video upload's S3 event (one
//! SageMaker call, one Transcribe job in moto, one `media.flagged`), then its Transcribe
//! completion (one `transcript.ready`, one `media.analyzed`). SageMaker and Transcribe are
//! moto; the SageMaker result queue is shared, so this test takes its turn.

mod common;

use common::*;
use serde_json::json;
use shared::events::{types, Severity};

#[tokio::test]
async fn a_video_upload_event_delivered_three_times_starts_one_transcribe_job_and_publishes_each_event_once(
) {
    let _turn = SAGEMAKER_RESULT_QUEUE.lock().await;
    let stack = Stack::new().await;
    drain_results(&stack).await;
    // One answer only: a second InvokeEndpoint would get moto's default body, which breaks
    // the endpoint contract and fails the upload for good.
    queue_endpoint_answers(&[json!({
        "labels": [{"name": "Crowd", "parent": "Person", "confidence": 90.0}],
        "moderation_labels": [{"name": "Graphic Violence", "parent": "Violence", "confidence": 93.0, "timestamp_ms": 4000}]
    })
    .to_string()])
    .await;
    let file = shared::testkit::unique("dup");
    let key = format!("videos/{file}.mp4");
    let etag = stack.put(&key, b"mp4 bytes", Some("video/mp4")).await;
    let dlq = stack.dead_letter_queue_url.clone();
    let function = stack.live(&[
        ("MODERATION_BACKEND", "sagemaker"),
        ("SAGEMAKER_ENDPOINT_NAME", "media-moderation"),
        ("DEAD_LETTER_QUEUE_URL", dlq.as_str()),
    ]);
    let upload = stack.upload_event(&key, &etag, 9);

    // Three copies in one batch (concurrently), then one more late redelivery.
    deliver_copies(&function, &upload, 3).await;
    deliver_copies(&function, &upload, 1).await;

    let transcribe = aws_sdk_transcribe::Client::new(&stack.sdk);
    let jobs = transcribe
        .list_transcription_jobs()
        .job_name_contains(file.replace(|c: char| !c.is_ascii_alphanumeric(), "-"))
        .send()
        .await
        .expect("list jobs");
    assert_eq!(
        jobs.transcription_job_summaries().len(),
        1,
        "{:?}",
        jobs.transcription_job_summaries()
    );
    let doc = stack.document(&key).await.expect("document");
    assert_eq!(doc["moderation"]["state"], "done", "{doc}");
    assert_eq!(doc["verdict"], "rejected");
    let job_name = doc["transcript"]["job_name"]
        .as_str()
        .expect("job name")
        .to_string();
    assert_eq!(
        jobs.transcription_job_summaries()[0].transcription_job_name(),
        Some(job_name.as_str())
    );
    let events = stack.published().await;
    let flagged = of_type(&events, types::MEDIA_FLAGGED);
    assert_eq!((flagged.len(), events.len()), (1, 1), "{events:?}");
    assert_eq!(flagged[0].severity, Severity::Critical);
    assert!(shared::testkit::receive_all(&stack.sqs, &dlq, 1)
        .await
        .is_empty());

    // The job's completion, three times as well.
    wait_until_completed(&transcribe, &job_name).await;
    stack
        .put_results_object(
            &format!("transcripts/{job_name}.json"),
            &transcript_json(&job_name, "en-US", "Hello and welcome."),
        )
        .await;
    let completed = json!({
        "version": "0", "id": "7c1e2d3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
        "detail-type": "Transcribe Job State Change", "source": "aws.transcribe",
        "account": "123456789012", "time": "2026-11-25T12:10:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {"TranscriptionJobName": job_name, "TranscriptionJobStatus": "COMPLETED"}
    })
    .to_string();
    deliver_copies(&function, &completed, 3).await;
    deliver_copies(&function, &completed, 1).await;
    let events = stack.published().await;
    assert_eq!(
        (
            of_type(&events, types::TRANSCRIPT_READY).len(),
            of_type(&events, types::MEDIA_ANALYZED).len(),
            events.len()
        ),
        (1, 1, 2),
        "{events:?}"
    );
    assert_eq!(
        stack.document(&key).await.expect("doc")["status"],
        "complete"
    );
}
