//! The routing document as an S3 object.

use aws_sdk_s3::error::DisplayErrorContext;
use futures::future::BoxFuture;

use crate::ports::{RulesDocument, RulesStore};

pub struct S3RulesStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl S3RulesStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: String, key: String) -> Self {
        Self {
            client,
            bucket,
            key,
        }
    }

    async fn fetch(&self) -> Result<RulesDocument, String> {
        let (bucket, key) = (&self.bucket, &self.key);
        let unreadable =
            |e: String| format!("routing rules s3://{bucket}/{key} could not be read: {e}");
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| unreadable(DisplayErrorContext(e).to_string()))?;
        let version = object.e_tag().map(str::to_string);
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| unreadable(e.to_string()))?
            .into_bytes();
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| format!("routing rules s3://{bucket}/{key} are not UTF-8"))?;
        Ok(RulesDocument { text, version })
    }
}

impl RulesStore for S3RulesStore {
    fn read(&self) -> BoxFuture<'_, Result<RulesDocument, String>> {
        Box::pin(self.fetch())
    }
}
