//! The shapes an SQS message body can have, told apart per message.
//!
//! - `media-ingest`: an S3 event notification (`{"Records": [...]}`), possibly in moto's shape
//!   (no `userIdentity`, `requestParameters`, `responseElements`, `sequencer`; zoneless
//!   `eventTime`; `%2F` in keys), or S3's `s3:TestEvent` sent when notifications are set up.
//! - `ai-jobs`: an SNS notification envelope around a Rekognition video job completion, or an
//!   EventBridge "Transcribe Job State Change" event, raw or itself wrapped in SNS.
//!
//! `aws_lambda_events::s3::S3Event` is not used for the records: it requires `userIdentity`,
//! `requestParameters` and a zoned `eventTime`, which moto's records lack.

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;
use time::OffsetDateTime;

use crate::model::ObjectRef;

mod jobs;
mod review;
mod s3;

pub use review::{review_invocation, ReviewInvocation, UrlRequest};
pub use s3::{decode_key, MAX_KEY_BYTES};

/// One created object named by an S3 event record.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// Decoded: `+` is a space, `%XX` are UTF-8 bytes.
    pub key: String,
    pub version_id: Option<String>,
    pub etag: Option<String>,
    pub size: Option<i64>,
    pub event_time: Option<OffsetDateTime>,
}

impl ObjectCreated {
    /// The object the event names (the version, when the bucket is versioned).
    pub fn object(&self) -> ObjectRef {
        ObjectRef {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            version_id: self.version_id.clone(),
        }
    }
}

/// One deleted object (or version) named by an S3 event record.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRemoved {
    pub bucket: String,
    pub key: String,
    /// The deleted version, or the id of the delete marker that was created.
    pub version_id: Option<String>,
    /// `ObjectRemoved:DeleteMarkerCreated`: a versioned bucket hid the object.
    pub delete_marker: bool,
    /// S3's ordering token of events on one key; tells two deletions of a key apart.
    pub sequencer: Option<String>,
    pub event_time: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RekognitionJobDone {
    pub job_id: String,
    /// `SUCCEEDED`, `FAILED` or `ERROR`.
    pub status: String,
    pub api: String,
    pub bucket: String,
    pub key: String,
    pub message: Option<String>,
}

impl RekognitionJobDone {
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }

    /// Content moderation reports `API` as `StartContentModeration` or `CONTENT_MODERATION`.
    pub fn is_content_moderation(&self) -> bool {
        let api = self.api.to_ascii_uppercase().replace('_', "");
        api.contains("CONTENTMODERATION")
    }
}

/// A Textract text detection job ended (its SNS completion).
#[derive(Debug, Clone, PartialEq)]
pub struct TextractJobDone {
    pub job_id: String,
    /// `SUCCEEDED`, `FAILED`, `ERROR` or `PARTIAL_SUCCESS`.
    pub status: String,
    pub bucket: String,
    pub key: String,
}

impl TextractJobDone {
    pub fn succeeded(&self) -> bool {
        matches!(self.status.as_str(), "SUCCEEDED" | "PARTIAL_SUCCESS")
    }
}

/// A SageMaker asynchronous inference ended (its success or error notification).
#[derive(Debug, Clone, PartialEq)]
pub struct SageMakerJobDone {
    pub inference_id: String,
    pub succeeded: bool,
    /// The request document (`s3://<results bucket>/sagemaker-async/requests/...`).
    pub input_location: String,
    pub output_location: Option<String>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TranscribeJobChanged {
    pub job_name: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Created and removed objects; records of other S3 event types are left out (logged).
    S3Objects {
        created: Vec<ObjectCreated>,
        removed: Vec<ObjectRemoved>,
    },
    /// S3's `s3:TestEvent`, sent when a notification configuration is saved.
    S3TestEvent {
        bucket: Option<String>,
    },
    RekognitionJob(RekognitionJobDone),
    SageMakerJob(SageMakerJobDone),
    TextractJob(TextractJobDone),
    TranscribeJob(TranscribeJobChanged),
    /// A well-formed message that needs no work (say, an SNS subscription confirmation).
    NothingToDo(String),
}

/// Why a body could not be understood. Always permanent: the same body fails the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed message: {0}")]
pub struct Malformed(pub String);

pub(crate) fn malformed(reason: impl Into<String>) -> Malformed {
    Malformed(reason.into())
}

/// What one invocation carries: an SQS batch (the event source mappings of `media-ingest`
/// and `ai-jobs`), or an S3 event notification sent to the function directly (S3 -> Lambda,
/// or `cargo lambda invoke` with an S3 event).
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    SqsBatch(SqsEvent),
    /// The S3 event, as the body an SQS message would carry.
    S3Notification(String),
}

/// Tells an SQS batch from a direct S3 notification: both are `{"Records": [...]}`, but S3
/// records carry an `s3` object and SQS records a `body`.
pub fn invocation(payload: Value) -> Result<Invocation, Malformed> {
    let records = payload
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            malformed("the invocation is neither an SQS batch nor an S3 event notification (no `Records` array)")
        })?;
    let direct_s3 = records.iter().any(|r| {
        r.get("s3").is_some() || r.get("eventSource").and_then(Value::as_str) == Some("aws:s3")
    });
    if direct_s3 {
        return Ok(Invocation::S3Notification(payload.to_string()));
    }
    serde_json::from_value(payload)
        .map(Invocation::SqsBatch)
        .map_err(|e| malformed(format!("the invocation is not an SQS batch: {e}")))
}

/// Reads one SQS message body.
pub fn parse(body: &str) -> Result<Inbound, Malformed> {
    if body.trim().is_empty() {
        return Err(malformed("the message body is empty"));
    }
    let value: Value = serde_json::from_str(body)
        .map_err(|e| malformed(format!("the message body is not JSON: {e}")))?;
    classify(value, 0)
}

fn classify(value: Value, depth: u8) -> Result<Inbound, Malformed> {
    let Value::Object(ref fields) = value else {
        return Err(malformed("the message body is not a JSON object"));
    };
    if fields.contains_key("Records") {
        return s3::s3_records(value);
    }
    if fields.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Inbound::S3TestEvent {
            bucket: fields.get("Bucket").and_then(Value::as_str).map(Into::into),
        });
    }
    if let Some(kind) = fields.get("Type").and_then(Value::as_str) {
        if fields.contains_key("TopicArn") {
            return sns_envelope(kind, &value, depth);
        }
    }
    if fields.contains_key("detail-type") {
        return jobs::eventbridge(value);
    }
    if fields.contains_key("JobId") && fields.contains_key("DocumentLocation") {
        return jobs::textract(value);
    }
    if fields.contains_key("JobId") && fields.contains_key("API") {
        return jobs::rekognition(value);
    }
    if fields.get("eventSource").and_then(Value::as_str) == Some("aws:sagemaker") {
        return jobs::sagemaker(value);
    }
    let names: Vec<String> = fields
        .keys()
        .take(8)
        .map(|name| {
            name.chars()
                .take(40)
                .collect::<String>()
                .escape_debug()
                .to_string()
        })
        .collect();
    Err(malformed(format!(
        "not an S3 event, SNS notification, Rekognition or SageMaker completion or Transcribe event \
         (top-level fields: {})",
        names.join(", ")
    )))
}

fn sns_envelope(kind: &str, value: &Value, depth: u8) -> Result<Inbound, Malformed> {
    if kind != "Notification" {
        return Ok(Inbound::NothingToDo(format!(
            "SNS message of type {}",
            shown(kind)
        )));
    }
    if depth > 0 {
        return Err(malformed("SNS notification nested in an SNS notification"));
    }
    let message = value
        .get("Message")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("SNS notification without a `Message` string"))?;
    let inner: Value = serde_json::from_str(message)
        .map_err(|e| malformed(format!("the SNS `Message` is not JSON: {e}")))?;
    classify(inner, depth + 1)
}

/// How much of an untrusted value an error message repeats.
const SHOWN_CHARS: usize = 120;

/// An untrusted value as it appears in an error message: debug-quoted (control characters
/// escaped) and cut, so a huge or hostile value cannot flood logs or dead-letter attributes.
pub(crate) fn shown(value: &str) -> String {
    let cut: String = value.chars().take(SHOWN_CHARS).collect();
    if cut.len() < value.len() {
        format!("{cut:?}... ({} bytes)", value.len())
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_form_decoded() {
        assert_eq!(
            decode_key("covers%2Fmy+cat%2F%E7%8C%AB+photo%2B1.jpg").unwrap(),
            "covers/my cat/猫 photo+1.jpg"
        );
        assert_eq!(decode_key("videos/a+b.mp4").unwrap(), "videos/a b.mp4");
        assert!(decode_key("covers/100%.jpg").is_err());
        assert!(decode_key("covers/%ZZ.jpg").is_err());
        assert!(decode_key("covers/%FF%FE.jpg").is_err());
    }

    #[test]
    fn moto_shaped_record_is_understood() {
        let body = r#"{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-25T12:21:28.070", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "x", "bucket": {"name": "media", "arn": "arn:aws:s3:::media"},
            "object": {"key": "covers%2Fa+b.jpg", "size": 1, "eTag": "9dd4e461268c8034f5c8564e155c67a6"}}}]}"#;
        let Inbound::S3Objects {
            created: objects, ..
        } = parse(body).unwrap()
        else {
            panic!("expected objects")
        };
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].key, "covers/a b.jpg");
        assert_eq!(
            objects[0].etag.as_deref(),
            Some("9dd4e461268c8034f5c8564e155c67a6")
        );
        assert_eq!(
            objects[0].event_time.map(shared::time::rfc3339).as_deref(),
            Some("2026-11-25T12:21:28.07Z")
        );
    }

    #[test]
    fn removals_are_read_other_s3_events_are_not_work_and_unknown_shapes_are_malformed() {
        let body = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:DeleteMarkerCreated",
            "s3":{"bucket":{"name":"b"},"object":{"key":"covers/x.jpg","versionId":"v2","sequencer":"0A"}}}]}"#;
        let Inbound::S3Objects { created, removed } = parse(body).unwrap() else {
            panic!("expected objects")
        };
        assert!(created.is_empty());
        assert_eq!(removed.len(), 1);
        assert!(removed[0].delete_marker);
        assert_eq!(removed[0].version_id.as_deref(), Some("v2"));
        let restore = body.replace(
            "ObjectRemoved:DeleteMarkerCreated",
            "ObjectRestore:Completed",
        );
        assert_eq!(
            parse(&restore).unwrap(),
            Inbound::S3Objects {
                created: vec![],
                removed: vec![]
            }
        );
        assert!(parse(r#"{"hello":"world"}"#).is_err());
        assert!(parse("[]").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn transcribe_event_is_found_raw_and_inside_sns() {
        let event = r#"{"version":"0","id":"1","detail-type":"Transcribe Job State Change","source":"aws.transcribe",
            "account":"1","time":"2026-11-25T12:00:00Z","region":"us-east-1","resources":[],
            "detail":{"TranscriptionJobName":"job-1","TranscriptionJobStatus":"COMPLETED"}}"#;
        let expected = Inbound::TranscribeJob(TranscribeJobChanged {
            job_name: "job-1".into(),
            status: "COMPLETED".into(),
        });
        assert_eq!(parse(event).unwrap(), expected);
        let wrapped = serde_json::json!({"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": event});
        assert_eq!(parse(&wrapped.to_string()).unwrap(), expected);
    }
}
