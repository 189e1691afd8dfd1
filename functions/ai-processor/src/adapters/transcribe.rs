//! `Transcriber` on Amazon Transcribe batch jobs.

use aws_sdk_transcribe::operation::get_transcription_job::GetTranscriptionJobError;
use aws_sdk_transcribe::operation::start_transcription_job::StartTranscriptionJobError;
use aws_sdk_transcribe::types::{LanguageCode, Media, SubtitleFormat, Subtitles};
use shared::batch::RecordError;

use crate::ports::{Transcriber, TranscriptionJob, TranscriptionRequest, TranscriptionStart};
use shared::aws::{classify, SdkError};

#[derive(Clone)]
pub struct TranscribeJobs {
    client: aws_sdk_transcribe::Client,
}

impl TranscribeJobs {
    pub fn new(client: aws_sdk_transcribe::Client) -> Self {
        Self { client }
    }
}

impl Transcriber for TranscribeJobs {
    async fn start(
        &self,
        request: &TranscriptionRequest,
    ) -> Result<TranscriptionStart, RecordError> {
        let media = Media::builder().media_file_uri(&request.media_uri).build();
        let mut start = self
            .client
            .start_transcription_job()
            .transcription_job_name(&request.job_name)
            .media(media)
            .output_bucket_name(&request.output_bucket)
            .output_key(&request.output_key)
            .subtitles(
                crate::transcript::SUBTITLE_FORMATS
                    .iter()
                    .fold(Subtitles::builder(), |b, f| {
                        b.formats(SubtitleFormat::from(*f))
                    })
                    .build(),
            );
        start = match request.languages.as_slice() {
            [only] => start.language_code(LanguageCode::from(only.as_str())),
            several => several.iter().fold(start.identify_language(true), |s, l| {
                s.language_options(LanguageCode::from(l.as_str()))
            }),
        };
        match start.send().await {
            Ok(_) => Ok(TranscriptionStart::Started),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), StartTranscriptionJobError::ConflictException(_)) =>
            {
                Ok(TranscriptionStart::AlreadyExists)
            }
            Err(e) => {
                Err(classify(&format!("StartTranscriptionJob {}", request.job_name), e).into())
            }
        }
    }

    async fn job(&self, name: &str) -> Result<Option<TranscriptionJob>, RecordError> {
        let result = self
            .client
            .get_transcription_job()
            .transcription_job_name(name)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    GetTranscriptionJobError::NotFoundException(_)
                        | GetTranscriptionJobError::BadRequestException(_)
                ) =>
            {
                // Transcribe answers an unknown name with BadRequest ("couldn't be found").
                return Ok(None);
            }
            Err(e) => return Err(classify(&format!("GetTranscriptionJob {name}"), e).into()),
        };
        let Some(job) = out.transcription_job() else {
            return Ok(None);
        };
        Ok(Some(TranscriptionJob {
            name: job.transcription_job_name().unwrap_or(name).to_string(),
            status: job
                .transcription_job_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            media_uri: job
                .media()
                .and_then(|m| m.media_file_uri())
                .map(str::to_string),
            language: job.language_code().map(|l| l.as_str().to_string()),
            failure_reason: job.failure_reason().map(str::to_string),
        }))
    }

    async fn delete_job(&self, name: &str) -> Result<(), RecordError> {
        match self
            .client
            .delete_transcription_job()
            .transcription_job_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let failure = classify(&format!("DeleteTranscriptionJob {name}"), e);
                // Transcribe answers an unknown name with BadRequest ("couldn't be found").
                if failure.not_found || failure.code.as_deref() == Some("BadRequestException") {
                    Ok(())
                } else {
                    Err(failure.into())
                }
            }
        }
    }
}
