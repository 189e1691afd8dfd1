//! What leaves the function besides documents: EMF metrics and the daily `stats.digest` event.

use shared::events::contracts::stats::{ChannelDeliveries, DigestLatency, StatsDigest};
use shared::events::{Envelope, Severity};
use shared::metrics::{MetricSet, Unit};
use shared::time::BusinessTimeZone;

use crate::aggregate::minutes;
use crate::config::SERVICE;
use crate::document::RollupDocument;
use crate::ingest::IngestSummary;
use crate::period::Day;

/// Key figures of a rollup, with dimension `Rollup` = `hourly` | `daily`.
pub fn rollup_metrics(namespace: &str, document: &RollupDocument) -> MetricSet {
    let s = &document.stats;
    let mut m = MetricSet::new(namespace, SERVICE)
        .dimension("Rollup", document.period.granularity.as_str());
    m.count("Events", s.events.total)
        .count("Uploads", s.uploads.total)
        .put("UploadBytes", Unit::Bytes, s.uploads.bytes as f64)
        .count("FlaggedUploads", s.flagged_uploads())
        .count("TranscriptionJobs", s.transcription.total.jobs)
        .put(
            "TranscriptionMinutes",
            Unit::None,
            minutes(s.transcription.total.duration_ms),
        )
        .count("NotificationsDelivered", s.notifications.total.delivered)
        .count("NotificationsFailed", s.notifications.total.failed)
        .count("CostAlerts", s.cost.alerts)
        .count("CostActions", s.cost.actions)
        .count("ReviewsRequested", s.reviews.requested)
        .count("ReviewsApproved", s.reviews.approved)
        .count("ReviewsRejected", s.reviews.rejected)
        .count("ReviewsChanged", s.reviews.changed)
        .count("MalformedLines", s.sources.malformed_lines)
        .count("DuplicateEvents", s.sources.duplicate_events)
        .count("UnreadableObjects", s.sources.unreadable_objects);
    for (name, sketch, q) in [
        ("LatencyP50", &s.latency_ms, 0.5),
        ("LatencyP90", &s.latency_ms, 0.9),
        ("LatencyP99", &s.latency_ms, 0.99),
        ("ReviewWaitP50", &s.reviews.wait_ms, 0.5),
        ("ReviewWaitP95", &s.reviews.wait_ms, 0.95),
    ] {
        if let Some(v) = sketch.quantile(q) {
            m.put(name, Unit::Milliseconds, v);
        }
    }
    if let Some(pending) = s.reviews.pending {
        m.count("ReviewsPending", pending);
    }
    m
}

pub fn emit_ingest_metrics(namespace: &str, summary: &IngestSummary) {
    let mut m = MetricSet::new(namespace, SERVICE);
    // The names every SQS consumer emits (shared::batch), which the failed-record alarms read.
    let failed = summary.failed_records as u64;
    let poison = summary.malformed_records as u64;
    m.count(
        "RecordsProcessed",
        (summary.records as u64).saturating_sub(failed + poison),
    )
    .count("RecordsRetryable", failed)
    .count("RecordsPoison", poison);
    m.count("EventsIngested", summary.events_stored as u64)
        .count("RawObjectsWritten", summary.objects_written as u64)
        .count(
            "RawObjectsAlreadyStored",
            summary.objects_already_stored as u64,
        )
        .count("MalformedRecords", summary.malformed_records as u64)
        .count(
            "EventsTooOldToCount",
            summary.events_too_old_to_count as u64,
        )
        .count("RecordsToRetry", summary.failed_records as u64);
    m.emit();
}

/// The `stats.digest` event of a local day ([`StatsDigest`]). Its id depends only on the day,
/// and its time is the day's end, so a re-run announces the same event at the same time and
/// consumers de-duplicate it (stats counts it once, in the hour the day ended).
pub fn digest_event(
    bucket: &str,
    zone: &BusinessTimeZone,
    day: Day,
    document: &RollupDocument,
) -> Envelope {
    let s = &document.stats;
    let subject = format!("s3://{bucket}/{}", day.daily_key());
    let digest = StatsDigest {
        period: day.to_string(),
        time_zone: zone.name().to_string(),
        document: subject.clone(),
        events: s.events.total,
        uploads: s.uploads.total,
        upload_bytes: s.uploads.bytes,
        flagged_uploads: s.flagged_uploads(),
        verdicts: s
            .verdicts
            .by_verdict
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        transcription_jobs: s.transcription.total.jobs,
        transcription_minutes: minutes(s.transcription.total.duration_ms),
        latency_ms: DigestLatency {
            p50: s.latency_ms.quantile(0.5),
            p90: s.latency_ms.quantile(0.9),
            p95: s.latency_ms.quantile(0.95),
            p99: s.latency_ms.quantile(0.99),
        },
        notifications_delivered: s.notifications.total.delivered,
        notifications_failed: s.notifications.total.failed,
        notifications_by_channel: s
            .notifications
            .by_channel
            .iter()
            .map(|(channel, d)| {
                let deliveries = ChannelDeliveries {
                    delivered: d.delivered,
                    failed: d.failed,
                };
                (channel.clone(), deliveries)
            })
            .collect(),
        cost_alerts: s.cost.alerts,
        cost_actions: s.cost.actions,
        malformed_lines: s.sources.malformed_lines,
        hours_with_data: document.hours_with_data,
        reviews: Some(s.reviews.figures()),
    };
    Envelope::of(&digest, SERVICE, &subject, Severity::Info, &day.to_string())
        .first_published_at(Some(day.bounds(zone).1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::PeriodStats;
    use crate::event_line::parse_line;

    fn document() -> RollupDocument {
        let mut stats = PeriodStats::default();
        for line in [
            r#"{"version":1,"id":"1","type":"media.analyzed","data":{"verdict":"rejected","size_bytes":5,"latency_ms":200}}"#,
            r#"{"version":1,"id":"2","type":"transcript.ready","data":{"duration_seconds":90}}"#,
        ] {
            stats.record(&parse_line(line.as_bytes()).unwrap());
        }
        RollupDocument::daily(
            Day::parse("2026-11-24").unwrap(),
            &BusinessTimeZone::utc(),
            stats,
            2,
        )
    }

    #[test]
    fn the_digest_has_a_stable_id_and_the_key_figures() {
        let day = Day::parse("2026-11-24").unwrap();
        let a = digest_event("results", &BusinessTimeZone::utc(), day, &document());
        let b = digest_event(
            "results",
            &BusinessTimeZone::utc(),
            day,
            &RollupDocument::daily(day, &BusinessTimeZone::utc(), PeriodStats::default(), 0),
        );
        assert_eq!((&a.id, &a.time), (&b.id, &b.time));
        assert_eq!(a.time, "2026-11-25T00:00:00Z");
        assert_eq!(a.event_type, "stats.digest");
        assert_eq!(a.subject, "s3://results/stats/daily/2026/11/24.json");
        assert_eq!(a.data["flagged_uploads"], 1);
        assert_eq!(a.data["transcription_minutes"], 1.5);
        assert_eq!(
            a.data["latency_ms"]["p50"]
                .as_f64()
                .map(|v| (v - 200.0).abs() <= 2.0),
            Some(true)
        );
        assert!(b.data["latency_ms"]["p50"].is_null());
        // Consumers read it as the shared contract.
        let digest: StatsDigest = a.payload().unwrap();
        assert_eq!(digest.period, "2026-11-24");
        assert_eq!(digest.uploads, 1);
        assert_eq!(digest.verdicts.get("rejected"), Some(&1));
        assert!(digest.latency_ms.p95.is_some());
        assert_ne!(
            a.id,
            digest_event(
                "results",
                &BusinessTimeZone::utc(),
                day.previous(),
                &document()
            )
            .id
        );
    }

    #[test]
    fn rollup_metrics_carry_the_key_figures() {
        let emf = rollup_metrics("MediaSuite", &document()).to_emf(0);
        assert_eq!(emf["Rollup"], "daily");
        assert_eq!(emf["Events"], 2.0);
        assert_eq!(emf["FlaggedUploads"], 1.0);
        assert_eq!(emf["TranscriptionMinutes"], 1.5);
        assert!(emf["LatencyP99"].as_f64().is_some());
        assert_eq!(emf["ReviewsRequested"], 0.0);
        assert_eq!(emf["ReviewsApproved"], 0.0);
        assert!(emf.get("ReviewWaitP95").is_none(), "no decision, no wait");
        assert_eq!(
            emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["service", "Rollup"]])
        );
    }
}
