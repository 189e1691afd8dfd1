//! State documents in the results bucket, written with S3 conditional writes.

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::Client;
use shared::objects::{put_conditional, ConditionalWrite, WriteCondition};

use crate::ports::{StateStore, StoreError, Stored, Written};

#[derive(Clone)]
pub struct S3StateStore {
    client: Client,
    bucket: String,
}

impl S3StateStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    fn error(key: &str, reason: impl std::fmt::Display) -> StoreError {
        StoreError {
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        if_match: Option<&str>,
    ) -> Result<Written, StoreError> {
        let condition = match if_match {
            Some(version) => WriteCondition::Matches(version),
            None => WriteCondition::Absent,
        };
        let written = put_conditional(
            &self.client,
            &self.bucket,
            key,
            body,
            "application/json",
            condition,
        )
        .await
        .map_err(|e| Self::error(key, DisplayErrorContext(e)))?;
        Ok(match written {
            ConditionalWrite::Written { etag } => Written::Done(etag.unwrap_or_default()),
            ConditionalWrite::ConditionFailed | ConditionalWrite::ConcurrentWrite => {
                Written::Conflict
            }
        })
    }
}

impl StateStore for S3StateStore {
    async fn read(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(Self::error(key, DisplayErrorContext(e))),
        };
        let version = output.e_tag().unwrap_or_default().to_string();
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| Self::error(key, e))?
            .into_bytes()
            .to_vec();
        Ok(Some(Stored { body, version }))
    }

    async fn create(&self, key: &str, body: Vec<u8>) -> Result<Written, StoreError> {
        self.put(key, body, None).await
    }

    async fn replace(
        &self,
        key: &str,
        body: Vec<u8>,
        version: &str,
    ) -> Result<Written, StoreError> {
        self.put(key, body, Some(version)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Self::error(prefix, DisplayErrorContext(e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        Ok(keys)
    }
}
