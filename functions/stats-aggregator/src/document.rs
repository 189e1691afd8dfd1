//! Rollup documents: `stats/hourly/YYYY/MM/DD/HH.json` and `stats/daily/YYYY/MM/DD.json`.
//!
//! The body holds only what was counted (no time of writing), fields in a fixed order and
//! maps sorted, so rolling the same data again writes the same bytes.

use serde::{Deserialize, Serialize};

use crate::aggregate::PeriodStats;
use shared::time::BusinessTimeZone;

use crate::period::{Day, Hour};

/// Bumped when a field changes meaning or disappears; readers rebuild other versions.
pub const SCHEMA_VERSION: u32 = 1;
pub const CONTENT_TYPE: &str = "application/json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Hourly,
    Daily,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hourly => "hourly",
            Granularity::Daily => "daily",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    pub granularity: Granularity,
    /// `2026-11-24T13` or `2026-11-24`.
    pub id: String,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollupDocument {
    pub schema_version: u32,
    pub period: PeriodInfo,
    /// Daily documents: how many of the day's hours (23, 24 or 25) had at least one event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours_with_data: Option<u32>,
    #[serde(flatten)]
    pub stats: PeriodStats,
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("rollup document has schema version {0}, this reader reads {SCHEMA_VERSION}")]
    OtherSchema(u64),
    #[error("rollup document is unreadable: {0}")]
    Unreadable(String),
}

impl RollupDocument {
    pub fn hourly(hour: Hour, stats: PeriodStats) -> Self {
        RollupDocument {
            schema_version: SCHEMA_VERSION,
            period: PeriodInfo {
                granularity: Granularity::Hourly,
                id: hour.to_string(),
                start: shared::time::rfc3339(hour.start()),
                end: shared::time::rfc3339(hour.end()),
            },
            hours_with_data: None,
            stats,
        }
    }

    /// The document of a local day of `zone`: `start` and `end` are the UTC instants of its
    /// local midnights.
    pub fn daily(
        day: Day,
        zone: &BusinessTimeZone,
        stats: PeriodStats,
        hours_with_data: u32,
    ) -> Self {
        let (start, end) = day.bounds(zone);
        RollupDocument {
            schema_version: SCHEMA_VERSION,
            period: PeriodInfo {
                granularity: Granularity::Daily,
                id: day.to_string(),
                start: shared::time::rfc3339(start),
                end: shared::time::rfc3339(end),
            },
            hours_with_data: Some(hours_with_data),
            stats,
        }
    }

    /// One line: Athena's JSON reader (the Glue rollup tables) takes one document per line.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Reads a document, checking the schema version first.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DocumentError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u64,
        }
        let version: Version =
            serde_json::from_slice(bytes).map_err(|e| DocumentError::Unreadable(e.to_string()))?;
        if version.schema_version != u64::from(SCHEMA_VERSION) {
            return Err(DocumentError::OtherSchema(version.schema_version));
        }
        serde_json::from_slice(bytes).map_err(|e| DocumentError::Unreadable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_period_is_an_explicit_document_that_reads_back() {
        let hour = Hour::parse("2026-11-24T13").unwrap();
        let doc = RollupDocument::hourly(hour, PeriodStats::default());
        let json: serde_json::Value = serde_json::from_slice(&doc.to_json()).unwrap();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["period"]["id"], "2026-11-24T13");
        assert_eq!(json["period"]["start"], "2026-11-24T13:00:00Z");
        assert_eq!(json["events"]["total"], 0);
        assert_eq!(json["uploads"]["by_kind"], serde_json::json!({}));
        assert!(json["latency_ms"]["p99"].is_null());
        assert!(json.get("hours_with_data").is_none());
        assert_eq!(RollupDocument::from_json(&doc.to_json()).unwrap(), doc);
    }

    #[test]
    fn other_schema_versions_are_recognised() {
        assert!(matches!(
            RollupDocument::from_json(br#"{"schema_version":2}"#),
            Err(DocumentError::OtherSchema(2))
        ));
        assert!(matches!(
            RollupDocument::from_json(b"{"),
            Err(DocumentError::Unreadable(_))
        ));
    }
}
