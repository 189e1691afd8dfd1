//! Secrets from Secrets Manager through the official caching client
//! (`aws_secretsmanager_caching`): in-memory, TTL-bound, and serving the cached value when a
//! refresh fails for a transient reason. Values are wrapped in [`SecretValue`], whose `Debug`
//! and `Display` never show the value, so a stray `{:?}` cannot leak it into logs.

use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_secretsmanager_caching::SecretsManagerCachingClient;

/// A secret's value. Read it with [`SecretValue::expose`] at the point of use only.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A field of a JSON secret (`{"url": "...", "token": "..."}`), the shape the console
    /// writes for key/value secrets.
    pub fn json_field(&self, field: &str) -> Option<SecretValue> {
        let value: serde_json::Value = serde_json::from_str(&self.0).ok()?;
        match value.get(field)? {
            serde_json::Value::String(s) => Some(SecretValue(s.clone())),
            serde_json::Value::Null => None,
            other => Some(SecretValue(other.to_string())),
        }
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("secret {secret_id} could not be read: {reason}")]
pub struct SecretError {
    pub secret_id: String,
    pub reason: String,
}

/// Where secrets come from; the Secrets Manager adapter is [`SecretsManagerSource`].
pub trait SecretSource: Send + Sync {
    fn secret(
        &self,
        secret_id: &str,
    ) -> impl std::future::Future<Output = Result<SecretValue, SecretError>> + Send;
}

pub struct SecretsManagerSource {
    cache: SecretsManagerCachingClient,
}

/// Default time a secret is served from memory before it is checked again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);

impl SecretsManagerSource {
    pub async fn new(config: &SdkConfig, ttl: Duration) -> Result<Self, SecretError> {
        Self::from_builder(aws_sdk_secretsmanager::config::Builder::from(config), ttl).await
    }

    /// From a client builder, so tests can add interceptors (to count calls, say).
    pub async fn from_builder(
        builder: aws_sdk_secretsmanager::config::Builder,
        ttl: Duration,
    ) -> Result<Self, SecretError> {
        let cache = SecretsManagerCachingClient::from_builder(
            builder,
            NonZeroUsize::new(64).expect("non-zero"),
            ttl,
            true,
        )
        .await
        .map_err(|e| SecretError {
            secret_id: String::new(),
            reason: e.to_string(),
        })?;
        Ok(Self { cache })
    }
}

impl SecretSource for SecretsManagerSource {
    async fn secret(&self, secret_id: &str) -> Result<SecretValue, SecretError> {
        let result = self
            .cache
            .get_secret_value(secret_id, None, None, false)
            .await
            .map_err(|e| e.to_string());
        match result {
            Ok(output) => output
                .secret_string
                .map(SecretValue)
                .ok_or_else(|| SecretError {
                    secret_id: secret_id.to_string(),
                    reason: "the secret has no string value".into(),
                }),
            Err(reason) => Err(SecretError {
                secret_id: secret_id.to_string(),
                reason,
            }),
        }
    }
}

/// Fixed secrets, for domain tests.
#[derive(Default, Clone)]
pub struct StaticSecrets(pub std::collections::HashMap<String, String>);

impl SecretSource for StaticSecrets {
    async fn secret(&self, secret_id: &str) -> Result<SecretValue, SecretError> {
        self.0
            .get(secret_id)
            .map(|v| SecretValue(v.clone()))
            .ok_or_else(|| SecretError {
                secret_id: secret_id.to_string(),
                reason: "not found".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_never_print() {
        let v = SecretValue::new("hunter2");
        assert_eq!(format!("{v:?} {v}"), "SecretValue(<redacted>) <redacted>");
        let j = SecretValue::new(r#"{"url":"https://x","n":3}"#);
        assert_eq!(j.json_field("url").unwrap().expose(), "https://x");
        assert_eq!(j.json_field("n").unwrap().expose(), "3");
        assert!(j.json_field("missing").is_none());
    }
}
