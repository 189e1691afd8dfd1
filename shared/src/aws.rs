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

/// SQS client from the shared configuration.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

/// SNS client from the shared configuration.
pub fn sns_client(config: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(config)
}

/// Any SDK operation's error (every SDK crate's `SdkError` is this type).
pub type SdkError<E> =
    aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>;

/// Error codes a later attempt can get past. `AccessDenied` is among them: an operator fixes it
/// (a role policy), after which the message should still be processed, so it stays in its
/// queue and reaches the dead-letter queue only through the redrive policy.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "Throttled",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "KMSThrottlingException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "InternalFailureException",
    "InternalServerError",
    "InternalServerException",
    "InternalDependencyException",
    "ModelNotReadyException",
    "AccessDenied",
    "AccessDeniedException",
];

/// An SDK error sorted into "deliver again" or "will fail the same way every time", with a
/// one-line reason that names the operation and never carries the raw response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct AwsFailure {
    /// A later attempt may succeed (throttling, timeouts, 5xx, access denied): keep the message.
    pub retryable: bool,
    /// The service said the thing does not exist (HTTP 404 or a `NoSuch*`/`NotFound` code).
    pub not_found: bool,
    /// HTTP status of the response, when one arrived.
    pub status: Option<u16>,
    /// The service's error code (`NoSuchKey`, `ThrottlingException`, ...), when it sent one.
    pub code: Option<String>,
    /// One line for logs and the record's failure: operation, code, message and status.
    pub detail: String,
}

/// Classifies an error of `operation` after the SDK's own retries: the one policy every
/// adapter uses.
pub fn classify<E>(operation: &str, err: SdkError<E>) -> AwsFailure
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_string);
    let retryable = match &err {
        SdkError::ConstructionFailure(_) => false,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => {
            code.as_deref()
                .is_some_and(|c| RETRYABLE_CODES.contains(&c))
                || status.is_some_and(|s| s == 408 || s == 429 || s >= 500)
        }
    };
    let not_found = status == Some(404)
        || code.as_deref().is_some_and(|c| {
            c.starts_with("NoSuch") || c.ends_with("NotFound") || c == "ResourceNotFoundException"
        });
    let detail = match (&err, code.as_deref()) {
        (SdkError::ServiceError(_), Some(code)) => format!(
            "{operation} failed: {code}: {} (HTTP {})",
            err.message().unwrap_or("no message"),
            status.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
        ),
        (SdkError::ServiceError(_), None) => format!(
            "{operation} failed: HTTP {}",
            status.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
        ),
        _ => format!(
            "{operation} failed: {}",
            aws_smithy_types::error::display::DisplayErrorContext(&err)
        ),
    };
    AwsFailure {
        retryable,
        not_found,
        status,
        code,
        detail,
    }
}

impl From<AwsFailure> for crate::batch::RecordError {
    fn from(f: AwsFailure) -> Self {
        if f.retryable {
            crate::batch::RecordError::Retryable(f.detail)
        } else {
            crate::batch::RecordError::Permanent(f.detail)
        }
    }
}
