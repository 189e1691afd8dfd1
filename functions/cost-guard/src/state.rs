//! The guard's state documents (threshold levels, action records) in the results bucket: JSON
//! read with its ETag and written only if absent or unchanged, so of two overlapping runs one
//! wins and the other sees a conflict.

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::results::{ObjectStore, WriteCondition, WriteOutcome};

use crate::error::GuardError;

/// A document and the ETag a conditional replace names.
pub struct Versioned<T> {
    pub doc: T,
    pub etag: String,
}

/// What a conditional write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Written; the new ETag.
    Done(String),
    /// Another run created or changed the document first (or is writing it now).
    Conflict,
}

pub async fn read<T: DeserializeOwned, S: ObjectStore>(
    store: &S,
    key: &str,
) -> Result<Option<Versioned<T>>, GuardError> {
    let Some(object) = store
        .get(key)
        .await
        .map_err(|e| GuardError::store(key, e))?
    else {
        return Ok(None);
    };
    let doc = serde_json::from_slice(&object.body)
        .map_err(|e| GuardError::State(format!("{key} is not a cost-guard state document: {e}")))?;
    Ok(Some(Versioned {
        doc,
        etag: object.etag.unwrap_or_default(),
    }))
}

/// Writes `doc` only if nothing is under `key`.
pub async fn create<T: Serialize, S: ObjectStore>(
    store: &S,
    key: &str,
    doc: &T,
) -> Result<Written, GuardError> {
    write(store, key, doc, WriteCondition::Absent).await
}

/// Writes `doc` only if the document is still at `etag`.
pub async fn replace<T: Serialize, S: ObjectStore>(
    store: &S,
    key: &str,
    doc: &T,
    etag: &str,
) -> Result<Written, GuardError> {
    write(store, key, doc, WriteCondition::Matches(etag)).await
}

async fn write<T: Serialize, S: ObjectStore>(
    store: &S,
    key: &str,
    doc: &T,
    condition: WriteCondition<'_>,
) -> Result<Written, GuardError> {
    let body = serde_json::to_vec(doc).map_err(|e| GuardError::State(e.to_string()))?;
    let outcome = store
        .put(key, body, "application/json", condition)
        .await
        .map_err(|e| GuardError::store(key, e))?;
    Ok(match outcome {
        WriteOutcome::Written { etag } => Written::Done(etag.unwrap_or_default()),
        WriteOutcome::ConditionFailed | WriteOutcome::ConcurrentWrite => Written::Conflict,
    })
}

/// Keys under `prefix`.
pub async fn keys<S: ObjectStore>(store: &S, prefix: &str) -> Result<Vec<String>, GuardError> {
    let listed = store
        .list(prefix)
        .await
        .map_err(|e| GuardError::store(prefix, e))?;
    Ok(listed.into_iter().map(|o| o.key).collect())
}
