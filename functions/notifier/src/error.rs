//! The notifier's one error type. Record-level failures are `shared::batch::RecordError`s and
//! end in `batchItemFailures`; what reaches the Lambda runtime is one of these.

use shared::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    /// The environment or the routing document is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built (TLS setup).
    #[error("HTTP client: {0}")]
    HttpClient(String),
    /// Secrets Manager could not be set up.
    #[error(transparent)]
    Secrets(#[from] shared::secrets::SecretError),
}

impl NotifierError {
    /// The Lambda error type reported for this error (`errorType` in the runtime's answer).
    pub fn kind(&self) -> &'static str {
        match self {
            NotifierError::Config(_) => "NotifierConfigError",
            NotifierError::HttpClient(_) => "NotifierHttpClientError",
            NotifierError::Secrets(_) => "NotifierSecretsError",
        }
    }
}

impl From<NotifierError> for lambda_runtime::Diagnostic {
    fn from(e: NotifierError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_lambda_error_type_and_a_readable_message() {
        let e = NotifierError::from(ConfigError::single("missing RESULTS_BUCKET"));
        assert_eq!(e.kind(), "NotifierConfigError");
        assert_eq!(
            e.to_string(),
            "invalid configuration: missing RESULTS_BUCKET"
        );
        assert_eq!(
            NotifierError::HttpClient("no TLS".into()).kind(),
            "NotifierHttpClientError"
        );
    }
}
