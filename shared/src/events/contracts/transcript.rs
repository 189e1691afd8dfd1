//! Payloads of the `transcript` events (see [`super`]), produced by ai-processor when a
//! Transcribe job of a video or audio upload completes.

use serde::{Deserialize, Serialize};

use crate::events::EventPayload;

/// `transcript.ready`: the transcript (and its subtitles) of an upload are in the results bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptReady {
    /// Bucket the upload is in.
    pub bucket: String,
    /// Object key of the upload (its path in the bucket).
    pub key: String,
    /// The upload's object version; `None` when the bucket is not versioned.
    pub version_id: Option<String>,
    /// The spoken (or identified) language, `zh-CN`, `en-US`, ...
    pub language: Option<String>,
    /// Length of the media in seconds.
    pub duration_seconds: f64,
    /// Number of words transcribed.
    pub word_count: u64,
    /// The first sentences, each at most 200 characters.
    pub first_lines: Vec<String>,
    /// `s3://` URI of the Transcribe transcript document.
    pub transcript: Option<String>,
    /// `s3://` URIs of the SubRip (`.srt`) and WebVTT (`.vtt`) subtitles, when requested.
    #[serde(default)]
    pub subtitles: Vec<String>,
    /// `s3://` URI of the analysis document.
    pub analysis_document: String,
}

impl EventPayload for TranscriptReady {
    const TYPE: &'static str = "transcript.ready";
}
