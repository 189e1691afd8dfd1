//! The notifier's ports: traits free of AWS types. Adapters implement them (`adapters/` for
//! AWS services, `channels/` for chat robots, webhooks and SMTP); tests use in-memory fakes.
//! The results bucket (routing document, idempotency markers) is `shared::results::ObjectStore`.

use std::time::Duration;

use futures::future::BoxFuture;

use shared::events::Envelope;

use crate::render::Notification;

/// Whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Throttling, timeouts, 5xx, a service's "busy" code: worth another attempt.
    Retryable,
    /// Bad URL, 4xx other than 408/429, a rejected signature or payload: will fail again.
    Permanent,
}

/// Why one attempt failed. `reason` never contains a URL, token or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct DeliveryError {
    pub kind: FailureKind,
    pub reason: String,
    /// How long the service asked us to wait (`Retry-After`, a rate-limit code).
    pub retry_after: Option<Duration>,
}

impl DeliveryError {
    pub fn retryable(reason: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Retryable,
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Permanent,
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == FailureKind::Retryable
    }
}

/// Context of one attempt.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub envelope: &'a Envelope,
    pub notification: &'a Notification,
    /// Upper bound for this attempt (the configured timeout, cut to the time left).
    pub timeout: Duration,
    /// `<event id>:<channel>`, sent to receivers that de-duplicate (generic webhooks).
    pub idempotency_key: &'a str,
    /// When this attempt starts (signature timestamps, `Retry-After` dates), from the clock.
    pub now: time::OffsetDateTime,
}

/// A place notifications go: an SNS topic, a chat robot, a webhook, a mailbox.
///
/// `send` makes exactly one attempt; retries, rate limits and idempotency are the caller's.
pub trait NotificationChannel: Send + Sync {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

/// The clock is passed in (`shared::time`); tests use the testkit's `ManualClock`.
pub use shared::time::{Clock, SystemClock};

/// Where delivery reports go (the stats-ingest queue).
pub trait DeliveryReports: Send + Sync {
    fn send<'a>(&'a self, reports: &'a [Envelope]) -> BoxFuture<'a, Result<(), String>>;
}

/// No stats-ingest queue configured: reports are not sent.
pub struct NoDeliveryReports;

impl DeliveryReports for NoDeliveryReports {
    fn send<'a>(&'a self, _reports: &'a [Envelope]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Send slots of rate-limited channels, shared by every instance of the function.
pub trait SendSlots: Send + Sync {
    /// Takes one send of `channel` (at most `per_minute` a minute) in the earliest minute that
    /// starts no later than `latest`; returns when the send may go, or `None` when no minute
    /// before `latest` has room.
    fn reserve<'a>(
        &'a self,
        channel: &'a str,
        per_minute: u32,
        latest: time::OffsetDateTime,
    ) -> BoxFuture<'a, Result<Option<time::OffsetDateTime>, String>>;
}
