//! SageMaker endpoints the operator deploys (the choice where Rekognition and Textract do not
//! exist, such as `aws-cn`), speaking the contract in [`crate::endpoint`]:
//! `ModerationBackend` ([`SageMakerModeration`]) and `TextExtractor` ([`SageMakerOcr`]).
//!
//! Images go to the real-time endpoint (`InvokeEndpoint`). Videos go to the asynchronous
//! endpoint when one is configured; without one, synchronously like images (real-time
//! endpoints stop at 60 s, so only for short clips). Documents always go to an asynchronous
//! endpoint. Asynchronous requests ([`AsyncEndpoint`]): the request is a small JSON document
//! in the results bucket, `InvokeEndpointAsync` names it, the completion arrives on `ai-jobs`
//! through the endpoint's SNS notification topics, and the answer is an object under the
//! endpoint's S3 output path, read size-capped. The upload itself is never sent: the model
//! reads it from S3.

use aws_sdk_sagemakerruntime::primitives::Blob;
use shared::aws::classify;
use shared::batch::RecordError;
use shared::results::{ObjectStore, S3ObjectStore, WriteCondition};

use crate::endpoint::{self, EndpointRequest};
use crate::model::{Findings, ObjectRef};
use crate::ports::{ExtractedText, ModerationBackend, TextExtractor, TextJob, VideoModeration};
use crate::routing::MediaKind;

/// The largest asynchronous answer read into the function.
const MAX_OUTPUT_BYTES: u64 = 5 * 1024 * 1024;

pub struct SageMakerModeration {
    client: aws_sdk_sagemakerruntime::Client,
    endpoint_name: String,
    asynchronous: Option<AsyncEndpoint>,
}

/// An asynchronous endpoint, with where its requests are written and how its answers are read.
pub struct AsyncEndpoint {
    client: aws_sdk_sagemakerruntime::Client,
    endpoint_name: String,
    /// The results bucket, where requests go.
    requests: S3ObjectStore,
    /// A client to read answers wherever the endpoint's S3 output path points.
    s3: aws_sdk_s3::Client,
}

/// An asynchronous inference that was started.
pub struct StartedInference {
    pub inference_id: String,
    pub output_location: Option<String>,
}

impl AsyncEndpoint {
    pub fn new(
        client: aws_sdk_sagemakerruntime::Client,
        endpoint_name: impl Into<String>,
        s3: aws_sdk_s3::Client,
        results_bucket: &str,
    ) -> Self {
        Self {
            client,
            endpoint_name: endpoint_name.into(),
            requests: S3ObjectStore::new(s3.clone(), results_bucket),
            s3,
        }
    }

    /// Writes `request` to `sagemaker-async/requests/<request id>.json` and starts the
    /// inference on it with that `InferenceId`.
    async fn start(
        &self,
        request: &EndpointRequest,
        request_id: &str,
    ) -> Result<StartedInference, RecordError> {
        let key = endpoint::async_request_key(request_id);
        self.requests
            .put(
                &key,
                request.to_json(),
                "application/json",
                WriteCondition::Always,
            )
            .await?;
        let input_location = format!("s3://{}/{key}", self.requests.bucket());
        let out = self
            .client
            .invoke_endpoint_async()
            .endpoint_name(&self.endpoint_name)
            .content_type("application/json")
            .accept("application/json")
            .input_location(&input_location)
            .inference_id(request_id)
            .send()
            .await
            .map_err(|e| {
                classify(
                    &format!(
                        "SageMaker InvokeEndpointAsync {} for s3://{}/{}",
                        self.endpoint_name, request.s3.bucket, request.s3.key
                    ),
                    e,
                )
            })?;
        Ok(StartedInference {
            inference_id: out.inference_id().unwrap_or(request_id).to_string(),
            output_location: out.output_location().map(str::to_string),
        })
    }

    /// The answer of a finished inference, at most 5 MB; a missing or oversized answer is a
    /// permanent failure.
    async fn answer(
        &self,
        inference_id: &str,
        output_location: Option<&str>,
    ) -> Result<Vec<u8>, RecordError> {
        let location = output_location.ok_or_else(|| {
            RecordError::permanent(format!(
                "inference {inference_id} finished, but neither its start nor its notification \
                 names an output location"
            ))
        })?;
        let (bucket, key) = location
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(|| {
                RecordError::permanent(format!("output location {location:?} is not an s3:// URI"))
            })?;
        let answer = S3ObjectStore::new(self.s3.clone(), bucket)
            .get_capped(key, MAX_OUTPUT_BYTES)
            .await?
            .ok_or_else(|| {
                RecordError::permanent(format!(
                    "the answer {location} of inference {inference_id} does not exist"
                ))
            })?;
        Ok(answer.body)
    }

    /// Why an answer is refused, naming the endpoint and the inference.
    fn refused(&self, inference_id: &str, problem: String) -> RecordError {
        RecordError::permanent(format!(
            "endpoint {} answered inference {inference_id}: {problem}",
            self.endpoint_name
        ))
    }
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
            Some(endpoint) => {
                let request = EndpointRequest::new(object, MediaKind::Video, Some(request_token));
                let started = endpoint.start(&request, request_token).await?;
                Ok(VideoModeration::Started {
                    job_id: started.inference_id,
                    output_location: started.output_location,
                })
            }
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
        let Some(endpoint) = &self.asynchronous else {
            return Err(RecordError::permanent(format!(
                "a completion of job {job_id} arrived, but no asynchronous SageMaker endpoint \
                 is configured (SAGEMAKER_ASYNC_ENDPOINT_NAME)"
            )));
        };
        let answer = endpoint.answer(job_id, output_location).await?;
        endpoint::findings(&answer).map_err(|e| endpoint.refused(job_id, e))
    }
}

/// Text extraction through an asynchronous endpoint speaking the OCR contract
/// (`OCR_BACKEND=sagemaker`, `SAGEMAKER_OCR_ENDPOINT_NAME`).
pub struct SageMakerOcr {
    endpoint: AsyncEndpoint,
}

impl SageMakerOcr {
    pub fn new(endpoint: AsyncEndpoint) -> Self {
        Self { endpoint }
    }
}

impl TextExtractor for SageMakerOcr {
    fn name(&self) -> &'static str {
        "sagemaker"
    }

    async fn start(
        &self,
        object: &ObjectRef,
        content_type: &str,
        request_token: &str,
    ) -> Result<TextJob, RecordError> {
        let request = EndpointRequest::ocr(object, content_type, request_token);
        let started = self.endpoint.start(&request, request_token).await?;
        Ok(TextJob {
            job_id: started.inference_id,
            output_location: started.output_location,
        })
    }

    async fn text(
        &self,
        job_id: &str,
        output_location: Option<&str>,
    ) -> Result<ExtractedText, RecordError> {
        let answer = self.endpoint.answer(job_id, output_location).await?;
        endpoint::extracted_text(&answer).map_err(|e| self.endpoint.refused(job_id, e))
    }
}
