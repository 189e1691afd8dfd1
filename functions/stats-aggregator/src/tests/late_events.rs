//! Issue 18.3: an event counts once per day however late it arrives. A republished event keeps
//! its id and first time, so it lands in the hour it was first counted in; events written
//! into an hour the hourly schedule no longer rolls leave a marker, and the next scheduled run
//! rolls that hour again and rewrites the day.

use std::time::Duration;

use super::*;

const LATE_PREFIX: &str = "stats/late/";

fn markers(app: &TestApp) -> Vec<String> {
    app.store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(LATE_PREFIX))
        .collect()
}

async fn ingest_one(app: &TestApp, message_id: &str, body: String) {
    let mut event = sqs_event(std::slice::from_ref(&body));
    event.records[0] = sqs_message(message_id, &body);
    let (response, summary) = app.ingest(event, Deadline::none()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.objects_written, 1);
}

#[tokio::test]
async fn a_republished_event_counts_once_in_its_day_and_a_late_new_one_is_counted_after_a_re_roll()
{
    let app = app("2026-11-24T13:06:00Z");
    let first = analyzed("e1", "2026-11-24T13:05:00Z", "approved", 100);
    ingest_one(&app, "m1", first.clone()).await;
    assert!(markers(&app).is_empty(), "on time: no marker");
    app.handle(scheduled("stats-hourly", "2026-11-24T14:05:00Z"))
        .await
        .unwrap();

    // Seven hours later the producer publishes e1 again (a redelivery: same id, same first
    // time) and a genuinely new event of 13:30 arrives from a dead-letter redrive.
    app.clock.advance(Duration::from_secs(7 * 3600));
    ingest_one(&app, "m2", first.clone()).await;
    let late_new = analyzed("e2", "2026-11-24T13:30:00Z", "rejected", 300);
    ingest_one(&app, "m3", late_new).await;
    assert_eq!(markers(&app).len(), 2);

    // The next hourly run (20:05) rolls its own hours and hour 13 again.
    let report = app
        .handle(scheduled("stats-hourly", "2026-11-24T21:05:00Z"))
        .await
        .unwrap();
    assert_eq!(report["late"][0]["period"], "2026-11-24T13");
    assert_eq!(report["late"][0]["events"], 2);
    assert_eq!(report["late"][0]["duplicate_events"], 1);
    assert!(markers(&app).is_empty(), "markers are removed once rolled");

    app.clock
        .set(parse_rfc3339_lenient("2026-11-25T01:20:00Z").unwrap());
    let daily = app
        .handle(scheduled("stats-daily", "2026-11-25T01:20:00Z"))
        .await
        .unwrap();
    assert_eq!(daily["periods"][0]["events"], 2, "{daily}");
    let digest = &app.publisher.published()[0].data;
    assert_eq!(digest["uploads"], 2);
    assert_eq!(digest["flagged_uploads"], 1);

    // After the digest: e1 once more and one more new late event. The hourly run re-rolls
    // hour 13 and rewrites the day's existing document.
    app.clock
        .set(parse_rfc3339_lenient("2026-11-25T05:00:00Z").unwrap());
    ingest_one(&app, "m4", first).await;
    ingest_one(
        &app,
        "m5",
        analyzed("e3", "2026-11-24T13:45:00Z", "approved", 200),
    )
    .await;
    let report = app
        .handle(scheduled("stats-hourly", "2026-11-25T05:05:00Z"))
        .await
        .unwrap();
    let late: Vec<&str> = report["late"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(late, ["2026-11-24T13", "2026-11-24"]);
    let day = app.store.json("stats/daily/2026/11/24.json").unwrap();
    assert_eq!(day["events"]["total"], 3);
    assert_eq!(day["uploads"]["total"], 3);
    assert_eq!(day["sources"]["duplicate_events"], 2);
    // The digest was announced once; the document is where the late figures are.
    assert_eq!(app.publisher.types(), ["stats.digest"]);
}

#[tokio::test]
async fn a_marker_that_cannot_be_written_hands_the_records_back() {
    let app = app("2026-11-24T20:00:00Z");
    app.store.fail(
        StoreOp::Put,
        LATE_PREFIX,
        1,
        StoreError::retryable("SlowDown"),
    );
    let body = analyzed("e1", "2026-11-24T13:05:00Z", "approved", 100);
    let (response, _) = app
        .ingest(sqs_event(std::slice::from_ref(&body)), Deadline::none())
        .await;
    assert_eq!(failed_ids(&response), ["m0".to_string()].into());
    assert!(markers(&app).is_empty());
    // SQS delivers it again: the raw object is there already, the marker is written now.
    let (response, summary) = app.ingest(sqs_event(&[body]), Deadline::none()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.objects_already_stored, 1);
    assert_eq!(markers(&app).len(), 1);
}

#[tokio::test]
async fn events_of_an_hour_older_than_the_raw_retention_are_stored_but_never_re_rolled() {
    // 30 days of raw retention: an hour of 29 days ago may have lost its first objects.
    let app = app("2026-12-24T14:00:00Z");
    app.store.insert(
        "stats/hourly/2026/11/24/13.json",
        RollupDocumentFixture::with_events(7),
    );
    let (response, summary) = app
        .ingest(
            sqs_event(&[analyzed("old", "2026-11-24T13:05:00Z", "approved", 1)]),
            Deadline::none(),
        )
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        (summary.events_stored, summary.events_too_old_to_count),
        (1, 1)
    );
    assert!(markers(&app).is_empty());
    // A marker left from before (written when the hour was still young enough) is dropped.
    app.store
        .insert("stats/late/2026/11/24/13/x.ndjson.zst", Vec::<u8>::new());
    let report = app
        .handle(scheduled("stats-hourly", "2026-12-24T14:05:00Z"))
        .await
        .unwrap();
    assert!(report.get("late").is_none(), "{report}");
    assert!(markers(&app).is_empty());
    // The hour's document still has what was counted before the raw objects expired.
    let hour = app.store.json("stats/hourly/2026/11/24/13.json").unwrap();
    assert_eq!(hour["events"]["total"], 7);
}

/// An hourly document as the rollup wrote it, with `events` events.
struct RollupDocumentFixture;

impl RollupDocumentFixture {
    fn with_events(events: u64) -> Vec<u8> {
        let mut stats = aggregate::PeriodStats::default();
        stats.events.total = events;
        document::RollupDocument::hourly(period::Hour::parse("2026-11-24T13").unwrap(), stats)
            .to_json()
    }
}
