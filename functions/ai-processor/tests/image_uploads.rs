//! Image uploads end to end against moto: S3 notification -> SQS -> handler -> analysis
//! document, verdict tags, domain events. Rekognition's moderation is answered through
//! `aws-smithy-mocks` because moto lacks DetectModerationLabels.

mod common;

use aws_sdk_rekognition::operation::detect_labels::DetectLabelsOutput;
use aws_sdk_rekognition::operation::detect_moderation_labels::DetectModerationLabelsOutput;
use aws_sdk_rekognition::types::{Label, ModerationLabel, Parent};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::*;
use shared::events::{types, Severity};

fn swimwear_on_a_beach() -> (Rule, Rule) {
    let moderation = mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
        .match_requests(|r| {
            r.image()
                .and_then(|i| i.s3_object())
                .is_some_and(|o| o.name().is_some() && o.bucket().is_some())
        })
        .then_output(|| {
            DetectModerationLabelsOutput::builder()
                .moderation_labels(
                    ModerationLabel::builder()
                        .name("Swimwear or Underwear")
                        .confidence(92.5)
                        .taxonomy_level(1)
                        .build(),
                )
                .moderation_model_version("7.0")
                .build()
        });
    let labels = mock!(aws_sdk_rekognition::Client::detect_labels).then_output(|| {
        DetectLabelsOutput::builder()
            .labels(
                Label::builder()
                    .name("Beach")
                    .confidence(97.0)
                    .parents(Parent::builder().name("Outdoors").build())
                    .build(),
            )
            .labels(Label::builder().name("Outdoors").confidence(97.0).build())
            .build()
    });
    (moderation, labels)
}

#[tokio::test]
async fn image_upload_through_moto_notification_is_moderated_tagged_and_announced_with_rekognition_via_sdk_mock_because_moto_lacks_moderation(
) {
    let stack = Stack::new().await;
    let ingest_queue = stack.notify_uploads_to_queue().await;
    let key = "covers/my cat/猫 photo+1.jpg";
    stack
        .s3
        .put_object()
        .bucket(&stack.media_bucket)
        .key(key)
        .content_type("image/jpeg")
        .tagging("owner=user-42")
        .body(b"jpeg bytes".to_vec().into())
        .send()
        .await
        .expect("upload");

    // moto really sends the notification (plus the s3:TestEvent of the configuration).
    let received = shared::testkit::receive_all(&stack.sqs, &ingest_queue, 2).await;
    assert!(
        received
            .iter()
            .any(|m| m.body().unwrap_or_default().contains("ObjectCreated")),
        "no S3 notification arrived: {received:?}"
    );

    let (moderation, labels) = swimwear_on_a_beach();
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        [&moderation, &labels]
    );
    let function = stack.with(&[], rekognition_backend(rekognition), stack.transcribe());
    let response = ai_processor::handler(lambda_event(sqs_event_from(&received)), &function)
        .await
        .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let doc = stack
        .document(key)
        .await
        .expect("analysis document written");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["source"]["bucket"], stack.media_bucket.as_str());
    assert_eq!(doc["source"]["key"], key);
    assert_eq!(doc["source"]["size"], 10);
    assert_eq!(doc["source"]["content_type"], "image/jpeg");
    assert_eq!(doc["kind"], "image");
    assert_eq!(doc["backend"], "rekognition");
    assert_eq!(doc["verdict"], "review");
    assert_eq!(doc["labels"][0]["name"], "Beach");
    assert_eq!(doc["labels"][0]["parent"], "Outdoors");
    assert_eq!(doc["moderation_labels"][0]["name"], "Swimwear or Underwear");
    assert_eq!(doc["flagged"][0]["category"], "Swimwear or Underwear");
    assert_eq!(doc["transcript"]["state"], "not_applicable");
    assert!(doc["timings"]["moderation_ms"].is_u64());

    assert_eq!(
        stack.tags(key).await,
        vec![
            ("moderation-backend".into(), "rekognition".into()),
            ("moderation-verdict".into(), "review".into()),
            ("owner".into(), "user-42".into()),
        ]
    );

    let events = stack.published().await;
    let analyzed = of_type(&events, types::MEDIA_ANALYZED);
    let flagged = of_type(&events, types::MEDIA_FLAGGED);
    assert_eq!(
        (analyzed.len(), flagged.len(), events.len()),
        (1, 1, 2),
        "{events:?}"
    );
    let subject = format!("s3://{}/{key}", stack.media_bucket);
    assert_eq!(analyzed[0].subject, subject);
    assert_eq!(analyzed[0].source, "ai-processor");
    assert_eq!(analyzed[0].data["verdict"], "review");
    // The fields stats-aggregator aggregates by (its README, "What is read").
    assert_eq!(analyzed[0].data["size_bytes"], 10);
    assert_eq!(
        analyzed[0].data["prefix"],
        key.split('/').next().unwrap().to_owned() + "/"
    );
    assert!(
        analyzed[0].data["latency_ms"].is_u64(),
        "{:?}",
        analyzed[0].data
    );
    assert_eq!(
        analyzed[0].data["labels"][0]["category"],
        "Swimwear or Underwear"
    );
    assert_eq!(flagged[0].severity, Severity::Warning);
    assert_eq!(
        flagged[0].data["labels"][0]["name"],
        "Swimwear or Underwear"
    );

    // The same S3 event delivered twice more: no second analysis, no second event.
    for _ in 0..2 {
        let again = ai_processor::handler(lambda_event(sqs_event_from(&received)), &function)
            .await
            .expect("handler");
        assert!(again.batch_item_failures.is_empty());
    }
    assert_eq!(moderation.num_calls(), 1, "Rekognition was called again");
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn one_upload_delivered_three_times_in_one_batch_publishes_once_via_sdk_mock_because_moto_lacks_moderation(
) {
    let stack = Stack::new().await;
    let key = "avatars/user-7/portrait.png";
    let etag = stack.put(key, b"png bytes", Some("image/png")).await;
    let body = stack.upload_event(key, &etag, 9);
    let batch = sqs_event(vec![
        message("copy-1", &body),
        message("copy-2", &body),
        message("copy-3", &body),
    ]);
    let (moderation, labels) = swimwear_on_a_beach();
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        [&moderation, &labels]
    );
    let function = stack.with(&[], rekognition_backend(rekognition), stack.transcribe());

    let response = ai_processor::handler(lambda_event(batch), &function)
        .await
        .expect("handler");
    // Copies that found the upload being analysed by another copy are given back to SQS.
    let retried = failed_ids(&response);
    assert!(retried.len() <= 2, "{retried:?}");
    let redelivery = sqs_event(retried.iter().map(|id| message(id, &body)).collect());
    let response = ai_processor::handler(lambda_event(redelivery), &function)
        .await
        .expect("handler");
    assert!(response.batch_item_failures.is_empty());

    let events = stack.published().await;
    assert_eq!(
        of_type(&events, types::MEDIA_ANALYZED).len(),
        1,
        "{events:?}"
    );
    assert_eq!(
        of_type(&events, types::MEDIA_FLAGGED).len(),
        1,
        "{events:?}"
    );
    assert_eq!(moderation.num_calls(), 1);
}

#[tokio::test]
async fn upload_that_is_not_media_is_a_counted_skip_tagged_skipped_and_announced_unless_the_operator_silences_it(
) {
    let stack = Stack::new().await;
    let key = "covers/terms and conditions.pdf";
    let etag = stack.put(key, b"%PDF-1.7", Some("application/pdf")).await;
    let body = stack.upload_event(key, &etag, 8);

    // EMIT_SKIP_EVENTS=false: logged, counted and tagged, no event. No AI service is called
    // (the live wiring points Rekognition at moto, which would fail the record).
    let quiet = stack.live(&[("EMIT_SKIP_EVENTS", "false")]);
    let response =
        ai_processor::handler(lambda_event(sqs_event(vec![message("m1", &body)])), &quiet)
            .await
            .expect("handler");
    assert!(response.batch_item_failures.is_empty());
    assert!(stack.document(key).await.is_none());
    assert!(stack.published().await.is_empty());
    let skipped_tags: Vec<(String, String)> = vec![
        ("moderation-skip-reason".into(), "not-media".into()),
        ("moderation-verdict".into(), "skipped".into()),
    ];
    assert_eq!(stack.tags(key).await, skipped_tags);

    // Default: one media.skipped, even when delivered twice (a new object version of the
    // same bytes would be a new skip; this is the same one).
    let loud = stack.live(&[]);
    let etag = stack
        .put(key, b"%PDF-1.7 v2", Some("application/pdf"))
        .await;
    let body = stack.upload_event(key, &etag, 11);
    for id in ["m2", "m3"] {
        let response =
            ai_processor::handler(lambda_event(sqs_event(vec![message(id, &body)])), &loud)
                .await
                .expect("handler");
        assert!(response.batch_item_failures.is_empty());
    }
    let events = stack.published().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, types::MEDIA_SKIPPED);
    assert!(
        events[0].data["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("application/pdf"),
        "{:?}",
        events[0].data
    );
    assert_eq!(stack.tags(key).await, skipped_tags);
}

#[tokio::test]
async fn upload_replaced_before_analysis_is_left_to_the_newer_uploads_event() {
    let stack = Stack::new().await;
    let key = "covers/replaced.jpg";
    let old_etag = stack.put(key, b"first version", Some("image/jpeg")).await;
    let _new_etag = stack.put(key, b"second version", Some("image/jpeg")).await;
    let stale = stack.upload_event(key, &old_etag, 13);
    // Rekognition is never reached: the live client would fail against moto.
    let function = stack.live(&[]);
    let response = ai_processor::handler(
        lambda_event(sqs_event(vec![message("old", &stale)])),
        &function,
    )
    .await
    .expect("handler");
    assert!(response.batch_item_failures.is_empty());
    assert!(stack.document(key).await.is_none());
    assert!(stack.published().await.is_empty());
}
