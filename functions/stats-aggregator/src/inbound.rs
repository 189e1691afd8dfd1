//! Parsing what this function is invoked with: the payload's top level tells an SQS batch
//! (`Records`) from an EventBridge scheduled event (`detail-type`); each SQS record body is an
//! envelope (raw SNS delivery) or an SNS notification wrapping one.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde::Deserialize;
use serde_json::Value;
use shared::events::{unwrap_sns_notification, Envelope, EnvelopeError};

use crate::echo::{reason, shown};
use crate::error::HandlerError;
use crate::period::Hour;

/// The two shapes this function is invoked with.
#[derive(Debug)]
pub enum Trigger {
    Sqs(SqsEvent),
    Scheduled(ScheduledEvent),
}

/// The part of an EventBridge event this function reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ScheduledEvent {
    /// The EventBridge envelope version (`"0"`).
    #[serde(default)]
    pub version: Option<String>,
    #[serde(rename = "detail-type", default)]
    pub detail_type: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub detail: Value,
}

impl Trigger {
    pub fn classify(payload: Value) -> Result<Self, HandlerError> {
        let keys = || -> Vec<String> {
            payload
                .as_object()
                .map(|o| o.keys().take(20).map(|k| shown(k)).collect())
                .unwrap_or_default()
        };
        if let Some(records) = payload.get("Records") {
            // Records of another service (an S3 notification sent here by mistake) are not
            // SQS messages, even though they would deserialise as empty ones.
            let foreign = records.as_array().and_then(|records| {
                records.iter().find_map(|r| {
                    let source = r.get("eventSource").or_else(|| r.get("EventSource"));
                    match source.and_then(Value::as_str) {
                        Some("aws:sqs") => None,
                        other => Some(shown(other.unwrap_or("none"))),
                    }
                })
            });
            if let Some(source) = foreign {
                return Err(HandlerError::Malformed {
                    shape: "SQS event",
                    reason: format!("a record has eventSource {source:?}, not \"aws:sqs\""),
                });
            }
            serde_json::from_value(payload)
                .map(Trigger::Sqs)
                .map_err(|e| HandlerError::Malformed {
                    shape: "SQS event",
                    reason: reason(e),
                })
        } else if payload.get("detail-type").is_some() {
            serde_json::from_value(payload)
                .map(Trigger::Scheduled)
                .map_err(|e| HandlerError::Malformed {
                    shape: "scheduled event",
                    reason: reason(e),
                })
        } else {
            Err(HandlerError::Unrecognised(keys()))
        }
    }
}

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
        .ok_or_else(|| RecordProblem::BadTime(shown(&envelope.time)))?;
    Ok(AcceptedEvent {
        message_id: message.message_id.clone().unwrap_or_default(),
        envelope_id: envelope.id,
        event_type: envelope.event_type,
        hour: Hour::containing(time),
        line: value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use shared::testkit::sqs_message as message;

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

#[cfg(test)]
mod trigger_tests {
    use super::*;
    use crate::schedule::RollupRequest;
    use crate::{document, rollup};
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn the_two_triggers_are_told_apart_at_the_top_level() {
        let sqs = json!({"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"}]});
        assert!(matches!(Trigger::classify(sqs), Ok(Trigger::Sqs(e)) if e.records.len() == 1));
        let scheduled =
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert!(matches!(
            Trigger::classify(scheduled),
            Ok(Trigger::Scheduled(_))
        ));
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]});
        assert!(matches!(
            Trigger::classify(s3),
            Err(HandlerError::Malformed {
                shape: "SQS event",
                ..
            })
        ));
        assert!(matches!(
            Trigger::classify(json!([1, 2])),
            Err(HandlerError::Unrecognised(keys)) if keys.is_empty()
        ));
    }

    #[test]
    fn lambda_errors_carry_a_named_type_and_a_short_message() {
        let cases = [
            (
                json!({"hello": "world"}),
                "StatsAggregator.UnrecognisedEvent",
            ),
            (
                json!({"Records": [{"eventSource": "aws:s3"}]}),
                "StatsAggregator.MalformedEvent",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "body": "x".repeat(10_000), "messageId": 5}]}),
                "StatsAggregator.MalformedEvent",
            ),
            (
                json!({"detail-type": "Scheduled Event", "source": "evil.example", "detail": {}}),
                "StatsAggregator.InvalidSchedule",
            ),
        ];
        for (payload, kind) in cases {
            let error = match Trigger::classify(payload) {
                Err(e) => e,
                Ok(Trigger::Scheduled(event)) => event
                    .plan(
                        shared::time::now_utc(),
                        60,
                        &shared::time::BusinessTimeZone::utc(),
                    )
                    .map(|_| ())
                    .map_err(HandlerError::from)
                    .expect_err(kind),
                Ok(Trigger::Sqs(_)) => panic!("{kind}: accepted"),
            };
            let diagnostic = lambda_runtime::Diagnostic::from(error);
            assert_eq!(diagnostic.error_type, kind);
            assert!(!diagnostic.error_type.contains("::"));
            assert!(
                diagnostic.error_message.len() < 400,
                "{}",
                diagnostic.error_message
            );
        }
        let rollup = HandlerError::Rollup {
            period: "2026-11-24T13".into(),
            source: rollup::RollupError::Store {
                key: "stats/raw/2026/11/24/13/a.ndjson.zst".into(),
                source: shared::results::StoreError::retryable("SlowDown"),
            },
        };
        let diagnostic = lambda_runtime::Diagnostic::from(rollup);
        assert_eq!(diagnostic.error_type, "StatsAggregator.RollupFailed");
        assert!(diagnostic.error_message.contains("2026-11-24T13"));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z0-9:/ -]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("Records".to_string()),
                        Just("detail-type".to_string()),
                        Just("detail".to_string()),
                        Just("rollup".to_string()),
                        Just("period".to_string()),
                        Just("time".to_string()),
                        Just("resources".to_string()),
                        Just("eventSource".to_string()),
                        "[a-z]{1,6}".prop_map(String::from),
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_payload_is_a_trigger_or_a_typed_error(payload in arb_json()) {
            match Trigger::classify(payload) {
                Ok(Trigger::Scheduled(event)) => {
                    // Any detail gives a plan or a typed schedule error, never a panic.
                    let _ = event.plan(shared::time::now_utc(), 60, &shared::time::BusinessTimeZone::utc());
                }
                Ok(Trigger::Sqs(_)) => {}
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn any_scheduled_detail_gives_a_plan_or_a_typed_error(
            rollup in prop_oneof![Just(json!("hourly")), Just(json!("daily")), Just(json!(null)), "[a-z]{0,8}".prop_map(Value::from), any::<i64>().prop_map(Value::from)],
            period in prop_oneof![Just(json!(null)), "[0-9T-]{0,14}".prop_map(Value::from), any::<bool>().prop_map(Value::from)],
            time in prop_oneof![Just(json!(null)), "[0-9T:Z-]{0,22}".prop_map(Value::from)],
        ) {
            let event = json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": time, "resources": ["arn:aws:events:us-east-1:1:rule/x-hourly"], "detail": {"rollup": rollup, "period": period}});
            let Ok(Trigger::Scheduled(event)) = Trigger::classify(event) else {
                return Err(TestCaseError::fail("a scheduled event"));
            };
            match event.plan(shared::time::now_utc(), 60, &shared::time::BusinessTimeZone::utc()) {
                Ok(RollupRequest::Hourly { hours, .. }) => prop_assert!(!hours.is_empty() && hours.len() <= 3),
                Ok(RollupRequest::Daily { .. }) => {}
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn any_bytes_are_a_rollup_document_or_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = document::RollupDocument::from_json(&bytes);
        }
    }
}
