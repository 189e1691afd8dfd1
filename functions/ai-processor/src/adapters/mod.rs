//! One adapter per AWS service the domain calls, plus the runtime choice between them.

pub mod rekognition;
pub mod s3;
pub mod sagemaker;
pub mod sqs;
pub mod textract;
pub mod transcribe;

use shared::batch::RecordError;

use crate::model::{Findings, ObjectRef};
use crate::ports::{ExtractedText, ModerationBackend, TextExtractor, TextJob, VideoModeration};

/// The backend chosen by `MODERATION_BACKEND`.
pub enum ConfiguredBackend {
    Rekognition(rekognition::RekognitionModeration),
    SageMaker(sagemaker::SageMakerModeration),
}

impl ModerationBackend for ConfiguredBackend {
    fn name(&self) -> &'static str {
        match self {
            ConfiguredBackend::Rekognition(b) => b.name(),
            ConfiguredBackend::SageMaker(b) => b.name(),
        }
    }

    async fn analyse_image(&self, object: &ObjectRef) -> Result<Findings, RecordError> {
        match self {
            ConfiguredBackend::Rekognition(b) => b.analyse_image(object).await,
            ConfiguredBackend::SageMaker(b) => b.analyse_image(object).await,
        }
    }

    async fn analyse_video(
        &self,
        object: &ObjectRef,
        request_token: &str,
    ) -> Result<VideoModeration, RecordError> {
        match self {
            ConfiguredBackend::Rekognition(b) => b.analyse_video(object, request_token).await,
            ConfiguredBackend::SageMaker(b) => b.analyse_video(object, request_token).await,
        }
    }

    async fn video_results(
        &self,
        job_id: &str,
        output_location: Option<&str>,
    ) -> Result<Findings, RecordError> {
        match self {
            ConfiguredBackend::Rekognition(b) => b.video_results(job_id, output_location).await,
            ConfiguredBackend::SageMaker(b) => b.video_results(job_id, output_location).await,
        }
    }
}

/// The text extraction chosen by `OCR_BACKEND`.
pub enum ConfiguredText {
    Off,
    Textract(textract::TextractText),
    SageMaker(sagemaker::SageMakerOcr),
}

impl TextExtractor for ConfiguredText {
    fn name(&self) -> &'static str {
        match self {
            ConfiguredText::Off => "none",
            ConfiguredText::Textract(t) => t.name(),
            ConfiguredText::SageMaker(t) => t.name(),
        }
    }

    async fn start(
        &self,
        object: &ObjectRef,
        content_type: &str,
        request_token: &str,
    ) -> Result<TextJob, RecordError> {
        match self {
            ConfiguredText::Off => Err(RecordError::permanent(
                "text extraction is off (OCR_BACKEND=none)",
            )),
            ConfiguredText::Textract(t) => t.start(object, content_type, request_token).await,
            ConfiguredText::SageMaker(t) => t.start(object, content_type, request_token).await,
        }
    }

    async fn text(
        &self,
        job_id: &str,
        output_location: Option<&str>,
    ) -> Result<ExtractedText, RecordError> {
        match self {
            ConfiguredText::Off => Err(RecordError::permanent(format!(
                "a text extraction job ({job_id}) ended, but OCR_BACKEND=none"
            ))),
            ConfiguredText::Textract(t) => t.text(job_id, output_location).await,
            ConfiguredText::SageMaker(t) => t.text(job_id, output_location).await,
        }
    }
}
