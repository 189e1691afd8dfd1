//! Fault injection: a batch of uploads goes through a real moto queue with a redrive policy
//! (maxReceiveCount 3, visibility timeout 1 s) while Rekognition fails part-way. The test plays
//! the Lambda event source mapping: receive, call the handler, delete what it did not list,
//! repeat until the queue is empty. Rekognition's image moderation is answered through
//! `aws-smithy-mocks` because moto lacks it; its throttling and 5xx are the injected faults.
//! S3 (uploads, documents, tags, idempotency markers), SNS and SQS are moto.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_rekognition::operation::detect_labels::DetectLabelsOutput;
use aws_sdk_rekognition::operation::detect_moderation_labels::{
    DetectModerationLabelsInput, DetectModerationLabelsOutput,
};
use aws_sdk_rekognition::types::ModerationLabel;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::*;
use shared::events::types;

const MAX_RECEIVE_COUNT: u32 = 3;
/// The mock picks a rule once per operation and answers every SDK retry attempt of it the same
/// way, so a flaky key fails its first delivery (after the SDK's 3 attempts), then succeeds.
const FAILING_DELIVERIES_OF_FLAKY_KEYS: usize = 1;
/// Attempts per call of the deployed retry policy (`deployed_retries`).
const SDK_ATTEMPTS: usize = 3;

fn image_key(r: &DetectModerationLabelsInput) -> String {
    r.image()
        .and_then(|i| i.s3_object())
        .and_then(|o| o.name())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn rekognition_throttling_and_5xx_part_way_through_a_batch_lose_nothing_and_duplicate_nothing_via_sdk_mock_because_moto_lacks_moderation(
) {
    let stack = Stack::new().await;
    let (dlq_url, dlq_arn) = shared::testkit::create_queue(&stack.sqs, "aip-fault-dlq").await;
    let (queue_url, _) = shared::testkit::create_queue(&stack.sqs, "aip-fault-ingest").await;
    stack
        .sqs
        .set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT.to_string()}).to_string(),
        )
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .send()
        .await
        .expect("redrive policy");

    // 6 uploads that go through, 3 whose first delivery meets 5xx, 2 always throttled, and
    // one body that is not JSON.
    let mut uploads: Vec<String> = (0..6).map(|i| format!("covers/ok-{i}.jpg")).collect();
    uploads.extend((0..3).map(|i| format!("covers/flaky-{i}.jpg")));
    uploads.extend((0..2).map(|i| format!("covers/throttled-{i}.jpg")));
    let mut bodies: Vec<(String, String)> = Vec::new();
    for key in &uploads {
        let etag = stack.put(key, b"jpg bytes", Some("image/jpeg")).await;
        bodies.push((key.clone(), stack.upload_event(key, &etag, 9)));
    }
    bodies.push((
        "poison".into(),
        r#"{"Records": [{"eventSource": "aws:s3", "s3": {"#.into(),
    ));
    let sent = bodies.len();
    for (_, body) in &bodies {
        stack
            .sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }

    let throttled_always = mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
        .match_requests(|r| image_key(r).contains("throttled"))
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .repeatedly()
        .build();
    let attempts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let attempts_seen = attempts.clone();
    let service_unavailable_first_delivery =
        mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
            .match_requests(move |r| {
                let key = image_key(r);
                if !key.contains("flaky") {
                    return false;
                }
                let mut seen = attempts_seen.lock().expect("lock");
                let n = seen.entry(key).or_default();
                *n += 1;
                *n <= FAILING_DELIVERIES_OF_FLAKY_KEYS
            })
            .sequence()
            .http_status(
                503,
                Some(r#"{"__type":"ServiceUnavailableException","message":"try later"}"#.into()),
            )
            .repeatedly()
            .build();
    let moderated: Arc<Mutex<Vec<String>>> = Arc::default();
    let moderated_log = moderated.clone();
    let answers = mock!(aws_sdk_rekognition::Client::detect_moderation_labels).then_compute_output(
        move |r| {
            moderated_log.lock().expect("lock").push(image_key(r));
            DetectModerationLabelsOutput::builder()
                .moderation_labels(
                    ModerationLabel::builder()
                        .name("Violence")
                        .confidence(65.0)
                        .build(),
                )
                .build()
        },
    );
    let labels = mock!(aws_sdk_rekognition::Client::detect_labels)
        .then_output(|| DetectLabelsOutput::builder().build());
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        [
            &throttled_always,
            &service_unavailable_first_delivery,
            &answers,
            &labels
        ],
        |c| c.retry_config(deployed_retries())
    );
    // No DEAD_LETTER_QUEUE_URL: poison and exhausted messages reach the DLQ by the redrive
    // policy, after maxReceiveCount deliveries.
    let function = stack.with(&[], rekognition_backend(rekognition), stack.transcribe());

    // The event source mapping: receive, invoke, delete the records not listed as failed.
    let mut deliveries: BTreeMap<String, u32> = BTreeMap::new();
    let mut deleted = 0;
    let mut empty_receives = 0;
    for _ in 0..40 {
        let received = stack
            .sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            empty_receives += 1;
            // Two empty looks in a row (longer than the visibility timeout): nothing in flight.
            if empty_receives >= 2 {
                break;
            }
            continue;
        }
        empty_receives = 0;
        for m in &received {
            let name = bodies
                .iter()
                .find(|(_, b)| Some(b.as_str()) == m.body())
                .map(|(n, _)| n.clone())
                .expect("a message the test sent");
            *deliveries.entry(name).or_default() += 1;
        }
        let response = ai_processor::handler(lambda_event(sqs_event_from(&received)), &function)
            .await
            .expect("handler");
        let failed: BTreeSet<String> = failed_ids(&response).into_iter().collect();
        for m in &received {
            if !failed.contains(m.message_id().unwrap_or_default()) {
                stack
                    .sqs
                    .delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
                deleted += 1;
            }
        }
    }

    // Effects, counted where a user would see them.
    let dead: Vec<String> = shared::testkit::receive_all(&stack.sqs, &dlq_url, sent)
        .await
        .iter()
        .filter_map(|m| {
            bodies
                .iter()
                .find(|(_, b)| Some(b.as_str()) == m.body())
                .map(|(n, _)| n.clone())
        })
        .collect();
    let events = stack.published().await;
    let mut event_counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in &events {
        *event_counts
            .entry((e.event_type.clone(), e.subject.clone()))
            .or_default() += 1;
    }
    let moderated = moderated.lock().expect("lock").clone();
    let mut processed_once = 0;
    let mut duplicated = 0;
    for key in &uploads {
        let subject = format!("s3://{}/{key}", stack.media_bucket);
        let analyzed = event_counts
            .get(&(types::MEDIA_ANALYZED.to_string(), subject.clone()))
            .copied()
            .unwrap_or(0);
        let flagged = event_counts
            .get(&(types::MEDIA_FLAGGED.to_string(), subject))
            .copied()
            .unwrap_or(0);
        let analyses = moderated.iter().filter(|k| *k == key).count();
        let document = stack.document(key).await;
        let tagged = stack
            .tags(key)
            .await
            .contains(&("moderation-verdict".into(), "review".into()));
        duplicated +=
            analyzed.saturating_sub(1) + flagged.saturating_sub(1) + analyses.saturating_sub(1);
        if analyzed == 1 && flagged == 1 && analyses == 1 && document.is_some() && tagged {
            processed_once += 1;
        } else {
            assert!(
                analyzed == 0 && flagged == 0 && document.is_none() && !tagged,
                "{key}: partial effects ({analyzed} analyzed, {flagged} flagged, document {}, tagged {tagged})",
                document.is_some()
            );
        }
    }
    let in_dlq = dead.len();
    let lost = sent - processed_once - in_dlq;
    println!("{sent} sent, {processed_once} processed once, {in_dlq} in DLQ, {lost} lost, {duplicated} duplicated effects");

    assert_eq!(lost, 0, "deliveries {deliveries:?}, dead {dead:?}");
    assert_eq!(duplicated, 0, "{events:?}");
    assert_eq!(
        events.len(),
        2 * processed_once,
        "no other event: {events:?}"
    );
    assert_eq!((processed_once, in_dlq), (9, 3));
    assert_eq!(
        deleted, processed_once,
        "every processed message deleted once"
    );
    let mut dead_sorted = dead.clone();
    dead_sorted.sort();
    assert_eq!(
        dead_sorted,
        vec!["covers/throttled-0.jpg", "covers/throttled-1.jpg", "poison"]
    );
    for name in &dead {
        assert_eq!(deliveries[name], MAX_RECEIVE_COUNT, "{name}");
    }
    for key in uploads.iter().filter(|k| k.contains("flaky")) {
        assert_eq!(deliveries[key], 2, "{key}: failed once, then processed");
    }
    for key in uploads.iter().filter(|k| k.contains("ok-")) {
        assert_eq!(deliveries[key], 1, "{key}");
    }
    // Every delivery of a failing key made the deployed SDK's 3 attempts.
    assert_eq!(
        throttled_always.num_calls(),
        2 * MAX_RECEIVE_COUNT as usize * SDK_ATTEMPTS
    );
    assert_eq!(
        service_unavailable_first_delivery.num_calls(),
        3 * FAILING_DELIVERIES_OF_FLAKY_KEYS * SDK_ATTEMPTS
    );
}
