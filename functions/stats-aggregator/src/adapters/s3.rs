//! The results bucket on S3 ([`ResultsStore`] adapter).

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use shared::objects::{put_conditional, ConditionalWrite, WriteCondition};
use tokio_util::io::SyncIoBridge;

use crate::ports::{BlockingRead, PutOutcome, ResultsStore, StoreError};

/// The results bucket in S3.
#[derive(Clone)]
pub struct S3ResultsStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ResultsStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn get_object(
        &self,
        key: &str,
    ) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => Ok(None),
            Err(e) => Err(error("GetObject", key, DisplayErrorContext(e))),
        }
    }
}

fn error(operation: &'static str, key: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError {
        operation,
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

impl ResultsStore for S3ResultsStore {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error("ListObjectsV2", prefix, DisplayErrorContext(e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        keys.sort();
        Ok(keys)
    }

    async fn open(&self, key: &str) -> Result<Option<BlockingRead>, StoreError> {
        let Some(out) = self.get_object(key).await? else {
            return Ok(None);
        };
        let reader = SyncIoBridge::new(Box::pin(out.body.into_async_read()));
        Ok(Some(Box::new(reader)))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(out) = self.get_object(key).await? else {
            return Ok(None);
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| error("GetObject", key, e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error("PutObject", key, DisplayErrorContext(e)))
    }

    async fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<PutOutcome, StoreError> {
        let written = put_conditional(
            &self.client,
            &self.bucket,
            key,
            body,
            content_type,
            WriteCondition::Absent,
        )
        .await
        .map_err(|e| error("PutObject (If-None-Match)", key, DisplayErrorContext(e)))?;
        match written {
            ConditionalWrite::Written { .. } => Ok(PutOutcome::Created),
            ConditionalWrite::ConditionFailed => Ok(PutOutcome::AlreadyExists),
            // Another delivery of the same batch is writing this object now; if it fails,
            // this one must not have been acknowledged, so retry.
            ConditionalWrite::ConcurrentWrite => Err(error(
                "PutObject (If-None-Match)",
                key,
                "a concurrent write of the same object is in flight",
            )),
        }
    }
}
