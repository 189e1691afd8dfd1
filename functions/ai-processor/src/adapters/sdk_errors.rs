//! Sorting AWS SDK errors into "deliver again" and "will fail the same way every time".

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use shared::batch::RecordError;

/// SDK errors, whatever the service (all SDK crates share this type).
pub type SdkError<E> = aws_sdk_s3::error::SdkError<E>;

/// Error codes that a later attempt can get past. `AccessDenied` is among them: it is fixed
/// by the operator (a role policy), after which the message should still be processed, so
/// it stays in the queue and reaches the dead-letter queue only through the redrive policy.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
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

/// Classifies an error of `operation` (already retried by the SDK's retry policy).
pub fn classify<E>(operation: &str, err: SdkError<E>) -> RecordError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
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
                || status.is_some_and(|s| s == 429 || s >= 500)
        }
    };
    // A service error reads "<code>: <message> (HTTP <status>)"; the raw response is left out.
    let detail = match (&err, code.as_deref()) {
        (SdkError::ServiceError(_), Some(code)) => format!(
            "{code}: {} (HTTP {})",
            err.message().unwrap_or("no message"),
            status.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
        ),
        _ => aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
    };
    let text = format!("{operation} failed: {detail}");
    if retryable {
        RecordError::Retryable(text)
    } else {
        RecordError::Permanent(text)
    }
}
