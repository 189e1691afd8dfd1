//! The notifier: for each record, route the event, render it per channel language, and
//! deliver to every channel concurrently, once per (event id, channel).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use shared::batch::{process_batch, BatchSummary, DeadLetterSink, RecordError};
use shared::config::ConfigError;
use shared::events::{types, Envelope};
use shared::idempotency::{once, IdempotencyError, IdempotencyStore, Once};
use tokio::time::Instant;

use crate::channel::{Attempt, NotificationChannel};
use crate::delivery::{deliver, Delivery};
use crate::delivery_metrics::DeliveryMetrics;
use crate::rate_limit::RateLimiter;
use crate::routing::{ChannelSpec, Routing};
use crate::settings::DeliveryTuning;
use crate::template::render;
use crate::trigger::envelope_from_body;

/// What happened for one channel of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelOutcome {
    Delivered {
        attempts: u32,
    },
    /// An earlier delivery of this event already reached the channel.
    AlreadyDelivered,
    /// Another invocation holds the claim for this (event, channel) right now.
    InProgressElsewhere,
    Rejected {
        attempts: u32,
        reason: String,
    },
    GaveUp {
        attempts: u32,
        reason: String,
    },
    /// The idempotency store could not be read or written.
    StoreFailed {
        reason: String,
    },
}

impl ChannelOutcome {
    /// Worth another delivery of the record.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ChannelOutcome::InProgressElsewhere
                | ChannelOutcome::GaveUp { .. }
                | ChannelOutcome::StoreFailed { .. }
        )
    }
}

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
    limiter: Option<RateLimiter>,
}

pub struct Notifier {
    routing: Routing,
    channels: HashMap<String, RoutedChannel>,
    tuning: DeliveryTuning,
}

impl Notifier {
    /// `adapters` must hold one adapter per channel the routing defines.
    pub fn new(
        routing: Routing,
        mut adapters: HashMap<String, Arc<dyn NotificationChannel>>,
        tuning: DeliveryTuning,
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
                            limiter: spec.rate_limit_per_minute.map(RateLimiter::per_minute),
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
        })
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
        deadline: Instant,
        metrics: &DeliveryMetrics,
    ) -> (SqsBatchResponse, BatchSummary) {
        process_batch(
            event,
            concurrency,
            dead_letters,
            |message: SqsMessage| async move {
                self.handle_message(&message, store, deadline, metrics)
                    .await
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
                (routed.spec.name.clone(), outcome)
            })
        });
        join_all(deliveries).await
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
            let notification = render(envelope, routed.spec.language);
            let attempt = Attempt {
                envelope,
                notification: &notification,
                timeout: self.tuning.attempt_timeout,
                idempotency_key: &key,
            };
            match deliver(
                routed.adapter.as_ref(),
                attempt,
                routed.limiter.as_ref(),
                &self.tuning,
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
