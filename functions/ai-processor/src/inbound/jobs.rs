//! Completions of the asynchronous jobs: Transcribe state changes (EventBridge), Rekognition
//! and Textract completions and SageMaker asynchronous inference notifications (SNS).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

use super::{
    malformed, shown, Inbound, Malformed, RekognitionJobDone, SageMakerJobDone, TextractJobDone,
    TranscribeJobChanged,
};

/// The only EventBridge event envelope version there is.
const EVENTBRIDGE_VERSION: &str = "0";

#[derive(Deserialize)]
struct TranscribeDetail {
    #[serde(rename = "TranscriptionJobName")]
    job_name: String,
    #[serde(rename = "TranscriptionJobStatus")]
    status: String,
}

pub(super) fn eventbridge(value: Value) -> Result<Inbound, Malformed> {
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(value).map_err(|e| malformed(format!("EventBridge event: {e}")))?;
    if let Some(version) = event.version.as_deref() {
        if version != EVENTBRIDGE_VERSION {
            return Err(malformed(format!(
                "EventBridge event version {}; only {EVENTBRIDGE_VERSION} is understood",
                shown(version)
            )));
        }
    }
    if event.source != "aws.transcribe" || event.detail_type != "Transcribe Job State Change" {
        return Ok(Inbound::NothingToDo(format!(
            "EventBridge event {} from {} is not a Transcribe job state change",
            shown(&event.detail_type),
            shown(&event.source)
        )));
    }
    let detail: TranscribeDetail = serde_json::from_value(event.detail)
        .map_err(|e| malformed(format!("Transcribe Job State Change detail: {e}")))?;
    if detail.job_name.is_empty() {
        return Err(malformed("Transcribe event with an empty job name"));
    }
    Ok(Inbound::TranscribeJob(TranscribeJobChanged {
        job_name: detail.job_name,
        status: detail.status,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RekognitionNotification {
    job_id: String,
    status: String,
    #[serde(rename = "API")]
    api: String,
    #[serde(default)]
    message: Option<String>,
    video: RekognitionVideo,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RekognitionVideo {
    s3_object_name: String,
    s3_bucket: String,
}

pub(super) fn rekognition(value: Value) -> Result<Inbound, Malformed> {
    let n: RekognitionNotification = serde_json::from_value(value)
        .map_err(|e| malformed(format!("Rekognition completion: {e}")))?;
    if n.job_id.is_empty() || n.video.s3_bucket.is_empty() || n.video.s3_object_name.is_empty() {
        return Err(malformed(
            "Rekognition completion with an empty JobId, bucket or object name",
        ));
    }
    Ok(Inbound::RekognitionJob(RekognitionJobDone {
        job_id: n.job_id,
        status: n.status,
        api: n.api,
        bucket: n.video.s3_bucket,
        key: n.video.s3_object_name,
        message: n.message.filter(|m| !m.is_empty()),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TextractNotification {
    job_id: String,
    status: String,
    #[serde(rename = "API", default)]
    api: String,
    document_location: TextractLocation,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TextractLocation {
    s3_object_name: String,
    s3_bucket: String,
}

pub(super) fn textract(value: Value) -> Result<Inbound, Malformed> {
    let n: TextractNotification = serde_json::from_value(value)
        .map_err(|e| malformed(format!("Textract completion: {e}")))?;
    if n.api != "StartDocumentTextDetection" {
        return Ok(Inbound::NothingToDo(format!(
            "Textract job of another kind ({})",
            shown(&n.api)
        )));
    }
    let location = n.document_location;
    if n.job_id.is_empty() || location.s3_bucket.is_empty() || location.s3_object_name.is_empty() {
        return Err(malformed(
            "Textract completion with an empty JobId, bucket or object name",
        ));
    }
    Ok(Inbound::TextractJob(TextractJobDone {
        job_id: n.job_id,
        status: n.status,
        bucket: location.s3_bucket,
        key: location.s3_object_name,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SageMakerNotification {
    invocation_status: String,
    inference_id: String,
    request_parameters: SageMakerRequest,
    #[serde(default)]
    response_parameters: Option<SageMakerResponse>,
    #[serde(default)]
    failure_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SageMakerRequest {
    input_location: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SageMakerResponse {
    #[serde(default)]
    output_location: Option<String>,
}

pub(super) fn sagemaker(value: Value) -> Result<Inbound, Malformed> {
    let n: SageMakerNotification = serde_json::from_value(value).map_err(|e| {
        malformed(format!(
            "SageMaker asynchronous inference notification: {e}"
        ))
    })?;
    if n.inference_id.is_empty() || n.request_parameters.input_location.is_empty() {
        return Err(malformed(
            "SageMaker notification with an empty inferenceId or inputLocation",
        ));
    }
    let succeeded = match n.invocation_status.as_str() {
        "Completed" => true,
        "Failed" => false,
        other => {
            return Ok(Inbound::NothingToDo(format!(
                "SageMaker inference {} is {}",
                shown(&n.inference_id),
                shown(other)
            )))
        }
    };
    Ok(Inbound::SageMakerJob(SageMakerJobDone {
        inference_id: n.inference_id,
        succeeded,
        input_location: n.request_parameters.input_location,
        output_location: n
            .response_parameters
            .and_then(|r| r.output_location)
            .filter(|l| !l.is_empty()),
        failure_reason: n.failure_reason.filter(|r| !r.is_empty()),
    }))
}
