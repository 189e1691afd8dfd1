//! Every sample in `events/ai-processor/` runs through the function, in the order a real
//! upload's messages arrive. The samples name the local stack's buckets; the test swaps in
//! its own (and the Transcribe job names derived from them). Rekognition is answered through
//! `aws-smithy-mocks` (moto lacks moderation), the FAILED transcription likewise (moto's
//! jobs never fail); everything else is moto.

mod common;

use std::path::Path;

use ai_processor::transcript::{job_name, JOB_NAME_PREFIX};
use aws_sdk_rekognition::operation::detect_labels::DetectLabelsOutput;
use aws_sdk_rekognition::operation::detect_moderation_labels::DetectModerationLabelsOutput;
use aws_sdk_rekognition::operation::get_content_moderation::GetContentModerationOutput;
use aws_sdk_rekognition::operation::start_content_moderation::StartContentModerationOutput;
use aws_sdk_rekognition::types::{Label, VideoJobStatus};
use aws_sdk_transcribe::operation::get_transcription_job::GetTranscriptionJobOutput;
use aws_sdk_transcribe::types::{Media, TranscriptionJob, TranscriptionJobStatus};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::*;
use shared::events::types;

/// The uploads the samples describe, with the bytes whose MD5 is the samples' ETag.
const UPLOADS: &[(&str, &[u8], &str)] = &[
    (
        "covers/summer sale/hero image.jpg",
        b"sample cover image bytes",
        "image/jpeg",
    ),
    (
        "avatars/user-42/头像.png",
        b"sample avatar bytes",
        "image/png",
    ),
    (
        "videos/launch-teaser.mp4",
        b"sample video bytes",
        "video/mp4",
    ),
    ("audio/interview.mp3", b"sample audio bytes", "audio/mpeg"),
    ("covers/terms.pdf", b"sample pdf bytes", "application/pdf"),
    (
        "covers/direct/banner.png",
        b"sample direct banner bytes",
        "image/png",
    ),
];
/// The upload of the S3 notification invoked directly (not through a queue).
const DIRECT_UPLOAD: usize = 5;
/// The Rekognition job id in `sns-rekognition-moderation-succeeded.json`.
const SAMPLE_VIDEO_JOB: &str = "2f5e2b1c6a0d4e8f9b7c3d1a5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f";

/// In the order a real upload's messages arrive.
const ORDER: &[&str] = &[
    "s3-test-event.json",
    "s3-put-cover-image.json",
    "s3-put-avatar-moto-shape.json",
    "s3-put-video.json",
    "s3-put-audio.json",
    "s3-put-unsupported-document.json",
    "s3-direct-put-cover-image.json",
    "sns-rekognition-moderation-succeeded.json",
    "eventbridge-transcribe-completed.json",
    "sns-eventbridge-transcribe-failed.json",
];
/// Samples run by `tests/sagemaker_async.rs` (they need that backend and moto's async results),
/// `tests/documents.rs` and `tests/sagemaker_ocr.rs`.
const ELSEWHERE: &[&str] = &[
    "sns-sagemaker-async-success.json",
    "sns-sagemaker-async-failure.json",
    // tests/sagemaker_ocr.rs (OCR_BACKEND=sagemaker): the notifications and the model's answer.
    "sns-sagemaker-async-ocr-success.json",
    "sns-sagemaker-async-ocr-failure.json",
    "sagemaker-async-ocr-output.json",
    // tests/documents.rs (OCR_BACKEND=textract).
    "s3-put-document.json",
    "sns-textract-completed.json",
    // tests/review_decisions.rs (a versioned bucket and an upload under review).
    "review-approve.json",
    "review-reject.json",
    "review-refused.json",
    "review-function-url.json",
];
/// Deletions, run after the uploads were checked: the audio (deleted) and the cover image
/// (hidden by a delete marker).
const DELETIONS: &[(&str, usize)] = &[
    ("s3-object-removed-delete.json", 3),
    ("s3-object-removed-delete-marker-created.json", 0),
];

#[tokio::test]
async fn every_sample_event_runs_through_the_function() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/ai-processor");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("samples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut ordered: Vec<String> = ORDER
        .iter()
        .chain(DELETIONS.iter().map(|(file, _)| file))
        .chain(ELSEWHERE)
        .map(|s| s.to_string())
        .collect();
    ordered.sort();
    assert_eq!(on_disk, ordered, "every sample is listed in ORDER");

    let stack = Stack::new().await;
    let mut etags = Vec::new();
    for (key, body, content_type) in UPLOADS {
        etags.push(stack.put(key, body, Some(content_type)).await);
    }
    // Job names in the samples are derived from the sample bucket; use this stack's.
    let renamed: Vec<(String, String)> = [2usize, 3]
        .iter()
        .map(|&i| {
            let (key, _, _) = UPLOADS[i];
            (
                job_name(JOB_NAME_PREFIX, SAMPLE_MEDIA_BUCKET, key, &etags[i]),
                job_name(JOB_NAME_PREFIX, &stack.media_bucket, key, &etags[i]),
            )
        })
        .collect();
    let replacements: Vec<(&str, &str)> = renamed
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();

    let moderation = mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
        .then_output(|| DetectModerationLabelsOutput::builder().build());
    let labels = mock!(aws_sdk_rekognition::Client::detect_labels).then_output(|| {
        DetectLabelsOutput::builder()
            .labels(Label::builder().name("Text").confidence(88.0).build())
            .build()
    });
    let start = mock!(aws_sdk_rekognition::Client::start_content_moderation).then_output(|| {
        StartContentModerationOutput::builder()
            .job_id(SAMPLE_VIDEO_JOB)
            .build()
    });
    let results = mock!(aws_sdk_rekognition::Client::get_content_moderation).then_output(|| {
        GetContentModerationOutput::builder()
            .job_status(VideoJobStatus::Succeeded)
            .build()
    });
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        [&moderation, &labels, &start, &results]
    );
    let function = stack.with(&[], rekognition_backend(rekognition), stack.transcribe());

    // The failed transcription: the same function but a Transcribe that reports FAILED.
    let video_uri = format!("s3://{}/{}", stack.media_bucket, UPLOADS[2].0);
    let failed_job =
        mock!(aws_sdk_transcribe::Client::get_transcription_job).then_compute_output(move |r| {
            GetTranscriptionJobOutput::builder()
                .transcription_job(
                    TranscriptionJob::builder()
                        .transcription_job_name(r.transcription_job_name().unwrap_or_default())
                        .transcription_job_status(TranscriptionJobStatus::Failed)
                        .failure_reason("The media file has no audio track.")
                        .media(Media::builder().media_file_uri(&video_uri).build())
                        .build(),
                )
                .build()
        });
    let with_failing_transcribe = stack.with(
        &[],
        rekognition_backend(mock_client!(
            aws_sdk_rekognition,
            RuleMode::MatchAny,
            [&start]
        )),
        ai_processor::adapters::transcribe::TranscribeJobs::new(mock_client!(
            aws_sdk_transcribe,
            RuleMode::MatchAny,
            [&failed_job]
        )),
    );

    let transcribe = aws_sdk_transcribe::Client::new(&stack.sdk);
    for file in ORDER {
        if *file == "eventbridge-transcribe-completed.json" {
            let audio_job = &renamed[1].1;
            wait_until_completed(&transcribe, audio_job).await;
            stack
                .put_results_object(
                    &format!("transcripts/{audio_job}.json"),
                    &transcript_json(audio_job, "zh-CN", "欢迎 收听 访谈 节目。"),
                )
                .await;
        }
        let event = stack.sample_payload(&format!("ai-processor/{file}"), &replacements);
        let runner = if *file == "sns-eventbridge-transcribe-failed.json" {
            ai_processor::handler(event, &with_failing_transcribe).await
        } else {
            ai_processor::handler(event, &function).await
        };
        let response = runner.unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            response.batch_item_failures.is_empty(),
            "{file}: {response:?}"
        );
    }

    for (key, _, _) in UPLOADS[..4].iter().chain(&UPLOADS[DIRECT_UPLOAD..]) {
        let doc = stack
            .document(key)
            .await
            .unwrap_or_else(|| panic!("no document for {key}"));
        assert_eq!(doc["status"], "complete", "{key}: {doc}");
    }
    assert!(
        stack.document(UPLOADS[4].0).await.is_none(),
        "the PDF is skipped"
    );
    let video = stack.document(UPLOADS[2].0).await.expect("video");
    assert_eq!(video["verdict"], "approved");
    assert_eq!(video["transcript"]["state"], "failed");
    let audio = stack.document(UPLOADS[3].0).await.expect("audio");
    assert_eq!(audio["transcript"]["summary"]["word_count"], 4);

    let events = stack.published().await;
    assert_eq!(
        of_type(&events, types::MEDIA_ANALYZED).len(),
        5,
        "{events:?}"
    );
    assert_eq!(of_type(&events, types::TRANSCRIPT_READY).len(), 1);
    assert_eq!(of_type(&events, types::MEDIA_FAILED).len(), 1);
    assert!(of_type(&events, types::MEDIA_FLAGGED).is_empty());
    assert_eq!(of_type(&events, types::MEDIA_SKIPPED).len(), 1, "the PDF");

    // The uploads are deleted; what was derived from them goes, the others' stays.
    let audio_transcript = format!("transcripts/{}.json", renamed[1].1);
    assert!(stack.results_object(&audio_transcript).await.is_some());
    for (file, upload) in DELETIONS {
        stack
            .s3
            .delete_object()
            .bucket(&stack.media_bucket)
            .key(UPLOADS[*upload].0)
            .send()
            .await
            .expect("delete upload");
        let event = stack.sample_payload(&format!("ai-processor/{file}"), &replacements);
        let response = ai_processor::handler(event, &function)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            response.batch_item_failures.is_empty(),
            "{file}: {response:?}"
        );
        assert!(stack.document(UPLOADS[*upload].0).await.is_none(), "{file}");
    }
    assert!(stack.results_object(&audio_transcript).await.is_none());
    assert!(
        stack.document(UPLOADS[2].0).await.is_some(),
        "the video stays"
    );
    let events = stack.published().await;
    let deleted = of_type(&events, "media.deleted");
    assert_eq!((deleted.len(), events.len()), (2, 2), "{events:?}");
}
