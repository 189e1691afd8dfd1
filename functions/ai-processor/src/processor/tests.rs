//! Domain tests: every flow of the processor against in-memory fakes of its ports, no network.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::{json, Value};
use shared::batch::RecordError;
use shared::events::{types, Envelope, Severity};
use shared::idempotency::Idempotency;
use shared::testkit::{ManualClock, MemoryObjectStore, MemoryPublisher};

use super::fakes::*;
use super::{Ports, Processor, Settings};
use shared::events::contracts::media::{
    MediaDeleted, MediaFlagged, MediaKind, MediaSkipped, ReviewAid, Verdict,
};
use shared::events::contracts::review::{Decision, MediaReviewed};

use crate::analysis::document_key;
use crate::model::{Findings, Label, ModerationLabel};
use crate::policy::ModerationPolicy;
use crate::ports::VideoModeration;
use crate::review::{DecisionInput, Outcome, ReviewError};

const MEDIA: &str = "media";

struct World {
    clock: ManualClock,
    text: FakeText,
    media: FakeMedia,
    results: MemoryObjectStore,
    backend: FakeBackend,
    transcriber: FakeTranscriber,
    publisher: MemoryPublisher,
    dead_letters: FakeDeadLetters,
    processor: Processor<Fakes>,
}

fn settings() -> Settings {
    Settings {
        media_bucket: MEDIA.into(),
        results_bucket: "results".into(),
        transcribe_languages: vec!["zh-CN".into(), "en-US".into()],
        transcribe_job_prefix: crate::transcript::JOB_NAME_PREFIX.into(),
        policy: ModerationPolicy::default(),
        emit_skip_events: true,
        ocr_enabled: true,
        ocr_keywords: vec!["赌博".into(), "gambling".into()],
        batch_concurrency: 4,
        metrics_namespace: "Test".into(),
        review: crate::config::ReviewConfig {
            function_name: "media-suite-dev-ai-processor".into(),
            link_ttl: std::time::Duration::from_secs(3600),
        },
    }
}

fn world_with(settings: Settings) -> World {
    world_of(settings, FakeText::default())
}

fn world_of(settings: Settings, text: FakeText) -> World {
    let clock = ManualClock::at(NOW);
    let (media, results, backend, transcriber, publisher, dead_letters) = (
        FakeMedia::default(),
        MemoryObjectStore::default(),
        FakeBackend::default(),
        FakeTranscriber::default(),
        MemoryPublisher::default(),
        FakeDeadLetters::default(),
    );
    let processor = Processor::new(
        settings,
        Ports {
            media: media.clone(),
            results: results.clone(),
            backend: backend.clone(),
            transcriber: transcriber.clone(),
            text: text.clone(),
            keywords: FakeKeywords(vec!["casino".into()]),
            publisher: publisher.clone(),
            idempotency: Idempotency::new(
                MemoryObjectStore::default(),
                "idempotency/",
                std::time::Duration::from_secs(900),
                clock.clone(),
            ),
            dead_letters: dead_letters.clone(),
            clock: Arc::new(clock.clone()),
        },
    );
    let processor_clock = clock;
    World {
        clock: processor_clock,
        text,
        media,
        results,
        backend,
        transcriber,
        publisher,
        dead_letters,
        processor,
    }
}

fn world() -> World {
    world_with(settings())
}

fn upload_event(bucket: &str, key: &str, etag: &str) -> String {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-25T12:00:00.000Z",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10, "eTag": etag}}
    }]})
    .to_string()
}

fn rekognition_done(job_id: &str, status: &str, key: &str) -> String {
    let inner = json!({"JobId": job_id, "Status": status, "API": "StartContentModeration",
        "Video": {"S3ObjectName": key, "S3Bucket": MEDIA}});
    json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:AmazonRekognition-x",
        "Message": inner.to_string()})
    .to_string()
}

fn transcribe_changed(job_name: &str, status: &str) -> String {
    json!({"version": "0", "id": "1", "detail-type": "Transcribe Job State Change",
        "source": "aws.transcribe", "account": "1", "time": "2026-11-25T12:10:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"TranscriptionJobName": job_name, "TranscriptionJobStatus": status}})
    .to_string()
}

fn transcript_file(language: &str, text: &str) -> Vec<u8> {
    json!({"results": {"language_code": language, "transcripts": [{"transcript": text}],
        "items": [{"type": "pronunciation", "end_time": "2.5"}, {"type": "pronunciation", "end_time": "3.0"}]}})
    .to_string()
    .into_bytes()
}

fn label(name: &str, parent: Option<&str>, confidence: f32) -> ModerationLabel {
    ModerationLabel {
        name: name.into(),
        parent: parent.map(Into::into),
        confidence,
        timestamp_ms: None,
    }
}

fn findings(moderation: Vec<ModerationLabel>) -> Findings {
    Findings {
        labels: vec![Label {
            name: "Beach".into(),
            parent: Some("Outdoors".into()),
            confidence: 97.0,
        }],
        moderation_labels: moderation,
    }
}

impl World {
    /// Delivers one batch; returns the ids SQS must deliver again.
    async fn deliver(&self, bodies: &[(&str, &str)]) -> Vec<String> {
        let mut event = SqsEvent::default();
        event.records = bodies
            .iter()
            .map(|(id, body)| {
                let mut m = SqsMessage::default();
                m.message_id = Some(id.to_string());
                m.body = Some(body.to_string());
                m
            })
            .collect();
        let response = self
            .processor
            .handle_batch(event, shared::batch::Deadline::none())
            .await;
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }

    async fn deliver_ok(&self, body: &str) {
        let failed = self.deliver(&[("m", body)]).await;
        assert!(failed.is_empty(), "listed for redelivery: {failed:?}");
    }

    fn doc(&self, key: &str) -> Option<Value> {
        self.results.json(&document_key(key))
    }

    fn events(&self) -> Vec<Envelope> {
        self.publisher.published()
    }

    fn event_types(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.event_type).collect()
    }

    fn tag(&self, key: &str, name: &str) -> Option<String> {
        self.media
            .tags_of(key)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

// ---- images ----

#[tokio::test]
async fn an_approved_image_gets_a_complete_document_tags_and_one_analyzed_event() {
    let w = world();
    *w.backend.image.lock().unwrap() = Ok(findings(vec![]));
    w.media.put("covers/a.jpg", "e1", 10, Some("image/jpeg"));
    w.media.set_tags("covers/a.jpg", &[("owner", "user-42")]);
    w.deliver_ok(&upload_event(MEDIA, "covers/a.jpg", "e1"))
        .await;

    let doc = w.doc("covers/a.jpg").expect("document");
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["verdict"], "approved");
    assert_eq!(doc["labels"][0]["name"], "Beach");
    assert_eq!(doc["timings"]["completed_at"], "2026-11-25T12:00:05Z");
    assert_eq!(
        w.media.tags_of("covers/a.jpg"),
        vec![
            ("moderation-backend".into(), "rekognition".into()),
            ("moderation-verdict".into(), "approved".into()),
            ("owner".into(), "user-42".into()),
        ]
    );
    let events = w.events();
    assert_eq!(w.event_types(), vec![types::MEDIA_ANALYZED]);
    let data = &events[0].data;
    assert_eq!(data["size_bytes"], 10);
    assert_eq!(data["prefix"], "covers/");
    assert_eq!(data["latency_ms"], 5000, "upload at :00, analysed at :05");
    assert_eq!(
        data["analysis_document"],
        "s3://results/analysis/covers/a.jpg.json"
    );
    // What this flow published is the contract the consumers are tested against.
    shared::testkit::contract::check_types(&w.events(), &["media.analyzed"]);
}

#[tokio::test]
async fn a_flagged_image_is_announced_at_once_with_its_severity() {
    let w = world();
    *w.backend.image.lock().unwrap() = Ok(findings(vec![label(
        "Graphic Violence",
        Some("Violence"),
        93.0,
    )]));
    w.media.put("avatars/u.png", "e1", 3, Some("image/png"));
    w.deliver_ok(&upload_event(MEDIA, "avatars/u.png", "e1"))
        .await;

    assert_eq!(w.doc("avatars/u.png").unwrap()["verdict"], "rejected");
    assert_eq!(
        w.tag("avatars/u.png", "moderation-verdict").as_deref(),
        Some("rejected")
    );
    let events = w.events();
    assert_eq!(
        w.event_types(),
        vec![types::MEDIA_FLAGGED, types::MEDIA_ANALYZED]
    );
    assert_eq!(events[0].severity, Severity::Critical);
    assert_eq!(events[0].data["labels"][0]["category"], "Violence");
    assert_eq!(events[1].data["labels"][0]["name"], "Graphic Violence");
    // What this flow published is the contract the consumers are tested against.
    shared::testkit::contract::check_types(&w.events(), &["media.flagged"]);
}

#[tokio::test]
async fn an_image_the_service_refuses_is_recorded_announced_and_dead_lettered() {
    let w = world();
    *w.backend.image.lock().unwrap() = Err(RecordError::permanent("InvalidImageFormat"));
    w.media.put("covers/x.gif", "e1", 6, Some("image/gif"));
    let failed = w
        .deliver(&[("gif", &upload_event(MEDIA, "covers/x.gif", "e1"))])
        .await;
    assert!(failed.is_empty(), "moved to the DLQ instead: {failed:?}");
    let moved = w.dead_letters.moved();
    assert_eq!(moved.len(), 1);
    assert!(
        moved[0].1.contains("moderation: InvalidImageFormat"),
        "{moved:?}"
    );
    let doc = w.doc("covers/x.gif").unwrap();
    assert_eq!(doc["moderation"]["state"], "failed");
    assert_eq!(doc["verdict"], Value::Null);
    assert_eq!(
        w.tag("covers/x.gif", "moderation-verdict").as_deref(),
        Some("failed")
    );
    assert_eq!(
        w.event_types(),
        vec![types::MEDIA_FAILED, types::MEDIA_ANALYZED]
    );
    assert_eq!(w.events()[0].data["stage"], "moderation");
    // What this flow published is the contract the consumers are tested against.
    shared::testkit::contract::check_types(&w.events(), &["media.failed"]);
}

#[tokio::test]
async fn a_throttled_image_is_given_back_to_sqs_with_nothing_written() {
    let w = world();
    *w.backend.image.lock().unwrap() = Err(RecordError::retryable("ThrottlingException"));
    w.media.put("covers/busy.jpg", "e1", 3, Some("image/jpeg"));
    let failed = w
        .deliver(&[
            ("busy", &upload_event(MEDIA, "covers/busy.jpg", "e1")),
            ("test", r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#),
        ])
        .await;
    assert_eq!(failed, vec!["busy"]);
    assert!(w.doc("covers/busy.jpg").is_none());
    assert!(w.events().is_empty());
    assert!(w.dead_letters.moved().is_empty());

    // The next delivery, after the service recovered, analyses it once.
    *w.backend.image.lock().unwrap() = Ok(Findings::default());
    w.deliver_ok(&upload_event(MEDIA, "covers/busy.jpg", "e1"))
        .await;
    assert_eq!(w.event_types(), vec![types::MEDIA_ANALYZED]);
}

#[tokio::test]
async fn an_upload_delivered_three_times_is_analysed_once() {
    let w = world();
    w.media.put("covers/d.jpg", "e1", 3, Some("image/jpeg"));
    let body = upload_event(MEDIA, "covers/d.jpg", "e1");
    let failed = w
        .deliver(&[("c1", &body), ("c2", &body), ("c3", &body)])
        .await;
    // Copies that found another copy at work are handed back; their redelivery is a no-op.
    let again: Vec<(&str, &str)> = failed
        .iter()
        .map(|id| (id.as_str(), body.as_str()))
        .collect();
    assert!(w.deliver(&again).await.is_empty());
    assert_eq!(w.backend.calls().len(), 1, "{:?}", w.backend.calls());
    assert_eq!(w.event_types(), vec![types::MEDIA_ANALYZED]);
}

#[tokio::test]
async fn too_many_tags_for_the_verdict_is_a_permanent_failure() {
    let w = world();
    w.media.put("covers/t.jpg", "e1", 3, Some("image/jpeg"));
    let tags: Vec<(String, String)> = (0..9).map(|i| (format!("k{i}"), "v".to_string())).collect();
    let refs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    w.media.set_tags("covers/t.jpg", &refs);
    w.deliver(&[("m", &upload_event(MEDIA, "covers/t.jpg", "e1"))])
        .await;
    let moved = w.dead_letters.moved();
    assert_eq!(moved.len(), 1);
    assert!(moved[0].1.contains("already has 9 tags"), "{moved:?}");
}

// ---- skips ----

#[tokio::test]
async fn uploads_that_are_not_ours_or_not_there_are_logged_skips() {
    let w = world();
    w.media
        .put("covers/replaced.jpg", "new", 3, Some("image/jpeg"));
    for body in [
        upload_event("someone-else", "covers/a.jpg", "e1"),
        upload_event(MEDIA, "temp/a.jpg", "e1"),
        upload_event(MEDIA, "analysis/covers/a.jpg.json", "e1"),
        upload_event(MEDIA, "covers/../avatars/a.jpg", "e1"),
        upload_event(MEDIA, "covers/vanished.jpg", "e1"),
        upload_event(MEDIA, "covers/replaced.jpg", "old"),
    ] {
        w.deliver_ok(&body).await;
    }
    assert!(w.backend.calls().is_empty());
    assert!(w.results.keys().is_empty());
    assert!(w.events().is_empty());
    assert!(w.media.tags_of("covers/replaced.jpg").is_empty());
}

#[tokio::test]
async fn a_non_media_upload_is_tagged_skipped_and_announced_once_unless_the_operator_silences_it() {
    let quiet = world_with(Settings {
        emit_skip_events: false,
        ..settings()
    });
    quiet
        .media
        .put("covers/terms.pdf", "e1", 8, Some("application/pdf"));
    quiet
        .deliver_ok(&upload_event(MEDIA, "covers/terms.pdf", "e1"))
        .await;
    assert!(quiet.events().is_empty());
    assert_eq!(
        quiet
            .tag("covers/terms.pdf", "moderation-verdict")
            .as_deref(),
        Some("skipped")
    );

    let loud = world();
    loud.media
        .put("covers/terms.pdf", "e1", 8, Some("application/pdf"));
    loud.media
        .set_tags("covers/terms.pdf", &[("owner", "user-7")]);
    let body = upload_event(MEDIA, "covers/terms.pdf", "e1");
    loud.deliver_ok(&body).await;
    loud.deliver_ok(&body).await;
    let events = loud.events();
    assert_eq!(loud.event_types(), vec![types::MEDIA_SKIPPED]);
    let skipped: MediaSkipped = events[0].payload().expect("a media.skipped payload");
    assert!(skipped.reason.contains("application/pdf"), "{skipped:?}");
    assert_eq!(skipped.reason_code, "not-media");
    assert_eq!(
        (skipped.size_bytes, skipped.prefix.as_deref()),
        (8, Some("covers/"))
    );
    assert_eq!(
        loud.media.tags_of("covers/terms.pdf"),
        vec![
            ("moderation-skip-reason".into(), "not-media".into()),
            ("moderation-verdict".into(), "skipped".into()),
            ("owner".into(), "user-7".into()),
        ]
    );
    assert!(loud.doc("covers/terms.pdf").is_none());
    assert!(loud.backend.calls().is_empty());
    // What this flow published is the contract the consumers are tested against.
    shared::testkit::contract::check_types(&loud.events(), &["media.skipped"]);
}

#[tokio::test]
async fn messages_without_work_succeed_and_malformed_ones_are_dead_lettered() {
    let w = world();
    let removed = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete",
        "s3":{"bucket":{"name":"media"},"object":{"key":"covers/x.jpg"}}}]}"#;
    let confirmation =
        r#"{"Type":"SubscriptionConfirmation","TopicArn":"arn:aws:sns:us-east-1:1:t"}"#;
    let failed = w
        .deliver(&[
            (
                "test",
                r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"media"}"#,
            ),
            ("removed", removed),
            ("confirm", confirmation),
            ("poison", "{not json"),
        ])
        .await;
    assert!(failed.is_empty());
    let moved = w.dead_letters.moved();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].0, "poison");
    assert!(moved[0].1.contains("not JSON"), "{moved:?}");
}

// ---- videos and audio: jobs and their completions ----

#[tokio::test]
async fn a_video_waits_for_both_jobs_and_is_complete_after_their_completions() {
    let w = world();
    w.media.put("videos/v.mp4", "e1", 9, Some("video/mp4"));
    w.deliver_ok(&upload_event(MEDIA, "videos/v.mp4", "e1"))
        .await;
    let doc = w.doc("videos/v.mp4").unwrap();
    assert_eq!(doc["status"], "in_progress");
    assert_eq!(doc["moderation"]["job_id"], "job-1");
    assert_eq!(
        w.tag("videos/v.mp4", "moderation-verdict").as_deref(),
        Some("pending")
    );
    let job = w.transcriber.only_job_name();
    let starts = w.transcriber.starts.lock().unwrap().clone();
    assert_eq!(starts[0].media_uri, "s3://media/videos/v.mp4");
    assert_eq!(starts[0].output_key, format!("transcripts/{job}.json"));
    assert_eq!(starts[0].languages, vec!["zh-CN", "en-US"]);
    assert!(w.events().is_empty());

    *w.backend.video_results.lock().unwrap() =
        Ok(findings(vec![label("Swimwear or Underwear", None, 85.0)]));
    w.deliver_ok(&rekognition_done("job-1", "SUCCEEDED", "videos/v.mp4"))
        .await;
    assert_eq!(w.doc("videos/v.mp4").unwrap()["verdict"], "review");
    assert_eq!(
        w.tag("videos/v.mp4", "moderation-verdict").as_deref(),
        Some("review")
    );
    assert_eq!(w.event_types(), vec![types::MEDIA_FLAGGED]);

    w.transcriber.finish(&job, "COMPLETED", Some("en-US"));
    w.results.insert(
        &format!("transcripts/{job}.json"),
        transcript_file("en-US", "Hello there. Welcome."),
    );
    w.deliver_ok(&transcribe_changed(&job, "COMPLETED")).await;
    let doc = w.doc("videos/v.mp4").unwrap();
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["transcript"]["summary"]["word_count"], 2);
    let events = w.events();
    assert_eq!(
        w.event_types(),
        vec![
            types::MEDIA_FLAGGED,
            types::TRANSCRIPT_READY,
            types::MEDIA_ANALYZED
        ]
    );
    assert_eq!(
        events[1].data["first_lines"],
        json!(["Hello there.", "Welcome."])
    );
    assert_eq!(events[2].data["verdict"], "review");
    assert_eq!(events[2].data["transcript_state"], "done");

    // Completions delivered again change nothing.
    w.deliver_ok(&rekognition_done("job-1", "SUCCEEDED", "videos/v.mp4"))
        .await;
    w.deliver_ok(&transcribe_changed(&job, "COMPLETED")).await;
    assert_eq!(w.events().len(), 3);
}

#[tokio::test]
async fn a_video_moderated_at_once_waits_only_for_its_transcript() {
    let w = world();
    w.backend
        .video
        .lock()
        .unwrap()
        .clone_from(&Ok(VideoModeration::Finished(findings(vec![label(
            "Alcohol", None, 40.0,
        )]))));
    w.media.put("videos/k.mp4", "e1", 3, Some("video/mp4"));
    w.deliver_ok(&upload_event(MEDIA, "videos/k.mp4", "e1"))
        .await;
    let doc = w.doc("videos/k.mp4").unwrap();
    assert_eq!(doc["moderation"]["state"], "done");
    assert_eq!(doc["verdict"], "approved");
    assert_eq!(doc["transcript"]["state"], "pending");
    assert!(
        w.events().is_empty(),
        "approved and not complete: nothing yet"
    );
}

#[tokio::test]
async fn a_failed_moderation_job_is_recorded_and_announced() {
    let w = world();
    w.media.put("videos/f.mp4", "e1", 3, Some("video/mp4"));
    w.deliver_ok(&upload_event(MEDIA, "videos/f.mp4", "e1"))
        .await;
    w.deliver_ok(&rekognition_done("job-1", "FAILED", "videos/f.mp4"))
        .await;
    let doc = w.doc("videos/f.mp4").unwrap();
    assert_eq!(doc["moderation"]["state"], "failed");
    assert_eq!(
        w.tag("videos/f.mp4", "moderation-verdict").as_deref(),
        Some("failed")
    );
    assert_eq!(w.event_types(), vec![types::MEDIA_FAILED]);
    assert!(w.backend.calls().iter().all(|c| !c.starts_with("results")));
}

#[tokio::test]
async fn completions_of_other_jobs_or_before_the_upload_are_told_apart() {
    let w = world();
    w.media.put("videos/e.mp4", "e1", 3, Some("video/mp4"));
    // Before the upload event was processed: retried.
    let early = w
        .deliver(&[(
            "early",
            &rekognition_done("job-1", "SUCCEEDED", "videos/e.mp4"),
        )])
        .await;
    assert_eq!(early, vec!["early"]);

    w.deliver_ok(&upload_event(MEDIA, "videos/e.mp4", "e1"))
        .await;
    // An older upload's job: ignored, the document keeps waiting.
    w.deliver_ok(&rekognition_done("job-0", "SUCCEEDED", "videos/e.mp4"))
        .await;
    // Another API's job, and another bucket's: no work.
    let label_job = json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t",
        "Message": json!({"JobId": "j", "Status": "SUCCEEDED", "API": "StartLabelDetection",
            "Video": {"S3ObjectName": "videos/e.mp4", "S3Bucket": MEDIA}}).to_string()})
    .to_string();
    w.deliver_ok(&label_job).await;
    let foreign = rekognition_done("job-1", "SUCCEEDED", "videos/e.mp4").replace(MEDIA, "other");
    w.deliver_ok(&foreign).await;
    assert_eq!(
        w.doc("videos/e.mp4").unwrap()["moderation"]["state"],
        "pending"
    );
    assert!(w.events().is_empty());
    assert!(
        !w.backend.calls().iter().any(|c| c.starts_with("results")),
        "no result read for a job that is not the document's: {:?}",
        w.backend.calls()
    );
}

#[tokio::test]
async fn audio_is_transcribed_without_a_verdict_and_waits_for_its_transcript_file() {
    let w = world();
    w.media.put("audio/p.mp3", "e1", 3, Some("audio/mpeg"));
    w.deliver_ok(&upload_event(MEDIA, "audio/p.mp3", "e1"))
        .await;
    let doc = w.doc("audio/p.mp3").unwrap();
    assert_eq!(doc["kind"], "audio");
    assert_eq!(doc["moderation"]["state"], "not_applicable");
    assert!(w.media.tags_of("audio/p.mp3").is_empty());
    assert!(w.backend.calls().is_empty());

    let job = w.transcriber.only_job_name();
    w.transcriber.finish(&job, "COMPLETED", None);
    // COMPLETED but the file is not visible yet: retried, nothing changes.
    let failed = w
        .deliver(&[("early", &transcribe_changed(&job, "COMPLETED"))])
        .await;
    assert_eq!(failed, vec!["early"]);
    assert_eq!(
        w.doc("audio/p.mp3").unwrap()["transcript"]["state"],
        "pending"
    );

    w.results.insert(
        &format!("transcripts/{job}.json"),
        transcript_file("zh-CN", "大家好。"),
    );
    w.deliver_ok(&transcribe_changed(&job, "COMPLETED")).await;
    assert_eq!(
        w.event_types(),
        vec![types::TRANSCRIPT_READY, types::MEDIA_ANALYZED]
    );
    assert_eq!(w.events()[0].data["language"], "zh-CN");
}

#[tokio::test]
async fn a_failed_transcription_job_is_recorded_and_announced() {
    let w = world();
    w.media.put("audio/c.wav", "e1", 3, Some("audio/wav"));
    w.deliver_ok(&upload_event(MEDIA, "audio/c.wav", "e1"))
        .await;
    let job = w.transcriber.only_job_name();
    w.transcriber.finish(&job, "FAILED", None);
    w.deliver_ok(&transcribe_changed(&job, "FAILED")).await;
    let doc = w.doc("audio/c.wav").unwrap();
    assert_eq!(doc["transcript"]["state"], "failed");
    assert_eq!(doc["status"], "complete");
    assert_eq!(
        w.event_types(),
        vec![types::MEDIA_FAILED, types::MEDIA_ANALYZED]
    );
    assert_eq!(w.events()[0].data["stage"], "transcription");
}

#[tokio::test]
async fn transcription_events_that_are_not_final_or_not_ours_do_no_work() {
    let w = world();
    w.media.put("audio/n.mp3", "e1", 3, Some("audio/mpeg"));
    w.deliver_ok(&upload_event(MEDIA, "audio/n.mp3", "e1"))
        .await;
    let job = w.transcriber.only_job_name();
    // Not final yet.
    w.deliver_ok(&transcribe_changed(&job, "IN_PROGRESS")).await;
    // The event says COMPLETED but the job does not (yet): retried.
    let failed = w
        .deliver(&[("ahead", &transcribe_changed(&job, "COMPLETED"))])
        .await;
    assert_eq!(failed, vec!["ahead"]);
    // A job of ours about another bucket, and another team's job: not ours.
    let other_bucket = format!("{}elsewhere", crate::transcript::JOB_NAME_PREFIX);
    w.transcriber.jobs.lock().unwrap().insert(
        other_bucket.clone(),
        crate::ports::TranscriptionJob {
            name: other_bucket.clone(),
            status: "COMPLETED".into(),
            media_uri: Some("s3://other/a.mp3".into()),
            language: None,
            failure_reason: None,
        },
    );
    w.deliver_ok(&transcribe_changed(&other_bucket, "COMPLETED"))
        .await;
    w.deliver_ok(&transcribe_changed("other-team-nightly-42", "COMPLETED"))
        .await;
    // Named like ours but no such job: poison.
    w.deliver(&[(
        "unknown",
        &transcribe_changed("media-suite-never-started", "COMPLETED"),
    )])
    .await;
    let moved = w.dead_letters.moved();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0]
        .1
        .contains("no transcription job named media-suite-never-started"));
    assert!(w.events().is_empty());
}

#[tokio::test]
async fn a_transcription_refused_at_start_fails_that_part_for_good() {
    let w = world();
    *w.transcriber.refuse_with.lock().unwrap() = Some(RecordError::permanent(
        "BadRequestException: unsupported media",
    ));
    w.media.put("audio/r.amr", "e1", 3, Some("audio/amr"));
    w.deliver(&[("m", &upload_event(MEDIA, "audio/r.amr", "e1"))])
        .await;
    let doc = w.doc("audio/r.amr").unwrap();
    assert_eq!(doc["transcript"]["state"], "failed");
    assert_eq!(doc["status"], "complete");
    assert_eq!(
        w.event_types(),
        vec![types::MEDIA_FAILED, types::MEDIA_ANALYZED]
    );
    assert_eq!(w.dead_letters.moved().len(), 1);
}

#[tokio::test]
async fn a_redelivered_upload_keeps_what_a_completion_already_finished() {
    let w = world();
    w.media.put("videos/r.mp4", "e1", 3, Some("video/mp4"));
    let body = upload_event(MEDIA, "videos/r.mp4", "e1");
    w.deliver_ok(&body).await;
    w.deliver_ok(&rekognition_done("job-1", "SUCCEEDED", "videos/r.mp4"))
        .await;
    // The upload's idempotency marker is lost (a crash): the event is processed again.
    let again = world();
    for key in w.results.keys() {
        again.results.insert(&key, w.results.body(&key).unwrap());
    }
    again.media.put("videos/r.mp4", "e1", 3, Some("video/mp4"));
    again.deliver_ok(&body).await;
    let doc = again.doc("videos/r.mp4").unwrap();
    assert_eq!(doc["moderation"]["state"], "done", "{doc}");
    assert_eq!(doc["verdict"], "approved");
}

// ---- deletions ----

fn removed_event(key: &str, event_name: &str, version_id: Option<&str>) -> String {
    let mut object = json!({"key": key, "sequencer": "0067444F3A2B1C9D8E"});
    if let Some(v) = version_id {
        object["versionId"] = json!(v);
    }
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": event_name,
        "eventTime": "2026-11-25T13:00:00.000Z",
        "s3": {"bucket": {"name": MEDIA}, "object": object}
    }]})
    .to_string()
}

/// A video analysed to the end: document, transcript and its two subtitle files.
async fn analysed_video(w: &World, key: &str) -> String {
    w.media.put(key, "e1", 9, Some("video/mp4"));
    w.deliver_ok(&upload_event(MEDIA, key, "e1")).await;
    w.deliver_ok(&rekognition_done("job-1", "SUCCEEDED", key))
        .await;
    let job = w.transcriber.only_job_name();
    w.transcriber.finish(&job, "COMPLETED", Some("en-US"));
    for output in crate::transcript::outputs(&job) {
        w.results
            .insert(&output, transcript_file("en-US", "Hello there."));
    }
    w.deliver_ok(&transcribe_changed(&job, "COMPLETED")).await;
    job
}

#[tokio::test]
async fn a_completed_transcript_names_its_subtitles_in_the_document_and_the_event() {
    let w = world();
    let job = analysed_video(&w, "videos/s.mp4").await;
    let ready: shared::events::contracts::transcript::TranscriptReady = w
        .events()
        .iter()
        .find(|e| e.event_type == types::TRANSCRIPT_READY)
        .expect("transcript.ready")
        .payload()
        .expect("payload");
    let expected = vec![
        format!("s3://results/transcripts/{job}.srt"),
        format!("s3://results/transcripts/{job}.vtt"),
    ];
    assert_eq!(ready.subtitles, expected);
    assert_eq!(
        w.doc("videos/s.mp4").unwrap()["transcript"]["subtitles"],
        json!(expected)
    );
    // What this flow published is the contract the consumers are tested against.
    shared::testkit::contract::check_types(&w.events(), &["transcript.ready"]);
}

#[tokio::test]
async fn deleting_an_analysed_upload_removes_everything_derived_and_announces_it_once() {
    let w = world();
    let job = analysed_video(&w, "videos/gone.mp4").await;
    assert_eq!(w.results.keys().len(), 4, "{:?}", w.results.keys());
    let before = w.events().len();

    w.media.remove("videos/gone.mp4");
    let delete = removed_event("videos/gone.mp4", "ObjectRemoved:Delete", None);
    w.deliver_ok(&delete).await;
    w.deliver_ok(&delete).await;

    assert!(w.results.keys().is_empty(), "{:?}", w.results.keys());
    assert!(w.transcriber.jobs.lock().unwrap().get(&job).is_none());
    let events = w.events();
    assert_eq!(events.len(), before + 1, "one media.deleted: {events:?}");
    let deleted: MediaDeleted = events[before].payload().expect("media.deleted");
    assert_eq!(deleted.removed_objects, 4);
    assert_eq!(deleted.kind, Some(MediaKind::Video));
    assert_eq!(deleted.prefix.as_deref(), Some("videos/"));
    assert!(!deleted.delete_marker);
    assert_eq!(deleted.deleted_at, "2026-11-25T13:00:00Z");
    // A late completion of the deleted upload's job is no work, not a retry loop.
    w.deliver_ok(&rekognition_done("job-1", "SUCCEEDED", "videos/gone.mp4"))
        .await;
    assert!(w.results.keys().is_empty());
    // What this flow published is the contract the consumers are tested against.
    shared::testkit::contract::check_types(&w.events(), &["media.deleted"]);
}

#[tokio::test]
async fn a_delete_marker_hides_the_upload_and_its_derived_data_goes() {
    let w = world();
    w.media.put("covers/m.jpg", "e1", 3, Some("image/jpeg"));
    w.deliver_ok(&upload_event(MEDIA, "covers/m.jpg", "e1"))
        .await;
    w.media.remove("covers/m.jpg");
    w.deliver_ok(&removed_event(
        "covers/m.jpg",
        "ObjectRemoved:DeleteMarkerCreated",
        Some("marker-1"),
    ))
    .await;
    assert!(w.doc("covers/m.jpg").is_none());
    let deleted: MediaDeleted = w.events().last().unwrap().payload().expect("media.deleted");
    assert!(deleted.delete_marker);
    assert_eq!(deleted.removed_objects, 1);
}

#[tokio::test]
async fn deletes_that_do_not_concern_the_analysed_version_change_nothing() {
    let w = world();
    // Never analysed.
    w.deliver_ok(&removed_event(
        "covers/never.jpg",
        "ObjectRemoved:Delete",
        None,
    ))
    .await;
    // Analysed, and still there: a stale delete event of an earlier upload of the key.
    w.media.put("covers/back.jpg", "e2", 3, Some("image/jpeg"));
    w.deliver_ok(&upload_event(MEDIA, "covers/back.jpg", "e2"))
        .await;
    w.deliver_ok(&removed_event(
        "covers/back.jpg",
        "ObjectRemoved:Delete",
        None,
    ))
    .await;
    // Another version than the analysed one.
    w.deliver_ok(&removed_event(
        "covers/back.jpg",
        "ObjectRemoved:Delete",
        Some("older-version"),
    ))
    .await;
    // Another bucket.
    w.deliver_ok(
        &removed_event("covers/back.jpg", "ObjectRemoved:Delete", None).replace(MEDIA, "other"),
    )
    .await;
    assert!(w.doc("covers/back.jpg").is_some());
    assert!(!w.event_types().contains(&"media.deleted".to_string()));
}

// ---- SageMaker asynchronous inference ----

fn sagemaker_done(inference: &str, status: &str, input: &str) -> String {
    let mut inner = json!({"invocationStatus": status, "inferenceId": inference,
        "eventSource": "aws:sagemaker", "eventName": "InferenceResult",
        "requestParameters": {"endpointName": "async", "inputLocation": input},
        "responseParameters": {"outputLocation": format!("s3://out/{inference}.out")}});
    if status == "Failed" {
        inner["failureReason"] = json!("ClientError: model crashed");
    }
    json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:async-success",
        "Message": inner.to_string()})
    .to_string()
}

/// A video whose moderation runs as an asynchronous inference, with the request document the
/// SageMaker adapter writes.
async fn video_with_inference(w: &World, key: &str) -> String {
    *w.backend.video.lock().unwrap() = Ok(VideoModeration::Started {
        job_id: "inf-1".into(),
        output_location: Some("s3://out/inf-1.out".into()),
    });
    w.media.put(key, "e1", 9, Some("video/mp4"));
    w.deliver_ok(&upload_event(MEDIA, key, "e1")).await;
    let object = crate::model::ObjectRef {
        bucket: MEDIA.into(),
        key: key.into(),
        version_id: None,
    };
    let request = crate::endpoint::EndpointRequest::new(&object, MediaKind::Video, Some("inf-1"));
    w.results.insert(
        &crate::endpoint::async_request_key("inf-1"),
        request.to_json(),
    );
    "s3://results/sagemaker-async/requests/inf-1.json".to_string()
}

#[tokio::test]
async fn an_async_inference_finishes_the_video_it_was_requested_for_once() {
    let w = world();
    *w.backend.video_results.lock().unwrap() = Ok(findings(vec![label(
        "Explicit Nudity",
        Some("Explicit"),
        88.0,
    )]));
    let input = video_with_inference(&w, "videos/a.mp4").await;
    assert_eq!(
        w.doc("videos/a.mp4").unwrap()["moderation"]["output_location"],
        "s3://out/inf-1.out"
    );
    let done = sagemaker_done("inf-1", "Completed", &input);
    w.deliver_ok(&done).await;
    w.deliver_ok(&done).await;
    assert_eq!(w.doc("videos/a.mp4").unwrap()["verdict"], "rejected");
    assert_eq!(
        w.backend
            .calls()
            .iter()
            .filter(|c| *c == "results inf-1 s3://out/inf-1.out")
            .count(),
        1,
        "{:?}",
        w.backend.calls()
    );
    assert_eq!(w.event_types(), vec![types::MEDIA_FLAGGED]);
}

#[tokio::test]
async fn async_inferences_that_failed_or_are_not_ours_are_told_apart() {
    let w = world();
    let input = video_with_inference(&w, "videos/b.mp4").await;
    // A request this suite did not write: no work, nothing read.
    w.deliver_ok(&sagemaker_done(
        "inf-1",
        "Completed",
        "s3://elsewhere/x.json",
    ))
    .await;
    assert_eq!(
        w.doc("videos/b.mp4").unwrap()["moderation"]["state"],
        "pending"
    );
    // The endpoint's error notification.
    w.deliver_ok(&sagemaker_done("inf-1", "Failed", &input))
        .await;
    let doc = w.doc("videos/b.mp4").unwrap();
    assert_eq!(doc["moderation"]["state"], "failed");
    assert!(doc["moderation"]["failure_reason"]
        .as_str()
        .unwrap()
        .contains("model crashed"));
    assert_eq!(w.event_types(), vec![types::MEDIA_FAILED]);
    assert!(!w.backend.calls().iter().any(|c| c.starts_with("results")));
}

// ---- documents: OCR through a SageMaker asynchronous endpoint ----

/// A world whose text extraction is an asynchronous endpoint, with a TIFF under `documents/`
/// uploaded and its OCR inference `ocr-1` started (the request the adapter writes is put in
/// the results bucket); returns the request's URI.
async fn document_with_ocr_inference(key: &str) -> (World, String) {
    let text = FakeText {
        name: "sagemaker",
        ..FakeText::default()
    };
    *text.job.lock().unwrap() = crate::ports::TextJob {
        job_id: "ocr-1".into(),
        output_location: Some("s3://out/recorded/ocr-1.out".into()),
    };
    let w = world_of(settings(), text);
    w.media.put(key, "e1", 30, Some("binary/octet-stream"));
    w.deliver_ok(&upload_event(MEDIA, key, "e1")).await;
    let object = crate::model::ObjectRef {
        bucket: MEDIA.into(),
        key: key.into(),
        version_id: None,
    };
    let request = crate::endpoint::EndpointRequest::ocr(&object, "image/tiff", "ocr-1");
    w.results.insert(
        &crate::endpoint::async_request_key("ocr-1"),
        request.to_json(),
    );
    (w, "s3://results/sagemaker-async/requests/ocr-1.json".into())
}

#[tokio::test]
async fn a_document_read_by_an_async_ocr_endpoint_is_finished_by_its_notification_once() {
    let (w, input) = document_with_ocr_inference("documents/scan.tif").await;
    assert_eq!(*w.text.formats.lock().unwrap(), vec!["image/tiff"]);
    let doc = w.doc("documents/scan.tif").unwrap();
    assert_eq!(
        (
            doc["text"]["state"].clone(),
            doc["text"]["output_location"].clone()
        ),
        (json!("pending"), json!("s3://out/recorded/ocr-1.out"))
    );
    *w.text.text.lock().unwrap() = Ok(lines(&["扫描件", "Casino night"]));

    // The notification names another output than the start did: the recorded one is read.
    let done = sagemaker_done("ocr-1", "Completed", &input);
    w.deliver_ok(&done).await;
    w.deliver_ok(&done).await;
    assert_eq!(
        *w.text.reads.lock().unwrap(),
        vec!["ocr-1 s3://out/recorded/ocr-1.out"]
    );
    let doc = w.doc("documents/scan.tif").unwrap();
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["verdict"], "review");
    assert_eq!(doc["text"]["matched_terms"], json!(["casino"]));
    assert_eq!(doc["moderation"]["state"], "not_applicable");
    let text = w
        .results
        .json("text/documents/scan.tif.json")
        .expect("text document");
    assert_eq!(text["lines"][1]["page"], 2);
    assert_eq!(text["pages"], 2);
    let ready = w.sent_to_review("documents/scan.tif");
    assert_eq!(ready.backend, "sagemaker");
    assert_eq!(ready.text, "s3://results/text/documents/scan.tif.json");

    // Deleting the document removes its text and the request that named it.
    w.media.remove("documents/scan.tif");
    w.deliver_ok(&removed_event(
        "documents/scan.tif",
        "ObjectRemoved:Delete",
        None,
    ))
    .await;
    assert!(w.results.keys().is_empty(), "{:?}", w.results.keys());
}

#[tokio::test]
async fn ocr_and_moderation_inferences_are_told_apart_by_the_stored_request_and_the_document() {
    let (w, ocr_input) = document_with_ocr_inference("documents/a.pdf").await;
    let video_input = video_with_inference(&w, "videos/v.mp4").await;
    // The OCR request with another inference id, and the video's request with the OCR
    // inference id: neither finishes anything, nothing is read.
    w.deliver_ok(&sagemaker_done("inf-1", "Completed", &ocr_input))
        .await;
    w.deliver_ok(&sagemaker_done("ocr-1", "Completed", &video_input))
        .await;
    assert!(w.text.reads.lock().unwrap().is_empty());
    assert!(!w.backend.calls().iter().any(|c| c.starts_with("results")));
    assert_eq!(
        w.doc("documents/a.pdf").unwrap()["text"]["state"],
        "pending"
    );
    assert_eq!(
        w.doc("videos/v.mp4").unwrap()["moderation"]["state"],
        "pending"
    );
    assert!(w.events().is_empty(), "{:?}", w.event_types());

    // The endpoint's error notification for the OCR inference: the text part failed for good.
    w.deliver_ok(&sagemaker_done("ocr-1", "Failed", &ocr_input))
        .await;
    w.deliver_ok(&sagemaker_done("ocr-1", "Failed", &ocr_input))
        .await;
    let doc = w.doc("documents/a.pdf").unwrap();
    assert_eq!(doc["text"]["state"], "failed");
    assert!(doc["text"]["failure_reason"]
        .as_str()
        .unwrap()
        .contains("model crashed"));
    assert_eq!(
        w.tag("documents/a.pdf", "moderation-verdict").as_deref(),
        Some("failed")
    );
    let failed: Vec<Envelope> = w
        .events()
        .into_iter()
        .filter(|e| e.event_type == types::MEDIA_FAILED)
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", w.event_types());
    assert_eq!(failed[0].data["stage"], "text");
    assert!(w.text.reads.lock().unwrap().is_empty());
    assert_eq!(
        w.doc("videos/v.mp4").unwrap()["moderation"]["state"],
        "pending"
    );
}

// ---- documents: text extraction ----

impl World {
    /// A document whose text matched a keyword: tagged `review`, announced with
    /// `document.text_ready`, `media.flagged` and `media.analyzed`, in that order; the first.
    fn sent_to_review(&self, key: &str) -> shared::events::contracts::document::DocumentTextReady {
        assert_eq!(
            self.tag(key, "moderation-verdict").as_deref(),
            Some("review")
        );
        assert_eq!(
            self.event_types(),
            vec![
                "document.text_ready",
                types::MEDIA_FLAGGED,
                types::MEDIA_ANALYZED
            ]
        );
        self.events()[0].payload().expect("payload")
    }
}

fn textract_done(job_id: &str, status: &str, key: &str) -> String {
    let inner = json!({"JobId": job_id, "Status": status, "API": "StartDocumentTextDetection",
        "JobTag": "media-suite", "Timestamp": 1764072300000u64,
        "DocumentLocation": {"S3ObjectName": key, "S3Bucket": MEDIA}});
    json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:textract",
        "Message": inner.to_string()})
    .to_string()
}

fn lines(texts: &[&str]) -> crate::ports::ExtractedText {
    crate::ports::ExtractedText {
        pages: 2,
        lines: texts
            .iter()
            .enumerate()
            .map(|(i, t)| crate::ports::TextLine {
                page: 1 + i as u32 % 2,
                text: t.to_string(),
                confidence: 98.5,
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_document_s_text_is_stored_matched_against_the_keywords_and_announced_once() {
    let w = world();
    *w.text.text.lock().unwrap() = Ok(lines(&["合同条款", "本平台禁止赌博内容, no Casino"]));
    w.media
        .put("documents/c.pdf", "e1", 30, Some("application/pdf"));
    w.deliver_ok(&upload_event(MEDIA, "documents/c.pdf", "e1"))
        .await;
    assert_eq!(*w.text.started.lock().unwrap(), vec!["documents/c.pdf"]);
    assert_eq!(
        w.tag("documents/c.pdf", "moderation-verdict").as_deref(),
        Some("pending")
    );
    let done = textract_done("text-job-1", "SUCCEEDED", "documents/c.pdf");
    w.deliver_ok(&done).await;
    w.deliver_ok(&done).await;

    let doc = w.doc("documents/c.pdf").unwrap();
    assert_eq!(doc["status"], "complete");
    assert_eq!(doc["verdict"], "review");
    assert_eq!(doc["text"]["pages"], 2);
    // From OCR_KEYWORDS and from the list in S3.
    assert_eq!(doc["text"]["matched_terms"], json!(["赌博", "casino"]));
    let text = w
        .results
        .json("text/documents/c.pdf.json")
        .expect("text document");
    assert_eq!(text["lines"][1]["text"], "本平台禁止赌博内容, no Casino");
    assert_eq!(text["lines"][1]["page"], 2);
    assert_eq!(text["language"], "zh");
    let ready = w.sent_to_review("documents/c.pdf");
    assert_eq!(ready.text, "s3://results/text/documents/c.pdf.json");
    assert_eq!((ready.pages, ready.lines), (2, 2));
    assert_eq!(ready.language.as_deref(), Some("zh"));

    // Deleting the document removes its text too.
    w.media.remove("documents/c.pdf");
    w.deliver_ok(&removed_event(
        "documents/c.pdf",
        "ObjectRemoved:Delete",
        None,
    ))
    .await;
    assert!(w.results.keys().is_empty(), "{:?}", w.results.keys());
    // What this flow published is the contract the consumers are tested against.
    shared::testkit::contract::check_types(&w.events(), &["document.text_ready"]);
}

#[tokio::test]
async fn a_document_without_text_or_with_a_failed_job_is_recorded_and_text_extraction_can_be_off() {
    let w = world();
    *w.text.text.lock().unwrap() = Ok(lines(&[]));
    w.media
        .put("documents/blank.png", "e1", 3, Some("image/png"));
    w.deliver_ok(&upload_event(MEDIA, "documents/blank.png", "e1"))
        .await;
    w.deliver_ok(&textract_done(
        "text-job-1",
        "SUCCEEDED",
        "documents/blank.png",
    ))
    .await;
    let doc = w.doc("documents/blank.png").unwrap();
    assert_eq!(
        (doc["verdict"].clone(), doc["text"]["lines"].clone()),
        (json!("approved"), json!(0))
    );

    w.media
        .put("documents/bad.pdf", "e1", 3, Some("application/pdf"));
    w.deliver_ok(&upload_event(MEDIA, "documents/bad.pdf", "e1"))
        .await;
    w.deliver_ok(&textract_done("text-job-1", "FAILED", "documents/bad.pdf"))
        .await;
    let doc = w.doc("documents/bad.pdf").unwrap();
    assert_eq!(doc["text"]["state"], "failed");
    assert_eq!(
        w.tag("documents/bad.pdf", "moderation-verdict").as_deref(),
        Some("failed")
    );
    assert!(w.event_types().contains(&types::MEDIA_FAILED.to_string()));

    let off = world_with(Settings {
        ocr_enabled: false,
        ..settings()
    });
    off.media
        .put("documents/c.pdf", "e1", 3, Some("application/pdf"));
    off.deliver_ok(&upload_event(MEDIA, "documents/c.pdf", "e1"))
        .await;
    assert_eq!(
        off.tag("documents/c.pdf", "moderation-skip-reason")
            .as_deref(),
        Some("ocr-off")
    );
    assert!(off.text.started.lock().unwrap().is_empty());
}

// ---- review decisions ----

fn decision(key: &str, decision: &str, reviewer: &str) -> DecisionInput {
    DecisionInput {
        bucket: MEDIA.into(),
        key: key.into(),
        version_id: None,
        etag: None,
        decision: decision.into(),
        reviewer: Some(reviewer.into()),
        reason: None,
    }
}

/// An image whose moderation sent it to review (Suggestive at 75%).
async fn under_review(w: &World, key: &str) {
    *w.backend.image.lock().unwrap() = Ok(findings(vec![label("Suggestive", None, 75.0)]));
    w.media.put(key, "e1", 10, Some("image/jpeg"));
    w.media.set_tags(key, &[("owner", "user-42")]);
    w.deliver_ok(&upload_event(MEDIA, key, "e1")).await;
    assert_eq!(w.doc(key).unwrap()["verdict"], "review");
}

fn review_aid(w: &World) -> ReviewAid {
    let flagged = w
        .events()
        .into_iter()
        .find(|e| e.event_type == types::MEDIA_FLAGGED)
        .expect("media.flagged");
    flagged
        .payload::<MediaFlagged>()
        .unwrap()
        .review
        .expect("a review aid")
}

fn reviewed(w: &World) -> Vec<MediaReviewed> {
    w.events()
        .iter()
        .filter(|e| e.event_type == "media.reviewed")
        .map(|e| e.payload::<MediaReviewed>().unwrap())
        .collect()
}

#[tokio::test]
async fn a_review_verdict_is_flagged_with_a_link_and_the_input_that_decides_it() {
    let w = world();
    under_review(&w, "covers/a.jpg").await;
    let aid = review_aid(&w);
    assert_eq!(
        aid.link.as_deref(),
        Some("https://media.example/covers/a.jpg?versionId=null&expires=3600")
    );
    assert_eq!(aid.link_expires_at.as_deref(), Some("2026-11-25T13:00:05Z"));
    assert_eq!(aid.function_name, "media-suite-dev-ai-processor");
    let filled: Value =
        serde_json::from_str(&aid.approve_input.replace("<your name>", "mei")).unwrap();
    let input: DecisionInput = serde_json::from_value(filled["review"].clone()).unwrap();
    let answer = w.processor.decide(input, None).await.unwrap();
    assert_eq!(answer.verdict, Verdict::Approved);

    // Credentials that expire first cut the link short; a link that cannot be signed is left
    // out, and the upload is flagged all the same.
    let w = world();
    *w.media.credentials_expire_at.lock().unwrap() = Some(NOW + time::Duration::minutes(20));
    under_review(&w, "covers/b.jpg").await;
    assert_eq!(
        review_aid(&w).link_expires_at.as_deref(),
        Some("2026-11-25T12:20:05Z")
    );
    let w = world();
    *w.media.unsigned.lock().unwrap() = true;
    under_review(&w, "covers/c.jpg").await;
    let aid = review_aid(&w);
    assert_eq!((aid.link, aid.link_expires_at), (None, None));
    assert!(aid.reject_input.contains(r#""decision":"rejected""#));
}

#[tokio::test]
async fn a_decision_is_recorded_once_and_a_different_one_later_is_a_change() {
    let w = world();
    under_review(&w, "covers/a.jpg").await;
    w.clock.advance(std::time::Duration::from_secs(3600));
    let mut approve = decision("covers/a.jpg", "approved", "mei");
    approve.reason = Some("a swimsuit ad, fine for covers".into());
    let answer = w.processor.decide(approve.clone(), None).await.unwrap();
    assert_eq!(answer.outcome, Outcome::Recorded);
    assert_eq!(answer.message, "recorded: the upload is approved");

    let doc = w.doc("covers/a.jpg").unwrap();
    assert_eq!(doc["verdict"], "approved");
    assert_eq!(doc["flagged"][0]["name"], "Suggestive", "the findings stay");
    assert_eq!(
        doc["reviews"],
        json!([{"seq": 1, "decision": "approved", "reviewer": "mei",
                "reason": "a swimsuit ad, fine for covers", "decided_at": "2026-11-25T13:00:05Z",
                "from": "review", "to": "approved", "changed": false, "announced": true}])
    );
    assert_eq!(
        w.media.tags_of("covers/a.jpg"),
        vec![
            ("moderation-backend".into(), "rekognition".into()),
            ("moderation-verdict".into(), "approved".into()),
            ("owner".into(), "user-42".into()),
        ]
    );
    let events = reviewed(&w);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].previous_verdict, Some(Verdict::Review));
    assert_eq!(
        events[0].wait_ms,
        Some(3_605_000),
        "uploaded at 12:00:00, decided at 13:00:05"
    );
    assert!(!events[0].changed);
    shared::testkit::contract::check_types(&w.events(), &["media.reviewed"]);

    // The same decision again, by anyone: nothing new.
    let again = w
        .processor
        .decide(decision("covers/a.jpg", "approved", "li"), None)
        .await
        .unwrap();
    assert_eq!(again.outcome, Outcome::AlreadyRecorded);
    assert!(
        again
            .message
            .contains("already recorded: the upload was approved by mei"),
        "{}",
        again.message
    );
    assert_eq!(reviewed(&w).len(), 1);
    assert_eq!(
        w.doc("covers/a.jpg").unwrap()["reviews"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A different decision later is recorded as a change.
    let change = w
        .processor
        .decide(
            decision("covers/a.jpg", "rejected", "li"),
            Some("arn:aws:iam::1:user/li".into()),
        )
        .await
        .unwrap();
    assert_eq!((change.outcome, change.changed), (Outcome::Recorded, true));
    assert_eq!(change.previous_verdict, Some(Verdict::Approved));
    let doc = w.doc("covers/a.jpg").unwrap();
    assert_eq!(doc["verdict"], "rejected");
    assert_eq!(doc["reviews"][1]["caller"], "arn:aws:iam::1:user/li");
    assert_eq!(
        w.tag("covers/a.jpg", "moderation-verdict").as_deref(),
        Some("rejected")
    );
    let events = reviewed(&w);
    assert_eq!(events.len(), 2);
    assert!(events[1].changed);
    assert_eq!(events[1].decision, Decision::Rejected);
    let ids: Vec<String> = w
        .events()
        .iter()
        .filter(|e| e.event_type == "media.reviewed")
        .map(|e| e.id.clone())
        .collect();
    assert_ne!(ids[0], ids[1], "each decision is its own event");
}

#[tokio::test]
async fn refused_and_invalid_decisions_change_nothing() {
    let w = world();
    under_review(&w, "covers/a.jpg").await;
    let before = (
        w.results.keys(),
        w.doc("covers/a.jpg"),
        w.media.tags_of("covers/a.jpg"),
        w.events().len(),
    );
    let unchanged = |w: &World| {
        assert_eq!(
            before,
            (
                w.results.keys(),
                w.doc("covers/a.jpg"),
                w.media.tags_of("covers/a.jpg"),
                w.events().len()
            )
        )
    };

    let never = w
        .processor
        .decide(decision("covers/new.jpg", "approved", "mei"), None)
        .await;
    assert!(
        matches!(&never, Err(ReviewError::NotFound(m)) if m.contains("was never analysed")),
        "{never:?}"
    );
    let bad = w
        .processor
        .decide(decision("covers/a.jpg", "maybe", "mei"), None)
        .await;
    assert!(
        matches!(&bad, Err(ReviewError::Invalid(m)) if m.contains("\"maybe\" is not a decision")),
        "{bad:?}"
    );
    let mut long = decision("covers/a.jpg", "approved", "mei");
    long.reason = Some("x".repeat(1001));
    assert!(matches!(
        w.processor.decide(long, None).await,
        Err(ReviewError::Invalid(_))
    ));
    let outside = w
        .processor
        .decide(decision("../covers/a.jpg", "approved", "mei"), None)
        .await;
    assert!(matches!(outside, Err(ReviewError::Invalid(_))));
    unchanged(&w);

    // Replaced since it was analysed (an unversioned bucket): its new analysis comes first.
    w.media.put("covers/a.jpg", "e2", 11, Some("image/jpeg"));
    let replaced = w
        .processor
        .decide(decision("covers/a.jpg", "approved", "mei"), None)
        .await;
    assert!(
        matches!(&replaced, Err(ReviewError::Conflict(m)) if m.contains("replaced")),
        "{replaced:?}"
    );
    w.media.remove("covers/a.jpg");
    let gone = w
        .processor
        .decide(decision("covers/a.jpg", "approved", "mei"), None)
        .await;
    assert!(
        matches!(&gone, Err(ReviewError::NotFound(m)) if m.contains("does not exist")),
        "{gone:?}"
    );
    assert_eq!(before.1, w.doc("covers/a.jpg"));
    assert_eq!(before.3, w.events().len());

    // An upload moderation approved takes no decision.
    *w.backend.image.lock().unwrap() = Ok(findings(vec![]));
    w.media.put("covers/ok.jpg", "e1", 10, Some("image/jpeg"));
    w.deliver_ok(&upload_event(MEDIA, "covers/ok.jpg", "e1"))
        .await;
    let not_review = w
        .processor
        .decide(decision("covers/ok.jpg", "rejected", "mei"), None)
        .await;
    assert!(
        matches!(&not_review, Err(ReviewError::Conflict(m)) if m.contains("approved from moderation")),
        "{not_review:?}"
    );
}

#[tokio::test]
async fn a_decision_whose_event_failed_is_finished_by_its_retry_or_by_a_later_decision() {
    let w = world();
    under_review(&w, "covers/a.jpg").await;
    w.publisher.fail_next(1);
    let failed = w
        .processor
        .decide(decision("covers/a.jpg", "approved", "mei"), None)
        .await;
    assert!(
        matches!(failed, Err(ReviewError::Failed(RecordError::Retryable(_)))),
        "{failed:?}"
    );
    assert_eq!(
        w.doc("covers/a.jpg").unwrap()["reviews"][0]["announced"],
        false
    );
    assert_eq!(
        w.tag("covers/a.jpg", "moderation-verdict").as_deref(),
        Some("approved")
    );
    assert!(reviewed(&w).is_empty());

    let retried = w
        .processor
        .decide(decision("covers/a.jpg", "approved", "mei"), None)
        .await
        .unwrap();
    assert_eq!(retried.outcome, Outcome::AlreadyRecorded);
    assert_eq!(reviewed(&w).len(), 1);
    assert_eq!(
        w.doc("covers/a.jpg").unwrap()["reviews"][0]["announced"],
        true
    );
    w.processor
        .decide(decision("covers/a.jpg", "approved", "mei"), None)
        .await
        .unwrap();
    assert_eq!(reviewed(&w).len(), 1, "announced once");

    // Never retried: the next decision after Lambda's longest timeout announces it too.
    let w = world();
    under_review(&w, "covers/b.jpg").await;
    w.publisher.fail_next(1);
    assert!(w
        .processor
        .decide(decision("covers/b.jpg", "approved", "mei"), None)
        .await
        .is_err());
    w.clock.advance(std::time::Duration::from_secs(20 * 60));
    w.processor
        .decide(decision("covers/b.jpg", "rejected", "li"), None)
        .await
        .unwrap();
    let events = reviewed(&w);
    assert_eq!(
        events.iter().map(|e| e.decision).collect::<Vec<_>>(),
        vec![Decision::Approved, Decision::Rejected]
    );
}
