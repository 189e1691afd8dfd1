//! Adapters to AWS services, one file per service, each behind a port of [`crate::ports`].

pub mod sns;
pub mod sqs;
