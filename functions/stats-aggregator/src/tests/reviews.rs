//! Issue 20: review requests (`media.flagged`, verdict `review`) and moderators' decisions
//! (`media.reviewed`) in the hourly and daily documents and the digest.

use super::*;

fn flagged(id: &str, time: &str, verdict: &str) -> String {
    envelope(id, "media.flagged", time, json!({"verdict": verdict}))
}

fn reviewed(id: &str, time: &str, decision: &str, changed: bool, wait_ms: u64) -> String {
    envelope(
        id,
        "media.reviewed",
        time,
        json!({"bucket": "media", "key": format!("videos/{id}.mp4"), "version_id": null,
               "decision": decision, "reviewer": "mod-1", "reason": null,
               "previous_verdict": "review", "changed": changed,
               "uploaded_at": "2026-11-23T10:00:00Z", "decided_at": time, "wait_ms": wait_ms,
               "analysis_document": "s3://results/analysis/videos/x.json"}),
    )
}

#[tokio::test]
async fn requests_and_decisions_reach_the_documents_and_the_digest_with_pending_carried_over() {
    let app = app("2026-11-23T12:00:00Z");
    // The 23rd: three uploads go to review, one is decided.
    app.ingest(
        sqs_event(&[
            flagged("f1", "2026-11-23T10:00:00Z", "review"),
            flagged("f2", "2026-11-23T10:10:00Z", "review"),
            flagged("f3", "2026-11-23T11:00:00Z", "review"),
            flagged("f4", "2026-11-23T11:05:00Z", "rejected"),
            reviewed("r1", "2026-11-23T11:30:00Z", "approved", false, 5_400_000),
        ]),
        Deadline::none(),
    )
    .await;
    app.clock
        .set(parse_rfc3339_lenient("2026-11-24T01:20:00Z").unwrap());
    app.handle(scheduled("stats-daily", "2026-11-24T01:20:00Z"))
        .await
        .unwrap();
    let first_day: StatsDigest = app.publisher.published()[0].payload().unwrap();
    let reviews = first_day.reviews.unwrap();
    assert_eq!((reviews.requested, reviews.approved), (3, 1));
    // No document of the 22nd: what was pending before is unknown.
    assert_eq!(reviews.pending, None);

    // The 24th: one more request, two first decisions, and r1 changed to rejected.
    app.ingest(
        sqs_event(&[
            flagged("f5", "2026-11-24T09:00:00Z", "review"),
            reviewed("r2", "2026-11-24T09:30:00Z", "rejected", false, 84_600_000),
            reviewed("r3", "2026-11-24T10:00:00Z", "approved", false, 3_600_000),
            reviewed("r1c", "2026-11-24T10:30:00Z", "rejected", true, 88_200_000),
        ]),
        Deadline::none(),
    )
    .await;
    app.clock
        .set(parse_rfc3339_lenient("2026-11-25T01:20:00Z").unwrap());
    app.handle(scheduled("stats-daily", "2026-11-25T01:20:00Z"))
        .await
        .unwrap();
    let hour = app.store.json("stats/hourly/2026/11/24/09.json").unwrap();
    assert_eq!(hour["reviews"]["requested"], 1);
    assert_eq!(hour["reviews"]["rejected"], 1);
    assert!(hour["reviews"].get("pending").is_none());
    let day = app.store.json("stats/daily/2026/11/24.json").unwrap();
    assert_eq!(day["reviews"]["first_decisions"], 2);
    assert_eq!(day["reviews"]["pending"], 1);

    let digest: StatsDigest = app.publisher.published()[1].payload().unwrap();
    let reviews = digest.reviews.unwrap();
    assert_eq!(
        (
            reviews.requested,
            reviews.approved,
            reviews.rejected,
            reviews.changed
        ),
        (1, 1, 2, 1)
    );
    // The 23rd has a document without a pending figure (no document of the 22nd): its own
    // 3 requests − 1 decision start the count; the 24th adds 1 request and 2 first decisions.
    assert_eq!(reviews.pending, Some(1));
    // Waits of the two first decisions (1 h and 23.5 h), within the sketch's 1 %.
    let p50 = reviews.wait_ms_p50.unwrap();
    assert!((p50 - 3_600_000.0).abs() <= 36_000.0, "{p50}");
    let p95 = reviews.wait_ms_p95.unwrap();
    assert!(p95 >= p50 && p95 <= 84_600_000.0 * 1.01, "{p95}");
}

type StatsDigest = shared::events::contracts::stats::StatsDigest;
