//! Days of the business time zone (`SUITE_TIMEZONE`): the daily rollup and the digest cover
//! the local day, raw partitions and hourly documents stay UTC hours.

use super::*;

/// Ingests one `media.analyzed` per time, then runs the daily schedule at `scheduled_at`.
async fn daily_of(app: &TestApp, times: &[&str], scheduled_at: &str) -> Value {
    let bodies: Vec<String> = times
        .iter()
        .enumerate()
        .map(|(i, t)| analyzed(&format!("e{i}"), t, "approved", 100))
        .collect();
    let (response, _) = app.ingest(sqs_event(&bodies), Deadline::none()).await;
    assert!(response.batch_item_failures.is_empty());
    app.handle(scheduled("stats-daily", scheduled_at))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_shanghai_day_runs_from_local_midnight_to_local_midnight() {
    let app = app_in("2026-11-24T17:20:00Z", "Asia/Shanghai");
    let report = daily_of(
        &app,
        &[
            "2026-11-23T15:59:59Z", // 23:59:59 on the 23rd, Shanghai time
            "2026-11-23T16:00:00Z", // 00:00 on the 24th
            "2026-11-24T08:00:00+08:00",
            "2026-11-24T15:59:59Z", // 23:59:59 on the 24th
            "2026-11-24T16:00:00Z", // 00:00 on the 25th
        ],
        // 01:20 on the 25th in Shanghai, as the template's schedule fires.
        "2026-11-24T17:20:00Z",
    )
    .await;
    assert_eq!(report["periods"][0]["period"], "2026-11-24");
    assert_eq!(report["periods"][0]["events"], 3);
    let day = app.store.json("stats/daily/2026/11/24.json").unwrap();
    assert_eq!(day["period"]["start"], "2026-11-23T16:00:00Z");
    assert_eq!(day["period"]["end"], "2026-11-24T16:00:00Z");
    assert_eq!(day["hours_with_data"], 3);
    // Raw partitions and hourly documents are UTC hours.
    assert!(app
        .store
        .keys()
        .iter()
        .any(|k| k.starts_with("stats/raw/2026/11/23/16/")));
    assert_eq!(
        app.store.json("stats/hourly/2026/11/23/16.json").unwrap()["events"]["total"],
        1
    );
    let digest: StatsDigestPayload = app.publisher.published()[0].payload().unwrap();
    assert_eq!(digest.period, "2026-11-24");
    assert_eq!(digest.time_zone, "Asia/Shanghai");
    assert_eq!(digest.events, 3);
}

type StatsDigestPayload = shared::events::contracts::stats::StatsDigest;

#[tokio::test]
async fn new_york_days_are_25_and_23_hours_long_across_dst() {
    // 2026-11-01: clocks go back at 02:00 EDT, so 01:30 happens twice.
    let app = app_in("2026-11-02T06:20:00Z", "America/New_York");
    let report = daily_of(
        &app,
        &[
            "2026-11-01T03:59:59Z", // 23:59:59 EDT on Oct 31
            "2026-11-01T04:00:00Z", // 00:00 EDT
            "2026-11-01T05:30:00Z", // 01:30 EDT
            "2026-11-01T06:30:00Z", // 01:30 EST
            "2026-11-02T04:59:59Z", // 23:59:59 EST
            "2026-11-02T05:00:00Z", // 00:00 EST on Nov 2
        ],
        "2026-11-02T06:20:00Z", // 01:20 EST on Nov 2
    )
    .await;
    assert_eq!(report["periods"][0]["period"], "2026-11-01");
    assert_eq!(report["periods"][0]["events"], 4);
    let day = app.store.json("stats/daily/2026/11/01.json").unwrap();
    assert_eq!(day["period"]["start"], "2026-11-01T04:00:00Z");
    assert_eq!(day["period"]["end"], "2026-11-02T05:00:00Z");

    // 2026-03-08: clocks go forward at 02:00 EST; the day has 23 hours.
    let app = app_in("2026-03-09T05:20:00Z", "America/New_York");
    let report = daily_of(
        &app,
        &[
            "2026-03-08T04:59:59Z", // 23:59:59 EST on Mar 7
            "2026-03-08T05:00:00Z", // 00:00 EST
            "2026-03-09T03:59:59Z", // 23:59:59 EDT
            "2026-03-09T04:00:00Z", // 00:00 EDT on Mar 9
        ],
        "2026-03-09T05:20:00Z", // 01:20 EDT on Mar 9
    )
    .await;
    assert_eq!(report["periods"][0]["period"], "2026-03-08");
    assert_eq!(report["periods"][0]["events"], 2);
    let day = app.store.json("stats/daily/2026/03/08.json").unwrap();
    assert_eq!(day["period"]["start"], "2026-03-08T05:00:00Z");
    assert_eq!(day["period"]["end"], "2026-03-09T04:00:00Z");
}

#[test]
fn the_default_daily_run_picks_the_local_day_whose_lateness_window_closed() {
    let zone = shared::time::BusinessTimeZone::parse("Asia/Shanghai").unwrap();
    let plan = |time: &str| {
        let event = match inbound::Trigger::classify(scheduled("stats-daily", time)).unwrap() {
            inbound::Trigger::Scheduled(e) => e,
            inbound::Trigger::Sqs(_) => unreachable!("a scheduled event"),
        };
        match event.plan(parse_rfc3339_lenient(time).unwrap(), 60, &zone) {
            Ok(schedule::RollupRequest::Daily { day, .. }) => day.to_string(),
            other => panic!("{other:?}"),
        }
    };
    // 01:20 local on the 25th: the 24th's window closed at 01:00.
    assert_eq!(plan("2026-11-24T17:20:00Z"), "2026-11-24");
    // 00:30 local on the 25th: the 24th's late events may still come; the 23rd is the latest
    // closed day.
    assert_eq!(plan("2026-11-24T16:30:00Z"), "2026-11-23");
    // 08:20 local: the UTC day has just ended, the local one long ago.
    assert_eq!(plan("2026-11-25T00:20:00Z"), "2026-11-24");
}

#[test]
fn zones_whose_offset_is_not_whole_hours_are_refused_at_start_naming_zone_and_offset() {
    for (zone, offset) in [
        ("Asia/Kolkata", "+05:30"),
        ("Asia/Kathmandu", "+05:45"),
        ("Australia/Lord_Howe", "+10:30"),
    ] {
        let problems = Config::from_env(shared::config::Env::from_vars([
            ("RESULTS_BUCKET", "results"),
            ("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:suite-events"),
            ("SUITE_TIMEZONE", zone),
        ]))
        .unwrap_err()
        .problems
        .join("\n");
        assert!(problems.contains(zone), "{problems}");
        assert!(problems.contains(offset), "{zone}: {problems}");
        assert!(problems.contains("whole number of hours"), "{problems}");
        assert!(!problems.contains(&format!("{offset}:00")), "{problems}");
    }
    for zone in ["UTC", "Asia/Shanghai", "America/New_York", "Europe/London"] {
        assert!(
            period::whole_hour_zone(&shared::time::BusinessTimeZone::parse(zone).unwrap()).is_ok()
        );
    }
}
