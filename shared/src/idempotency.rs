//! "Do this once per key", backed by S3 conditional writes, so a duplicate delivery has one
//! effect without another database.
//!
//! A claim writes a marker with `If-None-Match: *`; only one writer can create it. The marker
//! holds a lease: if the claimant dies before completing, another may take the claim over
//! once the lease has expired (with `If-Match` on the marker's ETag, so only one does).
//! Completing rewrites the marker as done; releasing (on failure) deletes it so a retry can
//! try again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use crate::objects::{put_conditional, ConditionalWrite, WriteCondition};

/// The result of trying to claim a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller holds the key and must `complete` or `release` it.
    Acquired(ClaimToken),
    /// The effect already happened.
    AlreadyDone,
    /// Another caller holds a live lease; try again later.
    InProgress,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken {
    pub key: String,
    etag: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("idempotency store failed for {key}: {reason}")]
pub struct IdempotencyError {
    pub key: String,
    pub reason: String,
}

pub trait IdempotencyStore: Send + Sync {
    fn claim(
        &self,
        key: &str,
    ) -> impl std::future::Future<Output = Result<Claim, IdempotencyError>> + Send;
    fn complete(
        &self,
        token: &ClaimToken,
    ) -> impl std::future::Future<Output = Result<(), IdempotencyError>> + Send;
    fn release(
        &self,
        token: &ClaimToken,
    ) -> impl std::future::Future<Output = Result<(), IdempotencyError>> + Send;
}

/// What [`once`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Once<T> {
    Done(T),
    AlreadyDone,
    InProgress,
}

/// Runs `effect` unless it already ran for `key`. On error the claim is released so a later
/// delivery can try again; the effect's error is returned as is.
pub async fn once<S, T, E, F, Fut>(store: &S, key: &str, effect: F) -> Result<Once<T>, E>
where
    S: IdempotencyStore,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: From<IdempotencyError>,
{
    let token = match store.claim(key).await? {
        Claim::Acquired(token) => token,
        Claim::AlreadyDone => return Ok(Once::AlreadyDone),
        Claim::InProgress => return Ok(Once::InProgress),
    };
    match effect().await {
        Ok(value) => {
            store.complete(&token).await?;
            Ok(Once::Done(value))
        }
        Err(e) => {
            if let Err(release_error) = store.release(&token).await {
                tracing::warn!(%release_error, "could not release idempotency claim; it expires with its lease");
            }
            Err(e)
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    key: String,
    state: MarkerState,
    /// Unix seconds after which an in-progress claim may be taken over.
    lease_expires: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MarkerState {
    InProgress,
    Completed,
}

/// Markers live under `prefix` in `bucket`; give that prefix a lifecycle expiry.
#[derive(Clone)]
pub struct S3IdempotencyStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    lease: Duration,
}

impl S3IdempotencyStore {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        lease: Duration,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
            lease,
        }
    }

    fn object_key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, crate::events::stable_id(&[key]))
    }

    fn marker(&self, key: &str, state: MarkerState) -> Vec<u8> {
        let lease_expires = crate::time::now_utc().unix_timestamp() + self.lease.as_secs() as i64;
        serde_json::to_vec(&Marker {
            key: key.to_string(),
            state,
            lease_expires,
        })
        .expect("marker serialises")
    }

    fn error(&self, key: &str, reason: impl std::fmt::Display) -> IdempotencyError {
        IdempotencyError {
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    async fn write_marker(
        &self,
        key: &str,
        condition: WriteCondition<'_>,
    ) -> Result<ConditionalWrite, IdempotencyError> {
        put_conditional(
            &self.client,
            &self.bucket,
            &self.object_key(key),
            self.marker(key, MarkerState::InProgress),
            "application/json",
            condition,
        )
        .await
        .map_err(|e| self.error(key, aws_sdk_s3::error::DisplayErrorContext(e)))
    }

    async fn read_marker(
        &self,
        key: &str,
    ) -> Result<Option<(Marker, Option<String>)>, IdempotencyError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await;
        let output = match result {
            Ok(o) => o,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(self.error(key, aws_sdk_s3::error::DisplayErrorContext(e))),
        };
        let etag = output.e_tag().map(str::to_string);
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| self.error(key, e))?
            .into_bytes();
        let marker: Marker = serde_json::from_slice(&bytes)
            .map_err(|e| self.error(key, format!("unreadable marker: {e}")))?;
        Ok(Some((marker, etag)))
    }
}

impl IdempotencyStore for S3IdempotencyStore {
    async fn claim(&self, key: &str) -> Result<Claim, IdempotencyError> {
        match self.write_marker(key, WriteCondition::Absent).await? {
            ConditionalWrite::Written { etag } => {
                return Ok(Claim::Acquired(ClaimToken {
                    key: key.to_string(),
                    etag,
                }))
            }
            // The marker exists, or another claim is being written right now.
            ConditionalWrite::ConditionFailed | ConditionalWrite::ConcurrentWrite => {}
        }
        let Some((marker, etag)) = self.read_marker(key).await? else {
            // Released between our write and our read: the next delivery will claim it.
            return Ok(Claim::InProgress);
        };
        match marker.state {
            MarkerState::Completed => Ok(Claim::AlreadyDone),
            MarkerState::InProgress
                if marker.lease_expires < crate::time::now_utc().unix_timestamp() =>
            {
                let Some(etag) = etag else {
                    // Without an ETag the takeover could not be made exclusive.
                    return Ok(Claim::InProgress);
                };
                match self
                    .write_marker(key, WriteCondition::Matches(&etag))
                    .await?
                {
                    ConditionalWrite::Written { etag } => {
                        tracing::warn!(key, "took over an expired idempotency claim");
                        Ok(Claim::Acquired(ClaimToken {
                            key: key.to_string(),
                            etag,
                        }))
                    }
                    ConditionalWrite::ConditionFailed | ConditionalWrite::ConcurrentWrite => {
                        Ok(Claim::InProgress)
                    }
                }
            }
            MarkerState::InProgress => Ok(Claim::InProgress),
        }
    }

    async fn complete(&self, token: &ClaimToken) -> Result<(), IdempotencyError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(&token.key))
            .content_type("application/json")
            .body(ByteStream::from(
                self.marker(&token.key, MarkerState::Completed),
            ))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.error(&token.key, aws_sdk_s3::error::DisplayErrorContext(e)))
    }

    async fn release(&self, token: &ClaimToken) -> Result<(), IdempotencyError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(&token.key))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.error(&token.key, aws_sdk_s3::error::DisplayErrorContext(e)))
    }
}

/// In-memory store for domain tests; same semantics without leases.
#[derive(Default, Clone)]
pub struct MemoryIdempotencyStore {
    state: Arc<Mutex<HashMap<String, bool>>>,
}

impl MemoryIdempotencyStore {
    pub fn is_done(&self, key: &str) -> bool {
        self.state.lock().expect("not poisoned").get(key) == Some(&true)
    }
}

impl IdempotencyStore for MemoryIdempotencyStore {
    async fn claim(&self, key: &str) -> Result<Claim, IdempotencyError> {
        let mut state = self.state.lock().expect("not poisoned");
        Ok(match state.get(key) {
            Some(true) => Claim::AlreadyDone,
            Some(false) => Claim::InProgress,
            None => {
                state.insert(key.to_string(), false);
                Claim::Acquired(ClaimToken {
                    key: key.to_string(),
                    etag: None,
                })
            }
        })
    }

    async fn complete(&self, token: &ClaimToken) -> Result<(), IdempotencyError> {
        self.state
            .lock()
            .expect("not poisoned")
            .insert(token.key.clone(), true);
        Ok(())
    }

    async fn release(&self, token: &ClaimToken) -> Result<(), IdempotencyError> {
        self.state.lock().expect("not poisoned").remove(&token.key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Failed;
    impl From<IdempotencyError> for Failed {
        fn from(_: IdempotencyError) -> Self {
            Failed
        }
    }

    #[tokio::test]
    async fn a_failed_effect_can_be_retried_and_a_done_one_is_not_repeated() {
        let store = MemoryIdempotencyStore::default();
        let r: Result<Once<()>, Failed> = once(&store, "k", || async { Err(Failed) }).await;
        assert_eq!(r, Err(Failed));
        let r: Result<Once<u8>, Failed> = once(&store, "k", || async { Ok(7) }).await;
        assert_eq!(r, Ok(Once::Done(7)));
        let r: Result<Once<u8>, Failed> = once(&store, "k", || async { Ok(8) }).await;
        assert_eq!(r, Ok(Once::AlreadyDone));
    }
}
