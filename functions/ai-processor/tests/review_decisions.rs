//! Review decisions against moto: a versioned media bucket (as deployed), an image sent to
//! review by its moderation (Rekognition answered through `aws-smithy-mocks` because moto
//! lacks DetectModerationLabels), then decisions invoked directly and through the function
//! URL's event shape: the document's audit trail, the version's tags, `media.reviewed` on a
//! queue subscribed to the topic, and the presigned link fetched from moto.

mod common;

use ai_processor::processor::Processor;
use ai_processor::Aws;
use aws_sdk_rekognition::operation::detect_labels::DetectLabelsOutput;
use aws_sdk_rekognition::operation::detect_moderation_labels::DetectModerationLabelsOutput;
use aws_sdk_rekognition::types::ModerationLabel;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::*;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use shared::events::contracts::media::{MediaFlagged, ReviewAid};
use shared::events::contracts::review::MediaReviewed;
use shared::events::types;

/// The version id the samples name; tests put the real one in its place.
const SAMPLE_VERSION: &str = "Zl1bYc0pK8Fq3hBv6mW2xTnR9uE4sJ7d";
const SAMPLE_KEY: &str = "covers/summer sale/swimwear.jpg";

type Moderated = Processor<
    Aws<
        ai_processor::adapters::rekognition::RekognitionModeration,
        ai_processor::adapters::transcribe::TranscribeJobs,
    >,
>;

/// A stack whose media bucket keeps versions, and the function with a moderation that sends
/// every image to review (Suggestive at 75%).
async fn setup() -> (Stack, Moderated) {
    let stack = Stack::new().await;
    stack
        .s3
        .put_bucket_versioning()
        .bucket(&stack.media_bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    let moderation =
        mock!(aws_sdk_rekognition::Client::detect_moderation_labels).then_output(|| {
            DetectModerationLabelsOutput::builder()
                .moderation_labels(
                    ModerationLabel::builder()
                        .name("Suggestive")
                        .parent_name("")
                        .confidence(75.0)
                        .build(),
                )
                .build()
        });
    let labels = mock!(aws_sdk_rekognition::Client::detect_labels)
        .then_output(|| DetectLabelsOutput::builder().build());
    let rekognition = mock_client!(
        aws_sdk_rekognition,
        RuleMode::MatchAny,
        [&moderation, &labels]
    );
    let function = stack.with(&[], rekognition_backend(rekognition), stack.transcribe());
    (stack, function)
}

/// Uploads `key` (tagged by its owner), delivers its S3 event; returns the version id.
async fn upload(stack: &Stack, function: &Moderated, key: &str, body: &[u8]) -> String {
    let out = stack
        .s3
        .put_object()
        .bucket(&stack.media_bucket)
        .key(key)
        .content_type("image/jpeg")
        .tagging("owner=user-42")
        .body(body.to_vec().into())
        .send()
        .await
        .expect("upload");
    let version = out.version_id().expect("a versioned bucket").to_string();
    let etag = out
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let mut event: Value =
        serde_json::from_str(&stack.upload_event(key, &etag, body.len())).unwrap();
    event["Records"][0]["s3"]["object"]["versionId"] = json!(version);
    deliver_copies(function, &event.to_string(), 1).await;
    version
}

async fn version_tags(stack: &Stack, key: &str, version: &str) -> Vec<(String, String)> {
    let out = stack
        .s3
        .get_object_tagging()
        .bucket(&stack.media_bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .expect("tags");
    let mut tags: Vec<(String, String)> = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    tags
}

fn verdict_tag(tags: &[(String, String)]) -> Option<&str> {
    tags.iter()
        .find(|(k, _)| k == "moderation-verdict")
        .map(|(_, v)| v.as_str())
}

/// A direct invocation with `payload`.
async fn invoke<A: ai_processor::processor::Adapters>(
    function: &Processor<A>,
    payload: Value,
) -> Result<Value, ai_processor::Error> {
    ai_processor::entry(LambdaEvent::new(payload, context()), function).await
}

fn decision(stack: &Stack, key: &str, version: &str, decision: &str, reviewer: &str) -> Value {
    json!({"review": {"bucket": stack.media_bucket, "key": key, "version_id": version,
                      "decision": decision, "reviewer": reviewer}})
}

fn reviewed(events: &[shared::events::Envelope]) -> Vec<MediaReviewed> {
    of_type(events, "media.reviewed")
        .into_iter()
        .map(|e| e.payload::<MediaReviewed>().expect("media.reviewed"))
        .collect()
}

#[tokio::test]
async fn review_samples_approve_reject_and_refuse_directly_and_through_the_function_url() {
    let (stack, function) = setup().await;
    let version = upload(&stack, &function, SAMPLE_KEY, b"swimwear jpeg").await;
    let events = stack.published().await;
    let flagged = of_type(&events, types::MEDIA_FLAGGED);
    assert_eq!(flagged.len(), 1, "{events:?}");
    let aid: ReviewAid = flagged[0]
        .payload::<MediaFlagged>()
        .unwrap()
        .review
        .expect("review aid");
    assert!(
        aid.approve_input.contains(&version),
        "{}",
        aid.approve_input
    );
    let replace: [(&str, &str); 1] = [(SAMPLE_VERSION, &version)];

    // Through the function URL: approved, answered 200 with the JSON answer.
    let url_event = stack.sample_payload("ai-processor/review-function-url.json", &replace);
    let response = ai_processor::entry(url_event, &function)
        .await
        .expect("an HTTP answer");
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (body["outcome"].as_str(), body["verdict"].as_str()),
        (Some("recorded"), Some("approved"))
    );
    let doc = stack.document(SAMPLE_KEY).await.unwrap();
    assert_eq!(doc["verdict"], "approved");
    assert_eq!(
        doc["reviews"][0]["caller"],
        "arn:aws:sts::123456789012:assumed-role/media-moderators/mei.chen"
    );
    let tags = version_tags(&stack, SAMPLE_KEY, &version).await;
    assert_eq!(verdict_tag(&tags), Some("approved"));
    assert!(
        tags.contains(&("owner".into(), "user-42".into())),
        "{tags:?}"
    );

    // The same decision invoked directly: already recorded, nothing new.
    let again = stack.sample_payload("ai-processor/review-approve.json", &replace);
    let answer = ai_processor::entry(again, &function).await.expect("answer");
    assert_eq!(answer["outcome"], "already_recorded", "{answer}");

    // A second opinion rejects it: recorded as a change.
    let reject = stack.sample_payload("ai-processor/review-reject.json", &replace);
    let answer = ai_processor::entry(reject, &function)
        .await
        .expect("answer");
    assert_eq!(
        (answer["outcome"].as_str(), answer["changed"].as_bool()),
        (Some("recorded"), Some(true))
    );
    assert_eq!(answer["previous_verdict"], "approved");
    let doc = stack.document(SAMPLE_KEY).await.unwrap();
    let trail: Vec<(&str, &str, bool)> = doc["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["reviewer"].as_str().unwrap(),
                e["to"].as_str().unwrap(),
                e["announced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        vec![("mei.chen", "approved", true), ("li.wei", "rejected", true)]
    );
    assert_eq!(
        verdict_tag(&version_tags(&stack, SAMPLE_KEY, &version).await),
        Some("rejected")
    );

    // A decision on an upload never analysed is refused with a clear error.
    let refused = stack.sample_payload("ai-processor/review-refused.json", &replace);
    let error = ai_processor::entry(refused, &function)
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), "DecisionRefused");
    assert!(error.to_string().contains("was never analysed"), "{error}");

    let events = stack.published().await;
    let decisions = reviewed(&events);
    assert_eq!(
        events.len(),
        2,
        "one media.reviewed per recorded decision: {events:?}"
    );
    assert_eq!((decisions[0].changed, decisions[1].changed), (false, true));
    assert_eq!(decisions[1].version_id.as_deref(), Some(version.as_str()));
    assert!(decisions[1].wait_ms.is_some());

    // The function URL refuses other methods and bodies that are no decision.
    let mut get = stack.sample_payload("ai-processor/review-function-url.json", &replace);
    get.payload["requestContext"]["http"]["method"] = json!("GET");
    assert_eq!(
        ai_processor::entry(get, &function).await.unwrap()["statusCode"],
        405
    );
    let mut garbage = stack.sample_payload("ai-processor/review-function-url.json", &replace);
    garbage.payload["body"] = json!("approve it please");
    let response = ai_processor::entry(garbage, &function).await.unwrap();
    assert_eq!(response["statusCode"], 400);
    assert!(
        response["body"].as_str().unwrap().contains("not JSON"),
        "{response}"
    );
}

#[tokio::test]
async fn a_duplicate_decision_has_one_effect() {
    let (stack, function) = setup().await;
    let key = "covers/dup.jpg";
    let version = upload(&stack, &function, key, b"dup jpeg").await;
    stack.published().await;
    let live = stack.live(&[]);
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let answer = invoke(&live, decision(&stack, key, &version, "approved", "mei"))
            .await
            .expect("answer");
        outcomes.push(answer["outcome"].as_str().unwrap().to_string());
    }
    assert_eq!(
        outcomes,
        ["recorded", "already_recorded", "already_recorded"]
    );
    let events = stack.published().await;
    assert_eq!(reviewed(&events).len(), 1, "{events:?}");
    let doc = stack.document(key).await.unwrap();
    assert_eq!(doc["reviews"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_concurrent_pair_of_conflicting_decisions_is_recorded_one_after_the_other() {
    let (stack, function) = setup().await;
    let live = stack.live(&[]);
    for n in 0..3 {
        let key = format!("covers/pair-{n}.jpg");
        let version = upload(&stack, &function, &key, format!("pair {n}").as_bytes()).await;
        let (a, b) = tokio::join!(
            invoke(&live, decision(&stack, &key, &version, "approved", "mei")),
            invoke(&live, decision(&stack, &key, &version, "rejected", "li")),
        );
        let (a, b) = (a.expect("approve"), b.expect("reject"));
        assert_eq!(
            (a["outcome"].as_str(), b["outcome"].as_str()),
            (Some("recorded"), Some("recorded"))
        );
        // Exactly one came first (from review); the other is a change from the first's verdict.
        let doc = stack.document(&key).await.unwrap();
        let trail = doc["reviews"].as_array().unwrap();
        assert_eq!(trail.len(), 2, "{doc}");
        assert_eq!(
            (trail[0]["from"].as_str(), trail[0]["changed"].as_bool()),
            (Some("review"), Some(false))
        );
        assert_eq!(trail[1]["from"], trail[0]["to"]);
        assert_eq!(trail[1]["changed"], true);
        assert_eq!(doc["verdict"], trail[1]["to"]);
        assert_eq!(
            verdict_tag(&version_tags(&stack, &key, &version).await),
            trail[1]["to"].as_str(),
            "the tag ends as the last decision left it"
        );
        let events = stack.published().await;
        let mut decisions = reviewed(&events);
        decisions.sort_by_key(|d| d.changed);
        assert_eq!(decisions.len(), 2, "{events:?}");
        assert_eq!((decisions[0].changed, decisions[1].changed), (false, true));
    }
}

#[tokio::test]
async fn a_decision_on_another_version_or_bad_input_changes_nothing() {
    let (stack, function) = setup().await;
    let key = "covers/versions.jpg";
    let first = upload(&stack, &function, key, b"first").await;
    let second = upload(&stack, &function, key, b"second").await;
    stack.published().await;
    let live = stack.live(&[]);
    let before = (
        stack.document(key).await,
        version_tags(&stack, key, &first).await,
        version_tags(&stack, key, &second).await,
    );
    assert_eq!(
        before.0.as_ref().unwrap()["source"]["version_id"],
        json!(second)
    );

    let long_reason = "x".repeat(1001);
    let mut outside = decision(&stack, "uploads/x.jpg", &second, "approved", "mei");
    outside["review"]["key"] = json!("uploads/x.jpg");
    let mut unversioned = decision(&stack, key, &second, "approved", "mei");
    unversioned["review"]
        .as_object_mut()
        .unwrap()
        .remove("version_id");
    let mut oversized = decision(&stack, key, &second, "approved", "mei");
    oversized["review"]["reason"] = json!(long_reason);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            decision(&stack, key, &first, "approved", "mei"),
            "DecisionRefused",
            "the analysis is of version",
        ),
        (
            decision(&stack, key, &second, "maybe", "mei"),
            "InvalidDecision",
            "\"maybe\" is not a decision",
        ),
        (unversioned, "InvalidDecision", "version_id is required"),
        (outside, "InvalidDecision", "not under an upload prefix"),
        (oversized, "InvalidDecision", "reason has 1001 characters"),
        (
            decision(&stack, key, &second, "approved", "mei\u{7}"),
            "InvalidDecision",
            "control characters",
        ),
        (
            decision(&stack, key, &second, "approved", ""),
            "InvalidDecision",
            "reviewer is missing",
        ),
        (
            decision(&stack, key, &second, "approved", &"m".repeat(129)),
            "InvalidDecision",
            "reviewer has 129 characters",
        ),
        (
            json!({"review": {"bucket": stack.media_bucket, "key": key}}),
            "InvalidDecision",
            "missing field `decision`",
        ),
    ];
    for (payload, kind, says) in cases {
        let error = invoke(&live, payload.clone()).await.expect_err("refused");
        assert_eq!(error.kind(), kind, "{payload}: {error}");
        assert!(error.to_string().contains(says), "{payload}: {error}");
    }
    let after = (
        stack.document(key).await,
        version_tags(&stack, key, &first).await,
        version_tags(&stack, key, &second).await,
    );
    assert_eq!(before, after);
    assert!(stack.published().await.is_empty());
}

#[tokio::test]
async fn the_review_link_fetches_the_version_under_review() {
    let (stack, function) = setup().await;
    let key = "covers/link.jpg";
    upload(&stack, &function, key, b"the first version").await;
    let events = stack.published().await;
    let aid = of_type(&events, types::MEDIA_FLAGGED)[0]
        .payload::<MediaFlagged>()
        .unwrap()
        .review
        .expect("review aid");
    // A newer version does not change what the link shows.
    stack.put(key, b"a later version", Some("image/jpeg")).await;
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let link = aid.link.expect("a presigned link");
    let fetched = reqwest::get(&link).await.expect("GET the link");
    assert!(fetched.status().is_success(), "{fetched:?}");
    assert_eq!(
        fetched.bytes().await.unwrap().as_ref(),
        b"the first version"
    );
    let expires =
        shared::time::parse_rfc3339_lenient(aid.link_expires_at.as_deref().unwrap()).unwrap();
    let in_a_day = shared::time::now_utc() + time::Duration::days(1);
    assert!(
        (expires - in_a_day).abs() < time::Duration::minutes(5),
        "{expires}"
    );
    assert_eq!(aid.function_name, "ai-processor");
}

#[tokio::test]
async fn the_entry_point_still_hands_batches_and_other_shapes_to_the_event_handler() {
    let stack = Stack::new().await;
    let live = stack.live(&[]);
    let key = "covers/entry.jpg";
    let etag = stack.put(key, b"x", Some("application/x-unknown")).await;
    let batch = sqs_event(vec![message("m1", &stack.upload_event(key, &etag, 1))]);
    let answer = invoke(&live, serde_json::to_value(batch).unwrap())
        .await
        .expect("a batch answer");
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let error = invoke(&live, json!({"hello": "world"}))
        .await
        .expect_err("not a shape");
    assert_eq!(error.kind(), "UnsupportedEvent");
}
