//! The results bucket: one port ([`ObjectStore`]) for analysis documents, transcripts, cost
//! state, raw stats and rollups and idempotency markers, and its S3 adapter. The only place
//! that knows how S3 says "absent", "changed meanwhile" and "another write is in flight".

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;

use crate::aws::classify;

/// An object read back, with the ETag a later conditional write can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The object's bytes.
    pub body: Vec<u8>,
    /// The ETag, when the store returned one.
    pub etag: Option<String>,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// The full key, prefix included.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, when the listing carried one.
    pub etag: Option<String>,
}

/// When a write may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCondition<'a> {
    /// Unconditionally.
    Always,
    /// Only if no object has the key (`If-None-Match: *`).
    Absent,
    /// Only if the object still has this ETag (`If-Match`).
    Matches(&'a str),
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The object was stored.
    Written {
        /// The new object's ETag, for a later conditional write.
        etag: Option<String>,
    },
    /// The object exists (Absent), changed or is gone (Matches).
    ConditionFailed,
    /// Another conditional write to the key is in flight; its outcome is not known yet.
    ConcurrentWrite,
}

impl WriteOutcome {
    /// True when the object was stored.
    pub fn is_written(&self) -> bool {
        matches!(self, WriteOutcome::Written { .. })
    }
}

/// A failed store operation; `retryable` follows [`crate::aws::classify`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct StoreError {
    /// A later attempt may succeed.
    pub retryable: bool,
    /// What went wrong, in one line.
    pub reason: String,
}

impl StoreError {
    /// A failure that will repeat on every attempt.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            retryable: false,
            reason: reason.into(),
        }
    }
    /// A failure a later attempt may get past.
    pub fn retryable(reason: impl Into<String>) -> Self {
        Self {
            retryable: true,
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for crate::batch::RecordError {
    fn from(e: StoreError) -> Self {
        if e.retryable {
            crate::batch::RecordError::Retryable(e.reason)
        } else {
            crate::batch::RecordError::Permanent(e.reason)
        }
    }
}

/// Keys in, bytes out: the results bucket as the domain sees it.
pub trait ObjectStore: Send + Sync {
    /// The object, or `None` when the key does not exist.
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredObject>, StoreError>> + Send;
    /// Like [`ObjectStore::get`], refusing (permanently) an object larger than `max_bytes`
    /// before reading its body.
    fn get_capped(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Option<StoredObject>, StoreError>> + Send;
    /// Writes the object if `condition` holds; a condition that does not hold is an outcome,
    /// not an error.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: WriteCondition<'_>,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;
    /// Deletes the key; an absent key is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every object under `prefix`, all pages, in key order.
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<ListedObject>, StoreError>> + Send;
}

/// [`ObjectStore`] on an S3 bucket.
#[derive(Clone, Debug)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ObjectStore {
    /// The store on `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn read(
        &self,
        key: &str,
        max_bytes: Option<u64>,
    ) -> Result<Option<StoredObject>, StoreError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) => {
                let failure = classify(&format!("reading s3://{}/{key}", self.bucket), e);
                if failure.not_found {
                    return Ok(None);
                }
                return Err(StoreError {
                    retryable: failure.retryable,
                    reason: failure.detail,
                });
            }
        };
        if let (Some(max), Some(len)) = (max_bytes, output.content_length()) {
            if len as u64 > max {
                return Err(StoreError::permanent(format!(
                    "s3://{}/{key} is {len} bytes, over the {max}-byte limit",
                    self.bucket
                )));
            }
        }
        let etag = output.e_tag().map(str::to_string);
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| StoreError::retryable(format!("reading s3://{}/{key}: {e}", self.bucket)))?
            .into_bytes()
            .to_vec();
        if let Some(max) = max_bytes {
            if body.len() as u64 > max {
                return Err(StoreError::permanent(format!(
                    "s3://{}/{key} is over the {max}-byte limit",
                    self.bucket
                )));
            }
        }
        Ok(Some(StoredObject { body, etag }))
    }
}

impl ObjectStore for S3ObjectStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        self.read(key, None).await
    }

    async fn get_capped(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<StoredObject>, StoreError> {
        self.read(key, Some(max_bytes)).await
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: WriteCondition<'_>,
    ) -> Result<WriteOutcome, StoreError> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        let put = match condition {
            WriteCondition::Always => put,
            WriteCondition::Absent => put.if_none_match("*"),
            WriteCondition::Matches(etag) => put.if_match(etag),
        };
        match put.send().await {
            Ok(output) => Ok(WriteOutcome::Written {
                etag: output.e_tag().map(str::to_string),
            }),
            Err(e) => match (e.raw_response().map(|r| r.status().as_u16()), condition) {
                (Some(412), _) => Ok(WriteOutcome::ConditionFailed),
                (Some(409), _) => Ok(WriteOutcome::ConcurrentWrite),
                // If-Match on a key deleted meanwhile: S3 answers 404 NoSuchKey.
                (Some(404), WriteCondition::Matches(_)) => Ok(WriteOutcome::ConditionFailed),
                _ => {
                    let f = classify(&format!("writing s3://{}/{key}", self.bucket), e);
                    Err(StoreError {
                        retryable: f.retryable,
                        reason: f.detail,
                    })
                }
            },
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let f = classify(&format!("deleting s3://{}/{key}", self.bucket), e);
                if f.not_found {
                    Ok(())
                } else {
                    Err(StoreError {
                        retryable: f.retryable,
                        reason: f.detail,
                    })
                }
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                let f = classify(&format!("listing s3://{}/{prefix}", self.bucket), e);
                StoreError {
                    retryable: f.retryable,
                    reason: f.detail,
                }
            })?;
            out.extend(page.contents().iter().filter_map(|o| {
                Some(ListedObject {
                    key: o.key()?.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().map(str::to_string),
                })
            }));
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

impl<T: ObjectStore + ?Sized> ObjectStore for std::sync::Arc<T> {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredObject>, StoreError>> + Send {
        (**self).get(key)
    }
    fn get_capped(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Option<StoredObject>, StoreError>> + Send {
        (**self).get_capped(key, max_bytes)
    }
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: WriteCondition<'_>,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send {
        (**self).put(key, body, content_type, condition)
    }
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete(key)
    }
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<ListedObject>, StoreError>> + Send {
        (**self).list(prefix)
    }
}
