//! The ports of the domain, free of AWS types: the results bucket as the rollup and the
//! ingest see it. (The events topic and the dead-letter queue are `shared`'s ports.)
//!
//! Objects are opened as blocking readers that stream the object (decompression and parsing
//! run on a blocking thread while the bytes arrive), so no object is ever held in memory whole.

use std::future::Future;
use std::io::Read;

/// A reader to be used on a blocking thread (`tokio::task::spawn_blocking`).
pub type BlockingRead = Box<dyn Read + Send + 'static>;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} {key} failed: {reason}")]
pub struct StoreError {
    pub operation: &'static str,
    pub key: String,
    pub reason: String,
}

/// What a create-only write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    /// An object with this key exists already; nothing was written.
    AlreadyExists,
}

pub trait ResultsStore: Send + Sync {
    /// Keys under `prefix`, in lexicographic order.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// A streaming reader of the object; `None` when it does not exist.
    fn open(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<BlockingRead>, StoreError>> + Send;
    /// The whole (small) object; `None` when it does not exist.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes only if no object has this key (`If-None-Match: *`).
    fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}
