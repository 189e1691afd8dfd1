//! stats-aggregator: domain events to raw NDJSON in S3; hourly and daily rollups, metrics
//! and the daily digest.
//!
//! One binary, two triggers told apart by the payload's top level:
//! - an SQS batch from `stats-ingest` (`Records`): [`ingest`] appends it to `stats/raw/`;
//! - an EventBridge scheduled event (`detail-type`): [`schedule`] decides which periods,
//!   [`rollup`] rolls them up, [`report`] emits metrics and the `stats.digest` event.

pub mod aggregate;
pub mod config;
pub mod document;
pub mod event_line;
pub mod ingest;
pub mod latency;
pub mod period;
pub mod report;
pub mod rollup;
pub mod schedule;
pub mod store;
pub mod tally;

use std::sync::Mutex;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;
use shared::batch::{process_batch, DeadLetterSink, RecordError};
use shared::events::EventPublisher;

pub use config::{Config, Settings};

use crate::ingest::{accept_record, raw_objects, RAW_CONTENT_TYPE};
use crate::schedule::{RollupRequest, ScheduleError, ScheduledEvent};
use crate::store::{PutOutcome, ResultsStore};

pub const SERVICE: &str = "stats-aggregator";

/// The two shapes this function is invoked with.
#[derive(Debug)]
pub enum Trigger {
    Sqs(SqsEvent),
    Scheduled(ScheduledEvent),
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("unrecognised event: expected an SQS batch (`Records`) or an EventBridge scheduled event (`detail-type`); top-level keys: {0:?}")]
    Unrecognised(Vec<String>),
    #[error("malformed {shape}: {reason}")]
    Malformed { shape: &'static str, reason: String },
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("rollup of {period} failed: {source}")]
    Rollup {
        period: String,
        source: rollup::RollupError,
    },
    #[error(transparent)]
    Publish(#[from] shared::events::PublishError),
}

impl HandlerError {
    /// The Lambda `errorType`: what kind of failure, without the Rust type name.
    pub fn kind(&self) -> &'static str {
        match self {
            HandlerError::Unrecognised(_) => "StatsAggregator.UnrecognisedEvent",
            HandlerError::Malformed { .. } => "StatsAggregator.MalformedEvent",
            HandlerError::Schedule(_) => "StatsAggregator.InvalidSchedule",
            HandlerError::Rollup { .. } => "StatsAggregator.RollupFailed",
            HandlerError::Publish(_) => "StatsAggregator.PublishFailed",
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_string(),
            error_message: error.to_string(),
        }
    }
}

/// Longest piece of input echoed in an error message, in characters.
pub const MAX_ECHOED_CHARS: usize = 64;

/// `text` cut to [`MAX_ECHOED_CHARS`] (with `…` when cut), for echoing input in errors and
/// logs: a huge field must not make a huge error.
pub fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_ECHOED_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Longest error reason (serde messages can quote a whole field of the input).
const MAX_REASON_CHARS: usize = 300;

fn reason(error: impl std::fmt::Display) -> String {
    let text = error.to_string();
    let mut out: String = text.chars().take(MAX_REASON_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

impl Trigger {
    pub fn classify(payload: Value) -> Result<Self, HandlerError> {
        let keys = || -> Vec<String> {
            payload
                .as_object()
                .map(|o| o.keys().take(20).map(|k| shown(k)).collect())
                .unwrap_or_default()
        };
        if let Some(records) = payload.get("Records") {
            // Records of another service (an S3 notification sent here by mistake) are not
            // SQS messages, even though they would deserialise as empty ones.
            let foreign = records.as_array().and_then(|records| {
                records.iter().find_map(|r| {
                    let source = r.get("eventSource").or_else(|| r.get("EventSource"));
                    match source.and_then(Value::as_str) {
                        Some("aws:sqs") => None,
                        other => Some(shown(other.unwrap_or("none"))),
                    }
                })
            });
            if let Some(source) = foreign {
                return Err(HandlerError::Malformed {
                    shape: "SQS event",
                    reason: format!("a record has eventSource {source:?}, not \"aws:sqs\""),
                });
            }
            serde_json::from_value(payload)
                .map(Trigger::Sqs)
                .map_err(|e| HandlerError::Malformed {
                    shape: "SQS event",
                    reason: reason(e),
                })
        } else if payload.get("detail-type").is_some() {
            serde_json::from_value(payload)
                .map(Trigger::Scheduled)
                .map_err(|e| HandlerError::Malformed {
                    shape: "scheduled event",
                    reason: reason(e),
                })
        } else {
            Err(HandlerError::Unrecognised(keys()))
        }
    }
}

/// What an ingest invocation did (also emitted as metrics).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    pub records: usize,
    pub events_stored: usize,
    pub objects_written: usize,
    /// Objects whose key existed already: the same messages were stored by an earlier delivery.
    pub objects_already_stored: usize,
    pub malformed_records: usize,
    pub failed_records: usize,
}

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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_event_id: Option<String>,
}

/// The function: ports for the results bucket, the events topic and the dead-letter queue.
pub struct StatsAggregator<S, P, D> {
    pub store: S,
    pub publisher: P,
    pub dead_letters: D,
    pub settings: Settings,
}

impl<S: ResultsStore, P: EventPublisher, D: DeadLetterSink> StatsAggregator<S, P, D> {
    /// Entry point for any payload; the result is the Lambda response.
    pub async fn handle(&self, payload: Value) -> Result<Value, HandlerError> {
        match Trigger::classify(payload)? {
            Trigger::Sqs(event) => {
                let (response, _) = self.ingest(event).await;
                Ok(serde_json::to_value(response).unwrap_or_default())
            }
            Trigger::Scheduled(event) => {
                let report = self.run_schedule(&event).await?;
                Ok(serde_json::to_value(report).unwrap_or_default())
            }
        }
    }

    /// Stores a batch; the response lists exactly the records SQS should deliver again.
    pub async fn ingest(&self, event: SqsEvent) -> (SqsBatchResponse, IngestSummary) {
        let mut summary = IngestSummary {
            records: event.records.len(),
            ..IngestSummary::default()
        };
        let accepted = Mutex::new(Vec::new());
        let (mut response, batch) = process_batch(
            event,
            self.settings.batch_concurrency,
            &self.dead_letters,
            |message| {
                let accepted = &accepted;
                async move {
                    let event = accept_record(&message)
                        .map_err(|problem| RecordError::permanent(reason(problem)))?;
                    accepted
                        .lock()
                        .map_err(|_| RecordError::retryable("ingest state poisoned"))?
                        .push(event);
                    Ok(())
                }
            },
        )
        .await;
        summary.malformed_records = batch.permanent_failures;
        let accepted = accepted.into_inner().unwrap_or_default();
        let accepted_ids: Vec<String> = accepted.iter().map(|e| e.message_id.clone()).collect();
        let objects = match raw_objects(accepted) {
            Ok(objects) => objects,
            Err(e) => {
                tracing::error!(error = %e, "compressing the batch failed; SQS will deliver it again");
                response
                    .batch_item_failures
                    .extend(accepted_ids.iter().map(|id| failure(id)));
                summary.failed_records = response.batch_item_failures.len();
                report::emit_ingest_metrics(&self.settings.metrics_namespace, &summary);
                return (response, summary);
            }
        };
        let writes = stream::iter(objects)
            .map(|object| async move {
                let outcome = self
                    .store
                    .put_if_absent(&object.key, object.body, RAW_CONTENT_TYPE)
                    .await;
                (object.key, object.message_ids, outcome)
            })
            .buffer_unordered(self.settings.batch_concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        for (key, message_ids, outcome) in writes {
            match outcome {
                Ok(PutOutcome::Created) => {
                    summary.objects_written += 1;
                    summary.events_stored += message_ids.len();
                    tracing::info!(key, events = message_ids.len(), "raw events stored");
                }
                Ok(PutOutcome::AlreadyExists) => {
                    summary.objects_already_stored += 1;
                    tracing::info!(
                        key,
                        events = message_ids.len(),
                        "batch was stored by an earlier delivery; not stored again"
                    );
                }
                Err(e) => {
                    tracing::warn!(key, error = %e, events = message_ids.len(), "storing raw events failed; SQS will deliver them again");
                    response
                        .batch_item_failures
                        .extend(message_ids.iter().map(|id| failure(id)));
                }
            }
        }
        summary.failed_records = response.batch_item_failures.len();
        report::emit_ingest_metrics(&self.settings.metrics_namespace, &summary);
        (response, summary)
    }

    /// Runs the rollups a scheduled event asks for.
    pub async fn run_schedule(
        &self,
        event: &ScheduledEvent,
    ) -> Result<ScheduleReport, HandlerError> {
        let request = event.plan(shared::time::now_utc(), self.settings.lateness_minutes)?;
        tracing::info!(?request, detail_type = ?event.detail_type, source = ?event.source, "rollup requested");
        let concurrency = self.settings.fetch_concurrency;
        match request {
            RollupRequest::Hourly { hours, backfill } => {
                let mut periods = Vec::new();
                for hour in hours {
                    let document = rollup::write_hourly(&self.store, hour, concurrency)
                        .await
                        .map_err(|source| HandlerError::Rollup {
                            period: hour.to_string(),
                            source,
                        })?;
                    report::rollup_metrics(&self.settings.metrics_namespace, &document).emit();
                    periods.push(rolled(&document, hour.hourly_key()));
                }
                Ok(ScheduleReport {
                    rollup: "hourly",
                    backfill,
                    periods,
                    digest_event_id: None,
                })
            }
            RollupRequest::Daily { day, backfill } => {
                let lateness_closes =
                    day.end() + time::Duration::minutes(i64::from(self.settings.lateness_minutes));
                if shared::time::now_utc() < lateness_closes {
                    tracing::warn!(period = %day, lateness_closes = %shared::time::rfc3339(lateness_closes), "daily rollup runs before late events of the day's last hour can have arrived; schedule it later");
                }
                let document = rollup::write_daily(&self.store, day, concurrency)
                    .await
                    .map_err(|source| HandlerError::Rollup {
                        period: day.to_string(),
                        source,
                    })?;
                report::rollup_metrics(&self.settings.metrics_namespace, &document).emit();
                let digest = report::digest_event(&self.settings.results_bucket, day, &document);
                self.publisher.publish(&digest).await?;
                Ok(ScheduleReport {
                    rollup: "daily",
                    backfill,
                    periods: vec![rolled(&document, day.daily_key())],
                    digest_event_id: Some(digest.id),
                })
            }
        }
    }
}

fn rolled(document: &document::RollupDocument, key: String) -> RolledPeriod {
    RolledPeriod {
        period: document.period.id.clone(),
        key,
        events: document.stats.events.total,
        malformed_lines: document.stats.sources.malformed_lines,
        duplicate_events: document.stats.sources.duplicate_events,
    }
}

fn failure(message_id: &str) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = message_id.to_string();
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn the_two_triggers_are_told_apart_at_the_top_level() {
        let sqs = json!({"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"}]});
        assert!(matches!(Trigger::classify(sqs), Ok(Trigger::Sqs(e)) if e.records.len() == 1));
        let scheduled =
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert!(matches!(
            Trigger::classify(scheduled),
            Ok(Trigger::Scheduled(_))
        ));
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]});
        assert!(matches!(
            Trigger::classify(s3),
            Err(HandlerError::Malformed {
                shape: "SQS event",
                ..
            })
        ));
        assert!(matches!(
            Trigger::classify(json!([1, 2])),
            Err(HandlerError::Unrecognised(keys)) if keys.is_empty()
        ));
    }

    #[test]
    fn lambda_errors_carry_a_named_type_and_a_short_message() {
        let cases = [
            (
                json!({"hello": "world"}),
                "StatsAggregator.UnrecognisedEvent",
            ),
            (
                json!({"Records": [{"eventSource": "aws:s3"}]}),
                "StatsAggregator.MalformedEvent",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "body": "x".repeat(10_000), "messageId": 5}]}),
                "StatsAggregator.MalformedEvent",
            ),
            (
                json!({"detail-type": "Scheduled Event", "source": "evil.example", "detail": {}}),
                "StatsAggregator.InvalidSchedule",
            ),
        ];
        for (payload, kind) in cases {
            let error = match Trigger::classify(payload) {
                Err(e) => e,
                Ok(Trigger::Scheduled(event)) => event
                    .plan(shared::time::now_utc(), 60)
                    .map(|_| ())
                    .map_err(HandlerError::from)
                    .expect_err(kind),
                Ok(Trigger::Sqs(_)) => panic!("{kind}: accepted"),
            };
            let diagnostic = lambda_runtime::Diagnostic::from(error);
            assert_eq!(diagnostic.error_type, kind);
            assert!(!diagnostic.error_type.contains("::"));
            assert!(
                diagnostic.error_message.len() < 400,
                "{}",
                diagnostic.error_message
            );
        }
        let rollup = HandlerError::Rollup {
            period: "2026-11-24T13".into(),
            source: rollup::RollupError::from(store::StoreError {
                operation: "GetObject",
                key: "stats/raw/2026/11/24/13/a.ndjson.zst".into(),
                reason: "SlowDown".into(),
            }),
        };
        let diagnostic = lambda_runtime::Diagnostic::from(rollup);
        assert_eq!(diagnostic.error_type, "StatsAggregator.RollupFailed");
        assert!(diagnostic.error_message.contains("2026-11-24T13"));
    }

    #[test]
    fn shown_cuts_long_input_on_a_character_boundary() {
        assert_eq!(shown("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(shown(&long).chars().count(), MAX_ECHOED_CHARS + 1);
        assert!(shown(&long).ends_with('…'));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z0-9:/ -]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("Records".to_string()),
                        Just("detail-type".to_string()),
                        Just("detail".to_string()),
                        Just("rollup".to_string()),
                        Just("period".to_string()),
                        Just("time".to_string()),
                        Just("resources".to_string()),
                        Just("eventSource".to_string()),
                        "[a-z]{1,6}".prop_map(String::from),
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_payload_is_a_trigger_or_a_typed_error(payload in arb_json()) {
            match Trigger::classify(payload) {
                Ok(Trigger::Scheduled(event)) => {
                    // Any detail gives a plan or a typed schedule error, never a panic.
                    let _ = event.plan(shared::time::now_utc(), 60);
                }
                Ok(Trigger::Sqs(_)) => {}
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn any_scheduled_detail_gives_a_plan_or_a_typed_error(
            rollup in prop_oneof![Just(json!("hourly")), Just(json!("daily")), Just(json!(null)), "[a-z]{0,8}".prop_map(Value::from), any::<i64>().prop_map(Value::from)],
            period in prop_oneof![Just(json!(null)), "[0-9T-]{0,14}".prop_map(Value::from), any::<bool>().prop_map(Value::from)],
            time in prop_oneof![Just(json!(null)), "[0-9T:Z-]{0,22}".prop_map(Value::from)],
        ) {
            let event = json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": time, "resources": ["arn:aws:events:us-east-1:1:rule/x-hourly"], "detail": {"rollup": rollup, "period": period}});
            let Ok(Trigger::Scheduled(event)) = Trigger::classify(event) else {
                return Err(TestCaseError::fail("a scheduled event"));
            };
            match event.plan(shared::time::now_utc(), 60) {
                Ok(RollupRequest::Hourly { hours, .. }) => prop_assert!(!hours.is_empty() && hours.len() <= 3),
                Ok(RollupRequest::Daily { .. }) => {}
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn any_bytes_are_a_rollup_document_or_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = document::RollupDocument::from_json(&bytes);
        }
    }
}
