//! Documents under `documents/` with `OCR_BACKEND=textract`: the samples
//! `events/ai-processor/s3-put-document.json` and `sns-textract-completed.json` through the
//! function. S3 (upload, tags, documents, the text under `text/`), SNS and SQS are moto;
//! Textract is answered through `aws-smithy-mocks` because moto's GetDocumentTextDetection
//! returns no text blocks and a page count the SDK cannot read.

mod common;

use ai_processor::adapters::textract::TextractText;
use ai_processor::adapters::ConfiguredText;
use aws_sdk_textract::operation::get_document_text_detection::GetDocumentTextDetectionOutput;
use aws_sdk_textract::operation::start_document_text_detection::StartDocumentTextDetectionOutput;
use aws_sdk_textract::types::{Block, BlockType, DocumentMetadata, JobStatus};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::*;
use shared::events::types;

const KEY: &str = "documents/contracts/合同.pdf";
const BODY: &[u8] = b"%PDF-1.7 sample contract";
const SAMPLE_JOB: &str = "8f3c1d2e4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4";

fn line(page: i32, text: &str) -> Block {
    Block::builder()
        .block_type(BlockType::Line)
        .page(page)
        .text(text)
        .confidence(97.5)
        .build()
}

#[tokio::test]
async fn a_pdf_s_text_is_extracted_through_textract_via_sdk_mock_because_moto_returns_no_text_and_matched_against_keywords(
) {
    let stack = Stack::new().await;
    stack.put(KEY, BODY, Some("application/pdf")).await;
    let start = mock!(aws_sdk_textract::Client::start_document_text_detection)
        .match_requests(|r| {
            r.notification_channel()
                .is_some_and(|c| c.sns_topic_arn().contains("AmazonTextract"))
                && r.client_request_token().is_some_and(|t| t.len() == 32)
                && r.document_location()
                    .and_then(|l| l.s3_object())
                    .and_then(|o| o.name())
                    == Some(KEY)
        })
        .then_output(|| {
            StartDocumentTextDetectionOutput::builder()
                .job_id(SAMPLE_JOB)
                .build()
        });
    let pages = mock!(aws_sdk_textract::Client::get_document_text_detection)
        .match_requests(|r| r.job_id() == Some(SAMPLE_JOB))
        .then_compute_output(|r| {
            let page = GetDocumentTextDetectionOutput::builder()
                .job_status(JobStatus::Succeeded)
                .document_metadata(DocumentMetadata::builder().pages(2).build());
            match r.next_token() {
                None => page
                    .blocks(line(1, "服务合同"))
                    .blocks(
                        Block::builder()
                            .block_type(BlockType::Word)
                            .text("服务")
                            .build(),
                    )
                    .next_token("page-2")
                    .build(),
                Some(_) => page.blocks(line(2, "不得用于赌博或赌场 (Casino)")).build(),
            }
        });
    let textract = mock_client!(aws_sdk_textract, RuleMode::MatchAny, [&start, &pages]);
    // More keywords in a list the operator keeps in S3.
    stack
        .put_results_object(
            "config/ocr-keywords.txt",
            "# banned terms\nCASINO\n".as_bytes(),
        )
        .await;
    let keywords_uri = format!("s3://{}/config/ocr-keywords.txt", stack.results_bucket);
    let config = stack.config(&[
        ("OCR_BACKEND", "textract"),
        (
            "TEXTRACT_SNS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:AmazonTextract-media-suite-dev",
        ),
        (
            "TEXTRACT_ROLE_ARN",
            "arn:aws:iam::123456789012:role/media-suite-textract",
        ),
        ("OCR_KEYWORDS", "赌博"),
        ("OCR_KEYWORDS_S3_URI", &keywords_uri),
    ]);
    let function = ai_processor::build_with(
        &config,
        &stack.sdk,
        rekognition_backend(mock_client!(
            aws_sdk_rekognition,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        )),
        stack.transcribe(),
        ConfiguredText::Textract(TextractText::new(
            textract,
            "arn:aws:sns:us-east-1:123456789012:AmazonTextract-media-suite-dev",
            "arn:aws:iam::123456789012:role/media-suite-textract",
        )),
    );

    for file in ["s3-put-document.json", "sns-textract-completed.json"] {
        for _ in 0..2 {
            let event = stack.sample_payload(&format!("ai-processor/{file}"), &[]);
            let response = ai_processor::handler(event, &function)
                .await
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                response.batch_item_failures.is_empty(),
                "{file}: {response:?}"
            );
        }
    }
    assert_eq!(start.num_calls(), 1, "one job for two deliveries");
    assert_eq!(pages.num_calls(), 2, "both result pages, once");

    let doc = stack.document(KEY).await.expect("document");
    assert_eq!(doc["kind"], "document");
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["verdict"], "review");
    assert_eq!(doc["text"]["pages"], 2);
    assert_eq!(doc["text"]["lines"], 2);
    assert_eq!(
        doc["text"]["matched_terms"],
        serde_json::json!(["赌博", "casino"])
    );
    let text: serde_json::Value = serde_json::from_slice(
        &stack
            .results_object(&format!("text/{KEY}.json"))
            .await
            .expect("text document"),
    )
    .expect("json");
    assert_eq!(text["lines"][1]["page"], 2);
    assert_eq!(text["lines"][1]["confidence"], 97.5);
    assert_eq!(text["language"], "zh");
    assert!(stack
        .tags(KEY)
        .await
        .contains(&("moderation-verdict".into(), "review".into())));
    let events = stack.published().await;
    let ready = of_type(&events, "document.text_ready");
    assert_eq!(ready.len(), 1, "{events:?}");
    assert_eq!(
        ready[0].data["text"],
        format!("s3://{}/text/{KEY}.json", stack.results_bucket).as_str()
    );
    assert_eq!(ready[0].data["pages"], 2);
    assert_eq!(of_type(&events, types::MEDIA_FLAGGED).len(), 1);
    assert_eq!(of_type(&events, types::MEDIA_ANALYZED).len(), 1);
    assert_eq!(events.len(), 3, "{events:?}");
}
