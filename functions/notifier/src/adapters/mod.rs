//! Adapters to AWS services, one file per service, each behind a port of [`crate::ports`].

pub mod s3;
pub mod sns;
