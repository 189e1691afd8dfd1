//! Domain tests of the whole function on the in-memory fakes of its ports (no network): ingest,
//! hourly and daily rollups, the digest, and what a failing port does.

use serde_json::{json, Value};
use shared::batch::{Deadline, RedrivePolicyOnly};
use shared::results::StoreError;
use shared::testkit::{
    failed_ids, sqs_event, sqs_message, ManualClock, MemoryObjectStore, MemoryPublisher, StoreOp,
};
use shared::time::parse_rfc3339_lenient;

use super::*;

mod late_events;
mod local_days;
mod reviews;

type TestApp = StatsAggregator<MemoryObjectStore, MemoryPublisher, RedrivePolicyOnly, ManualClock>;

fn app(now: &str) -> TestApp {
    app_in(now, "UTC")
}

/// The function on in-memory ports with `SUITE_TIMEZONE=zone` and 60 minutes of lateness.
fn app_in(now: &str, zone: &str) -> TestApp {
    StatsAggregator {
        store: MemoryObjectStore::default(),
        publisher: MemoryPublisher::default(),
        dead_letters: RedrivePolicyOnly,
        clock: ManualClock::at(parse_rfc3339_lenient(now).expect("time")),
        config: Config::from_env(shared::config::Env::from_vars([
            ("RESULTS_BUCKET", "results"),
            ("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:suite-events"),
            ("ROLLUP_LATENESS_MINUTES", "60"),
            ("SUITE_TIMEZONE", zone),
        ]))
        .expect("config"),
    }
}

fn envelope(id: &str, event_type: &str, time: &str, data: Value) -> String {
    json!({"version": 1, "id": id, "type": event_type, "source": "test", "time": time,
           "subject": format!("s3://media/videos/{id}.mp4"), "severity": "info", "data": data})
    .to_string()
}

fn scheduled(rule: &str, time: &str) -> Value {
    json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": time,
           "resources": [format!("arn:aws:events:us-east-1:1:rule/{rule}")], "detail": {}})
}

fn analyzed(id: &str, time: &str, verdict: &str, latency_ms: u64) -> String {
    envelope(
        id,
        "media.analyzed",
        time,
        json!({"kind": "video", "size_bytes": 1000, "verdict": verdict, "latency_ms": latency_ms}),
    )
}

#[tokio::test]
async fn batches_become_hourly_and_daily_figures_and_one_digest() {
    let app = app("2026-11-25T01:30:00Z");
    let first = [
        analyzed("a", "2026-11-24T13:05:00Z", "approved", 1000),
        analyzed("b", "2026-11-24T13:10:00Z", "rejected", 3000),
        envelope(
            "t",
            "transcript.ready",
            "2026-11-24T14:00:00Z",
            json!({"language": "zh-CN", "duration_seconds": 90}),
        ),
        envelope(
            "n",
            "notification.delivered",
            "2026-11-24T14:01:00Z",
            json!({"channel": "dingtalk"}),
        ),
    ];
    let (response, summary) = app.ingest(sqs_event(&first), Deadline::none()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.events_stored, summary.objects_written), (4, 2));
    // Part of the batch comes again with a new message: "b" must count once.
    let mut again = sqs_event(&[first[1].clone()]);
    again.records[0] = sqs_message("m9", &first[1]);
    app.ingest(again, Deadline::none()).await;

    let hourly = app
        .handle(scheduled("stats-hourly", "2026-11-24T15:00:00Z"))
        .await
        .unwrap();
    assert_eq!(hourly["periods"][0]["period"], "2026-11-24T13");
    assert_eq!(hourly["periods"][0]["events"], 2);
    assert_eq!(hourly["periods"][0]["duplicate_events"], 1);
    let hour = app.store.json("stats/hourly/2026/11/24/13.json").unwrap();
    assert_eq!(hour["verdicts"]["by_verdict"]["rejected"], 1);

    let daily = app
        .handle(scheduled("stats-daily", "2026-11-25T01:15:00Z"))
        .await
        .unwrap();
    assert_eq!(daily["periods"][0]["events"], 4);
    let day = app.store.body("stats/daily/2026/11/24.json").unwrap();
    let published = app.publisher.published();
    assert_eq!(app.publisher.types(), ["stats.digest"]);
    let digest = &published[0].data;
    assert_eq!(digest["uploads"], 2);
    assert_eq!(digest["flagged_uploads"], 1);
    assert_eq!(digest["transcription_minutes"], 1.5);
    assert_eq!(digest["notifications_delivered"], 1);

    // A re-run writes the same document and announces the same event.
    app.handle(scheduled("stats-daily", "2026-11-25T01:15:00Z"))
        .await
        .unwrap();
    assert_eq!(app.store.body("stats/daily/2026/11/24.json").unwrap(), day);
    let published = app.publisher.published();
    assert_eq!(published[0].id, published[1].id);
    // The digest is the stats.digest contract the notifier is tested against.
    shared::testkit::contract::check_types(&published, &["stats.digest"]);
}

#[tokio::test]
async fn every_event_any_producer_publishes_is_stored_and_counted_in_its_hour() {
    // The consumer side of the contract test: the fixtures are what the producers' own tests
    // publish (events/contracts/), with this hour's time.
    let fixtures = shared::testkit::contract::fixtures();
    assert!(
        fixtures.len() >= 8,
        "the producers' fixtures are missing: {fixtures:?}"
    );
    let app = app("2026-11-25T01:30:00Z");
    let bodies: Vec<String> = fixtures
        .iter()
        .map(|(_, e)| {
            let mut e = e.clone();
            e.time = "2026-11-24T13:05:00Z".into();
            e.to_json()
        })
        .collect();
    let (response, summary) = app.ingest(sqs_event(&bodies), Deadline::none()).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a producer's event was refused"
    );
    assert_eq!(summary.events_stored, fixtures.len());
    let hourly = app
        .handle(scheduled("stats-hourly", "2026-11-24T15:00:00Z"))
        .await
        .unwrap();
    assert_eq!(hourly["periods"][0]["events"], fixtures.len());
    let hour = app.store.json("stats/hourly/2026/11/24/13.json").unwrap();
    for (event_type, _) in &fixtures {
        assert_eq!(
            hour["events"]["by_type"][event_type.as_str()].as_u64(),
            Some(1),
            "{event_type} is not counted in the hourly rollup: {hour}"
        );
    }
    // ai-processor's media.reviewed is read as a first decision with its wait.
    assert_eq!(hour["reviews"]["approved"], 1, "{}", hour["reviews"]);
    assert_eq!(hour["reviews"]["first_decisions"], 1);
    assert_eq!(hour["reviews"]["wait_ms"]["count"], 1);
}

#[tokio::test]
async fn a_raw_object_that_cannot_be_read_now_fails_the_rollup_and_one_that_never_can_is_counted() {
    // Ingested within the hour's lateness window (no late marker, one rollup per run).
    let app = app("2026-11-24T14:00:00Z");
    app.ingest(
        sqs_event(&[analyzed("a", "2026-11-24T13:05:00Z", "approved", 10)]),
        Deadline::none(),
    )
    .await;
    app.store.fail(
        StoreOp::Get,
        "stats/raw/",
        1,
        StoreError::retryable("SlowDown"),
    );
    let err = app
        .handle(scheduled("stats-hourly", "2026-11-24T14:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "StatsAggregator.RollupFailed");
    assert!(err.to_string().contains("2026-11-24T13"), "{err}");

    app.store.fail(
        StoreOp::Get,
        "stats/raw/",
        1,
        StoreError::permanent("InvalidObjectState"),
    );
    let report = app
        .handle(scheduled("stats-hourly", "2026-11-24T14:00:00Z"))
        .await
        .unwrap();
    assert_eq!(report["periods"][0]["events"], 0);
    let hour = app.store.json("stats/hourly/2026/11/24/13.json").unwrap();
    assert_eq!(hour["sources"]["unreadable_objects"], 1);
}

#[tokio::test]
async fn a_failed_raw_write_hands_back_exactly_the_records_of_that_object() {
    let app = app("2026-11-24T15:00:00Z");
    app.store.fail(
        StoreOp::Put,
        "stats/raw/2026/11/24/14/",
        1,
        StoreError::retryable("500"),
    );
    let (response, summary) = app
        .ingest(
            sqs_event(&[
                analyzed("a", "2026-11-24T13:05:00Z", "approved", 10),
                analyzed("b", "2026-11-24T14:05:00Z", "approved", 10),
                "not json".to_string(),
            ]),
            Deadline::none(),
        )
        .await;
    assert_eq!(
        failed_ids(&response),
        ["m1".to_string(), "m2".to_string()].into()
    );
    assert_eq!(summary.objects_written, 1);
    assert_eq!(summary.malformed_records, 1);
}

#[tokio::test]
async fn a_digest_that_cannot_be_published_fails_the_invocation_for_a_retry() {
    let app = app("2026-11-25T02:00:00Z");
    app.publisher.fail_next(1);
    let err = app
        .handle(scheduled("stats-daily", "2026-11-25T01:15:00Z"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "StatsAggregator.PublishFailed");
    app.handle(scheduled("stats-daily", "2026-11-25T01:15:00Z"))
        .await
        .unwrap();
    assert_eq!(app.publisher.types(), ["stats.digest"]);
}

/// The results bucket with one hung partition: a write under `hung_prefix` never answers (an
/// S3 call stuck past the SDK's own timeouts), everything else is the in-memory store.
#[derive(Clone, Default)]
struct HungWrites {
    store: MemoryObjectStore,
    hung_prefix: String,
}

impl ports::ObjectStore for HungWrites {
    async fn get(&self, key: &str) -> Result<Option<shared::results::StoredObject>, StoreError> {
        self.store.get(key).await
    }
    async fn get_capped(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<shared::results::StoredObject>, StoreError> {
        self.store.get_capped(key, max_bytes).await
    }
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: shared::results::WriteCondition<'_>,
    ) -> Result<shared::results::WriteOutcome, StoreError> {
        if key.starts_with(&self.hung_prefix) {
            std::future::pending::<()>().await;
        }
        self.store.put(key, body, content_type, condition).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<shared::results::ListedObject>, StoreError> {
        self.store.list(prefix).await
    }
}

#[tokio::test]
async fn a_write_that_hangs_hands_back_only_its_records_before_the_deadline() {
    let base = app("2026-11-24T15:00:00Z");
    let app = StatsAggregator {
        store: HungWrites {
            store: MemoryObjectStore::default(),
            hung_prefix: "stats/raw/2026/11/24/13/".into(),
        },
        publisher: base.publisher,
        dead_letters: base.dead_letters,
        clock: base.clock,
        config: base.config,
    };
    let (response, summary) = app
        .ingest(
            sqs_event(&[
                analyzed("a", "2026-11-24T13:05:00Z", "approved", 10),
                analyzed("b", "2026-11-24T14:05:00Z", "approved", 10),
                analyzed("c", "2026-11-24T14:06:00Z", "review", 10),
            ]),
            Deadline::after(std::time::Duration::from_millis(300)),
        )
        .await;
    // The invocation answered: the hung write's record comes back, the others are stored.
    assert_eq!(failed_ids(&response), ["m0".to_string()].into());
    assert_eq!((summary.events_stored, summary.failed_records), (2, 1));
    let stored = app.store.store.keys();
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].starts_with("stats/raw/2026/11/24/14/"),
        "{stored:?}"
    );
}
