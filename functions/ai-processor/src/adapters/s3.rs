//! `ObjectStore` on S3: upload metadata and tags in the media bucket, documents in the
//! results bucket (with S3 conditional writes).

use aws_sdk_s3::types::{Tag, Tagging};
use shared::batch::RecordError;
use shared::objects;

use super::sdk_errors::{classify, SdkError};
use crate::model::{ObjectInfo, ObjectRef};
use crate::ports::{ObjectStore, StoredObject, WriteCondition, WriteOutcome};

#[derive(Clone)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
}

impl S3ObjectStore {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

fn status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

impl ObjectStore for S3ObjectStore {
    async fn head(&self, object: &ObjectRef) -> Result<Option<ObjectInfo>, RecordError> {
        let result = self
            .client
            .head_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(ObjectInfo {
                etag: out.e_tag().map(unquote).unwrap_or_default(),
                version_id: out.version_id().map(str::to_string),
                size: out.content_length().unwrap_or_default(),
                content_type: out.content_type().map(str::to_string),
            })),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(classify(&format!("HeadObject {}", object.uri()), e)),
        }
    }

    async fn tags(&self, object: &ObjectRef) -> Result<Vec<(String, String)>, RecordError> {
        let out = self
            .client
            .get_object_tagging()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .send()
            .await
            .map_err(|e| classify(&format!("GetObjectTagging {}", object.uri()), e))?;
        Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }

    async fn put_tags(
        &self,
        object: &ObjectRef,
        tags: &[(String, String)],
    ) -> Result<(), RecordError> {
        let tag_set = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RecordError::permanent(format!("tag for {}: {e}", object.uri())))?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(tag_set))
            .build()
            .map_err(|e| RecordError::permanent(format!("tags for {}: {e}", object.uri())))?;
        self.client
            .put_object_tagging()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .tagging(tagging)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&format!("PutObjectTagging {}", object.uri()), e))
    }

    async fn read(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, RecordError> {
        let result = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(classify(&format!("GetObject s3://{bucket}/{key}"), e)),
        };
        let etag = out.e_tag().map(str::to_string);
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| RecordError::retryable(format!("reading s3://{bucket}/{key}: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(StoredObject { bytes, etag }))
    }

    async fn write_json(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<WriteOutcome, RecordError> {
        let condition = match &condition {
            WriteCondition::Absent => objects::WriteCondition::Absent,
            WriteCondition::Matches(etag) => objects::WriteCondition::Matches(etag),
        };
        let written = objects::put_conditional(
            &self.client,
            bucket,
            key,
            bytes,
            "application/json",
            condition,
        )
        .await
        .map_err(|e| classify(&format!("PutObject s3://{bucket}/{key}"), e))?;
        Ok(match written {
            objects::ConditionalWrite::Written { .. } => WriteOutcome::Written,
            // The condition does not hold, or a concurrent conditional write won.
            objects::ConditionalWrite::ConditionFailed
            | objects::ConditionalWrite::ConcurrentWrite => WriteOutcome::ConditionFailed,
        })
    }
}
