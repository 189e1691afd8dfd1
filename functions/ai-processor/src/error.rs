//! The one error type of the function; its `kind()` is the error type Lambda reports.

use lambda_runtime::Diagnostic;
use shared::batch::RecordError;
use shared::config::ConfigError;

use crate::inbound::Malformed;
use crate::review::ReviewError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The environment does not describe a working deployment; the function cannot start.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The invocation is neither an SQS batch nor an S3 event notification.
    #[error("unsupported invocation: {0}")]
    UnsupportedEvent(#[from] Malformed),
    /// A directly invoked S3 notification failed in a way a later attempt can get past;
    /// Lambda's asynchronous retries deliver it again (duplicates have one effect).
    #[error("{0}; Lambda will invoke again")]
    Retryable(String),
    /// A directly invoked S3 notification failed for good; after Lambda's retries it goes
    /// to the function's on-failure destination.
    #[error("{0}")]
    Permanent(String),
    /// A review decision whose input is wrong; nothing was read or changed.
    #[error("{0}")]
    InvalidDecision(String),
    /// A review decision that cannot apply (never analysed, another version, not under
    /// review); nothing was changed.
    #[error("{0}")]
    DecisionRefused(String),
}

impl Error {
    /// The Lambda error type (`errorType` of the invocation's error response).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "ConfigError",
            Error::UnsupportedEvent(_) => "UnsupportedEvent",
            Error::Retryable(_) => "RetryableFailure",
            Error::Permanent(_) => "PermanentFailure",
            Error::InvalidDecision(_) => "InvalidDecision",
            Error::DecisionRefused(_) => "DecisionRefused",
        }
    }
}

impl From<RecordError> for Error {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Retryable(reason) => Error::Retryable(reason),
            RecordError::Permanent(reason) => Error::Permanent(reason),
        }
    }
}

impl From<ReviewError> for Error {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::Invalid(_) => Error::InvalidDecision(e.to_string()),
            ReviewError::NotFound(_) | ReviewError::Conflict(_) => {
                Error::DecisionRefused(e.to_string())
            }
            ReviewError::Failed(failure) => failure.into(),
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Self {
        Diagnostic {
            error_type: error.kind().to_string(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_error_type_names_the_kind_of_failure() {
        let d = Diagnostic::from(Error::from(RecordError::retryable("throttled")));
        assert_eq!(d.error_type, "RetryableFailure");
        assert_eq!(d.error_message, "throttled; Lambda will invoke again");
        let d = Diagnostic::from(Error::from(Malformed("no Records".into())));
        assert_eq!(d.error_type, "UnsupportedEvent");
        let d = Diagnostic::from(Error::from(ConfigError::single("missing MEDIA_BUCKET")));
        assert_eq!(d.error_type, "ConfigError");
        assert!(d.error_message.contains("missing MEDIA_BUCKET"));
        let d = Diagnostic::from(Error::from(ReviewError::Conflict("another version".into())));
        assert_eq!(d.error_type, "DecisionRefused");
        assert_eq!(d.error_message, "decision refused: another version");
    }
}
