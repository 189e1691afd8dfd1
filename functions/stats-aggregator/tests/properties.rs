//! Property tests across the ingest and rollup parsers: arbitrary JSON values as record
//! bodies, arbitrary numbers in the fields the rollup adds up. Any input gives `Ok` or a typed
//! problem, never a panic, and what ingest accepts the rollup counts exactly once.

use aws_lambda_events::event::sqs::SqsMessage;
use proptest::prelude::*;
use serde_json::{json, Value};
use shared::events::MAX_EVENT_ID_CHARS;
use stats_aggregator::inbound::{accept_record, RecordProblem};
use stats_aggregator::ingest::raw_objects;
use stats_aggregator::tally::{tally_object, Compression};

fn message(id: &str, body: String) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(body);
    m
}

/// Values for the envelope fields: right and wrong types, ids with paths, escapes and
/// control characters.
fn arb_field() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(1)),
        Just(json!("info")),
        Just(json!("2026-11-24T13:05:00Z")),
        "[a-z0-9._:-]{1,20}".prop_map(Value::from),
        "[a-z./%\\\\\u{0}-\u{1f}\u{7f}-\u{a0}é]{0,20}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(|v| json!(v)),
    ]
}

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(5e-324)),
        "[0-9e.-]{0,8}".prop_map(Value::from),
    ]
}

proptest! {
    #[test]
    fn any_envelope_shaped_value_is_accepted_or_a_typed_problem(
        fields in proptest::collection::btree_map(
            prop_oneof![
                Just("version"), Just("id"), Just("type"), Just("source"), Just("time"),
                Just("subject"), Just("severity"), Just("data"), Just("Type"), Just("TopicArn"), Just("Message"),
            ],
            arb_field(),
            0..11,
        )
    ) {
        let body: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        match accept_record(&message("m", Value::Object(body).to_string())) {
            Ok(event) => {
                prop_assert!(event.envelope_id.chars().count() <= MAX_EVENT_ID_CHARS);
                prop_assert!(!event.envelope_id.contains(".."));
                prop_assert!(!event.line.contains('\n'));
            }
            Err(problem) => {
                let text = problem.to_string();
                prop_assert!(!text.is_empty() && text.len() < 400, "{text}");
                let _: &RecordProblem = &problem;
            }
        }
    }

    #[test]
    fn any_bytes_as_a_body_are_accepted_or_a_typed_problem(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Err(problem) = accept_record(&message("m", body)) {
            prop_assert!(!problem.to_string().is_empty());
        }
    }

    /// Whatever numbers an event carries, the events ingest accepts are counted once each
    /// and the period statistics serialise.
    #[test]
    fn any_numbers_in_accepted_events_are_counted_once(
        numbers in proptest::collection::vec((arb_number(), arb_number(), arb_number(), arb_number()), 1..12)
    ) {
        let mut accepted = Vec::new();
        for (i, (size, latency, duration, uploaded_at)) in numbers.into_iter().enumerate() {
            let (event_type, data) = if i % 2 == 0 {
                ("media.analyzed", json!({"kind": "video", "size_bytes": size, "latency_ms": latency, "uploaded_at": uploaded_at}))
            } else {
                ("transcript.ready", json!({"language": "en-US", "duration_seconds": duration}))
            };
            let body = json!({"version": 1, "id": format!("e{i}"), "type": event_type, "source": "p", "time": "2026-11-24T13:05:00Z", "subject": "s3://m/videos/a.mp4", "severity": "info", "data": data}).to_string();
            accepted.push(accept_record(&message(&format!("m{i}"), body)).map_err(|e| TestCaseError::fail(e.to_string()))?);
        }
        let events = accepted.len() as u64;
        let objects = raw_objects(accepted).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(objects.len(), 1);
        let tally = tally_object(&objects[0].key, &objects[0].body[..], Compression::Zstd, &Default::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(tally.counted.len() as u64, events);
        let stats = serde_json::to_value(&tally.stats).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&stats["events"]["total"], &json!(events));
        prop_assert_eq!(&stats["sources"]["malformed_lines"], &json!(0));
    }
}
