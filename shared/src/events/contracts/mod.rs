//! One serde type per event type on `suite-events` (and on the stats queue), each implementing
//! [`super::EventPayload`]. Each file belongs to the function that produces its events:
//! media, transcript, document and review to ai-processor; cost to cost-guard; stats to
//! stats-aggregator; notification and alarm to the notifier. The contract test in
//! `shared/tests/contracts.rs` feeds every producer's real output to every consumer.

pub mod alarm;
pub mod cost;
pub mod document;
pub mod media;
pub mod notification;
pub mod review;
pub mod stats;
pub mod transcript;
