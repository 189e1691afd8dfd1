//! The small traits the domain calls, free of AWS types; one adapter each in `adapters/`,
//! one in-memory fake each in the domain tests.

use std::future::Future;

use shared::batch::RecordError;
use time::OffsetDateTime;

use crate::model::{Findings, ObjectInfo, ObjectRef};

/// A stored object's bytes with the ETag to make a conditional write against.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Only if no object exists under the key (`If-None-Match: *`).
    Absent,
    /// Only if the object still has this ETag (`If-Match`).
    Matches(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// Someone else wrote first; read again and retry.
    ConditionFailed,
}

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
}

/// The results bucket: analysis documents and transcripts, by key.
pub trait ResultsStore: Send + Sync {
    /// The bucket, for the `s3://` URIs written into documents and events.
    fn bucket(&self) -> &str;
    /// `None` when there is no object under the key.
    fn read(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredObject>, RecordError>> + Send;
    fn write_json(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: WriteCondition,
    ) -> impl Future<Output = Result<WriteOutcome, RecordError>> + Send;
}

/// What starting the moderation of a video gave.
#[derive(Debug, Clone, PartialEq)]
pub enum VideoModeration {
    /// An asynchronous job; its completion arrives on the `ai-jobs` queue.
    Started { job_id: String },
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
    /// The findings of a finished asynchronous video job (all pages).
    fn video_results(
        &self,
        job_id: &str,
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
}

/// The time, passed in so documents and events can be tested at a fixed instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The clock of the deployed function.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
