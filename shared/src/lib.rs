//! What every function of the suite shares: configuration, AWS clients, secrets, logging,
//! metrics, the domain event envelope, SQS batch processing and idempotency.
//!
//! Domain code depends on the small traits here (`EventPublisher`, `IdempotencyStore`,
//! `SecretSource`), never on AWS types, so it can be tested without AWS.

#![warn(missing_docs)]

pub mod aws;
pub mod batch;
pub mod config;
pub mod events;
pub mod idempotency;
pub mod logging;
pub mod metrics;
pub mod partition;
pub mod results;
pub mod secrets;
pub mod time;

/// Test doubles and local-AWS helpers; only with the `testkit` feature (dev-dependencies), never
/// in a Lambda build.
#[cfg(feature = "testkit")]
pub mod testkit;

/// Error type the Lambda runtime accepts from handlers.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
