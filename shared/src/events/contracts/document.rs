//! Payloads of the `document` events (see [`super`]), produced by ai-processor when the text
//! of an upload under `documents/` has been extracted (OCR).

use serde::{Deserialize, Serialize};

use crate::events::contracts::media::Verdict;
use crate::events::EventPayload;

/// `document.text_ready`: the extracted text is in the results bucket under `text/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentTextReady {
    /// Bucket the upload is in.
    pub bucket: String,
    /// Object key of the upload (its path in the bucket).
    pub key: String,
    /// The upload's object version; `None` when the bucket is not versioned.
    pub version_id: Option<String>,
    /// `s3://` URI of the text document (lines with confidence and page numbers).
    pub text: String,
    /// Number of pages the text was extracted from.
    pub pages: u32,
    /// Number of text lines extracted.
    pub lines: u32,
    /// Detected language of the text, when known.
    pub language: Option<String>,
    /// `review` when a configured keyword matched, else `approved`.
    pub verdict: Verdict,
    /// The configured keywords found in the text.
    pub matched_terms: Vec<String>,
    /// `textract` or `sagemaker`.
    pub backend: String,
    /// `s3://` URI of the analysis document.
    pub analysis_document: String,
}

impl EventPayload for DocumentTextReady {
    const TYPE: &'static str = "document.text_ready";
}
