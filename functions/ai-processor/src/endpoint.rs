//! The JSON a SageMaker model must speak, real-time (`InvokeEndpoint`) and asynchronous
//! (`InvokeEndpointAsync`, the request is a document in the results bucket and the answer an
//! object the endpoint writes to its S3 output path). See the README.
//!
//! Request: `{"s3": {"bucket", "key", "version_id"}, "kind": "image" | "video" | "document",
//! "task": "moderation" | "ocr", "content_type"?, "request_id"?}` (the model reads the upload
//! from S3 with its own role).
//! Moderation response: `{"labels": [{"name", "parent", "confidence"}], "moderation_labels":
//! [{"name", "parent", "confidence", "timestamp_ms"?}]}`, confidences in percent.
//! OCR response: `{"pages": n, "lines": [{"page", "text", "confidence"}]}`, pages 1-based,
//! confidences in percent.

use serde::{Deserialize, Serialize};

use crate::model::{strongest_per_name, Findings, Label, ModerationLabel, ObjectRef};
use crate::ports::{ExtractedText, TextLine};
use crate::routing::MediaKind;

/// Where asynchronous requests are written in the results bucket.
pub const ASYNC_REQUEST_PREFIX: &str = "sagemaker-async/requests/";

/// What the model is asked to do; the completion of an asynchronous request is finished by
/// the part of the analysis its stored request names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Labels and moderation labels of an image or video (requests stored before `task`
    /// existed are moderation requests).
    #[default]
    Moderation,
    /// The text of a document.
    Ocr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRequest {
    pub s3: S3Location,
    pub kind: MediaKind,
    #[serde(default)]
    pub task: Task,
    /// The upload's format (`application/pdf`, `image/png`, ...), for documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
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
    /// A moderation request for an image or video.
    pub fn new(object: &ObjectRef, kind: MediaKind, request_id: Option<&str>) -> Self {
        Self {
            s3: S3Location {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                version_id: object.version_id.clone(),
            },
            kind,
            task: Task::Moderation,
            content_type: None,
            request_id: request_id.map(str::to_string),
        }
    }

    /// An OCR request for a document of `content_type` (asynchronous only).
    pub fn ocr(object: &ObjectRef, content_type: &str, request_id: &str) -> Self {
        Self {
            task: Task::Ocr,
            content_type: Some(content_type.to_string()),
            ..Self::new(object, MediaKind::Document, Some(request_id))
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

#[derive(Deserialize)]
struct OcrResponse {
    pages: u32,
    lines: Vec<TextLine>,
}

/// The text in an OCR model's answer, or why it does not follow the contract.
pub fn extracted_text(bytes: &[u8]) -> Result<ExtractedText, String> {
    const CONTRACT: &str = "the answer does not follow the OCR contract \
        {\"pages\": n, \"lines\": [{\"page\", \"text\", \"confidence\"}]}";
    let response: OcrResponse =
        serde_json::from_slice(bytes).map_err(|e| format!("{CONTRACT}: {e}"))?;
    for (n, line) in response.lines.iter().enumerate() {
        if line.page == 0 || line.page > response.pages {
            return Err(format!(
                "{CONTRACT}: line {n} is on page {} of a {}-page document (pages count from 1)",
                line.page, response.pages
            ));
        }
        if !(0.0..=100.0).contains(&line.confidence) {
            return Err(format!(
                "{CONTRACT}: line {n} has confidence {}, outside 0-100 (percent)",
                line.confidence
            ));
        }
    }
    Ok(ExtractedText {
        pages: response.pages,
        lines: response.lines,
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
        // Requests stored before `task` existed are moderation requests.
        let stored = br#"{"s3": {"bucket": "media", "key": "videos/a.mp4", "version_id": null},
                         "kind": "video", "request_id": "r1"}"#;
        assert_eq!(
            EndpointRequest::from_json(stored).map(|r| r.task),
            Ok(Task::Moderation)
        );
    }

    #[test]
    fn an_ocr_request_names_the_document_and_its_format() {
        let object = ObjectRef {
            bucket: "media".into(),
            key: "documents/合同.pdf".into(),
            version_id: Some("v1".into()),
        };
        let request = EndpointRequest::ocr(&object, "application/pdf", "r2");
        let json: serde_json::Value = serde_json::from_slice(&request.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"s3": {"bucket": "media", "key": "documents/合同.pdf", "version_id": "v1"},
                               "kind": "document", "task": "ocr", "content_type": "application/pdf",
                               "request_id": "r2"})
        );
        assert_eq!(EndpointRequest::from_json(&request.to_json()), Ok(request));
    }

    #[test]
    fn ocr_answers_are_read_and_answers_outside_the_contract_say_what_is_wrong() {
        let text = extracted_text(
            r#"{"pages": 2, "lines": [{"page": 1, "text": "合同", "confidence": 97.5},
                                      {"page": 2, "text": "Casino", "confidence": 88.0}],
                "model": "ignored"}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!((text.pages, text.lines.len()), (2, 2));
        assert_eq!(text.lines[1].text, "Casino");
        assert_eq!(
            extracted_text(br#"{"pages": 0, "lines": []}"#),
            Ok(ExtractedText::default())
        );
        for (answer, expected) in [
            (&b"not json"[..], "does not follow the OCR contract"),
            (br#"{"lines": []}"#, "missing field `pages`"),
            (br#"{"pages": 1, "lines": [{"page": 1, "text": "x"}]}"#, "missing field `confidence`"),
            (br#"{"pages": 1, "lines": [{"page": 2, "text": "x", "confidence": 9}]}"#, "line 0 is on page 2 of a 1-page document"),
            (br#"{"pages": 1, "lines": [{"page": 0, "text": "x", "confidence": 9}]}"#, "pages count from 1"),
            (br#"{"pages": 1, "lines": [{"page": 1, "text": "x", "confidence": 0.9}, {"page": 1, "text": "y", "confidence": 140}]}"#, "line 1 has confidence 140"),
            (br#"{"labels": []}"#, "missing field `pages`"),
        ] {
            let err = extracted_text(answer).unwrap_err();
            assert!(err.contains(expected), "{expected} not in {err}");
        }
    }
}
