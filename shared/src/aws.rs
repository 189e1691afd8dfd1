//! One `SdkConfig` per process, tuned for Lambda, and the clients built from it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::partition::Partition;

/// Loads the SDK configuration once at init.
///
/// Honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` (the SDK reads them itself).
/// Retries: standard mode, 3 attempts, so a throttled call backs off but a Lambda invocation
/// is not eaten by retries. Timeouts: short connect, bounded per attempt and per operation,
/// so a hung endpoint fails the record (which is then retried by SQS) instead of the whole
/// invocation timing out.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(20))
                .operation_timeout(Duration::from_secs(50))
                .build(),
        )
        .load()
        .await
}

/// True when requests go to a custom endpoint (the local AWS) rather than AWS itself.
pub fn uses_custom_endpoint(config: &SdkConfig) -> bool {
    config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
}

/// The partition of the configured region (`aws` when no region is set).
pub fn partition(config: &SdkConfig) -> Partition {
    Partition::from_region(config.region().map(|r| r.as_ref()).unwrap_or("us-east-1"))
}

/// S3 client; path-style addressing when a custom endpoint is set, since local emulators do
/// not resolve `bucket.host` names.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder =
        aws_sdk_s3::config::Builder::from(config).force_path_style(uses_custom_endpoint(config));
    aws_sdk_s3::Client::from_conf(builder.build())
}

pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

pub fn sns_client(config: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(config)
}
