//! Property tests: whatever arrives, the parsers and the policy answer `Ok` or a typed error,
//! never a panic.

use ai_processor::analysis::AnalysisDocument;
use ai_processor::endpoint;
use ai_processor::inbound::{self, Inbound};
use ai_processor::model::{ModerationLabel, Verdict};
use ai_processor::policy::ModerationPolicy;
use ai_processor::routing::{self, Route};
use ai_processor::transcript;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Any JSON value, a few levels deep, with the field names the parsers look for mixed in.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        Just(json!("Notification")),
        Just(json!("aws:s3")),
        Just(json!("ObjectCreated:Put")),
    ];
    let names = prop_oneof![
        any::<String>(),
        Just("Records".to_string()),
        Just("s3".to_string()),
        Just("bucket".to_string()),
        Just("object".to_string()),
        Just("key".to_string()),
        Just("name".to_string()),
        Just("Type".to_string()),
        Just("TopicArn".to_string()),
        Just("Message".to_string()),
        Just("detail-type".to_string()),
        Just("detail".to_string()),
        Just("JobId".to_string()),
        Just("API".to_string()),
        Just("Video".to_string()),
        Just("eventVersion".to_string()),
        Just("review".to_string()),
        Just("requestContext".to_string()),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(names.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An S3 event body around an arbitrary record, object or key.
fn s3_event_around(record: Value) -> String {
    json!({ "Records": [record] }).to_string()
}

fn label() -> impl Strategy<Value = ModerationLabel> {
    let names = prop_oneof![
        any::<String>(),
        Just("Explicit".to_string()),
        Just("Violence".to_string()),
        Just("Graphic Violence".to_string()),
        Just("Alcohol".to_string()),
    ];
    (
        names.clone(),
        prop::option::of(names),
        any::<f32>(),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(name, parent, confidence, timestamp_ms)| ModerationLabel {
            name,
            parent,
            confidence,
            timestamp_ms,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_body_string_is_understood_or_malformed(body in any::<String>()) {
        let _ = inbound::parse(&body);
    }

    #[test]
    fn any_bytes_lossily_decoded_are_understood_or_malformed(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = inbound::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn any_json_value_is_understood_or_malformed(value in any_json()) {
        let _ = inbound::parse(&value.to_string());
        // The same value as an S3 record, as an SNS message and as a Rekognition completion.
        let _ = inbound::parse(&s3_event_around(value.clone()));
        let sns = json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": value.to_string()});
        let _ = inbound::parse(&sns.to_string());
        let eventbridge = json!({"version": "0", "id": "1", "detail-type": "Transcribe Job State Change",
            "source": "aws.transcribe", "account": "1", "time": "2026-11-25T12:00:00Z",
            "region": "us-east-1", "resources": [], "detail": value});
        let _ = inbound::parse(&eventbridge.to_string());
    }

    #[test]
    fn any_key_in_an_s3_record_gives_a_decoded_key_or_a_reason(raw in any::<String>(), bucket in any::<String>()) {
        let body = s3_event_around(json!({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": raw, "size": 1}}}));
        match inbound::parse(&body) {
            Ok(Inbound::S3Objects { created: objects, .. }) => {
                prop_assert_eq!(objects.len(), 1);
                prop_assert!(!objects[0].key.is_empty());
                prop_assert!(objects[0].key.len() <= inbound::MAX_KEY_BYTES);
            }
            Ok(other) => prop_assert!(false, "unexpected {:?}", other),
            Err(inbound::Malformed(reason)) => prop_assert!(reason.len() < 1024, "{}", reason.len()),
        }
    }

    #[test]
    fn decoding_a_form_encoded_key_gives_it_back(key in "[^%]{1,200}") {
        let encoded = urlencoding::encode(&key).replace("%20", "+");
        prop_assert_eq!(inbound::decode_key(&encoded), Ok(key));
    }

    #[test]
    fn any_key_and_content_type_route_somewhere(key in any::<String>(), content_type in prop::option::of(any::<String>())) {
        let route = routing::route(&key, content_type.as_deref());
        if key.split('/').any(|s| s == ".." || s == ".") || key.chars().any(char::is_control) {
            prop_assert!(matches!(route, Route::Skip(_)), "{:?}", route);
        }
    }

    #[test]
    fn any_labels_get_a_verdict_no_milder_than_any_flagged_label(labels in prop::collection::vec(label(), 0..8)) {
        let judgement = ModerationPolicy::default().judge(&labels);
        let strictest = judgement.flagged.iter().map(|f| f.verdict).max().unwrap_or(Verdict::Approved);
        prop_assert_eq!(judgement.verdict, strictest);
        prop_assert!(judgement.flagged.len() <= labels.len());
    }

    #[test]
    fn a_higher_confidence_never_gets_a_milder_verdict(name in "[A-Za-z ]{1,20}", low in 0.0f32..=100.0, extra in 0.0f32..=100.0) {
        let policy = ModerationPolicy::default();
        let at = |confidence: f32| policy.judge(&[ModerationLabel { name: name.clone(), parent: None, confidence, timestamp_ms: None }]).verdict;
        prop_assert!(at(low) <= at(low + extra));
    }

    #[test]
    fn any_threshold_overrides_are_accepted_or_refused(review in any::<f32>(), reject in prop::option::of(any::<f32>()), name in any::<String>()) {
        let overrides = json!({ name.clone(): {"review": review, "reject": reject} }).to_string();
        if let Ok(policy) = ModerationPolicy::with_overrides(&overrides) {
            prop_assert!((0.0..=100.0).contains(&review));
            let _ = policy.judge(&[ModerationLabel { name: "x".into(), parent: None, confidence: review, timestamp_ms: None }]);
        }
        let _ = ModerationPolicy::with_overrides(&name);
    }

    #[test]
    fn any_transcript_document_is_summarised_or_refused(value in any_json(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = transcript::summarise(value.to_string().as_bytes(), None);
        let _ = transcript::summarise(&bytes, Some("en-US"));
        let wrapped = json!({"results": {"transcripts": [{"transcript": value.to_string()}], "items": [value]}});
        let _ = transcript::summarise(wrapped.to_string().as_bytes(), None);
    }

    #[test]
    fn any_ocr_answer_is_read_within_the_contract_or_refused(
        value in any_json(),
        pages in any::<u32>(),
        lines in prop::collection::vec((any::<u32>(), any::<String>(), any::<f32>()), 0..6),
    ) {
        let _ = endpoint::extracted_text(value.to_string().as_bytes());
        let lines: Vec<Value> = lines
            .iter()
            .map(|(page, text, confidence)| json!({"page": page, "text": text, "confidence": confidence}))
            .collect();
        let answer = json!({"pages": pages, "lines": lines}).to_string();
        if let Ok(text) = endpoint::extracted_text(answer.as_bytes()) {
            prop_assert!(text.lines.iter().all(|l| (1..=text.pages).contains(&l.page)));
            prop_assert!(text.lines.iter().all(|l| (0.0..=100.0).contains(&l.confidence)));
        }
    }

    #[test]
    fn any_stored_document_is_read_or_refused(value in any_json(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = AnalysisDocument::from_json(value.to_string().as_bytes());
        let _ = AnalysisDocument::from_json(&bytes);
    }

    #[test]
    fn job_names_are_valid_transcribe_names(bucket in any::<String>(), key in any::<String>(), etag in any::<String>()) {
        let name = transcript::job_name(transcript::JOB_NAME_PREFIX, &bucket, &key, &etag);
        prop_assert!(!name.is_empty() && name.len() <= 200);
        prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')), "{}", name);
    }

    #[test]
    fn any_decision_input_is_checked_or_refused_with_a_reason(
        value in any_json(),
        key in any::<String>(),
        decision in any::<String>(),
        reviewer in prop::option::of(any::<String>()),
        reason in prop::option::of(any::<String>()),
    ) {
        let _ = inbound::review_invocation(&json!({"review": value}));
        let _ = inbound::review_invocation(&json!({"requestContext": {"http": {}}, "body": value.to_string()}));
        let input = ai_processor::review::DecisionInput {
            bucket: "media".into(), key, version_id: None, etag: None, decision, reviewer, reason,
        };
        match input.check("media", None) {
            Ok(checked) => {
                prop_assert!(checked.reviewer.chars().count() <= 128 && !checked.reviewer.chars().any(char::is_control));
                prop_assert!(checked.reason.is_none_or(|r| r.chars().count() <= 1000));
            }
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
    }
}
