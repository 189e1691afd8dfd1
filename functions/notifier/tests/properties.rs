//! Property tests: the parsers and the delivery policy give a value or a typed error for any
//! input, never a panic, and bad input is never called retryable (that would loop).

use std::time::Duration;

use notifier::channels::http::{parse_retry_after, MAX_RETRY_AFTER};
use notifier::config::DeliveryTuning;
use notifier::delivery::backoff;
use notifier::escape::CommandFormat;
use notifier::inbound::envelope_from_body;
use notifier::rate_limit::SharedRateLimit;
use notifier::render::{render, Command, CommandProblem, MAX_COMMAND_BYTES};
use notifier::routing::{Language, Routing};
use proptest::prelude::*;
use serde_json::{json, Value};
use shared::batch::RecordError;
use shared::events::Envelope;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::from),
        prop_oneof![
            Just("version"),
            Just("id"),
            Just("type"),
            Just("Type"),
            Just("Notification")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("version".to_string()),
                    Just("id".to_string()),
                    Just("type".to_string()),
                    Just("severity".to_string()),
                    Just("data".to_string()),
                    Just("Message".to_string()),
                    Just("TopicArn".to_string()),
                    Just("Type".to_string()),
                    ".{0,8}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid envelope with arbitrary header fields and data, or the typed error for it.
fn envelope_json(id: String, event_type: String, subject: String, data: Value) -> Value {
    json!({"version": 1, "id": id, "type": event_type, "source": "ai-processor",
           "time": "2026-11-25T12:00:00Z", "subject": subject, "severity": "critical", "data": data})
}

fn not_retryable(result: Result<Envelope, RecordError>) -> Result<(), TestCaseError> {
    if let Err(e) = &result {
        prop_assert!(!e.is_retryable(), "bad input called retryable: {e}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_body_text_is_an_envelope_or_a_permanent_error(body in ".{0,200}") {
        not_retryable(envelope_from_body(Some(&body)))?;
    }

    #[test]
    fn any_body_bytes_are_an_envelope_or_a_permanent_error(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        not_retryable(envelope_from_body(Some(&String::from_utf8_lossy(&bytes))))?;
    }

    #[test]
    fn any_json_raw_or_sns_wrapped_is_an_envelope_or_a_permanent_error(value in json_value()) {
        not_retryable(envelope_from_body(Some(&value.to_string())))?;
        let wrapped = json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                             "Message": value.to_string()});
        not_retryable(envelope_from_body(Some(&wrapped.to_string())))?;
    }

    #[test]
    fn accepted_envelopes_have_safe_ids_and_render_in_both_languages(
        id in prop_oneof![".{0,40}", "[0-9a-f]{32}"],
        event_type in prop_oneof![".{0,20}", "media\\.[a-z]{1,8}"],
        subject in ".{0,60}",
        data in json_value(),
    ) {
        let body = envelope_json(id, event_type, subject, data).to_string();
        if let Ok(envelope) = envelope_from_body(Some(&body)) {
            prop_assert!(!envelope.id.is_empty() && envelope.id.len() <= 128);
            prop_assert!(!envelope.id.contains('/') && !envelope.id.contains(".."));
            prop_assert!(!envelope.subject.chars().any(char::is_control));
            for language in [Language::En, Language::Zh] {
                let n = render(&envelope, language, &shared::time::BusinessTimeZone::utc());
                prop_assert!(!n.title.is_empty());
                let subject = notifier::adapters::sns::subject(&n.title);
                prop_assert!(subject.chars().count() <= 99);
                prop_assert!(!subject.chars().any(char::is_control));
            }
        }
    }

    #[test]
    fn any_retry_after_header_is_bounded(value in prop_oneof![".{0,40}", any::<u64>().prop_map(|n| n.to_string())]) {
        if let Some(wait) = parse_retry_after(&value, time::OffsetDateTime::now_utc()) {
            prop_assert!(wait <= MAX_RETRY_AFTER);
        }
    }

    #[test]
    fn backoff_stays_under_its_cap_for_any_attempt_and_base(attempt in any::<u32>(), base_ms in any::<u32>(), cap_ms in 0u64..60_000) {
        let tuning = DeliveryTuning {
            backoff_base: Duration::from_millis(u64::from(base_ms)),
            max_backoff: Duration::from_millis(cap_ms),
            ..DeliveryTuning::default()
        };
        prop_assert!(backoff(&tuning, attempt) <= tuning.max_backoff);
    }

    #[test]
    fn the_rate_limit_never_grants_more_than_its_limit_in_a_window(limit in 0u32..40, window_s in 1u64..3600, sends in 1usize..60) {
        use notifier::ports::SendSlots;
        let t0 = time::macros::datetime!(2026-11-30 10:00:00 UTC);
        let limits = SharedRateLimit::new(
            shared::testkit::MemoryObjectStore::default(),
            shared::testkit::ManualClock::at(t0),
            Duration::from_secs(window_s),
        );
        let far = t0 + Duration::from_secs(window_s * 100);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let granted: Vec<_> = runtime.block_on(async {
            let mut out = Vec::new();
            for _ in 0..sends {
                out.push(limits.reserve("ops", limit, far).await.unwrap());
            }
            out
        }).into_iter().flatten().collect();
        prop_assert_eq!(granted.len(), sends, "a slot before a far deadline is always found");
        let per_window = limit.max(1) as usize;
        let mut counts = std::collections::HashMap::new();
        for slot in &granted {
            *counts.entry(slot.unix_timestamp() as u64 / window_s).or_insert(0usize) += 1;
        }
        prop_assert!(counts.values().all(|n| *n <= per_window), "{:?}", counts);
    }

    #[test]
    fn any_routing_document_is_valid_or_a_config_error(doc in json_value(), text in ".{0,80}") {
        let _ = Routing::parse(&doc.to_string());
        let _ = Routing::parse(&text);
    }

    #[test]
    fn routing_matches_wildcards_and_exact_types_for_any_type(event_type in "[a-z.*_-]{1,16}", severity in 0usize..3) {
        let exact = event_type.replace('*', "x");
        let routing = Routing::parse(&json!({
            "channels": {"all": {"kind": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:a"},
                         "one": {"kind": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:b"},
                         "pat": {"kind": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:c"}},
            "rules": [{"types": ["*"], "channels": ["all"]},
                      {"types": [exact.clone()], "channels": ["one"]},
                      {"types": [event_type.clone()], "channels": ["pat"]}]
        }).to_string()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let severity = ["info", "warning", "critical"][severity];
        let envelope = Envelope::from_value(envelope_json("e1".into(), exact, "s".into(), Value::Null)
            .as_object().map(|o| { let mut o = o.clone(); o.insert("severity".into(), json!(severity)); Value::Object(o) }).unwrap())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let names: Vec<&str> = routing.route(&envelope).iter().map(|c| c.name.as_str()).collect();
        prop_assert_eq!(names, vec!["all", "one", "pat"]);
    }

    /// Whatever key and reviewer an input names, its command is shown exactly (the input reads
    /// back the same, nothing leaves the shell quotes, no character the format reads, no
    /// control character) or, when too long, not at all.
    #[test]
    fn any_decision_input_is_shown_exactly_or_not_at_all(key in any::<String>(), reviewer in ".{0,40}") {
        let input = json!({"review": {"decision": "approved", "key": key, "reviewer": reviewer}});
        match Command::new("Approve with", "media-suite-prod-ai-processor", &input.to_string()) {
            Ok(command) => {
                for format in [CommandFormat::Text, CommandFormat::ChatMarkdown] {
                    let text = command.text(format);
                    prop_assert!(text.len() <= MAX_COMMAND_BYTES);
                    let payload = text
                        .strip_prefix("aws lambda invoke --function-name media-suite-prod-ai-processor --cli-binary-format raw-in-base64-out --payload '")
                        .and_then(|rest| rest.strip_suffix("' /dev/stdout"))
                        .ok_or_else(|| TestCaseError::fail(text.clone()))?;
                    let back: Value = serde_json::from_str(payload).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&back, &input);
                    prop_assert!(!payload.chars().any(|c| c.is_control() || "'`<>&".contains(c)), "{}", payload);
                    if format == CommandFormat::ChatMarkdown {
                        // Backslashes only start `\uXXXX`; `_` only between letters or digits.
                        prop_assert!(!payload.chars().any(|c| "*[]#@~|!".contains(c)), "{}", payload);
                        prop_assert!(payload.split('\\').skip(1).all(|rest| rest.starts_with('u')), "{}", payload);
                        let chars: Vec<char> = payload.chars().collect();
                        for (i, c) in chars.iter().enumerate() {
                            if *c == '_' {
                                prop_assert!(i > 0 && chars[i - 1].is_ascii_alphanumeric() && chars.get(i + 1).is_some_and(char::is_ascii_alphanumeric), "{}", payload);
                            }
                        }
                    }
                }
            }
            Err(CommandProblem::TooLong(bytes)) => prop_assert!(bytes > MAX_COMMAND_BYTES),
            Err(other) => prop_assert!(false, "{:?}", other),
        }
    }
}
