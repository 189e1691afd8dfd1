//! A scheduled invocation: plan the periods, roll them up, emit metrics and, for a day, the
//! `stats.digest` event.

use serde::Serialize;
use time::OffsetDateTime;

use crate::config::Config;
use crate::document::RollupDocument;
use crate::error::HandlerError;
use crate::inbound::ScheduledEvent;
use crate::ports::{EventPublisher, ObjectStore};
use crate::report;
use crate::rollup;
use crate::schedule::RollupRequest;

/// One rolled-up period, as returned by a scheduled invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolledPeriod {
    pub period: String,
    pub key: String,
    pub events: u64,
    pub malformed_lines: u64,
    pub duplicate_events: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleReport {
    pub rollup: &'static str,
    pub backfill: bool,
    pub periods: Vec<RolledPeriod>,
    /// Hours rolled again for events that arrived after their lateness window, and the
    /// existing daily documents rewritten for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub late: Vec<RolledPeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_event_id: Option<String>,
}

/// Runs the rollups `event` asks for at `now`.
pub async fn run_schedule<S: ObjectStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    config: &Config,
    now: OffsetDateTime,
    event: &ScheduledEvent,
) -> Result<ScheduleReport, HandlerError> {
    let zone = &config.common.time_zone;
    let request = event.plan(now, config.lateness_minutes, zone)?;
    tracing::info!(?request, detail_type = ?event.detail_type, source = ?event.source, "rollup requested");
    let concurrency = config.fetch_concurrency;
    let except = match request {
        RollupRequest::Daily { day, .. } => Some(day),
        RollupRequest::Hourly { .. } => None,
    };
    let horizon = crate::period::reroll_horizon(now, config.raw_retention_days);
    let late = rollup::reroll_late_hours(store, zone, concurrency, except, horizon)
        .await
        .map_err(|(period, source)| HandlerError::Rollup { period, source })?;
    let late: Vec<RolledPeriod> = late
        .hours
        .iter()
        .map(|(hour, document)| rolled(document, hour.hourly_key()))
        .chain(
            late.days
                .iter()
                .map(|(day, document)| rolled(document, day.daily_key())),
        )
        .collect();
    match request {
        RollupRequest::Hourly { hours, backfill } => {
            let mut periods = Vec::new();
            for hour in hours {
                let document = rollup::write_hourly(store, hour, concurrency)
                    .await
                    .map_err(|source| HandlerError::Rollup {
                        period: hour.to_string(),
                        source,
                    })?;
                report::rollup_metrics(&config.common.metrics_namespace, &document).emit();
                periods.push(rolled(&document, hour.hourly_key()));
            }
            Ok(ScheduleReport {
                rollup: "hourly",
                backfill,
                periods,
                late,
                digest_event_id: None,
            })
        }
        RollupRequest::Daily { day, backfill } => {
            let lateness_closes =
                day.bounds(zone).1 + time::Duration::minutes(i64::from(config.lateness_minutes));
            if now < lateness_closes {
                tracing::warn!(period = %day, lateness_closes = %shared::time::rfc3339(lateness_closes), "daily rollup runs before late events of the day's last hour can have arrived; schedule it later");
            }
            let document = rollup::write_daily(store, day, zone, concurrency)
                .await
                .map_err(|source| HandlerError::Rollup {
                    period: day.to_string(),
                    source,
                })?;
            report::rollup_metrics(&config.common.metrics_namespace, &document).emit();
            let digest = report::digest_event(&config.common.results_bucket, zone, day, &document);
            publisher.publish(&digest).await?;
            Ok(ScheduleReport {
                rollup: "daily",
                backfill,
                periods: vec![rolled(&document, day.daily_key())],
                late,
                digest_event_id: Some(digest.id),
            })
        }
    }
}

fn rolled(document: &RollupDocument, key: String) -> RolledPeriod {
    RolledPeriod {
        period: document.period.id.clone(),
        key,
        events: document.stats.events.total,
        malformed_lines: document.stats.sources.malformed_lines,
        duplicate_events: document.stats.sources.duplicate_events,
    }
}
