//! Secrets from Secrets Manager, cached in memory for a TTL; when a refresh fails the cached
//! value is served (for at most one more TTL) so a Secrets Manager hiccup does not fail a
//! delivery. Values are wrapped in [`SecretValue`], whose `Debug` and `Display` never show the
//! value, so a stray `{:?}` cannot leak it into logs.
//!
//! Written here rather than taken from `aws_secretsmanager_caching`: that crate enables the SDK's
//! default features, which link a second (legacy hyper 0.14 / rustls 0.21 / ring) HTTP stack into
//! every function; the cache itself is a map with timestamps.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

/// A secret's value. Read it with [`SecretValue::expose`] at the point of use only.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value read from a secret store.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plain value; call it only where the value is used, never to log it.
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

/// A secret that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("secret {secret_id} could not be read: {reason}")]
pub struct SecretError {
    /// The secret's name or ARN (never its value).
    pub secret_id: String,
    /// Why it could not be read.
    pub reason: String,
}

/// Where secrets come from; the Secrets Manager adapter is [`SecretsManagerSource`].
pub trait SecretSource: Send + Sync {
    /// The current value of `secret_id`.
    fn secret(
        &self,
        secret_id: &str,
    ) -> impl std::future::Future<Output = Result<SecretValue, SecretError>> + Send;
}

/// Secrets Manager behind a TTL cache (see the module comment for why it is written here).
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, SecretValue)>>,
}

/// Default time a secret is served from memory before it is checked again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);

/// Most distinct secrets kept; a suite uses a handful, so this only bounds a misconfiguration.
const MAX_CACHED_SECRETS: usize = 64;

impl SecretsManagerSource {
    /// A source on the shared SDK configuration, caching each value for `ttl`.
    pub async fn new(config: &SdkConfig, ttl: Duration) -> Result<Self, SecretError> {
        Self::from_builder(aws_sdk_secretsmanager::config::Builder::from(config), ttl).await
    }

    /// From a client builder, so tests can add interceptors (to count calls, say).
    pub async fn from_builder(
        builder: aws_sdk_secretsmanager::config::Builder,
        ttl: Duration,
    ) -> Result<Self, SecretError> {
        Ok(Self {
            client: aws_sdk_secretsmanager::Client::from_conf(builder.build()),
            ttl,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, secret_id: &str, max_age: Duration) -> Option<SecretValue> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(secret_id)
            .filter(|(at, _)| at.elapsed() < max_age)
            .map(|(_, v)| v.clone())
    }

    fn remember(&self, secret_id: &str, value: &SecretValue) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_SECRETS && !cache.contains_key(secret_id) {
            if let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(secret_id.to_string(), (Instant::now(), value.clone()));
    }

    async fn fetch(&self, secret_id: &str) -> Result<SecretValue, SecretError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| SecretError {
                secret_id: secret_id.to_string(),
                reason: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
            })?;
        output
            .secret_string
            .map(SecretValue)
            .ok_or_else(|| SecretError {
                secret_id: secret_id.to_string(),
                reason: "the secret has no string value".into(),
            })
    }
}

impl SecretSource for SecretsManagerSource {
    async fn secret(&self, secret_id: &str) -> Result<SecretValue, SecretError> {
        if let Some(value) = self.cached(secret_id, self.ttl) {
            return Ok(value);
        }
        match self.fetch(secret_id).await {
            Ok(value) => {
                self.remember(secret_id, &value);
                Ok(value)
            }
            Err(error) => match self.cached(secret_id, self.ttl * 2) {
                Some(stale) => {
                    tracing::warn!(reason = %error.reason, "secret refresh failed; serving the cached value");
                    Ok(stale)
                }
                None => Err(error),
            },
        }
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
