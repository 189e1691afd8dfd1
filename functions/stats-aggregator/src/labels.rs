//! Counts by label (kinds, languages, channels ...). Labels come from producers, so each map
//! keeps at most [`MAX_LABELS`] names of at most [`MAX_LABEL_CHARS`] characters and counts the
//! rest under [`OTHER_LABEL`]: memory stays bounded whatever the input.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::merge::Merge;

pub const MAX_LABELS: usize = 100;
pub const MAX_LABEL_CHARS: usize = 64;
pub const OTHER_LABEL: &str = "_other";
pub const UNKNOWN_LABEL: &str = "unknown";

/// Counts (or other mergeable values) by label, bounded in size; serialised as a JSON object
/// with keys in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LabelMap<V>(BTreeMap<String, V>);

impl<V> Default for LabelMap<V> {
    fn default() -> Self {
        LabelMap(BTreeMap::new())
    }
}

/// `label` without surrounding whitespace. Most labels begin and end with a visible ASCII
/// character and need no trimming; `str::trim` decodes characters from both ends to find that.
fn trimmed(label: &str) -> &str {
    match label.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => label,
        [only] if only.is_ascii_graphic() => label,
        _ => label.trim(),
    }
}

pub(crate) fn normalised(label: Option<&str>) -> &str {
    let label = label.map(trimmed).filter(|l| !l.is_empty());
    match label {
        None => UNKNOWN_LABEL,
        Some(l) if l.len() <= MAX_LABEL_CHARS => l,
        Some(l) => match l.char_indices().nth(MAX_LABEL_CHARS) {
            Some((cut, _)) => &l[..cut],
            None => l,
        },
    }
}

impl<V: Default> LabelMap<V> {
    /// Applies `change` to the value for `label` (`unknown` when missing or blank), created
    /// when new; when the map is full, new labels share the `_other` entry. A closure rather
    /// than a returned `&mut V`: the borrow checker does not let a function return the value
    /// found by a first search and insert otherwise, which cost a second search per count.
    pub fn update(&mut self, label: Option<&str>, change: impl FnOnce(&mut V)) {
        let label = normalised(label);
        if let Some(value) = self.0.get_mut(label) {
            return change(value);
        }
        let key = if self.0.len() < MAX_LABELS || label == OTHER_LABEL {
            label
        } else {
            OTHER_LABEL
        };
        change(self.0.entry(key.to_string()).or_default());
    }

    pub fn get(&self, label: &str) -> Option<&V> {
        self.0.get(label)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl LabelMap<u64> {
    pub fn count(&mut self, label: Option<&str>) {
        self.update(label, |n| *n += 1);
    }
}

impl<V: Default + Merge> Merge for LabelMap<V> {
    fn merge(&mut self, other: &Self) {
        for (label, value) in &other.0 {
            self.update(Some(label), |v| v.merge(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_maps_stay_bounded() {
        let mut m: LabelMap<u64> = LabelMap::default();
        for i in 0..(MAX_LABELS + 50) {
            m.count(Some(&format!("label-{i}")));
        }
        m.count(Some(&"x".repeat(500)));
        assert_eq!(m.len(), MAX_LABELS + 1);
        assert_eq!(m.get(OTHER_LABEL), Some(&51));
    }
}
