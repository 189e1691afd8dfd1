//! `TextExtractor` on Amazon Textract: `StartDocumentTextDetection` with an SNS completion
//! (subscribed by `ai-jobs`), then `GetDocumentTextDetection` (all pages). Textract reads the
//! document from S3 itself.

use aws_sdk_textract::types::{
    BlockType, DocumentLocation, JobStatus, NotificationChannel, S3Object,
};
use shared::aws::classify;
use shared::batch::RecordError;

use crate::model::ObjectRef;
use crate::ports::{ExtractedText, TextExtractor, TextJob, TextLine};

pub struct TextractText {
    client: aws_sdk_textract::Client,
    sns_topic_arn: String,
    role_arn: String,
}

impl TextractText {
    pub fn new(
        client: aws_sdk_textract::Client,
        sns_topic_arn: impl Into<String>,
        role_arn: impl Into<String>,
    ) -> Self {
        Self {
            client,
            sns_topic_arn: sns_topic_arn.into(),
            role_arn: role_arn.into(),
        }
    }
}

impl TextExtractor for TextractText {
    fn name(&self) -> &'static str {
        "textract"
    }

    async fn start(
        &self,
        object: &ObjectRef,
        _content_type: &str,
        request_token: &str,
    ) -> Result<TextJob, RecordError> {
        let location = DocumentLocation::builder()
            .s3_object(
                S3Object::builder()
                    .bucket(&object.bucket)
                    .name(&object.key)
                    .set_version(object.version_id.clone())
                    .build(),
            )
            .build();
        let channel = NotificationChannel::builder()
            .sns_topic_arn(&self.sns_topic_arn)
            .role_arn(&self.role_arn)
            .build()
            .map_err(|e| RecordError::permanent(format!("notification channel: {e}")))?;
        let out = self
            .client
            .start_document_text_detection()
            .document_location(location)
            .notification_channel(channel)
            .client_request_token(request_token)
            .job_tag("media-suite")
            .send()
            .await
            .map_err(|e| {
                classify(
                    &format!("Textract StartDocumentTextDetection {}", object.uri()),
                    e,
                )
            })?;
        let job_id = out.job_id().ok_or_else(|| {
            RecordError::retryable("StartDocumentTextDetection answered without a JobId")
        })?;
        Ok(TextJob {
            job_id: job_id.to_string(),
            output_location: None,
        })
    }

    async fn text(
        &self,
        job_id: &str,
        _output_location: Option<&str>,
    ) -> Result<ExtractedText, RecordError> {
        let mut extracted = ExtractedText::default();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .get_document_text_detection()
                .job_id(job_id)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| classify(&format!("Textract GetDocumentTextDetection {job_id}"), e))?;
            match page.job_status() {
                Some(JobStatus::Succeeded) | Some(JobStatus::PartialSuccess) => {}
                Some(JobStatus::InProgress) => {
                    return Err(RecordError::retryable(format!(
                        "text detection job {job_id} is still in progress"
                    )))
                }
                other => {
                    return Err(RecordError::permanent(format!(
                        "text detection job {job_id} is {}: {}",
                        other.map(|s| s.as_str()).unwrap_or("in an unknown state"),
                        page.status_message().unwrap_or("no message")
                    )))
                }
            }
            if let Some(pages) = page.document_metadata().and_then(|m| m.pages()) {
                extracted.pages = u32::try_from(pages).unwrap_or(0);
            }
            extracted.lines.extend(
                page.blocks()
                    .iter()
                    .filter(|b| b.block_type() == Some(&BlockType::Line))
                    .filter_map(|b| {
                        Some(TextLine {
                            page: u32::try_from(b.page().unwrap_or(1)).unwrap_or(1),
                            text: b.text()?.to_string(),
                            confidence: b.confidence().unwrap_or_default(),
                        })
                    }),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(extracted),
            }
        }
    }
}
