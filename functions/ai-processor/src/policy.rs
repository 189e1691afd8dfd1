//! Moderation policy: moderation labels -> verdict, with per-category confidence thresholds.
//!
//! A label's thresholds are those of the first configured name on its chain label -> parent ->
//! grandparent (so a specific label can be stricter than its category), else the `default`.
//! A label at or above `reject` rejects, at or above `review` sends to review; the verdict is
//! the strictest over all labels. `reject: null` means the category never rejects by itself.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{ModerationLabel, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub review: f32,
    pub reject: Option<f32>,
}

impl Thresholds {
    const fn new(review: f32, reject: Option<f32>) -> Self {
        Self { review, reject }
    }

    fn verdict(&self, confidence: f32) -> Verdict {
        match self.reject {
            Some(reject) if confidence >= reject => Verdict::Rejected,
            _ if confidence >= self.review => Verdict::Review,
            _ => Verdict::Approved,
        }
    }
}

/// Defaults, by Rekognition's top-level moderation categories (taxonomy v7, plus the v6 names
/// still returned by older model versions). Keys are matched case-insensitively.
pub const DEFAULT_THRESHOLDS: [(&str, Thresholds); 15] = [
    ("Explicit", Thresholds::new(50.0, Some(80.0))),
    ("Explicit Nudity", Thresholds::new(50.0, Some(80.0))),
    ("Hate Symbols", Thresholds::new(50.0, Some(80.0))),
    ("Violence", Thresholds::new(60.0, Some(90.0))),
    ("Visually Disturbing", Thresholds::new(60.0, Some(90.0))),
    (
        "Non-Explicit Nudity of Intimate parts and Kissing",
        Thresholds::new(60.0, Some(90.0)),
    ),
    ("Suggestive", Thresholds::new(70.0, None)),
    ("Swimwear or Underwear", Thresholds::new(80.0, None)),
    ("Rude Gestures", Thresholds::new(70.0, None)),
    ("Drugs & Tobacco", Thresholds::new(80.0, None)),
    ("Drugs", Thresholds::new(80.0, None)),
    ("Tobacco", Thresholds::new(80.0, None)),
    ("Alcohol", Thresholds::new(80.0, None)),
    ("Gambling", Thresholds::new(80.0, None)),
    ("default", Thresholds::new(70.0, Some(95.0))),
];

/// Why a label counted against the upload (the type events carry).
pub use shared::events::contracts::media::FlaggedLabel;

#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub flagged: Vec<FlaggedLabel>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModerationPolicy {
    by_name: HashMap<String, Thresholds>,
    default: Thresholds,
}

impl Default for ModerationPolicy {
    fn default() -> Self {
        let mut by_name: HashMap<String, Thresholds> = DEFAULT_THRESHOLDS
            .iter()
            .map(|(name, t)| (name.to_lowercase(), *t))
            .collect();
        let default = by_name
            .remove("default")
            .unwrap_or(Thresholds::new(70.0, Some(95.0)));
        Self { by_name, default }
    }
}

impl ModerationPolicy {
    /// The defaults with the entries of `MODERATION_THRESHOLDS` (a JSON object
    /// `{"<label or category>": {"review": 60, "reject": 90}, "default": {...}}`) laid over them.
    pub fn with_overrides(json: &str) -> Result<Self, String> {
        let overrides: HashMap<String, Thresholds> = serde_json::from_str(json).map_err(|e| {
            format!(
                "MODERATION_THRESHOLDS must be a JSON object of \
                 {{\"<category>\": {{\"review\": <0-100>, \"reject\": <0-100 or null>}}}}: {e}"
            )
        })?;
        let mut policy = Self::default();
        for (name, thresholds) in overrides {
            validate(&name, &thresholds)?;
            if name.eq_ignore_ascii_case("default") {
                policy.default = thresholds;
            } else {
                policy.by_name.insert(name.to_lowercase(), thresholds);
            }
        }
        Ok(policy)
    }

    pub fn judge(&self, labels: &[ModerationLabel]) -> Judgement {
        let parents: HashMap<String, String> = labels
            .iter()
            .filter_map(|l| Some((l.name.to_lowercase(), l.parent.clone()?)))
            .filter(|(_, p)| !p.is_empty())
            .collect();
        let mut flagged = Vec::new();
        for label in labels {
            let chain = chain_of(label, &parents);
            let thresholds = chain
                .iter()
                .find_map(|name| self.by_name.get(&name.to_lowercase()))
                .unwrap_or(&self.default);
            let verdict = thresholds.verdict(label.confidence);
            if verdict != Verdict::Approved {
                flagged.push(FlaggedLabel {
                    name: label.name.clone(),
                    category: chain.last().cloned().unwrap_or_else(|| label.name.clone()),
                    confidence: label.confidence,
                    verdict,
                });
            }
        }
        flagged.sort_by(|a, b| {
            b.verdict
                .cmp(&a.verdict)
                .then(b.confidence.total_cmp(&a.confidence))
        });
        flagged.dedup_by(|a, b| a.name == b.name);
        let verdict = flagged
            .iter()
            .map(|f| f.verdict)
            .max()
            .unwrap_or(Verdict::Approved);
        Judgement { verdict, flagged }
    }
}

/// `[label, parent, grandparent, ...]`, bounded so a cyclic parent map cannot loop.
fn chain_of(label: &ModerationLabel, parents: &HashMap<String, String>) -> Vec<String> {
    let mut chain = vec![label.name.clone()];
    let mut next = label.parent.clone().filter(|p| !p.is_empty());
    while let Some(parent) = next {
        if chain.len() >= 6 || chain.iter().any(|c| c.eq_ignore_ascii_case(&parent)) {
            break;
        }
        next = parents.get(&parent.to_lowercase()).cloned();
        chain.push(parent);
    }
    chain
}

fn validate(name: &str, t: &Thresholds) -> Result<(), String> {
    let in_range = |v: f32| (0.0..=100.0).contains(&v);
    if !in_range(t.review) || t.reject.is_some_and(|r| !in_range(r)) {
        return Err(format!(
            "MODERATION_THRESHOLDS[{name:?}]: thresholds are confidences between 0 and 100"
        ));
    }
    if t.reject.is_some_and(|r| r < t.review) {
        return Err(format!(
            "MODERATION_THRESHOLDS[{name:?}]: reject must not be below review"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, parent: Option<&str>, confidence: f32) -> ModerationLabel {
        ModerationLabel {
            name: name.into(),
            parent: parent.map(Into::into),
            confidence,
            timestamp_ms: None,
        }
    }

    #[test]
    fn no_labels_is_approved() {
        let j = ModerationPolicy::default().judge(&[]);
        assert_eq!(j.verdict, Verdict::Approved);
        assert!(j.flagged.is_empty());
    }

    #[test]
    fn category_thresholds_apply_through_the_parent_chain() {
        let policy = ModerationPolicy::default();
        // Level 3 label under "Explicit Nudity" (level 2) under "Explicit" (level 1).
        let labels = [
            label("Exposed Female Genitalia", Some("Explicit Nudity"), 85.0),
            label("Explicit Nudity", Some("Explicit"), 85.0),
            label("Explicit", None, 85.0),
        ];
        let j = policy.judge(&labels);
        assert_eq!(j.verdict, Verdict::Rejected);
        assert_eq!(j.flagged[0].category, "Explicit");
        // Swimwear never rejects by default, only goes to review.
        let j = policy.judge(&[label("Swimwear or Underwear", None, 99.0)]);
        assert_eq!(j.verdict, Verdict::Review);
        // Below the review threshold: approved.
        let j = policy.judge(&[label("Alcohol", None, 60.0)]);
        assert_eq!(j.verdict, Verdict::Approved);
    }

    #[test]
    fn overrides_replace_defaults_and_bad_values_are_reported() {
        let policy = ModerationPolicy::with_overrides(
            r#"{"alcohol": {"review": 10, "reject": 50}, "default": {"review": 20, "reject": null}}"#,
        )
        .unwrap();
        assert_eq!(
            policy.judge(&[label("Alcohol", None, 60.0)]).verdict,
            Verdict::Rejected
        );
        assert_eq!(
            policy.judge(&[label("Something New", None, 99.0)]).verdict,
            Verdict::Review
        );
        let err = ModerationPolicy::with_overrides(r#"{"Violence": {"review": 90, "reject": 10}}"#)
            .unwrap_err();
        assert!(err.contains("reject must not be below review"), "{err}");
        assert!(ModerationPolicy::with_overrides("[1]").is_err());
        assert!(ModerationPolicy::with_overrides(r#"{"x": {"review": 120}}"#).is_err());
    }
}
