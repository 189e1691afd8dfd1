//! Ingest: the records of one SQS batch become one compressed NDJSON object per event hour.
//!
//! Record bodies are envelopes (raw SNS delivery) or SNS notifications wrapping one. Each
//! valid envelope becomes one compact JSON line. Lines are grouped by the UTC hour of the
//! envelope's `time`; each group is written to
//! `stats/raw/YYYY/MM/DD/HH/<batch-id>.ndjson.zst`, where `<batch-id>` is a hash of the
//! group's sorted SQS message ids, with `If-None-Match: *`. A batch delivered again with the
//! same messages therefore maps to an existing key and is not written twice; a batch
//! delivered again only in part lands in a new object, and the rollup counts each envelope
//! id once.
//!
//! zstd rather than gzip: it decompresses several times faster (the rollup reads every
//! object), compresses these lines smaller at a cheap level, and Athena, Spark and the `zstd`
//! command read it.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::SqsMessage;
use serde_json::Value;
use shared::events::{stable_id, unwrap_sns_notification, Envelope, EnvelopeError};

use crate::period::Hour;

pub const RAW_CONTENT_TYPE: &str = "application/zstd";
pub const RAW_EXTENSION: &str = ".ndjson.zst";
/// zstd level 3 (the library default): fast enough for a 128 MB Lambda, about 8x smaller.
const ZSTD_LEVEL: i32 = 3;

/// Why a record cannot be ingested. Always permanent: the same body fails the same way.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum RecordProblem {
    #[error("the record has no body")]
    NoBody,
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("the envelope time {0:?} is not an RFC 3339 timestamp")]
    BadTime(String),
}

/// One envelope accepted for storage.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedEvent {
    pub message_id: String,
    pub envelope_id: String,
    pub event_type: String,
    /// The event's hour (UTC), which decides its raw partition.
    pub hour: Hour,
    /// The envelope as one line of compact JSON (every field kept, unknown ones included).
    pub line: String,
}

/// Validates one record and turns it into a line for the raw store.
pub fn accept_record(message: &SqsMessage) -> Result<AcceptedEvent, RecordProblem> {
    let body = message.body.as_deref().ok_or(RecordProblem::NoBody)?;
    let value: Value =
        serde_json::from_str(body).map_err(|e| RecordProblem::NotJson(e.to_string()))?;
    // Envelope::from_value also refuses unsafe ids and control characters: they would become
    // labels of the rollup documents and metrics.
    let value = unwrap_sns_notification(value)?;
    let envelope = Envelope::from_value(value.clone())?;
    let time = shared::time::parse_rfc3339_lenient(&envelope.time)
        .ok_or_else(|| RecordProblem::BadTime(crate::shown(&envelope.time)))?;
    Ok(AcceptedEvent {
        message_id: message.message_id.clone().unwrap_or_default(),
        envelope_id: envelope.id,
        event_type: envelope.event_type,
        hour: Hour::containing(time),
        line: value.to_string(),
    })
}

/// One object to write: the events of one hour of one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject {
    pub key: String,
    pub hour: Hour,
    /// SQS message ids of the lines, sorted (the key is derived from them).
    pub message_ids: Vec<String>,
    pub body: Vec<u8>,
}

/// Groups accepted events by hour and compresses each group. The same set of messages always
/// gives the same keys and the same bytes.
pub fn raw_objects(events: Vec<AcceptedEvent>) -> std::io::Result<Vec<RawObject>> {
    let mut by_hour: BTreeMap<Hour, Vec<AcceptedEvent>> = BTreeMap::new();
    for event in events {
        by_hour.entry(event.hour).or_default().push(event);
    }
    by_hour
        .into_iter()
        .map(|(hour, mut events)| {
            events.sort_by(|a, b| a.message_id.cmp(&b.message_id));
            let message_ids: Vec<String> = events.iter().map(|e| e.message_id.clone()).collect();
            let ids: Vec<&str> = message_ids.iter().map(String::as_str).collect();
            let key = format!("{}{}{RAW_EXTENSION}", hour.raw_prefix(), stable_id(&ids));
            let mut text = String::with_capacity(events.iter().map(|e| e.line.len() + 1).sum());
            for event in &events {
                text.push_str(&event.line);
                text.push('\n');
            }
            let body = zstd::encode_all(text.as_bytes(), ZSTD_LEVEL)?;
            Ok(RawObject {
                key,
                hour,
                message_ids,
                body,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_string());
        m.body = Some(body.to_string());
        m
    }

    fn envelope(id: &str, time: &str) -> String {
        format!(
            r#"{{"version":1,"id":"{id}","type":"media.analyzed","source":"ai-processor","time":"{time}","subject":"s3://m/videos/a.mp4","severity":"info","data":{{"kind":"video"}},"extra":"kept"}}"#
        )
    }

    #[test]
    fn raw_and_sns_wrapped_bodies_are_both_accepted() {
        let raw = accept_record(&message("m1", &envelope("e1", "2026-11-24T13:59:59Z"))).unwrap();
        assert_eq!(raw.hour.to_string(), "2026-11-24T13");
        assert_eq!(raw.envelope_id, "e1");
        assert!(raw.line.contains(r#""extra":"kept""#));
        assert!(!raw.line.contains('\n'));
        let wrapped = serde_json::json!({
            "Type": "Notification",
            "MessageId": "n-1",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:suite-events",
            "Message": envelope("e2", "2026-11-24T14:00:00+08:00"),
            "Timestamp": "2026-11-24T06:00:00.000Z"
        });
        let e = accept_record(&message("m2", &wrapped.to_string())).unwrap();
        assert_eq!(e.envelope_id, "e2");
        // Times are partitioned in UTC.
        assert_eq!(e.hour.to_string(), "2026-11-24T06");
    }

    #[test]
    fn bad_records_are_typed_problems() {
        let mut no_body = SqsMessage::default();
        no_body.message_id = Some("m".into());
        assert_eq!(accept_record(&no_body), Err(RecordProblem::NoBody));
        assert!(matches!(
            accept_record(&message("m", "not json")),
            Err(RecordProblem::NotJson(_))
        ));
        assert!(matches!(
            accept_record(&message("m", &envelope("e", "yesterday"))),
            Err(RecordProblem::BadTime(_))
        ));
        assert!(matches!(
            accept_record(&message("m", r#"{"version":2,"id":"e","type":"t"}"#)),
            Err(RecordProblem::Envelope(EnvelopeError::UnsupportedVersion {
                found: 2,
                ..
            }))
        ));
        let wrapped = serde_json::json!({"Type":"Notification","TopicArn":"arn","Message":"{oops"});
        assert!(matches!(
            accept_record(&message("m", &wrapped.to_string())),
            Err(RecordProblem::Envelope(EnvelopeError::SnsMessageNotJson(_)))
        ));
    }

    #[test]
    fn one_object_per_hour_with_a_key_that_depends_only_on_the_messages() {
        let events = |order: &[usize]| -> Vec<AcceptedEvent> {
            let all = [
                ("m1", "2026-11-24T13:10:00Z"),
                ("m2", "2026-11-24T14:10:00Z"),
                ("m3", "2026-11-24T13:20:00Z"),
            ];
            order
                .iter()
                .map(|&i| accept_record(&message(all[i].0, &envelope(all[i].0, all[i].1))).unwrap())
                .collect()
        };
        let a = raw_objects(events(&[0, 1, 2])).unwrap();
        let b = raw_objects(events(&[2, 1, 0])).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        assert!(a[0].key.starts_with("stats/raw/2026/11/24/13/"));
        assert!(a[0].key.ends_with(".ndjson.zst"));
        assert_eq!(a[0].message_ids, ["m1", "m3"]);
        let text = String::from_utf8(zstd::decode_all(&a[0].body[..]).unwrap()).unwrap();
        assert_eq!(text.lines().count(), 2);
        let partial = raw_objects(events(&[2])).unwrap();
        assert_ne!(partial[0].key, a[0].key);
    }

    proptest! {
        #[test]
        fn any_body_is_accepted_or_a_typed_problem(body in ".{0,300}") {
            let _ = accept_record(&message("m", &body));
        }

        #[test]
        fn any_envelope_time_is_accepted_or_bad_time(time in ".{0,40}") {
            let body = serde_json::json!({"version":1,"id":"e","type":"t","source":"s","time":time,"subject":"x","severity":"info"});
            match accept_record(&message("m", &body.to_string())) {
                Ok(e) => prop_assert!(shared::time::parse_rfc3339_lenient(&time).is_some() && e.line.contains("\"id\":\"e\"")),
                Err(RecordProblem::Envelope(EnvelopeError::ControlCharacters { field: "time", .. })) => prop_assert!(time.chars().any(char::is_control)),
                Err(problem) => prop_assert!(matches!(problem, RecordProblem::BadTime(_)), "{problem:?}"),
            }
        }
    }
}
