//! The small traits the domain calls, free of AWS types; one adapter each in `adapters/`,
//! one in-memory fake each in the domain tests. The results bucket is
//! `shared::results::ObjectStore`, the clock `shared::time::Clock`.

use std::future::Future;

use shared::batch::RecordError;

use crate::model::{Findings, ObjectInfo, ObjectRef};
pub use crate::review::SignedLink;

/// The uploads in the media bucket: their metadata and tags. Never their bytes.
pub trait MediaStore: Send + Sync {
    /// `None` when the object (or version) does not exist.
    fn head(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<Option<ObjectInfo>, RecordError>> + Send;
    fn tags(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<Vec<(String, String)>, RecordError>> + Send;
    fn put_tags(
        &self,
        object: &ObjectRef,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), RecordError>> + Send;
    /// A presigned GET link to the object (the version, when named) valid for `ttl`; signing
    /// is local, but may fail (no credentials).
    fn share_link(
        &self,
        object: &ObjectRef,
        ttl: std::time::Duration,
    ) -> impl Future<Output = Result<SignedLink, String>> + Send;
}

/// What starting the moderation of a video gave.
#[derive(Debug, Clone, PartialEq)]
pub enum VideoModeration {
    /// An asynchronous job; its completion arrives on the `ai-jobs` queue.
    Started {
        job_id: String,
        /// Where the job will write its answer, when the service says so up front.
        output_location: Option<String>,
    },
    /// The backend answered at once.
    Finished(Findings),
}

/// A content moderation service: Rekognition, or a SageMaker endpoint the operator deploys.
pub trait ModerationBackend: Send + Sync {
    /// `rekognition` or `sagemaker`, as recorded in documents and tags.
    fn name(&self) -> &'static str;
    fn analyse_image(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<Findings, RecordError>> + Send;
    /// `request_token` is the same for every delivery of one upload, so a retried start
    /// returns the job the first start created.
    fn analyse_video(
        &self,
        object: &ObjectRef,
        request_token: &str,
    ) -> impl Future<Output = Result<VideoModeration, RecordError>> + Send;
    /// The findings of a finished asynchronous video job (all pages, or the answer at
    /// `output_location` for services that write one).
    fn video_results(
        &self,
        job_id: &str,
        output_location: Option<&str>,
    ) -> impl Future<Output = Result<Findings, RecordError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptionRequest {
    pub job_name: String,
    pub media_uri: String,
    pub output_bucket: String,
    pub output_key: String,
    /// One language: transcribe in it; several: identify which one among them.
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranscriptionStart {
    Started,
    /// A job of that name exists: a duplicate delivery of the same upload.
    AlreadyExists,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptionJob {
    pub name: String,
    /// `QUEUED`, `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub status: String,
    pub media_uri: Option<String>,
    pub language: Option<String>,
    pub failure_reason: Option<String>,
}

pub trait Transcriber: Send + Sync {
    fn start(
        &self,
        request: &TranscriptionRequest,
    ) -> impl Future<Output = Result<TranscriptionStart, RecordError>> + Send;
    /// `None` when no job has that name.
    fn job(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<TranscriptionJob>, RecordError>> + Send;
    /// Forgets the job (the service keeps its record, with the media URI, otherwise); an
    /// unknown name is not an error.
    fn delete_job(&self, name: &str) -> impl Future<Output = Result<(), RecordError>> + Send;
}

/// One line of extracted text.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TextLine {
    /// 1-based.
    pub page: u32,
    pub text: String,
    /// Percent.
    pub confidence: f32,
}

/// The text of a document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractedText {
    pub pages: u32,
    pub lines: Vec<TextLine>,
}

/// A text extraction job that was started; its completion arrives on `ai-jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextJob {
    pub job_id: String,
    /// Where the job will write its answer, when the service says so up front.
    pub output_location: Option<String>,
}

/// Text extraction (OCR) of documents: Textract where it exists, else an asynchronous
/// SageMaker endpoint the operator deploys.
pub trait TextExtractor: Send + Sync {
    /// `textract` or `sagemaker`, as recorded in documents and events.
    fn name(&self) -> &'static str;
    /// Starts an asynchronous job for a document of `content_type` (`application/pdf`,
    /// `image/png`, ...). `request_token` is the same for every delivery of one upload.
    fn start(
        &self,
        object: &ObjectRef,
        content_type: &str,
        request_token: &str,
    ) -> impl Future<Output = Result<TextJob, RecordError>> + Send;
    /// The text of a finished job (all pages, or the answer at `output_location` for
    /// services that write one).
    fn text(
        &self,
        job_id: &str,
        output_location: Option<&str>,
    ) -> impl Future<Output = Result<ExtractedText, RecordError>> + Send;
}

/// Keywords kept outside the configuration (`OCR_KEYWORDS_S3_URI`), read once and cached.
pub trait KeywordSource: Send + Sync {
    /// Lower-cased; empty when no list is configured.
    fn keywords(&self) -> impl Future<Output = Result<Vec<String>, RecordError>> + Send;
}
