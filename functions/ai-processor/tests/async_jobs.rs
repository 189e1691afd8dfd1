//! Videos and audio: jobs started at upload, finished by their completion messages on the
//! `ai-jobs` queue. Transcribe runs in moto; Rekognition's video moderation is answered
//! through `aws-smithy-mocks` because moto lacks StartContentModeration/GetContentModeration,
//! and a failing Transcribe job likewise because moto's jobs always complete.

mod common;

use ai_processor::ports::{Transcriber, TranscriptionRequest, TranscriptionStart};
use aws_sdk_rekognition::operation::get_content_moderation::GetContentModerationOutput;
use aws_sdk_rekognition::operation::start_content_moderation::StartContentModerationOutput;
use aws_sdk_rekognition::types::{ContentModerationDetection, ModerationLabel, VideoJobStatus};
use aws_sdk_transcribe::operation::get_transcription_job::GetTranscriptionJobOutput;
use aws_sdk_transcribe::operation::start_transcription_job::StartTranscriptionJobOutput;
use aws_sdk_transcribe::types::{Media, TranscriptionJob, TranscriptionJobStatus};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::*;
use serde_json::json;
use shared::events::{types, Severity};

const VIDEO_KEY: &str = "videos/launch day/teaser 01.mp4";
const VIDEO_JOB: &str = "0d4c1f7e2b3a4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d";

fn detection(ms: i64, name: &str, parent: &str, confidence: f32) -> ContentModerationDetection {
    ContentModerationDetection::builder()
        .timestamp(ms)
        .moderation_label(
            ModerationLabel::builder()
                .name(name)
                .parent_name(parent)
                .confidence(confidence)
                .build(),
        )
        .build()
}

fn sns_envelope(message: &serde_json::Value, topic: &str) -> String {
    json!({
        "Type": "Notification",
        "MessageId": "5f2b3c1e-7f4d-5a9e-9c1b-2d3e4f5a6b7c",
        "TopicArn": format!("arn:aws:sns:us-east-1:123456789012:{topic}"),
        "Message": message.to_string(),
        "Timestamp": "2026-11-25T12:05:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    })
    .to_string()
}

fn transcribe_event(job_name: &str, status: &str) -> String {
    json!({
        "version": "0", "id": "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "detail-type": "Transcribe Job State Change", "source": "aws.transcribe",
        "account": "123456789012", "time": "2026-11-25T12:10:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {"TranscriptionJobName": job_name, "TranscriptionJobStatus": status}
    })
    .to_string()
}

#[tokio::test]
async fn video_moderation_job_and_moto_transcription_complete_the_document_with_rekognition_via_sdk_mock_because_moto_lacks_video_moderation(
) {
    let stack = Stack::new().await;
    let etag = stack.put(VIDEO_KEY, b"mp4 bytes", Some("video/mp4")).await;

    let start = mock!(aws_sdk_rekognition::Client::start_content_moderation)
        .match_requests(|r| {
            r.notification_channel().is_some_and(|c| {
                c.sns_topic_arn().contains("AmazonRekognition") && c.role_arn().contains("role/")
            }) && r.client_request_token().is_some_and(|t| t.len() == 32)
                && r.video().and_then(|v| v.s3_object()).and_then(|o| o.name()) == Some(VIDEO_KEY)
        })
        .then_output(|| {
            StartContentModerationOutput::builder()
                .job_id(VIDEO_JOB)
                .build()
        });
    // Two pages: the same label seen twice, the stronger sighting on the second page.
    let results = mock!(aws_sdk_rekognition::Client::get_content_moderation)
        .match_requests(|r| r.job_id() == Some(VIDEO_JOB))
        .then_compute_output(|r| {
            let page = GetContentModerationOutput::builder().job_status(VideoJobStatus::Succeeded);
            match r.next_token() {
                None => page
                    .moderation_labels(detection(1_000, "Graphic Violence", "Violence", 65.0))
                    .moderation_labels(detection(1_000, "Violence", "", 65.0))
                    .next_token("page-2")
                    .build(),
                Some(_) => page
                    .moderation_labels(detection(8_500, "Graphic Violence", "Violence", 93.0))
                    .build(),
            }
        });
    let rekognition = mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, [&start, &results]);
    let function = stack.with(&[], rekognition_backend(rekognition), stack.transcribe());

    // Upload: both jobs start, the document waits for them, the upload is tagged pending.
    let upload = stack.upload_event(VIDEO_KEY, &etag, 9);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("up", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let doc = stack.document(VIDEO_KEY).await.expect("document");
    assert_eq!(doc["status"], "in_progress");
    assert_eq!(doc["moderation"]["state"], "pending");
    assert_eq!(doc["moderation"]["job_id"], VIDEO_JOB);
    assert_eq!(doc["transcript"]["state"], "pending");
    let job_name = doc["transcript"]["job_name"]
        .as_str()
        .expect("job name")
        .to_string();
    assert_eq!(
        stack.tags(VIDEO_KEY).await,
        vec![
            ("moderation-backend".into(), "rekognition".into()),
            ("moderation-verdict".into(), "pending".into())
        ]
    );
    assert!(stack.published().await.is_empty());

    // The transcription job really exists in moto, reading the upload, writing to results.
    let transcribe = aws_sdk_transcribe::Client::new(&stack.sdk);
    let job = transcribe
        .get_transcription_job()
        .transcription_job_name(&job_name)
        .send()
        .await
        .expect("job started in moto");
    let job = job.transcription_job().expect("job");
    assert_eq!(
        job.media().and_then(|m| m.media_file_uri()),
        Some(format!("s3://{}/{VIDEO_KEY}", stack.media_bucket).as_str())
    );
    assert_eq!(job.identify_language(), Some(true));
    assert_eq!(
        job.language_options()
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>(),
        vec!["zh-CN", "en-US"]
    );

    // Rekognition's completion through SNS: verdict from all pages, flagged at once.
    let done = sns_envelope(
        &json!({"JobId": VIDEO_JOB, "Status": "SUCCEEDED", "API": "StartContentModeration",
                "JobTag": "media-suite", "Timestamp": 1764072300000u64,
                "Video": {"S3ObjectName": VIDEO_KEY, "S3Bucket": stack.media_bucket}}),
        "AmazonRekognition-media-suite",
    );
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("rk", &done)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(results.num_calls(), 2, "both result pages read");
    let doc = stack.document(VIDEO_KEY).await.expect("document");
    assert_eq!(doc["verdict"], "rejected");
    assert_eq!(doc["moderation_labels"][0]["name"], "Graphic Violence");
    assert_eq!(doc["moderation_labels"][0]["confidence"], 93.0);
    assert_eq!(doc["moderation_labels"][0]["timestamp_ms"], 8500);
    assert_eq!(doc["flagged"][0]["category"], "Violence");
    assert_eq!(doc["status"], "in_progress");
    assert!(stack
        .tags(VIDEO_KEY)
        .await
        .contains(&("moderation-verdict".into(), "rejected".into())));
    let events = stack.published().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, types::MEDIA_FLAGGED);
    assert_eq!(events[0].severity, Severity::Critical);

    // Transcribe completes (moto writes no transcript, so the test puts the one Transcribe
    // would write); the EventBridge event finishes the document.
    wait_until_completed(&transcribe, &job_name).await;
    stack
        .put_results_object(
            &format!("transcripts/{job_name}.json"),
            &transcript_json(&job_name, "zh-CN", "大家好。 欢迎 来到 发布会。"),
        )
        .await;
    let completed = transcribe_event(&job_name, "COMPLETED");
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("tr", &completed)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let doc = stack.document(VIDEO_KEY).await.expect("document");
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["transcript"]["state"], "done");
    assert_eq!(doc["transcript"]["summary"]["language"], "zh-CN");
    assert_eq!(doc["transcript"]["summary"]["word_count"], 4);
    assert_eq!(
        doc["transcript"]["transcript_uri"],
        format!("s3://{}/transcripts/{job_name}.json", stack.results_bucket).as_str()
    );
    let events = stack.published().await;
    let ready = of_type(&events, types::TRANSCRIPT_READY);
    let analyzed = of_type(&events, types::MEDIA_ANALYZED);
    assert_eq!(
        (ready.len(), analyzed.len(), events.len()),
        (1, 1, 2),
        "{events:?}"
    );
    assert_eq!(ready[0].data["language"], "zh-CN");
    assert_eq!(analyzed[0].data["verdict"], "rejected");
    assert_eq!(analyzed[0].data["transcript_state"], "done");
}

#[tokio::test]
async fn audio_is_transcribed_through_moto_and_summarised_once_the_transcript_exists() {
    let stack = Stack::new().await;
    let key = "audio/podcast 01.mp3";
    let etag = stack.put(key, b"mp3 bytes", Some("audio/mpeg")).await;
    let function = stack.live(&[("TRANSCRIBE_LANGUAGES", "en-US,zh-CN")]);
    let upload = stack.upload_event(key, &etag, 9);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("up", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let doc = stack.document(key).await.expect("document");
    assert_eq!(doc["kind"], "audio");
    assert_eq!(doc["verdict"], serde_json::Value::Null);
    assert_eq!(doc["moderation"]["state"], "not_applicable");
    let job_name = doc["transcript"]["job_name"]
        .as_str()
        .expect("job")
        .to_string();
    // Audio is not moderated, so it gets no verdict tag.
    assert!(stack.tags(key).await.is_empty());

    let transcribe = aws_sdk_transcribe::Client::new(&stack.sdk);
    wait_until_completed(&transcribe, &job_name).await;
    let completed = transcribe_event(&job_name, "COMPLETED");

    // COMPLETED but no transcript file: given back to SQS with a clear reason.
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("early", &completed)])),
        &function,
    )
    .await
    .expect("handler");
    assert_eq!(failed_ids(&response), vec!["early"]);
    assert_eq!(
        stack.document(key).await.expect("doc")["transcript"]["state"],
        "pending"
    );

    stack
        .put_results_object(
            &format!("transcripts/{job_name}.json"),
            &transcript_json(
                &job_name,
                "en-US",
                "Welcome to episode one. Today we talk about media! Stay tuned.",
            ),
        )
        .await;
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("again", &completed)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let doc = stack.document(key).await.expect("document");
    assert_eq!(doc["status"], "complete");
    let summary = &doc["transcript"]["summary"];
    assert_eq!(summary["language"], "en-US");
    assert_eq!(summary["word_count"], 11);
    assert_eq!(summary["duration_seconds"], 5.4);
    assert_eq!(
        summary["first_lines"],
        json!([
            "Welcome to episode one.",
            "Today we talk about media!",
            "Stay tuned."
        ])
    );
    let events = stack.published().await;
    assert_eq!(
        of_type(&events, types::TRANSCRIPT_READY).len(),
        1,
        "{events:?}"
    );
    assert_eq!(
        of_type(&events, types::MEDIA_ANALYZED).len(),
        1,
        "{events:?}"
    );
    assert_eq!(events.len(), 2);

    // The completion delivered again changes nothing.
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("dup", &completed)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty());
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn a_duplicate_upload_event_never_starts_a_second_transcription_job_in_moto() {
    let stack = Stack::new().await;
    let key = "audio/voice note.m4a";
    let etag = stack.put(key, b"m4a bytes", None).await;
    let function = stack.live(&[]);
    let upload = stack.upload_event(key, &etag, 9);
    let run = |id: &'static str| {
        let event = sqs_event(vec![message(id, &upload)]);
        let function = &function;
        async move {
            ai_processor::handler(lambda_event(event), function)
                .await
                .expect("handler")
        }
    };
    assert!(run("first").await.batch_item_failures.is_empty());
    let job_name = stack.document(key).await.expect("doc")["transcript"]["job_name"]
        .as_str()
        .expect("job")
        .to_string();

    // As if the first delivery had died after starting the job: its idempotency marker is
    // gone, so the redelivery really calls StartTranscriptionJob again.
    let markers = stack
        .s3
        .list_objects_v2()
        .bucket(&stack.results_bucket)
        .prefix(ai_processor::IDEMPOTENCY_PREFIX)
        .send()
        .await
        .expect("list");
    for marker in markers.contents() {
        stack
            .s3
            .delete_object()
            .bucket(&stack.results_bucket)
            .key(marker.key().unwrap_or_default())
            .send()
            .await
            .expect("delete marker");
    }
    assert!(run("redelivered").await.batch_item_failures.is_empty());
    let doc = stack.document(key).await.expect("doc");
    assert_eq!(doc["transcript"]["job_name"], job_name.as_str());
    assert_eq!(doc["transcript"]["state"], "pending");

    // Transcribe itself refused the second start (ConflictException), seen by the adapter.
    let request = TranscriptionRequest {
        job_name: job_name.clone(),
        media_uri: format!("s3://{}/{key}", stack.media_bucket),
        output_bucket: stack.results_bucket.clone(),
        output_key: format!("transcripts/{job_name}.json"),
        languages: vec!["zh-CN".into(), "en-US".into()],
    };
    assert_eq!(
        stack.transcribe().start(&request).await,
        Ok(TranscriptionStart::AlreadyExists)
    );
    let jobs = aws_sdk_transcribe::Client::new(&stack.sdk)
        .list_transcription_jobs()
        .job_name_contains(&job_name)
        .send()
        .await
        .expect("list jobs");
    assert_eq!(jobs.transcription_job_summaries().len(), 1);
}

#[tokio::test]
async fn a_failed_transcription_is_recorded_and_announced_via_sdk_mock_because_moto_jobs_never_fail(
) {
    let stack = Stack::new().await;
    let key = "audio/corrupt.wav";
    let etag = stack.put(key, b"not really wav", Some("audio/wav")).await;
    let media_uri = format!("s3://{}/{key}", stack.media_bucket);
    let start = mock!(aws_sdk_transcribe::Client::start_transcription_job)
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let get =
        mock!(aws_sdk_transcribe::Client::get_transcription_job).then_compute_output(move |r| {
            GetTranscriptionJobOutput::builder()
                .transcription_job(
                    TranscriptionJob::builder()
                        .transcription_job_name(r.transcription_job_name().unwrap_or_default())
                        .transcription_job_status(TranscriptionJobStatus::Failed)
                        .failure_reason(
                            "The media format provided does not match the detected media format.",
                        )
                        .media(Media::builder().media_file_uri(&media_uri).build())
                        .build(),
                )
                .build()
        });
    let transcribe = mock_client!(aws_sdk_transcribe, RuleMode::MatchAny, [&start, &get]);
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        Vec::<&aws_smithy_mocks::Rule>::new()
    );
    let function = stack.with(
        &[],
        rekognition_backend(rekognition),
        ai_processor::adapters::transcribe::TranscribeJobs::new(transcribe),
    );
    let upload = stack.upload_event(key, &etag, 14);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("up", &upload)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty());
    let job_name = stack.document(key).await.expect("doc")["transcript"]["job_name"]
        .as_str()
        .expect("job")
        .to_string();

    // EventBridge -> SNS -> SQS: the event arrives wrapped in an SNS envelope.
    let failed = sns_envelope(
        &serde_json::from_str(&transcribe_event(&job_name, "FAILED")).expect("json"),
        "media-suite-transcribe-events",
    );
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("failed", &failed)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let doc = stack.document(key).await.expect("doc");
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["transcript"]["state"], "failed");
    assert!(doc["transcript"]["failure_reason"]
        .as_str()
        .unwrap_or_default()
        .contains("does not match the detected media format"));
    let events = stack.published().await;
    let failures = of_type(&events, types::MEDIA_FAILED);
    assert_eq!(failures.len(), 1, "{events:?}");
    assert_eq!(failures[0].data["stage"], "transcription");
    assert_eq!(of_type(&events, types::MEDIA_ANALYZED).len(), 1);
}
