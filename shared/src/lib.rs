//! What every function of the suite shares: configuration, AWS clients, secrets, logging,
//! metrics, the domain event envelope, SQS batch processing and idempotency.
//!
//! Domain code depends on the small traits here (`EventPublisher`, `IdempotencyStore`,
//! `SecretSource`), never on AWS types, so it can be tested without AWS.

pub mod aws;
pub mod batch;
pub mod config;
pub mod events;
pub mod idempotency;
pub mod logging;
pub mod metrics;
pub mod objects;
pub mod partition;
pub mod secrets;
pub mod time;

#[cfg(feature = "testkit")]
pub mod testkit;

/// Error type the Lambda runtime accepts from handlers.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
