//! In-memory fakes of every port, for the domain tests (compiled only for tests).

//! The results bucket, the publisher and the clock are `shared::testkit`'s fakes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::sqs::SqsMessage;
use shared::batch::{DeadLetterSink, RecordError};
use shared::idempotency::Idempotency;
use shared::testkit::{ManualClock, MemoryObjectStore, MemoryPublisher};
use time::macros::datetime;
use time::OffsetDateTime;

use super::Adapters;
use crate::model::{Findings, ObjectInfo, ObjectRef};
use crate::ports::{
    ExtractedText, MediaStore, ModerationBackend, TextExtractor, TextJob, Transcriber,
    TranscriptionJob, TranscriptionRequest, TranscriptionStart, VideoModeration,
};

/// The instant every fake clock reads.
pub const NOW: OffsetDateTime = datetime!(2026-11-25 12:00:05 UTC);

pub struct Fakes;

impl Adapters for Fakes {
    type Media = FakeMedia;
    type Results = MemoryObjectStore;
    type Backend = FakeBackend;
    type Transcriber = FakeTranscriber;
    type Text = FakeText;
    type Keywords = FakeKeywords;
    type Publisher = MemoryPublisher;
    type Idempotency = Idempotency<MemoryObjectStore, ManualClock>;
    type DeadLetters = FakeDeadLetters;
}

#[derive(Debug, Clone)]
pub struct Upload {
    pub info: ObjectInfo,
    pub tags: Vec<(String, String)>,
}

/// Uploads by key (one bucket; the processor checks the bucket before asking).
#[derive(Clone, Default)]
pub struct FakeMedia {
    pub uploads: Arc<Mutex<HashMap<String, Upload>>>,
    /// Links cannot be signed (as without credentials).
    pub unsigned: Arc<Mutex<bool>>,
    pub credentials_expire_at: Arc<Mutex<Option<OffsetDateTime>>>,
}

impl FakeMedia {
    pub fn put(&self, key: &str, etag: &str, size: i64, content_type: Option<&str>) {
        self.uploads.lock().unwrap().insert(
            key.to_string(),
            Upload {
                info: ObjectInfo {
                    etag: etag.to_string(),
                    version_id: None,
                    size,
                    content_type: content_type.map(str::to_string),
                },
                tags: Vec::new(),
            },
        );
    }

    pub fn remove(&self, key: &str) {
        self.uploads.lock().unwrap().remove(key);
    }

    pub fn set_tags(&self, key: &str, tags: &[(&str, &str)]) {
        if let Some(upload) = self.uploads.lock().unwrap().get_mut(key) {
            upload.tags = tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
    }

    /// Tags sorted by name.
    pub fn tags_of(&self, key: &str) -> Vec<(String, String)> {
        let mut tags = self
            .uploads
            .lock()
            .unwrap()
            .get(key)
            .map(|u| u.tags.clone())
            .unwrap_or_default();
        tags.sort();
        tags
    }
}

impl MediaStore for FakeMedia {
    async fn head(&self, object: &ObjectRef) -> Result<Option<ObjectInfo>, RecordError> {
        Ok(self
            .uploads
            .lock()
            .unwrap()
            .get(&object.key)
            .map(|u| u.info.clone()))
    }

    async fn tags(&self, object: &ObjectRef) -> Result<Vec<(String, String)>, RecordError> {
        Ok(self.tags_of(&object.key))
    }

    async fn put_tags(
        &self,
        object: &ObjectRef,
        tags: &[(String, String)],
    ) -> Result<(), RecordError> {
        match self.uploads.lock().unwrap().get_mut(&object.key) {
            Some(upload) => {
                upload.tags = tags.to_vec();
                Ok(())
            }
            None => Err(RecordError::permanent(format!("no upload {}", object.key))),
        }
    }

    async fn share_link(
        &self,
        object: &ObjectRef,
        ttl: std::time::Duration,
    ) -> Result<crate::ports::SignedLink, String> {
        if *self.unsigned.lock().unwrap() {
            return Err("no credentials to sign with".into());
        }
        Ok(crate::ports::SignedLink {
            url: format!(
                "https://media.example/{}?versionId={}&expires={}",
                object.key,
                object.version_id.as_deref().unwrap_or("null"),
                ttl.as_secs()
            ),
            credentials_expire_at: *self.credentials_expire_at.lock().unwrap(),
        })
    }
}

/// Answers configured per call kind; counts the calls.
#[derive(Clone)]
pub struct FakeBackend {
    pub name: &'static str,
    pub image: Arc<Mutex<Result<Findings, RecordError>>>,
    pub video: Arc<Mutex<Result<VideoModeration, RecordError>>>,
    pub video_results: Arc<Mutex<Result<Findings, RecordError>>>,
    pub calls: Arc<Mutex<Vec<String>>>,
}

impl Default for FakeBackend {
    fn default() -> Self {
        Self {
            name: "rekognition",
            image: Arc::new(Mutex::new(Ok(Findings::default()))),
            video: Arc::new(Mutex::new(Ok(VideoModeration::Started {
                job_id: "job-1".into(),
                output_location: None,
            }))),
            video_results: Arc::new(Mutex::new(Ok(Findings::default()))),
            calls: Arc::default(),
        }
    }
}

impl FakeBackend {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl ModerationBackend for FakeBackend {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn analyse_image(&self, object: &ObjectRef) -> Result<Findings, RecordError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("image {}", object.key));
        self.image.lock().unwrap().clone()
    }

    async fn analyse_video(
        &self,
        object: &ObjectRef,
        request_token: &str,
    ) -> Result<VideoModeration, RecordError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("video {} {request_token}", object.key));
        self.video.lock().unwrap().clone()
    }

    async fn video_results(
        &self,
        job_id: &str,
        output_location: Option<&str>,
    ) -> Result<Findings, RecordError> {
        self.calls.lock().unwrap().push(format!(
            "results {job_id} {}",
            output_location.unwrap_or("-")
        ));
        self.video_results.lock().unwrap().clone()
    }
}

/// Jobs by name; `start` refuses a name that exists, like Transcribe.
#[derive(Clone, Default)]
pub struct FakeTranscriber {
    pub jobs: Arc<Mutex<HashMap<String, TranscriptionJob>>>,
    pub starts: Arc<Mutex<Vec<TranscriptionRequest>>>,
    pub refuse_with: Arc<Mutex<Option<RecordError>>>,
}

impl FakeTranscriber {
    /// Moves a started job to `status` (with a failure reason for `FAILED`).
    pub fn finish(&self, name: &str, status: &str, language: Option<&str>) {
        let mut jobs = self.jobs.lock().unwrap();
        let job = jobs.get_mut(name).expect("job was started");
        job.status = status.to_string();
        job.language = language.map(str::to_string);
        if status == "FAILED" {
            job.failure_reason = Some("The media file has no audio track.".into());
        }
    }

    pub fn only_job_name(&self) -> String {
        let jobs = self.jobs.lock().unwrap();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        jobs.keys().next().cloned().unwrap_or_default()
    }
}

impl Transcriber for FakeTranscriber {
    async fn start(
        &self,
        request: &TranscriptionRequest,
    ) -> Result<TranscriptionStart, RecordError> {
        if let Some(refusal) = self.refuse_with.lock().unwrap().clone() {
            return Err(refusal);
        }
        self.starts.lock().unwrap().push(request.clone());
        let mut jobs = self.jobs.lock().unwrap();
        if jobs.contains_key(&request.job_name) {
            return Ok(TranscriptionStart::AlreadyExists);
        }
        jobs.insert(
            request.job_name.clone(),
            TranscriptionJob {
                name: request.job_name.clone(),
                status: "IN_PROGRESS".into(),
                media_uri: Some(request.media_uri.clone()),
                language: None,
                failure_reason: None,
            },
        );
        Ok(TranscriptionStart::Started)
    }

    async fn job(&self, name: &str) -> Result<Option<TranscriptionJob>, RecordError> {
        Ok(self.jobs.lock().unwrap().get(name).cloned())
    }

    async fn delete_job(&self, name: &str) -> Result<(), RecordError> {
        self.jobs.lock().unwrap().remove(name);
        Ok(())
    }
}

/// Records what would go to the dead-letter queue: (message id, reason).
#[derive(Clone, Default)]
pub struct FakeDeadLetters {
    pub moved: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeDeadLetters {
    pub fn moved(&self) -> Vec<(String, String)> {
        self.moved.lock().unwrap().clone()
    }
}

impl DeadLetterSink for FakeDeadLetters {
    async fn send(&self, message: &SqsMessage, reason: &str) -> Result<(), String> {
        self.moved.lock().unwrap().push((
            message.message_id.clone().unwrap_or_default(),
            reason.to_string(),
        ));
        Ok(())
    }
}

/// Text extraction answering what the test configured; records the documents started (key
/// and format) and the answers read (job id and output location).
#[derive(Clone)]
pub struct FakeText {
    pub name: &'static str,
    pub started: Arc<Mutex<Vec<String>>>,
    pub formats: Arc<Mutex<Vec<String>>>,
    pub job: Arc<Mutex<TextJob>>,
    pub text: Arc<Mutex<Result<ExtractedText, RecordError>>>,
    pub reads: Arc<Mutex<Vec<String>>>,
}

impl Default for FakeText {
    fn default() -> Self {
        Self {
            name: "textract",
            started: Arc::default(),
            formats: Arc::default(),
            job: Arc::new(Mutex::new(TextJob {
                job_id: "text-job-1".into(),
                output_location: None,
            })),
            text: Arc::new(Mutex::new(Ok(ExtractedText::default()))),
            reads: Arc::default(),
        }
    }
}

impl TextExtractor for FakeText {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn start(
        &self,
        object: &ObjectRef,
        content_type: &str,
        _request_token: &str,
    ) -> Result<TextJob, RecordError> {
        self.started.lock().unwrap().push(object.key.clone());
        self.formats.lock().unwrap().push(content_type.to_string());
        Ok(self.job.lock().unwrap().clone())
    }

    async fn text(
        &self,
        job_id: &str,
        output_location: Option<&str>,
    ) -> Result<ExtractedText, RecordError> {
        self.reads
            .lock()
            .unwrap()
            .push(format!("{job_id} {}", output_location.unwrap_or("-")));
        self.text.lock().unwrap().clone()
    }
}

/// A keyword list as if read from S3.
#[derive(Clone, Default)]
pub struct FakeKeywords(pub Vec<String>);

impl crate::ports::KeywordSource for FakeKeywords {
    async fn keywords(&self) -> Result<Vec<String>, RecordError> {
        Ok(self.0.clone())
    }
}
