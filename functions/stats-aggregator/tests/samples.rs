//! Every sample in `events/stats-aggregator/` and `events/invalid/stats-aggregator/` goes
//! through the handler against the local AWS, in the order a day would bring them.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;
use shared::testkit;

const VALID_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/stats-aggregator");
const INVALID_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../events/invalid/stats-aggregator"
);

fn sample(dir: &str, name: &str) -> Value {
    let path = format!("{dir}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn names_in(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[tokio::test]
async fn every_valid_sample_is_handled() {
    let valid = [
        "sqs-raw-delivery.json",
        "sqs-sns-wrapped.json",
        "scheduled-hourly.json",
        "scheduled-daily.json",
        "backfill-hourly.json",
        "backfill-daily.json",
    ];
    assert_eq!(
        names_in(VALID_DIR),
        valid.iter().map(|s| s.to_string()).collect()
    );
    let stack = stack(60).await;
    let run = |name: &'static str| {
        let app = &stack.app;
        async move {
            app.handle(sample(VALID_DIR, name))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        }
    };

    let response = run("sqs-raw-delivery.json").await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert_eq!(keys(&stack, "stats/raw/2026/11/24/12/").await.len(), 1);
    assert_eq!(keys(&stack, "stats/raw/2026/11/24/13/").await.len(), 1);
    let response = run("sqs-sns-wrapped.json").await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert_eq!(keys(&stack, "stats/raw/2026/11/24/13/").await.len(), 2);

    let report = run("scheduled-hourly.json").await;
    assert_eq!(report["periods"][1]["period"], "2026-11-24T13");
    assert_eq!(report["periods"][1]["events"], 4);
    let hour = json_object(&stack, "stats/hourly/2026/11/24/13.json").await;
    assert_eq!(hour["uploads"]["by_outcome"]["failed"], 1);
    assert_eq!(hour["verdicts"]["by_verdict"]["review"], 1);
    assert_eq!(
        hour["transcription"]["by_language"]["zh-CN"]["duration_ms"],
        1_834_600
    );

    let report = run("scheduled-daily.json").await;
    assert_eq!(report["periods"][0]["events"], 5);
    let digest_id = report["digest_event_id"].clone();
    assert!(digest_id.is_string());
    let report = run("backfill-hourly.json").await;
    assert_eq!(
        (
            report["backfill"].clone(),
            report["periods"][0]["events"].clone()
        ),
        (true.into(), 4.into())
    );
    let report = run("backfill-daily.json").await;
    assert_eq!(report["digest_event_id"], digest_id);
    let daily = json_object(&stack, "stats/daily/2026/11/24.json").await;
    assert_eq!(daily["cost"]["alerts_by_budget"]["monthly"], 1);
    assert_eq!(daily["hours_with_data"], 2);
}

/// What the handler must do with an invalid input.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The Lambda runtime cannot read it as JSON; it never reaches the handler.
    NotJson,
    /// The invocation fails with this `errorType` and a message containing the text.
    Refused(&'static str, &'static str),
    /// Every record is moved to the dead-letter queue with a reason containing the text, and
    /// none is reported for redelivery (no retry loop).
    DeadLettered(&'static str),
}

fn invalid_expectations() -> Vec<(&'static str, Expect)> {
    use Expect::*;
    const SCHEDULE: &str = "StatsAggregator.InvalidSchedule";
    const MALFORMED: &str = "StatsAggregator.MalformedEvent";
    const UNRECOGNISED: &str = "StatsAggregator.UnrecognisedEvent";
    vec![
        (
            "backfill-bad-period.json",
            Refused(SCHEDULE, "the month must be 01 to 12"),
        ),
        (
            "backfill-period-control-characters.json",
            Refused(SCHEDULE, "is not a period"),
        ),
        (
            "backfill-period-not-ended.json",
            Refused(SCHEDULE, "has not ended yet"),
        ),
        (
            "backfill-period-path-traversal.json",
            Refused(SCHEDULE, "is not a period"),
        ),
        (
            "backfill-rollup-wrong-type.json",
            Refused(SCHEDULE, "detail.rollup must be"),
        ),
        (
            "not-an-event.json",
            Refused(UNRECOGNISED, "unrecognised event"),
        ),
        (
            "payload-json-array.json",
            Refused(UNRECOGNISED, "unrecognised event"),
        ),
        (
            "payload-json-null.json",
            Refused(UNRECOGNISED, "unrecognised event"),
        ),
        ("payload-non-utf8-bytes.json", NotJson),
        ("payload-truncated-json.json", NotJson),
        (
            "s3-notification-sent-here.json",
            Refused(MALFORMED, "eventSource \"aws:s3\""),
        ),
        (
            "scheduled-detail-type-wrong-type.json",
            Refused(MALFORMED, "malformed scheduled event"),
        ),
        (
            "scheduled-forged-source.json",
            Refused(SCHEDULE, "not a scheduled event"),
        ),
        (
            "scheduled-rule-without-kind.json",
            Refused(SCHEDULE, "cannot tell which rollup to run"),
        ),
        (
            "scheduled-unknown-envelope-version.json",
            Refused(SCHEDULE, "version \"1\" is not supported"),
        ),
        ("sqs-body-empty.json", DeadLettered("the body is not JSON")),
        (
            "sqs-body-json-array.json",
            DeadLettered("missing field `version`"),
        ),
        (
            "sqs-body-lone-surrogate-escape.json",
            DeadLettered("the body is not JSON"),
        ),
        (
            "sqs-body-truncated-json.json",
            DeadLettered("the body is not JSON"),
        ),
        (
            "sqs-data-nested-beyond-recursion-limit.json",
            DeadLettered("recursion limit"),
        ),
        (
            "sqs-envelope-id-percent-encoded-non-utf8.json",
            DeadLettered("is not an id"),
        ),
        (
            "sqs-envelope-id-with-dot-dot-slash.json",
            DeadLettered("is not an id"),
        ),
        (
            "sqs-envelope-id-wrong-type.json",
            DeadLettered("invalid type: integer `42`"),
        ),
        (
            "sqs-envelope-subject-with-control-characters.json",
            DeadLettered("`subject` contains control characters"),
        ),
        (
            "sqs-envelope-time-wrong-type.json",
            DeadLettered("not a domain event envelope"),
        ),
        (
            "sqs-envelope-type-with-control-characters.json",
            DeadLettered("`type` contains control characters"),
        ),
        (
            "sqs-envelope-unknown-severity.json",
            DeadLettered("unknown variant `apocalyptic`"),
        ),
        (
            "sqs-envelope-unsupported-version.json",
            DeadLettered("envelope version 7 is not supported"),
        ),
        (
            "sqs-envelope-version-as-string.json",
            DeadLettered("`version` is not an integer"),
        ),
        (
            "sqs-envelope-without-version.json",
            DeadLettered("missing field `version`"),
        ),
        ("sqs-malformed-records.json", DeadLettered("")),
        (
            "sqs-record-message-id-wrong-type.json",
            Refused(MALFORMED, "malformed SQS event"),
        ),
        (
            "sqs-record-without-body.json",
            DeadLettered("the record has no body"),
        ),
        (
            "sqs-records-not-an-array.json",
            Refused(MALFORMED, "malformed SQS event"),
        ),
        (
            "sqs-s3-event-for-foreign-bucket.json",
            DeadLettered("missing field `version`"),
        ),
        (
            "sqs-s3-test-event.json",
            DeadLettered("missing field `version`"),
        ),
        (
            "sqs-sns-forged-type-subscription-confirmation.json",
            DeadLettered("Type \"SubscriptionConfirmation\", not a \"Notification\""),
        ),
        (
            "sqs-sns-notification-message-not-json.json",
            DeadLettered("the SNS notification's Message is not an envelope"),
        ),
        (
            "sqs-sns-notification-unsupported-version.json",
            DeadLettered("envelope version 2 is not supported"),
        ),
        (
            "sqs-sns-notification-without-message.json",
            DeadLettered("no string `Message`"),
        ),
    ]
}

/// A message a user can read: short, one line.
fn assert_clear(name: &str, message: &str) {
    assert!(
        message.len() < 400,
        "{name}: {} bytes: {message}",
        message.len()
    );
    assert!(
        !message.chars().any(char::is_control),
        "{name}: {message:?}"
    );
}

/// Each file goes the way Lambda takes it: bytes to JSON (what is not JSON never reaches the
/// handler), then the real handler against the local AWS with an early dead-letter queue.
#[tokio::test]
async fn every_invalid_sample_is_refused_with_a_clear_reason_or_dead_lettered() {
    let expectations = invalid_expectations();
    assert_eq!(
        names_in(INVALID_DIR),
        expectations.iter().map(|(n, _)| n.to_string()).collect(),
        "every file in events/invalid/stats-aggregator has an expectation here"
    );
    assert!(expectations.len() >= 20);
    let stack = stack(60).await;
    let (mut not_json, mut refused, mut dead_lettered) = (0, 0, 0);
    for (name, expect) in expectations {
        let bytes = std::fs::read(format!("{INVALID_DIR}/{name}")).expect(name);
        let payload: Value = match (serde_json::from_slice(&bytes), expect) {
            (Err(_), Expect::NotJson) => {
                not_json += 1;
                continue;
            }
            (Ok(payload), Expect::NotJson) => panic!("{name} is JSON: {payload}"),
            (Err(e), _) => panic!("{name} is not JSON: {e}"),
            (Ok(payload), _) => payload,
        };
        match expect {
            Expect::NotJson => unreachable!(),
            Expect::Refused(kind, reason) => {
                let err = stack.app.handle(payload).await.expect_err(name);
                let diagnostic = lambda_runtime::Diagnostic::from(err);
                assert_eq!(
                    diagnostic.error_type, kind,
                    "{name}: {}",
                    diagnostic.error_message
                );
                assert!(
                    diagnostic.error_message.contains(reason),
                    "{name}: {}",
                    diagnostic.error_message
                );
                assert_clear(name, &diagnostic.error_message);
                refused += 1;
            }
            Expect::DeadLettered(reason) => {
                let records = payload["Records"].as_array().expect("records").len();
                let response = stack
                    .app
                    .handle(payload)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    failed_ids(&response),
                    Vec::<String>::new(),
                    "{name}: not for redelivery"
                );
                let dead =
                    testkit::receive_all(&stack.sqs, &stack.dead_letter_queue_url, records).await;
                assert_eq!(dead.len(), records, "{name}");
                for message in &dead {
                    let why = message
                        .message_attributes()
                        .and_then(|a| a.get("failure_reason"))
                        .and_then(|v| v.string_value())
                        .unwrap_or_default();
                    assert!(why.contains(reason), "{name}: {why}");
                    assert_clear(name, why);
                    stack
                        .sqs
                        .delete_message()
                        .queue_url(&stack.dead_letter_queue_url)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .expect("delete");
                }
                dead_lettered += 1;
            }
        }
    }
    println!(
        "invalid inputs: {not_json} not JSON, {refused} refused, {dead_lettered} dead-lettered"
    );
    assert!(keys(&stack, "stats/raw/").await.is_empty());
    assert!(keys(&stack, "stats/hourly/").await.is_empty());
}

/// Generated rather than committed: 250 KB bodies (SQS allows 256 KB) and a 250 KB field in
/// a scheduled event.
#[tokio::test]
async fn huge_inputs_are_stored_dead_lettered_or_refused_with_a_short_message() {
    let stack = stack(60).await;
    let big_data = serde_json::json!({"kind": "video", "note": "x".repeat(250_000)});
    let big_valid = envelope("big-1", "media.analyzed", "2026-11-24T13:00:00Z", big_data);
    let big_broken = big_valid[..big_valid.len() - 10].to_string();
    let big_type = envelope(
        &"e".repeat(250_000),
        "media.analyzed",
        "2026-11-24T13:00:00Z",
        serde_json::json!({}),
    );
    let response = stack
        .app
        .handle(sqs_event(&[
            ("big-valid", big_valid),
            ("big-broken", big_broken),
            ("big-id", big_type),
        ]))
        .await
        .expect("a batch response");
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    let dead = testkit::receive_all(&stack.sqs, &stack.dead_letter_queue_url, 2).await;
    assert_eq!(dead.len(), 2);
    for message in &dead {
        let why = message
            .message_attributes()
            .and_then(|a| a.get("failure_reason"))
            .and_then(|v| v.string_value())
            .unwrap_or_default();
        assert_clear("huge", why);
    }
    assert_eq!(keys(&stack, "stats/raw/2026/11/24/13/").await.len(), 1);

    let err = stack
        .app
        .handle(scheduled_event(
            "media-suite-test-stats-hourly",
            "2026-11-24T14:00:00Z",
            serde_json::json!({"rollup": "y".repeat(250_000)}),
        ))
        .await
        .expect_err("a 250 KB rollup name");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "StatsAggregator.InvalidSchedule");
    assert_clear("huge rollup", &diagnostic.error_message);
}
