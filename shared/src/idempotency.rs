//! "Do this once per key": the policy (claim, lease, take over, done, release) written once,
//! over any [`ObjectStore`], so the S3 results bucket and the in-memory test store behave the
//! same, leases included.
//!
//! A claim writes a marker with `If-None-Match: *`; only one writer can create it. The marker
//! holds a lease: if the claimant dies before finishing, another may take the claim over once
//! the lease has expired (with `If-Match` on the marker's ETag, so only one does). Finishing
//! (done) and releasing (on failure) are written with `If-Match` on the ETag of the claim, so a
//! caller whose lease was taken over cannot overwrite the new owner's marker; it is told
//! ([`IdempotencyError::LostOwnership`]) and the loss is counted.
//!
//! When an effect can still happen twice: the effect and the done-marker are two writes. If the
//! process dies between them (or the done-write fails three times), the marker stays "in
//! progress" until its lease ends and a later delivery repeats the effect. RELIABILITY.md says
//! which effects that concerns.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::results::{ObjectStore, StoreError, WriteCondition, WriteOutcome};
use crate::time::Clock;

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

/// Proof of a claim: the key and the ETag of the marker this caller wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken {
    /// The claimed key, as the caller gave it.
    pub key: String,
    etag: Option<String>,
}

/// Why a claim, completion or release did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    /// The marker could not be read or written.
    #[error("idempotency store failed for {key}: {reason}")]
    Store {
        /// The claimed key.
        key: String,
        /// What the store reported.
        reason: String,
        /// A later attempt may succeed (throttling, a 5xx); false for an unreadable marker.
        retryable: bool,
    },
    /// The lease ran out and another caller took the claim over before this one finished.
    #[error("the claim on {key} was taken over by another caller after its lease ended")]
    LostOwnership {
        /// The claimed key.
        key: String,
    },
}

impl IdempotencyError {
    /// True when another delivery may succeed; a lost claim is retried so the new owner's
    /// outcome decides.
    pub fn is_retryable(&self) -> bool {
        match self {
            IdempotencyError::Store { retryable, .. } => *retryable,
            IdempotencyError::LostOwnership { .. } => true,
        }
    }
}

impl From<IdempotencyError> for crate::batch::RecordError {
    fn from(e: IdempotencyError) -> Self {
        if e.is_retryable() {
            crate::batch::RecordError::Retryable(e.to_string())
        } else {
            crate::batch::RecordError::Permanent(e.to_string())
        }
    }
}

/// The operations of an idempotency store; [`Idempotency`] is the implementation.
pub trait IdempotencyStore: Send + Sync {
    /// Tries to take `key`: acquired, already done, or held by another caller.
    fn claim(&self, key: &str) -> impl Future<Output = Result<Claim, IdempotencyError>> + Send;
    /// Marks the claimed effect as done, so later claims get [`Claim::AlreadyDone`].
    fn complete(
        &self,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), IdempotencyError>> + Send;
    /// Gives the claim up after a failed effect, so a later delivery can claim it at once.
    fn release(
        &self,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), IdempotencyError>> + Send;
}

/// What [`once`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Once<T> {
    /// The effect ran now, with this result.
    Done(T),
    /// The effect had already run; it was not repeated.
    AlreadyDone,
    /// Another caller holds the claim; the effect did not run here.
    InProgress,
}

/// How many times the done-marker write is tried before the effect is reported as done anyway.
const COMPLETE_ATTEMPTS: usize = 3;

/// Runs `effect` unless it already ran for `key`. On error the claim is released so a later
/// delivery can try again; the effect's error is returned as is. After a successful effect the
/// result is `Done` even when the done-marker could not be written: the effect happened, and
/// delivering the message again would repeat it at once (see the module comment).
pub async fn once<S, T, E, F, Fut>(store: &S, key: &str, effect: F) -> Result<Once<T>, E>
where
    S: IdempotencyStore,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: From<IdempotencyError>,
{
    let token = match store.claim(key).await? {
        Claim::Acquired(token) => token,
        Claim::AlreadyDone => return Ok(Once::AlreadyDone),
        Claim::InProgress => return Ok(Once::InProgress),
    };
    match effect().await {
        Ok(value) => {
            for attempt in 1..=COMPLETE_ATTEMPTS {
                match store.complete(&token).await {
                    Ok(()) => break,
                    Err(e @ IdempotencyError::LostOwnership { .. }) => {
                        ownership_lost(&e);
                        break;
                    }
                    Err(e) if attempt == COMPLETE_ATTEMPTS => {
                        tracing::error!(error = %e, "the effect happened but its done-marker could not be written; a delivery after the lease may repeat it");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, attempt, "writing the done-marker failed; trying again")
                    }
                }
            }
            Ok(Once::Done(value))
        }
        Err(e) => {
            match store.release(&token).await {
                Ok(()) => {}
                Err(e @ IdempotencyError::LostOwnership { .. }) => ownership_lost(&e),
                Err(release_error) => {
                    tracing::warn!(%release_error, "could not release idempotency claim; it expires with its lease")
                }
            }
            Err(e)
        }
    }
}

fn ownership_lost(e: &IdempotencyError) {
    tracing::warn!(error = %e, "idempotency claim lost to another caller");
    let mut m = crate::metrics::MetricSet::new(
        &std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "MediaSuite".into()),
        &std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into()),
    );
    m.count("IdempotencyOwnershipLost", 1);
    m.emit();
}

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    key: String,
    state: MarkerState,
    /// Unix seconds after which an in-progress claim may be taken over.
    lease_expires: i64,
    /// Random per claim, so two claims never write identical bytes (and ETags).
    claim_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MarkerState {
    InProgress,
    Completed,
    Released,
}

/// The idempotency policy over a store of markers under `prefix`.
#[derive(Clone)]
pub struct Idempotency<S, C> {
    store: S,
    prefix: String,
    lease: Duration,
    clock: C,
}

impl<S: ObjectStore, C: Clock> Idempotency<S, C> {
    /// Markers live under `prefix` (give it a lifecycle expiry longer than the oldest message
    /// that can still arrive, dead-letter retention included).
    pub fn new(store: S, prefix: impl Into<String>, lease: Duration, clock: C) -> Self {
        Self {
            store,
            prefix: prefix.into(),
            lease,
            clock,
        }
    }

    fn object_key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, crate::events::stable_id(&[key]))
    }

    fn marker(&self, key: &str, state: MarkerState) -> Vec<u8> {
        let lease_expires = self.clock.now().unix_timestamp() + self.lease.as_secs() as i64;
        serde_json::to_vec(&Marker {
            key: key.to_string(),
            state,
            lease_expires,
            claim_id: format!("{:016x}", rand::random::<u64>()),
        })
        .expect("a marker serialises")
    }

    fn store_error(&self, key: &str, e: StoreError) -> IdempotencyError {
        IdempotencyError::Store {
            key: key.to_string(),
            reason: e.reason,
            retryable: e.retryable,
        }
    }

    async fn write(
        &self,
        key: &str,
        state: MarkerState,
        condition: WriteCondition<'_>,
    ) -> Result<WriteOutcome, IdempotencyError> {
        self.store
            .put(
                &self.object_key(key),
                self.marker(key, state),
                "application/json",
                condition,
            )
            .await
            .map_err(|e| self.store_error(key, e))
    }

    async fn finish(&self, token: &ClaimToken, state: MarkerState) -> Result<(), IdempotencyError> {
        let condition = match &token.etag {
            Some(etag) => WriteCondition::Matches(etag),
            // A store that returns no ETag cannot check ownership; write as before.
            None => WriteCondition::Always,
        };
        match self.write(&token.key, state, condition).await? {
            WriteOutcome::Written { .. } => Ok(()),
            WriteOutcome::ConditionFailed | WriteOutcome::ConcurrentWrite => {
                Err(IdempotencyError::LostOwnership {
                    key: token.key.clone(),
                })
            }
        }
    }
}

impl<S: ObjectStore, C: Clock> IdempotencyStore for Idempotency<S, C> {
    async fn claim(&self, key: &str) -> Result<Claim, IdempotencyError> {
        match self
            .write(key, MarkerState::InProgress, WriteCondition::Absent)
            .await?
        {
            WriteOutcome::Written { etag } => {
                return Ok(Claim::Acquired(ClaimToken {
                    key: key.to_string(),
                    etag,
                }))
            }
            // The marker exists, or another claim is being written right now.
            WriteOutcome::ConditionFailed | WriteOutcome::ConcurrentWrite => {}
        }
        let Some(stored) = self
            .store
            .get(&self.object_key(key))
            .await
            .map_err(|e| self.store_error(key, e))?
        else {
            // Gone between our write and our read: the next delivery will claim it.
            return Ok(Claim::InProgress);
        };
        let marker: Marker =
            serde_json::from_slice(&stored.body).map_err(|e| IdempotencyError::Store {
                key: key.to_string(),
                reason: format!("unreadable marker: {e}"),
                retryable: false,
            })?;
        let expired = marker.lease_expires < self.clock.now().unix_timestamp();
        let may_take = match marker.state {
            MarkerState::Completed => return Ok(Claim::AlreadyDone),
            MarkerState::Released => true,
            MarkerState::InProgress => expired,
        };
        let (true, Some(etag)) = (may_take, stored.etag) else {
            // A live lease, or no ETag to make the takeover exclusive.
            return Ok(Claim::InProgress);
        };
        match self
            .write(key, MarkerState::InProgress, WriteCondition::Matches(&etag))
            .await?
        {
            WriteOutcome::Written { etag } => {
                if marker.state == MarkerState::InProgress {
                    tracing::warn!(key, "took over an idempotency claim whose lease had ended");
                }
                Ok(Claim::Acquired(ClaimToken {
                    key: key.to_string(),
                    etag,
                }))
            }
            WriteOutcome::ConditionFailed | WriteOutcome::ConcurrentWrite => Ok(Claim::InProgress),
        }
    }

    async fn complete(&self, token: &ClaimToken) -> Result<(), IdempotencyError> {
        self.finish(token, MarkerState::Completed).await
    }

    async fn release(&self, token: &ClaimToken) -> Result<(), IdempotencyError> {
        self.finish(token, MarkerState::Released).await
    }
}

/// The production store: markers in the results bucket, the system clock.
pub type S3IdempotencyStore = Idempotency<crate::results::S3ObjectStore, crate::time::SystemClock>;

impl S3IdempotencyStore {
    /// Markers under `prefix` in `bucket`, with claims held for `lease`.
    pub fn on_s3(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        lease: Duration,
    ) -> Self {
        Idempotency::new(
            crate::results::S3ObjectStore::new(client, bucket),
            prefix,
            lease,
            crate::time::SystemClock,
        )
    }
}
