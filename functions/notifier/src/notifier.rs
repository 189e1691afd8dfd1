//! The notifier: for each record, route the event, render it per channel language, and
//! deliver to every channel concurrently, once per (event id, channel).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use shared::batch::{process_batch_until, BatchSummary, DeadLetterSink, Deadline, RecordError};
use shared::config::ConfigError;
use shared::events::{types, Envelope};
use shared::idempotency::{once, IdempotencyError, IdempotencyStore, Once};
use shared::time::BusinessTimeZone;
use tokio::time::Instant;

use crate::config::DeliveryTuning;
use crate::delivery::{deliver, Delivery, Throttle};
use crate::delivery_metrics::DeliveryMetrics;
use crate::delivery_reports::report;
use crate::inbound::envelope_from_body;
use crate::ports::{
    Attempt, Clock, DeliveryReports, NoDeliveryReports, NotificationChannel, SendSlots,
};
use crate::render::render;
use crate::routing::{ChannelSpec, Routing};

pub use crate::outcome::ChannelOutcome;

enum ChannelFailure {
    Delivery(Delivery),
    Store(IdempotencyError),
}

impl From<IdempotencyError> for ChannelFailure {
    fn from(e: IdempotencyError) -> Self {
        ChannelFailure::Store(e)
    }
}

struct RoutedChannel {
    spec: ChannelSpec,
    adapter: Arc<dyn NotificationChannel>,
}

pub struct Notifier {
    routing: Routing,
    channels: HashMap<String, RoutedChannel>,
    tuning: DeliveryTuning,
    clock: Arc<dyn Clock>,
    reports: Arc<dyn DeliveryReports>,
    slots: Arc<dyn SendSlots>,
    /// The ETag of the routing document these rules came from, when read from S3.
    rules_version: Option<String>,
    /// `SUITE_TIMEZONE`: where instants in messages are shown (a review link's expiry).
    time_zone: BusinessTimeZone,
}

impl Notifier {
    /// `adapters` must hold one adapter per channel the routing defines.
    pub fn new(
        routing: Routing,
        mut adapters: HashMap<String, Arc<dyn NotificationChannel>>,
        tuning: DeliveryTuning,
        clock: Arc<dyn Clock>,
        slots: Arc<dyn SendSlots>,
    ) -> Result<Self, ConfigError> {
        let mut channels = HashMap::new();
        let mut problems = Vec::new();
        for spec in &routing.channels {
            match adapters.remove(&spec.name) {
                Some(adapter) => {
                    channels.insert(
                        spec.name.clone(),
                        RoutedChannel {
                            spec: spec.clone(),
                            adapter,
                        },
                    );
                }
                None => problems.push(format!("channel {:?} has no adapter", spec.name)),
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Self {
            routing,
            channels,
            tuning,
            clock,
            reports: Arc::new(NoDeliveryReports),
            slots,
            rules_version: None,
            time_zone: BusinessTimeZone::utc(),
        })
    }

    /// Shows instants in messages in `zone` (`SUITE_TIMEZONE`) instead of UTC.
    pub fn with_time_zone(mut self, zone: BusinessTimeZone) -> Self {
        self.time_zone = zone;
        self
    }

    /// Records which version of the routing document these rules are.
    pub fn with_rules_version(mut self, version: Option<String>) -> Self {
        self.rules_version = version;
        self
    }

    pub fn rules_version(&self) -> Option<&str> {
        self.rules_version.as_deref()
    }

    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// Sends a report of every delivery and failure to `reports` (the stats-ingest queue).
    pub fn with_reports(mut self, reports: Arc<dyn DeliveryReports>) -> Self {
        self.reports = reports;
        self
    }

    pub fn tuning(&self) -> &DeliveryTuning {
        &self.tuning
    }

    /// Handles an SQS batch: the response lists exactly the records to deliver again.
    pub async fn handle_batch<S: IdempotencyStore, D: DeadLetterSink>(
        &self,
        event: SqsEvent,
        store: &S,
        dead_letters: &D,
        concurrency: usize,
        deadline: Deadline,
        metrics: &DeliveryMetrics,
    ) -> (SqsBatchResponse, BatchSummary) {
        // Attempts stop before the deadline on their own (each reports "no time left");
        // `process_batch_until` is the backstop for anything that still hangs.
        let until = Instant::now() + deadline.remaining();
        process_batch_until(
            event,
            concurrency,
            deadline,
            dead_letters,
            |message: SqsMessage| async move {
                self.handle_message(&message, store, until, metrics).await
            },
        )
        .await
    }

    pub async fn handle_message<S: IdempotencyStore>(
        &self,
        message: &SqsMessage,
        store: &S,
        deadline: Instant,
        metrics: &DeliveryMetrics,
    ) -> Result<(), RecordError> {
        let envelope = envelope_from_body(message.body.as_deref())?;
        let outcomes = self.notify(&envelope, store, deadline, metrics).await;
        let describe = |pred: fn(&ChannelOutcome) -> bool| -> Vec<String> {
            outcomes
                .iter()
                .filter(|(_, o)| pred(o))
                .map(|(name, o)| match o {
                    ChannelOutcome::Rejected { reason, .. }
                    | ChannelOutcome::GaveUp { reason, .. }
                    | ChannelOutcome::StoreFailed { reason } => format!("{name}: {reason}"),
                    ChannelOutcome::InProgressElsewhere => {
                        format!("{name}: another delivery of this event is in progress")
                    }
                    _ => name.clone(),
                })
                .collect()
        };
        let retryable = describe(ChannelOutcome::is_retryable);
        if !retryable.is_empty() {
            return Err(RecordError::retryable(format!(
                "event {} not yet delivered to {}",
                envelope.id,
                retryable.join("; ")
            )));
        }
        let rejected = describe(|o| matches!(o, ChannelOutcome::Rejected { .. }));
        if !rejected.is_empty() {
            return Err(RecordError::permanent(format!(
                "event {} rejected by {}",
                envelope.id,
                rejected.join("; ")
            )));
        }
        Ok(())
    }

    /// Delivers one event to every channel its rules name, concurrently.
    pub async fn notify<S: IdempotencyStore>(
        &self,
        envelope: &Envelope,
        store: &S,
        deadline: Instant,
        metrics: &DeliveryMetrics,
    ) -> Vec<(String, ChannelOutcome)> {
        let routes = self.routing.route(envelope);
        if routes.is_empty() {
            let known = [
                types::MEDIA_ANALYZED,
                types::MEDIA_FLAGGED,
                types::MEDIA_FAILED,
                types::MEDIA_SKIPPED,
                types::TRANSCRIPT_READY,
                types::COST_THRESHOLD,
                types::COST_ACTION,
                types::STATS_DIGEST,
            ]
            .contains(&envelope.event_type.as_str());
            tracing::info!(
                event_id = %envelope.id,
                event_type = %envelope.event_type,
                severity = %envelope.severity,
                known_type = known,
                "no routing rule matches; event skipped"
            );
            return Vec::new();
        }
        let deliveries = routes.into_iter().filter_map(|spec| {
            let routed = self.channels.get(&spec.name)?;
            Some(async move {
                let outcome = self.deliver_once(envelope, routed, store, deadline).await;
                record(metrics, envelope, &routed.spec, &outcome);
                (routed.spec.name.clone(), routed.spec.kind.name(), outcome)
            })
        });
        let results = join_all(deliveries).await;
        let now = self.clock.now();
        let reports: Vec<Envelope> = results
            .iter()
            .filter_map(|(channel, kind, outcome)| report(envelope, channel, kind, outcome, now))
            .collect();
        if !reports.is_empty() {
            // The deliveries happened whatever becomes of their reports: a report that cannot
            // be sent is logged and counted, never a reason to deliver the event again.
            if let Err(reason) = self.reports.send(&reports).await {
                tracing::warn!(event_id = %envelope.id, reports = reports.len(), %reason, "delivery reports not sent to stats");
                metrics.reports_not_sent(reports.len() as u64);
            }
        }
        results
            .into_iter()
            .map(|(channel, _, outcome)| (channel, outcome))
            .collect()
    }

    async fn deliver_once<S: IdempotencyStore>(
        &self,
        envelope: &Envelope,
        routed: &RoutedChannel,
        store: &S,
        deadline: Instant,
    ) -> ChannelOutcome {
        let key = format!("{}/{}", envelope.id, routed.spec.name);
        let result = once(store, &key, || async {
            let notification = render(envelope, routed.spec.language, &self.time_zone);
            let attempt = Attempt {
                envelope,
                notification: &notification,
                timeout: self.tuning.attempt_timeout,
                idempotency_key: &key,
                now: self.clock.now(),
            };
            match deliver(
                routed.adapter.as_ref(),
                attempt,
                routed
                    .spec
                    .rate_limit_per_minute
                    .map(|per_minute| Throttle {
                        slots: self.slots.as_ref(),
                        channel: &routed.spec.name,
                        per_minute,
                    }),
                &self.tuning,
                self.clock.as_ref(),
                deadline,
            )
            .await
            {
                Delivery::Delivered { attempts } => Ok(attempts),
                other => Err(ChannelFailure::Delivery(other)),
            }
        })
        .await;
        match result {
            Ok(Once::Done(attempts)) => ChannelOutcome::Delivered { attempts },
            Ok(Once::AlreadyDone) => ChannelOutcome::AlreadyDelivered,
            Ok(Once::InProgress) => ChannelOutcome::InProgressElsewhere,
            Err(ChannelFailure::Delivery(Delivery::Rejected { attempts, reason })) => {
                ChannelOutcome::Rejected { attempts, reason }
            }
            Err(ChannelFailure::Delivery(Delivery::GaveUp { attempts, reason })) => {
                ChannelOutcome::GaveUp { attempts, reason }
            }
            Err(ChannelFailure::Delivery(Delivery::Delivered { attempts })) => {
                ChannelOutcome::Delivered { attempts }
            }
            Err(ChannelFailure::Store(e)) => ChannelOutcome::StoreFailed {
                reason: e.to_string(),
            },
        }
    }
}

fn record(
    metrics: &DeliveryMetrics,
    envelope: &Envelope,
    spec: &ChannelSpec,
    outcome: &ChannelOutcome,
) {
    let (event_id, event_type, channel, kind) = (
        &envelope.id,
        &envelope.event_type,
        &spec.name,
        spec.kind.name(),
    );
    match outcome {
        ChannelOutcome::Delivered { attempts } => {
            tracing::info!(%event_id, %event_type, %channel, kind, attempts, "delivered");
            metrics.record(channel, |c| {
                c.delivered += 1;
                c.retried += u64::from(attempts.saturating_sub(1));
            });
        }
        ChannelOutcome::AlreadyDelivered => {
            tracing::info!(%event_id, %event_type, %channel, kind, "already delivered earlier; not sent again");
            metrics.record(channel, |c| c.duplicates += 1);
        }
        ChannelOutcome::InProgressElsewhere => {
            tracing::warn!(%event_id, %event_type, %channel, kind, "another delivery holds this event; will retry");
            metrics.record(channel, |c| c.failed += 1);
        }
        ChannelOutcome::Rejected { attempts, reason } => {
            tracing::error!(%event_id, %event_type, %channel, kind, attempts, %reason, "rejected by the channel; not retried");
            metrics.record(channel, |c| {
                c.failed += 1;
                c.rejected += 1;
                c.retried += u64::from(attempts.saturating_sub(1));
            });
        }
        ChannelOutcome::GaveUp { attempts, reason } => {
            tracing::warn!(%event_id, %event_type, %channel, kind, attempts, %reason, "not delivered yet; the record will be delivered again");
            metrics.record(channel, |c| {
                c.failed += 1;
                c.retried += u64::from(attempts.saturating_sub(1));
            });
        }
        ChannelOutcome::StoreFailed { reason } => {
            tracing::warn!(%event_id, %event_type, %channel, kind, %reason, "idempotency store failed; will retry");
            metrics.record(channel, |c| c.failed += 1);
        }
    }
}

#[cfg(test)]
mod tests;
