//! Plain data the domain works with; no AWS types.

use serde::{Deserialize, Serialize};

/// One object in a bucket, optionally a specific version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

impl ObjectRef {
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// What `HeadObject` tells about an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Without the quotes S3 puts around it.
    pub etag: String,
    pub version_id: Option<String>,
    pub size: i64,
    pub content_type: Option<String>,
}

/// A descriptive label ("Cat", parent "Animal").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub confidence: f32,
}

/// A moderation label ("Graphic Violence", parent "Violence"); videos add where it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationLabel {
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub confidence: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
}

/// What a moderation backend found in one image or video.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    pub labels: Vec<Label>,
    pub moderation_labels: Vec<ModerationLabel>,
}

pub use shared::events::contracts::media::Verdict;

/// Keeps, per label name, the detection with the highest confidence (a video reports the same
/// label at many timestamps), ordered by confidence.
pub fn strongest_per_name(labels: Vec<ModerationLabel>) -> Vec<ModerationLabel> {
    let mut best: Vec<ModerationLabel> = Vec::new();
    for label in labels {
        match best.iter_mut().find(|b| b.name == label.name) {
            Some(existing) if existing.confidence >= label.confidence => {}
            Some(existing) => *existing = label,
            None => best.push(label),
        }
    }
    best.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    best
}
