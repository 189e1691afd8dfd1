//! Processing latency as a DDSketch (`sketches-ddsketch`), the mergeable quantile sketch.
//!
//! The crate's default configuration is used: relative accuracy `alpha = 0.01`, so every
//! reported quantile is within 1 % of the true value at that rank (DDSketch paper, Masson et
//! al. 2019), with at most 2048 bins (enough for 1 ms to years without collapsing). Values are
//! whole milliseconds, so the sketch's sum is exact and merging is order-independent.
//!
//! In rollup documents the sketch is stored in the crate's portable binary encoding
//! (`to_java_bytes`, the DataDog `DDSketchWithExactSummaryStatistics` format), base64-encoded,
//! next to the quantiles read from it. Daily sketches are `DDSketch::merge` of the hourly ones.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config, DDSketch};

use crate::merge::Merge;

/// The sketch's documented relative accuracy (the crate default).
pub const RELATIVE_ACCURACY: f64 = 0.01;

#[derive(Clone)]
pub struct LatencySketch(DDSketch);

impl Default for LatencySketch {
    fn default() -> Self {
        LatencySketch(DDSketch::new(Config::defaults()))
    }
}

impl std::fmt::Debug for LatencySketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencySketch")
            .field("count", &self.count())
            .field("p50", &self.quantile(0.5))
            .finish()
    }
}

impl PartialEq for LatencySketch {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_java_bytes() == other.0.to_java_bytes()
    }
}

fn rounded(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl LatencySketch {
    pub fn add(&mut self, ms: u64) {
        self.0.add(ms as f64);
    }

    pub fn count(&self) -> u64 {
        self.0.count() as u64
    }

    /// The value at quantile `q` (0..=1), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.0.quantile(q).ok().flatten().map(rounded)
    }

    pub fn min_max(&self) -> Option<(f64, f64)> {
        Some((self.0.min()?, self.0.max()?))
    }

    pub fn encoded(&self) -> Option<String> {
        (self.count() > 0).then(|| BASE64.encode(self.0.to_java_bytes()))
    }

    pub fn decode(encoded: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(encoded)
            .map_err(|e| format!("latency sketch is not base64: {e}"))?;
        let sketch = DDSketch::from_java_bytes(&bytes)
            .map_err(|e| format!("latency sketch does not decode: {e}"))?;
        let mut fresh = LatencySketch::default();
        fresh
            .0
            .merge(&sketch)
            .map_err(|e| format!("latency sketch has another configuration: {e}"))?;
        Ok(fresh)
    }
}

impl Merge for LatencySketch {
    fn merge(&mut self, other: &Self) {
        // Every sketch here is built from `Config::defaults()`, so configurations always match.
        if let Err(e) = self.0.merge(&other.0) {
            tracing::error!(error = %e, "latency sketches could not be merged");
        }
    }
}

/// The JSON form: summary for readers, `sketch` for merging.
#[derive(Serialize, Deserialize)]
struct Stored {
    count: u64,
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
    relative_accuracy: f64,
    sketch: Option<String>,
}

impl Serialize for LatencySketch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let count = self.count();
        Stored {
            count,
            min: self.0.min(),
            max: self.0.max(),
            mean: self
                .0
                .sum()
                .filter(|_| count > 0)
                .map(|sum| rounded(sum / count as f64)),
            p50: self.quantile(0.5),
            p90: self.quantile(0.9),
            p99: self.quantile(0.99),
            relative_accuracy: RELATIVE_ACCURACY,
            sketch: self.encoded(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for LatencySketch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(d)?;
        let sketch = match &stored.sketch {
            None => LatencySketch::default(),
            Some(encoded) => LatencySketch::decode(encoded).map_err(serde::de::Error::custom)?,
        };
        if sketch.count() != stored.count {
            return Err(serde::de::Error::custom(format!(
                "latency sketch holds {} values but the document says {}",
                sketch.count(),
                stored.count
            )));
        }
        Ok(sketch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value at the rank the crate uses: `floor(q * (n - 1))` of the sorted values.
    fn exact(sorted: &[u64], q: f64) -> f64 {
        sorted[(q * (sorted.len() as f64 - 1.0)) as usize] as f64
    }

    #[test]
    fn quantiles_are_within_the_documented_relative_accuracy() {
        let mut values: Vec<u64> = (0..10_000u64)
            .map(|i| 50 + (i * i * 7919) % 120_000)
            .collect();
        let mut sketch = LatencySketch::default();
        for v in &values {
            sketch.add(*v);
        }
        values.sort_unstable();
        for q in [0.5, 0.9, 0.99] {
            let got = sketch.quantile(q).unwrap();
            let want = exact(&values, q);
            assert!(
                (got - want).abs() <= want * RELATIVE_ACCURACY + 0.001,
                "q{q}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn the_stored_form_round_trips_and_merges_like_the_whole() {
        let mut a = LatencySketch::default();
        let mut b = LatencySketch::default();
        let mut whole = LatencySketch::default();
        for v in 1..=500u64 {
            a.add(v * 3);
            whole.add(v * 3);
        }
        for v in 1..=300u64 {
            b.add(v * 11);
            whole.add(v * 11);
        }
        let a_back: LatencySketch =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        let b_back: LatencySketch =
            serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert_eq!(a_back, a);
        let mut merged = a_back;
        merged.merge(&b_back);
        assert_eq!(merged, whole);
        assert_eq!(merged.count(), 800);
        assert_eq!(merged.min_max(), Some((3.0, 3300.0)));
    }

    #[test]
    fn an_empty_sketch_is_stored_without_quantiles() {
        let json = serde_json::to_value(LatencySketch::default()).unwrap();
        assert_eq!(json["count"], 0);
        assert!(json["p50"].is_null());
        assert!(json["sketch"].is_null());
        let back: LatencySketch = serde_json::from_value(json).unwrap();
        assert_eq!(back.count(), 0);
    }

    #[test]
    fn a_damaged_sketch_is_an_error_not_a_panic() {
        let bad = serde_json::json!({"count": 1, "relative_accuracy": 0.01, "sketch": "!!!"});
        assert!(serde_json::from_value::<LatencySketch>(bad).is_err());
        let short = serde_json::json!({"count": 1, "relative_accuracy": 0.01, "sketch": "oA=="});
        assert!(serde_json::from_value::<LatencySketch>(short).is_err());
    }
}
