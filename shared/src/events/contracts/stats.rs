//! Payloads of the `stats` events (see [`super`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::{types, EventPayload};

/// `stats.digest`: one business day's activity in figures a person reads at a glance, published
/// by stats-aggregator after the day's rollup (the envelope id depends only on the day, so a
/// re-run announces the same event). The full figures are in the daily document it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsDigest {
    /// The day, `YYYY-MM-DD`, in [`StatsDigest::time_zone`].
    pub period: String,
    /// The IANA time zone in which the day was counted (`SUITE_TIMEZONE`).
    #[serde(default = "utc")]
    pub time_zone: String,
    /// `s3://bucket/stats/daily/YYYY/MM/DD.json`: where the full figures are (not a title).
    pub document: String,
    /// Events counted (each event id once).
    pub events: u64,
    /// Uploads seen (analysed, failed or skipped).
    pub uploads: u64,
    /// Bytes of those uploads.
    pub upload_bytes: u64,
    /// Uploads whose verdict is `review` or `rejected`.
    pub flagged_uploads: u64,
    /// Analysed uploads by verdict (`approved`, `review`, `rejected`, `unknown`).
    pub verdicts: BTreeMap<String, u64>,
    /// Transcription jobs completed.
    pub transcription_jobs: u64,
    /// Minutes of media transcribed.
    pub transcription_minutes: f64,
    /// Upload-to-analysis latency in milliseconds (1 % relative accuracy); `None` without
    /// analysed uploads.
    pub latency_ms: DigestLatency,
    /// Notifications delivered to a channel.
    pub notifications_delivered: u64,
    /// Notifications that failed for good.
    pub notifications_failed: u64,
    /// Deliveries and failures by channel (`dingtalk`, `slack`, `email`, ...).
    #[serde(default)]
    pub notifications_by_channel: BTreeMap<String, ChannelDeliveries>,
    /// `cost.threshold` alerts raised.
    pub cost_alerts: u64,
    /// `cost.action` pauses taken (or, in dry run, that would have been).
    pub cost_actions: u64,
    /// Raw lines that were not events (a data-quality figure).
    pub malformed_lines: u64,
    /// Hours of the day with at least one event.
    pub hours_with_data: Option<u32>,
    /// Moderators' decisions on `review` verdicts; absent from producers that predate them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews: Option<ReviewFigures>,
}

/// Reviews of a day: how many uploads went to a person, what was decided and how long it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewFigures {
    /// Uploads whose verdict became `review` during the day (`media.flagged`, warning).
    pub requested: u64,
    /// Decisions `approved` recorded during the day.
    pub approved: u64,
    /// Decisions `rejected` recorded during the day.
    pub rejected: u64,
    /// Decisions that replaced an earlier, different decision.
    pub changed: u64,
    /// Uploads deleted while they waited for a decision (they leave the queue undecided).
    #[serde(default)]
    pub withdrawn: u64,
    /// Uploads still waiting for a decision at the end of the day, when known.
    pub pending: Option<u64>,
    /// Upload to decision, milliseconds: median.
    pub wait_ms_p50: Option<f64>,
    /// Upload to decision, milliseconds: 95th percentile.
    pub wait_ms_p95: Option<f64>,
}

/// Latency quantiles of a day, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DigestLatency {
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile: the headline figure.
    #[serde(default)]
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// Deliveries of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDeliveries {
    /// Messages the channel accepted.
    pub delivered: u64,
    /// Messages that failed for good.
    pub failed: u64,
}

fn utc() -> String {
    "UTC".to_string()
}

impl EventPayload for StatsDigest {
    const TYPE: &'static str = types::STATS_DIGEST;
}
