//! One adapter per AWS service the domain calls, plus the runtime choice between them.

pub mod rekognition;
pub mod s3;
pub mod sagemaker;
pub mod sqs;
pub mod transcribe;

use shared::batch::RecordError;

use crate::model::{Findings, ObjectRef};
use crate::ports::{ModerationBackend, VideoModeration};

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
