//! `ModerationBackend` on a SageMaker real-time endpoint the operator deploys (the choice
//! where Rekognition does not exist, such as `aws-cn`).
//!
//! Contract (see the README): the request body is JSON
//! `{"s3": {"bucket": "...", "key": "...", "version_id": "..."|null}, "kind": "image"|"video"}`
//! (the model reads the media from S3 itself); the response body is JSON
//! `{"labels": [{"name", "parent", "confidence"}], "moderation_labels": [{"name", "parent",
//! "confidence", "timestamp_ms"?}]}` with confidences in percent (0-100). Videos are analysed
//! synchronously by the same call.

use aws_sdk_sagemakerruntime::primitives::Blob;
use serde::{Deserialize, Serialize};
use shared::batch::RecordError;

use crate::model::{strongest_per_name, Findings, Label, ModerationLabel, ObjectRef};
use crate::ports::{ModerationBackend, VideoModeration};
use crate::routing::MediaKind;
use shared::aws::classify;

pub struct SageMakerModeration {
    client: aws_sdk_sagemakerruntime::Client,
    endpoint_name: String,
}

#[derive(Serialize)]
struct EndpointRequest<'a> {
    s3: S3Location<'a>,
    kind: MediaKind,
}

#[derive(Serialize)]
struct S3Location<'a> {
    bucket: &'a str,
    key: &'a str,
    version_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct EndpointResponse {
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    moderation_labels: Vec<ModerationLabel>,
}

impl SageMakerModeration {
    pub fn new(client: aws_sdk_sagemakerruntime::Client, endpoint_name: impl Into<String>) -> Self {
        Self {
            client,
            endpoint_name: endpoint_name.into(),
        }
    }

    async fn invoke(&self, object: &ObjectRef, kind: MediaKind) -> Result<Findings, RecordError> {
        let request = EndpointRequest {
            s3: S3Location {
                bucket: &object.bucket,
                key: &object.key,
                version_id: object.version_id.as_deref(),
            },
            kind,
        };
        let body = serde_json::to_vec(&request)
            .map_err(|e| RecordError::permanent(format!("endpoint request: {e}")))?;
        let out = self
            .client
            .invoke_endpoint()
            .endpoint_name(&self.endpoint_name)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .send()
            .await
            .map_err(|e| {
                classify(
                    &format!(
                        "SageMaker InvokeEndpoint {} for {}",
                        self.endpoint_name,
                        object.uri()
                    ),
                    e,
                )
            })?;
        let bytes = out.body().map(|b| b.as_ref()).unwrap_or_default();
        let response: EndpointResponse = serde_json::from_slice(bytes).map_err(|e| {
            RecordError::permanent(format!(
                "endpoint {} answered for {} with a body that does not follow the contract \
                 {{\"labels\": [...], \"moderation_labels\": [...]}}: {e}",
                self.endpoint_name,
                object.uri()
            ))
        })?;
        Ok(Findings {
            labels: response.labels,
            moderation_labels: strongest_per_name(response.moderation_labels),
        })
    }
}

impl ModerationBackend for SageMakerModeration {
    fn name(&self) -> &'static str {
        "sagemaker"
    }

    async fn analyse_image(&self, object: &ObjectRef) -> Result<Findings, RecordError> {
        self.invoke(object, MediaKind::Image).await
    }

    async fn analyse_video(
        &self,
        object: &ObjectRef,
        _request_token: &str,
    ) -> Result<VideoModeration, RecordError> {
        Ok(VideoModeration::Finished(
            self.invoke(object, MediaKind::Video).await?,
        ))
    }

    async fn video_results(&self, job_id: &str) -> Result<Findings, RecordError> {
        Err(RecordError::permanent(format!(
            "a Rekognition job completion ({job_id}) arrived, but MODERATION_BACKEND=sagemaker \
             runs no asynchronous jobs"
        )))
    }
}
