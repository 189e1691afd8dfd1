//! The JSON a SageMaker moderation model must speak, real-time (`InvokeEndpoint`) and
//! asynchronous (`InvokeEndpointAsync`, the request is a document in the results bucket and
//! the answer an object the endpoint writes to its S3 output path). See the README.
//!
//! Request: `{"s3": {"bucket", "key", "version_id"}, "kind": "image" | "video",
//! "request_id"?}` (the model reads the media from S3 with its own role).
//! Response: `{"labels": [{"name", "parent", "confidence"}], "moderation_labels": [{"name",
//! "parent", "confidence", "timestamp_ms"?}]}`, confidences in percent.

use serde::{Deserialize, Serialize};

use crate::model::{strongest_per_name, Findings, Label, ModerationLabel, ObjectRef};
use crate::routing::MediaKind;

/// Where asynchronous requests are written in the results bucket.
pub const ASYNC_REQUEST_PREFIX: &str = "sagemaker-async/requests/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRequest {
    pub s3: S3Location,
    pub kind: MediaKind,
    /// The inference id of an asynchronous request (stable per upload version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

impl EndpointRequest {
    pub fn new(object: &ObjectRef, kind: MediaKind, request_id: Option<&str>) -> Self {
        Self {
            s3: S3Location {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                version_id: object.version_id.clone(),
            },
            kind,
            request_id: request_id.map(str::to_string),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a stored asynchronous request back.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a moderation request: {e}"))
    }
}

#[derive(Deserialize)]
struct EndpointResponse {
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    moderation_labels: Vec<ModerationLabel>,
}

/// The findings in a model's answer, or why it does not follow the contract.
pub fn findings(bytes: &[u8]) -> Result<Findings, String> {
    let response: EndpointResponse = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "the answer does not follow the contract \
             {{\"labels\": [...], \"moderation_labels\": [...]}}: {e}"
        )
    })?;
    Ok(Findings {
        labels: response.labels,
        moderation_labels: strongest_per_name(response.moderation_labels),
    })
}

/// The results-bucket key of an asynchronous request.
pub fn async_request_key(request_id: &str) -> String {
    format!("{ASYNC_REQUEST_PREFIX}{request_id}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_answers_outside_the_contract_are_refused() {
        let object = ObjectRef {
            bucket: "media".into(),
            key: "videos/a.mp4".into(),
            version_id: None,
        };
        let request = EndpointRequest::new(&object, MediaKind::Video, Some("r1"));
        assert_eq!(EndpointRequest::from_json(&request.to_json()), Ok(request));
        let found = findings(
            br#"{"moderation_labels": [{"name": "Alcohol", "confidence": 40.0, "timestamp_ms": 1},
                                       {"name": "Alcohol", "confidence": 80.0, "timestamp_ms": 2}]}"#,
        )
        .unwrap();
        assert_eq!(found.moderation_labels.len(), 1);
        assert_eq!(found.moderation_labels[0].confidence, 80.0);
        assert!(findings(b"<html>")
            .unwrap_err()
            .contains("does not follow the contract"));
        assert_eq!(async_request_key("r1"), "sagemaker-async/requests/r1.json");
    }
}
