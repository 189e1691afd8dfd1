//! `ModerationBackend` on SageMaker endpoints the operator deploys (the choice where
//! Rekognition does not exist, such as `aws-cn`), speaking the contract in [`crate::endpoint`].
//!
//! Images go to the real-time endpoint (`InvokeEndpoint`). Videos go to the asynchronous
//! endpoint when one is configured (`InvokeEndpointAsync`: the request is a small JSON
//! document in the results bucket, the completion arrives on `ai-jobs` through the endpoint's
//! SNS notification topics, the answer is an object under the endpoint's S3 output path);
//! without one, synchronously like images (real-time endpoints stop at 60 s, so only for
//! short clips). The media itself is never sent: the model reads it from S3.

use aws_sdk_sagemakerruntime::primitives::Blob;
use shared::aws::classify;
use shared::batch::RecordError;
use shared::results::{ObjectStore, S3ObjectStore, WriteCondition};

use crate::endpoint::{self, EndpointRequest};
use crate::model::{Findings, ObjectRef};
use crate::ports::{ModerationBackend, VideoModeration};
use crate::routing::MediaKind;

/// The largest asynchronous answer read into the function.
const MAX_OUTPUT_BYTES: u64 = 5 * 1024 * 1024;

pub struct SageMakerModeration {
    client: aws_sdk_sagemakerruntime::Client,
    endpoint_name: String,
    asynchronous: Option<AsyncEndpoint>,
}

/// The asynchronous endpoint for videos, with where its requests are written and how its
/// answers are read.
pub struct AsyncEndpoint {
    pub endpoint_name: String,
    /// The results bucket, where requests go.
    pub requests: S3ObjectStore,
    /// A client to read answers wherever the endpoint's S3 output path points.
    pub s3: aws_sdk_s3::Client,
}

impl SageMakerModeration {
    pub fn new(client: aws_sdk_sagemakerruntime::Client, endpoint_name: impl Into<String>) -> Self {
        Self {
            client,
            endpoint_name: endpoint_name.into(),
            asynchronous: None,
        }
    }

    /// Videos through `endpoint` asynchronously.
    pub fn with_async(mut self, endpoint: AsyncEndpoint) -> Self {
        self.asynchronous = Some(endpoint);
        self
    }

    async fn invoke(&self, object: &ObjectRef, kind: MediaKind) -> Result<Findings, RecordError> {
        let body = EndpointRequest::new(object, kind, None).to_json();
        let operation = format!(
            "SageMaker InvokeEndpoint {} for {}",
            self.endpoint_name,
            object.uri()
        );
        let out = self
            .client
            .invoke_endpoint()
            .endpoint_name(&self.endpoint_name)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .send()
            .await
            .map_err(|e| classify(&operation, e))?;
        let bytes = out.body().map(|b| b.as_ref()).unwrap_or_default();
        endpoint::findings(bytes).map_err(|e| {
            RecordError::permanent(format!(
                "endpoint {} answered for {}: {e}",
                self.endpoint_name,
                object.uri()
            ))
        })
    }

    async fn start_async(
        &self,
        endpoint: &AsyncEndpoint,
        object: &ObjectRef,
        request_id: &str,
    ) -> Result<VideoModeration, RecordError> {
        let key = endpoint::async_request_key(request_id);
        let request = EndpointRequest::new(object, MediaKind::Video, Some(request_id));
        endpoint
            .requests
            .put(
                &key,
                request.to_json(),
                "application/json",
                WriteCondition::Always,
            )
            .await?;
        let input_location = format!("s3://{}/{key}", endpoint.requests.bucket());
        let out = self
            .client
            .invoke_endpoint_async()
            .endpoint_name(&endpoint.endpoint_name)
            .content_type("application/json")
            .accept("application/json")
            .input_location(&input_location)
            .inference_id(request_id)
            .send()
            .await
            .map_err(|e| {
                classify(
                    &format!(
                        "SageMaker InvokeEndpointAsync {} for {}",
                        endpoint.endpoint_name,
                        object.uri()
                    ),
                    e,
                )
            })?;
        Ok(VideoModeration::Started {
            job_id: out.inference_id().unwrap_or(request_id).to_string(),
            output_location: out.output_location().map(str::to_string),
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
        request_token: &str,
    ) -> Result<VideoModeration, RecordError> {
        match &self.asynchronous {
            Some(endpoint) => self.start_async(endpoint, object, request_token).await,
            None => Ok(VideoModeration::Finished(
                self.invoke(object, MediaKind::Video).await?,
            )),
        }
    }

    async fn video_results(
        &self,
        job_id: &str,
        output_location: Option<&str>,
    ) -> Result<Findings, RecordError> {
        let (Some(endpoint), Some(location)) = (&self.asynchronous, output_location) else {
            return Err(RecordError::permanent(format!(
                "a completion of job {job_id} arrived, but no asynchronous SageMaker endpoint \
                 is configured (SAGEMAKER_ASYNC_ENDPOINT_NAME) or it names no output"
            )));
        };
        let (bucket, key) = location
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(|| {
                RecordError::permanent(format!("output location {location:?} is not an s3:// URI"))
            })?;
        let answer = S3ObjectStore::new(endpoint.s3.clone(), bucket)
            .get_capped(key, MAX_OUTPUT_BYTES)
            .await?
            .ok_or_else(|| {
                RecordError::permanent(format!(
                    "the answer {location} of inference {job_id} does not exist"
                ))
            })?;
        endpoint::findings(&answer.body).map_err(|e| {
            RecordError::permanent(format!(
                "endpoint {} answered inference {job_id}: {e}",
                endpoint.endpoint_name
            ))
        })
    }
}
