//! S3: upload metadata and tags in the media bucket (`MediaStore`). The results bucket is
//! `shared::results::S3ObjectStore`.

use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{Tag, Tagging};
use shared::batch::RecordError;

use crate::model::{ObjectInfo, ObjectRef};
use crate::ports::{MediaStore, SignedLink};
use shared::aws::{classify, SdkError};

/// The uploads of the media bucket (any bucket an `ObjectRef` names).
#[derive(Clone)]
pub struct S3MediaStore {
    client: aws_sdk_s3::Client,
    /// What the client signs with (the SDK configuration's), to tell when presigned links
    /// stop working.
    credentials: Option<SharedCredentialsProvider>,
}

impl S3MediaStore {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self {
            client,
            credentials: None,
        }
    }

    /// Presigned links report the expiry of these credentials when it comes first.
    pub fn signing_with(mut self, credentials: Option<SharedCredentialsProvider>) -> Self {
        self.credentials = credentials;
        self
    }
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

fn status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

impl MediaStore for S3MediaStore {
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
            // Without s3:ListBucket, S3 answers 403 instead of 404 for a missing key, so a
            // 403 cannot tell "deleted" from "not allowed". Retried like any access denial
            // (the redrive policy dead-letters it meanwhile), with a reason that says what
            // to grant.
            Err(e) if status(&e) == Some(403) => Err(RecordError::retryable(format!(
                "HeadObject {} answered 403 Forbidden: the object may have been deleted, but \
                 without s3:ListBucket on the bucket S3 answers 403 instead of 404; grant the \
                 role s3:ListBucket and s3:GetObject on the media bucket",
                object.uri()
            ))),
            Err(e) => Err(classify(&format!("HeadObject {}", object.uri()), e).into()),
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
            .map_err(|e| classify(&format!("PutObjectTagging {}", object.uri()), e).into())
    }

    async fn share_link(
        &self,
        object: &ObjectRef,
        ttl: std::time::Duration,
    ) -> Result<SignedLink, String> {
        let config = PresigningConfig::expires_in(ttl).map_err(|e| e.to_string())?;
        let signed = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .presigned(config)
            .await
            .map_err(|e| format!("presigning GetObject {}: {e}", object.uri()))?;
        Ok(SignedLink {
            url: signed.uri().to_string(),
            credentials_expire_at: self.credentials_expiry().await,
        })
    }
}

impl S3MediaStore {
    /// When the credentials the client signs with expire, when they say so. A Lambda role's
    /// credentials come from environment variables that carry no expiry, so this is `None`
    /// there (see the README on link lifetimes).
    async fn credentials_expiry(&self) -> Option<time::OffsetDateTime> {
        let credentials = self
            .credentials
            .as_ref()?
            .provide_credentials()
            .await
            .ok()?;
        credentials.expiry().map(time::OffsetDateTime::from)
    }
}

/// The keyword list at `OCR_KEYWORDS_S3_URI`: one keyword per line (or comma-separated), `#`
/// starts a comment, UTF-8. Read at the first document, not at init (no network call at init),
/// and kept for the life of the execution environment.
pub struct S3KeywordList {
    source: Option<(shared::results::S3ObjectStore, String)>,
    cached: tokio::sync::OnceCell<Vec<String>>,
}

impl S3KeywordList {
    /// `None`: no list.
    pub fn new(client: aws_sdk_s3::Client, location: Option<(String, String)>) -> Self {
        Self {
            source: location
                .map(|(bucket, key)| (shared::results::S3ObjectStore::new(client, bucket), key)),
            cached: tokio::sync::OnceCell::new(),
        }
    }
}

/// The keywords of a list file.
pub fn parse_keywords(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split(','))
        .map(|k| k.trim().to_lowercase())
        .filter(|k| !k.is_empty())
        .collect()
}

impl crate::ports::KeywordSource for S3KeywordList {
    async fn keywords(&self) -> Result<Vec<String>, RecordError> {
        use shared::results::ObjectStore;
        let Some((store, key)) = &self.source else {
            return Ok(Vec::new());
        };
        self.cached
            .get_or_try_init(|| async {
                let uri = format!("s3://{}/{key}", store.bucket());
                let list = store.get_capped(key, 1024 * 1024).await?.ok_or_else(|| {
                    RecordError::retryable(format!("keyword list {uri} does not exist"))
                })?;
                let text = String::from_utf8(list.body).map_err(|_| {
                    RecordError::permanent(format!("keyword list {uri} is not UTF-8"))
                })?;
                Ok(parse_keywords(&text))
            })
            .await
            .cloned()
    }
}
