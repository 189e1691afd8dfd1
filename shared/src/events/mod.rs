//! The domain event envelope carried on the `suite-events` topic (ARCHITECTURE.md, "Event
//! contract"), and one typed payload per event type in [`contracts`]: producers build them,
//! consumers parse them, so a renamed field fails a test instead of a consumer.

pub mod contracts;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The only envelope version this code reads and writes.
pub const ENVELOPE_VERSION: u32 = 1;

/// A typed event payload: the `data` of an envelope whose `type` is [`EventPayload::TYPE`].
pub trait EventPayload: Serialize + serde::de::DeserializeOwned {
    /// The envelope `type` this payload belongs to.
    const TYPE: &'static str;
}

/// Event type names. Consumers also accept types not listed here.
pub mod types {
    /// An upload was analysed and got a verdict.
    pub const MEDIA_ANALYZED: &str = "media.analyzed";
    /// An upload's verdict is review (warning) or rejected (critical).
    pub const MEDIA_FLAGGED: &str = "media.flagged";
    /// An upload's analysis failed for good at one stage.
    pub const MEDIA_FAILED: &str = "media.failed";
    /// An upload is not of a kind the suite analyses, so it was skipped.
    pub const MEDIA_SKIPPED: &str = "media.skipped";
    /// An upload's transcript is stored in the results bucket.
    pub const TRANSCRIPT_READY: &str = "transcript.ready";
    /// Spending crossed a budget threshold.
    pub const COST_THRESHOLD: &str = "cost.threshold";
    /// cost-guard paused (or, in dry run, would pause) a resource to limit spending.
    pub const COST_ACTION: &str = "cost.action";
    /// A day's summary of the platform's activity, from stats-aggregator.
    pub const STATS_DIGEST: &str = "stats.digest";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
/// How urgent an event is; notification routing and subscription filters select on it.
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Routine; for the record.
    Info,
    /// Someone should look soon (content waiting for review, for example).
    Warning,
    /// Needs attention now (rejected content, for example).
    Critical,
}

impl Severity {
    /// The wire name (`info`, `warning`, `critical`), as in the JSON and the SNS attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity {other:?} (expected info, warning or critical)"
            )),
        }
    }
}

/// One domain event. Unknown fields are ignored on read so producers can add fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Envelope format version; only [`ENVELOPE_VERSION`] is read.
    pub version: u32,
    /// Stable id: the same input gives the same id, so consumers de-duplicate on it.
    pub id: String,
    /// The event type (JSON `type`), one of [`types`] or another producer's.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The producing function (`ai-processor`, `cost-guard`, ...).
    pub source: String,
    /// When the event was created, RFC 3339 UTC.
    pub time: String,
    /// What the event is about: `s3://bucket/key` or another resource id.
    pub subject: String,
    /// How urgent the event is.
    pub severity: Severity,
    /// The type-specific payload; read it with [`Envelope::payload`].
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Why a message body is not a usable event (the same body always fails the same way).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EnvelopeError {
    /// Not JSON, a missing or mistyped field, or a payload of another type.
    #[error("not a domain event envelope: {0}")]
    Malformed(String),
    /// A `version` this code does not read (a newer producer).
    #[error("envelope version {found} is not supported (this consumer reads version {supported})")]
    UnsupportedVersion {
        /// The message's version.
        found: u64,
        /// The version this code reads.
        supported: u32,
    },
    /// An SNS message other than a `Notification` (a subscription confirmation, ...).
    #[error(
        "an SNS message of Type {0:?}, not a \"Notification\": only notifications carry events"
    )]
    NotAnSnsNotification(String),
    /// An SNS notification whose `Message` is missing or not JSON.
    #[error("the SNS notification's Message is not an envelope: {0}")]
    SnsMessageNotJson(String),
    /// The id is too long or has characters unsafe in keys, paths or headers.
    #[error("event id {0:?} is not an id (at most {MAX_EVENT_ID_CHARS} letters, digits, '.', '_', ':', '-')")]
    NotAnId(String),
    /// A text field has control characters (a line break would forge a header line).
    #[error("event {id:?}: `{field}` contains control characters")]
    ControlCharacters {
        /// The event's id.
        id: String,
        /// The envelope field that has them.
        field: &'static str,
    },
}

/// Longest event id accepted; the suite's own ids are 32 hex characters.
pub const MAX_EVENT_ID_CHARS: usize = 128;

/// At most 64 characters of untrusted text, for error messages (a 250 KB id must not become
/// a 250 KB log line).
fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(64).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The envelope inside an SNS notification (raw message delivery off), or the value itself
/// (raw delivery, or a producer writing to the queue directly). A value shaped like an SNS
/// message (`Type` and `TopicArn`) must be a `Notification` with a string `Message`: a
/// `SubscriptionConfirmation` carrying an envelope is not an event.
pub fn unwrap_sns_notification(
    body: serde_json::Value,
) -> Result<serde_json::Value, EnvelopeError> {
    let sns_type = match (body.get("Type"), body.get("TopicArn")) {
        (Some(sns_type), Some(_)) => sns_type,
        _ => return Ok(body),
    };
    if sns_type.as_str() != Some("Notification") {
        return Err(EnvelopeError::NotAnSnsNotification(match sns_type {
            serde_json::Value::String(s) => shown(s),
            other => shown(&other.to_string()),
        }));
    }
    let message = body
        .get("Message")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            EnvelopeError::SnsMessageNotJson("the notification has no string `Message`".into())
        })?;
    serde_json::from_str(message).map_err(|e| EnvelopeError::SnsMessageNotJson(e.to_string()))
}

impl Envelope {
    /// Builds an envelope whose id is derived from `type`, `subject` and `discriminator`, so the
    /// same input always yields the same id and consumers can de-duplicate.
    pub fn new(
        event_type: &str,
        source: &str,
        subject: &str,
        severity: Severity,
        discriminator: &str,
        data: serde_json::Value,
    ) -> Self {
        Self {
            version: ENVELOPE_VERSION,
            id: stable_id(&[event_type, subject, discriminator]),
            event_type: event_type.to_string(),
            source: source.to_string(),
            time: crate::time::rfc3339(crate::time::now_utc()),
            subject: subject.to_string(),
            severity,
            data,
        }
    }

    /// An envelope carrying a typed payload; the id is derived from the type, `subject` and
    /// `discriminator` like [`Envelope::new`].
    pub fn of<P: EventPayload>(
        payload: &P,
        source: &str,
        subject: &str,
        severity: Severity,
        discriminator: &str,
    ) -> Self {
        let data = serde_json::to_value(payload).expect("an event payload serialises");
        Self::new(P::TYPE, source, subject, severity, discriminator, data)
    }

    /// The envelope with `time` set to `first_published`. An event published again with the
    /// same id (a redelivery, a re-run, a retried announcement) keeps the time of its first
    /// publication, so consumers that place events by time (stats' hourly partitions) find
    /// it once, in one place: producers derive it from what the id is derived from (the
    /// upload's event time, the period's end). `None` keeps the time of construction.
    pub fn first_published_at(mut self, first_published: Option<time::OffsetDateTime>) -> Self {
        if let Some(t) = first_published {
            self.time = crate::time::rfc3339(t);
        }
        self
    }

    /// The typed payload, when the envelope is of `P`'s type.
    pub fn payload<P: EventPayload>(&self) -> Result<P, EnvelopeError> {
        if self.event_type != P::TYPE {
            return Err(EnvelopeError::Malformed(format!(
                "a {} event is not a {}",
                shown(&self.event_type),
                P::TYPE
            )));
        }
        serde_json::from_value(self.data.clone())
            .map_err(|e| EnvelopeError::Malformed(format!("{} payload: {e}", P::TYPE)))
    }

    /// Parses an envelope, checking the version before anything else so a newer producer
    /// gets a clear "unsupported version" rather than a field error.
    pub fn parse(body: &str) -> Result<Self, EnvelopeError> {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        Self::from_value(value)
    }

    /// An envelope from parsed JSON, with the same checks as [`Envelope::parse`].
    pub fn from_value(value: serde_json::Value) -> Result<Self, EnvelopeError> {
        let version = value
            .get("version")
            .ok_or_else(|| EnvelopeError::Malformed("missing field `version`".into()))?;
        let version = version
            .as_u64()
            .ok_or_else(|| EnvelopeError::Malformed("`version` is not an integer".into()))?;
        if version != u64::from(ENVELOPE_VERSION) {
            return Err(EnvelopeError::UnsupportedVersion {
                found: version,
                supported: ENVELOPE_VERSION,
            });
        }
        let envelope: Envelope =
            serde_json::from_value(value).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if envelope.id.is_empty() || envelope.event_type.is_empty() {
            return Err(EnvelopeError::Malformed(
                "`id` and `type` must not be empty".into(),
            ));
        }
        envelope.check_identifiers()?;
        Ok(envelope)
    }

    /// An SQS message body: the envelope, raw or wrapped in an SNS notification.
    pub fn from_sqs_body(body: &str) -> Result<Self, EnvelopeError> {
        let value: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| EnvelopeError::Malformed(format!("the body is not JSON: {e}")))?;
        Self::from_value(unwrap_sns_notification(value)?)
    }

    /// The fields consumers put into HTTP headers, chat messages, object keys and metric
    /// labels: the id is letters, digits, `.`, `_`, `:`, `-` (no paths, no percent escapes),
    /// and no control characters anywhere (a line break would forge a header line).
    pub fn check_identifiers(&self) -> Result<(), EnvelopeError> {
        let id = &self.id;
        let id_ok = id.chars().count() <= MAX_EVENT_ID_CHARS
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
            && !id.contains("..");
        if !id_ok {
            return Err(EnvelopeError::NotAnId(shown(id)));
        }
        for (field, value) in [
            ("type", &self.event_type),
            ("source", &self.source),
            ("time", &self.time),
            ("subject", &self.subject),
        ] {
            if value.chars().any(char::is_control) {
                return Err(EnvelopeError::ControlCharacters {
                    id: id.clone(),
                    field,
                });
            }
        }
        Ok(())
    }

    /// The envelope as the JSON message body that is published.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serialises")
    }
}

/// Hex SHA-256 (first 32 characters) of the parts joined with a separator that cannot occur
/// in S3 keys or event types.
pub fn stable_id(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0u8]);
        }
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())[..32].to_string()
}

/// Where domain events go. The SNS adapter is [`SnsEventPublisher`].
#[allow(async_fn_in_trait)]
pub trait EventPublisher: Send + Sync {
    /// Publishes one event; a failure is returned so the caller can have it retried.
    fn publish(
        &self,
        event: &Envelope,
    ) -> impl std::future::Future<Output = Result<(), PublishError>> + Send;
}

/// An event that could not be published.
#[derive(Debug, thiserror::Error)]
#[error("publishing {event_type} event {id} failed: {reason}")]
pub struct PublishError {
    /// The event's id.
    pub id: String,
    /// The event's type.
    pub event_type: String,
    /// What the publisher reported.
    pub reason: String,
}

/// Publishes envelopes to an SNS topic with `type` and `severity` message attributes, so
/// subscriptions filter without parsing the body.
#[derive(Clone)]
pub struct SnsEventPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsEventPublisher {
    /// Publishes to the topic `topic_arn`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

fn string_attribute(value: &str) -> aws_sdk_sns::types::MessageAttributeValue {
    aws_sdk_sns::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data type is set")
}

impl EventPublisher for SnsEventPublisher {
    async fn publish(&self, event: &Envelope) -> Result<(), PublishError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(event.to_json())
            .message_attributes("type", string_attribute(&event.event_type))
            .message_attributes("severity", string_attribute(event.severity.as_str()))
            .send()
            .await
            .map_err(|e| PublishError {
                id: event.id.clone(),
                event_type: event.event_type.clone(),
                reason: aws_sdk_sns::error::DisplayErrorContext(e).to_string(),
            })?;
        tracing::info!(event_id = %event.id, event_type = %event.event_type, severity = %event.severity, "event published");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_republished_event_keeps_its_first_time_and_id() {
        let first = time::macros::datetime!(2026-11-24 13:05:00 UTC);
        let build = || {
            Envelope::new(
                "media.failed",
                "p",
                "s3://b/k",
                Severity::Warning,
                "v1",
                serde_json::json!({}),
            )
            .first_published_at(Some(first))
        };
        let (a, b) = (build(), build());
        assert_eq!((a.time.as_str(), &a.id), ("2026-11-24T13:05:00Z", &b.id));
        assert_eq!(a.time, b.time);
        let now = Envelope::new("t", "p", "s", Severity::Info, "d", serde_json::json!({}));
        assert_eq!(now.clone().first_published_at(None).time, now.time);
    }

    #[test]
    fn same_input_gives_same_id() {
        let a = Envelope::new(
            types::MEDIA_ANALYZED,
            "ai-processor",
            "s3://b/k",
            Severity::Info,
            "etag1",
            serde_json::json!({}),
        );
        let b = Envelope::new(
            types::MEDIA_ANALYZED,
            "ai-processor",
            "s3://b/k",
            Severity::Info,
            "etag1",
            serde_json::json!({"x": 1}),
        );
        let c = Envelope::new(
            types::MEDIA_ANALYZED,
            "ai-processor",
            "s3://b/k",
            Severity::Info,
            "etag2",
            serde_json::json!({}),
        );
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        assert_eq!(a.id.len(), 32);
    }

    #[test]
    fn round_trip_and_unknown_fields_are_accepted() {
        let e = Envelope::new(
            "custom.thing",
            "test",
            "s",
            Severity::Warning,
            "",
            serde_json::json!({"n": 1}),
        );
        let mut v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        v["extra"] = serde_json::json!("ignored");
        assert_eq!(Envelope::from_value(v).unwrap(), e);
    }

    #[test]
    fn sqs_bodies_are_raw_or_sns_wrapped_and_identifiers_are_safe() {
        let e = Envelope::new(
            "t.x",
            "s",
            "subj",
            Severity::Info,
            "",
            serde_json::json!({}),
        );
        let raw = e.to_json();
        let wrapped =
            serde_json::json!({"Type": "Notification", "TopicArn": "arn", "Message": raw})
                .to_string();
        assert_eq!(Envelope::from_sqs_body(&raw).unwrap(), e);
        assert_eq!(Envelope::from_sqs_body(&wrapped).unwrap(), e);
        let confirmation = wrapped.replace("\"Notification\"", "\"SubscriptionConfirmation\"");
        assert!(matches!(
            Envelope::from_sqs_body(&confirmation),
            Err(EnvelopeError::NotAnSnsNotification(_))
        ));
        let mut bad = e.clone();
        bad.id = "../../etc".into();
        assert!(matches!(
            Envelope::from_sqs_body(&bad.to_json()),
            Err(EnvelopeError::NotAnId(_))
        ));
        let mut bad = e;
        bad.subject = "a\r\nX-Injected: 1".into();
        assert!(matches!(
            Envelope::from_sqs_body(&bad.to_json()),
            Err(EnvelopeError::ControlCharacters {
                field: "subject",
                ..
            })
        ));
    }

    #[test]
    fn unknown_version_is_a_clear_error() {
        let err = Envelope::parse(r#"{"version":2,"id":"x","type":"t"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "envelope version 2 is not supported (this consumer reads version 1)"
        );
        assert!(matches!(
            Envelope::parse("{not json"),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            Envelope::parse(r#"{"version":1,"id":"x"}"#),
            Err(EnvelopeError::Malformed(_))
        ));
    }
}
