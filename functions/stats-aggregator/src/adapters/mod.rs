//! One adapter per AWS service behind the ports of [`crate::ports`]. SNS (events topic) and
//! SQS (dead letters) adapters are `shared`'s.

pub mod s3;
