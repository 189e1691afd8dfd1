//! The statistics of one period and how events add to them.
//!
//! Everything here merges: hourly statistics are the merge of per-object statistics, daily
//! ones the merge of hourly ones. Counters are integers and durations whole milliseconds, so
//! a merge gives the same numbers and a re-run gives the same document. Label maps are
//! bounded ([`crate::labels`]).

use serde::{Deserialize, Serialize};
use shared::events::types;

use crate::event_line::EventLine;
use crate::labels::{normalised, LabelMap};
use crate::latency::LatencySketch;
use crate::merge::Merge;
use crate::reviews::ReviewCounts;

pub const NOTIFICATION_DELIVERED: &str = "notification.delivered";
pub const NOTIFICATION_FAILED: &str = "notification.failed";

/// Where the counted events came from, and what was not counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceCounts {
    /// Raw objects read.
    pub objects: u64,
    /// Non-blank lines read.
    pub lines: u64,
    /// Lines that were not a version-1 envelope (logged with key and line number).
    pub malformed_lines: u64,
    /// Objects whose compressed data was corrupt (lines before the damage are counted).
    pub unreadable_objects: u64,
    /// Lines whose envelope id was already counted (redelivered batches, duplicate SNS deliveries).
    pub duplicate_events: u64,
}

impl Merge for SourceCounts {
    fn merge(&mut self, o: &Self) {
        self.objects += o.objects;
        self.lines += o.lines;
        self.malformed_lines += o.malformed_lines;
        self.unreadable_objects += o.unreadable_objects;
        self.duplicate_events += o.duplicate_events;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventCounts {
    pub total: u64,
    pub by_type: LabelMap<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CountAndBytes {
    pub count: u64,
    pub bytes: u64,
}

impl Merge for CountAndBytes {
    fn merge(&mut self, o: &Self) {
        self.count += o.count;
        self.bytes += o.bytes;
    }
}

/// Uploads seen by the ai-processor: one `media.analyzed`, `media.failed` or `media.skipped`
/// event per upload (`media.flagged` repeats an analysed upload and is not counted again).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UploadCounts {
    pub total: u64,
    pub bytes: u64,
    /// `analyzed`, `failed`, `skipped`.
    pub by_outcome: LabelMap<u64>,
    pub by_kind: LabelMap<CountAndBytes>,
    pub by_prefix: LabelMap<CountAndBytes>,
}

/// Moderation outcomes of analysed uploads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdicts {
    /// `approved`, `review`, `rejected` (or whatever the producer sent; `unknown` if nothing).
    pub by_verdict: LabelMap<u64>,
    /// Uploads with at least one moderation label in the category.
    pub by_category: LabelMap<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobsAndDuration {
    pub jobs: u64,
    pub duration_ms: u64,
}

impl Merge for JobsAndDuration {
    fn merge(&mut self, o: &Self) {
        self.jobs += o.jobs;
        self.duration_ms += o.duration_ms;
    }
}

/// Serialised with the derived `minutes` for readers; read back from `jobs` and `duration_ms`.
impl Serialize for JobsAndDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("JobsAndDuration", 3)?;
        st.serialize_field("jobs", &self.jobs)?;
        st.serialize_field("duration_ms", &self.duration_ms)?;
        st.serialize_field("minutes", &minutes(self.duration_ms))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for JobsAndDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Stored {
            jobs: u64,
            duration_ms: u64,
        }
        let s = Stored::deserialize(d)?;
        Ok(JobsAndDuration {
            jobs: s.jobs,
            duration_ms: s.duration_ms,
        })
    }
}

/// Minutes with millisecond precision, rounded to 3 decimals.
pub fn minutes(duration_ms: u64) -> f64 {
    (duration_ms as f64 / 60.0).round() / 1000.0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcription {
    #[serde(flatten)]
    pub total: JobsAndDuration,
    pub by_language: LabelMap<JobsAndDuration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveredAndFailed {
    pub delivered: u64,
    pub failed: u64,
}

impl Merge for DeliveredAndFailed {
    fn merge(&mut self, o: &Self) {
        self.delivered += o.delivered;
        self.failed += o.failed;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notifications {
    #[serde(flatten)]
    pub total: DeliveredAndFailed,
    pub by_channel: LabelMap<DeliveredAndFailed>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostCounts {
    /// `cost.threshold` events.
    pub alerts: u64,
    pub alerts_by_severity: LabelMap<u64>,
    pub alerts_by_budget: LabelMap<u64>,
    /// `cost.action` events (taken or, in dry-run, would-be).
    pub actions: u64,
    pub actions_by_action: LabelMap<u64>,
    pub actions_by_mode: LabelMap<u64>,
}

/// Everything counted for one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeriodStats {
    pub sources: SourceCounts,
    pub events: EventCounts,
    pub uploads: UploadCounts,
    pub verdicts: Verdicts,
    pub transcription: Transcription,
    /// Upload to analysis, from `media.analyzed`.
    pub latency_ms: LatencySketch,
    pub notifications: Notifications,
    pub cost: CostCounts,
    /// Review requests and moderators' decisions (documents written before they were counted
    /// read as zero).
    #[serde(default)]
    pub reviews: ReviewCounts,
}

/// The prefix of an S3 subject (`s3://bucket/videos/a.mp4` gives `videos/`).
fn prefix_of_subject(subject: &str) -> Option<&str> {
    let path = subject.strip_prefix("s3://")?;
    let (_bucket, key) = path.split_once('/')?;
    let (prefix, _rest) = key.split_once('/')?;
    Some(&key[..prefix.len() + 1])
}

fn whole_non_negative(n: Option<f64>) -> Option<u64> {
    n.filter(|v| *v >= 0.0 && *v < 1e18)
        .map(|v| v.round() as u64)
}

/// Upload to analysis in milliseconds: `latency_ms` when given, else `analyzed_at - uploaded_at`.
pub fn latency_ms(event: &EventLine<'_>) -> Option<u64> {
    if let Some(ms) = whole_non_negative(event.data.latency_ms.0) {
        return Some(ms);
    }
    let uploaded = shared::time::parse_rfc3339_lenient(event.data.uploaded_at.as_deref()?)?;
    let analyzed = shared::time::parse_rfc3339_lenient(event.data.analyzed_at.as_deref()?)?;
    let ms = (analyzed - uploaded).whole_milliseconds();
    u64::try_from(ms).ok()
}

impl PeriodStats {
    /// Adds one (already de-duplicated) event.
    pub fn record(&mut self, event: &EventLine<'_>) {
        self.events.total += 1;
        self.events.by_type.count(Some(&event.event_type));
        self.reviews.record(event);
        let data = &event.data;
        match event.event_type.as_ref() {
            types::MEDIA_ANALYZED | types::MEDIA_FAILED | types::MEDIA_SKIPPED => {
                let outcome = match event.event_type.as_ref() {
                    types::MEDIA_ANALYZED => "analyzed",
                    types::MEDIA_FAILED => "failed",
                    _ => "skipped",
                };
                let bytes = whole_non_negative(data.size_bytes.0).unwrap_or(0);
                let prefix = data
                    .prefix
                    .as_deref()
                    .or_else(|| event.subject.as_deref().and_then(prefix_of_subject));
                let uploads = &mut self.uploads;
                uploads.total += 1;
                uploads.bytes += bytes;
                uploads.by_outcome.count(Some(outcome));
                let one = CountAndBytes { count: 1, bytes };
                uploads
                    .by_kind
                    .update(data.kind.as_deref(), |v| v.merge(&one));
                uploads.by_prefix.update(prefix, |v| v.merge(&one));
                if event.event_type == types::MEDIA_ANALYZED {
                    self.verdicts.by_verdict.count(data.verdict.as_deref());
                    let mut categories: Vec<&str> = data
                        .moderation_labels
                        .0
                        .iter()
                        .map(|c| normalised(Some(c)))
                        .collect();
                    categories.sort_unstable();
                    categories.dedup();
                    for category in categories {
                        self.verdicts.by_category.count(Some(category));
                    }
                    if let Some(ms) = latency_ms(event) {
                        self.latency_ms.add(ms);
                    }
                }
            }
            types::TRANSCRIPT_READY => {
                let job = JobsAndDuration {
                    jobs: 1,
                    duration_ms: whole_non_negative(data.duration_seconds.0.map(|s| s * 1000.0))
                        .unwrap_or(0),
                };
                self.transcription.total.merge(&job);
                self.transcription
                    .by_language
                    .update(data.language.as_deref(), |v| v.merge(&job));
            }
            NOTIFICATION_DELIVERED | NOTIFICATION_FAILED => {
                let outcome = if event.event_type == NOTIFICATION_DELIVERED {
                    DeliveredAndFailed {
                        delivered: 1,
                        failed: 0,
                    }
                } else {
                    DeliveredAndFailed {
                        delivered: 0,
                        failed: 1,
                    }
                };
                self.notifications.total.merge(&outcome);
                self.notifications
                    .by_channel
                    .update(data.channel.as_deref(), |v| v.merge(&outcome));
            }
            types::COST_THRESHOLD => {
                let cost = &mut self.cost;
                cost.alerts += 1;
                cost.alerts_by_severity.count(event.severity.as_deref());
                cost.alerts_by_budget.count(data.budget.as_deref());
            }
            types::COST_ACTION => {
                let cost = &mut self.cost;
                cost.actions += 1;
                cost.actions_by_action.count(data.action.as_deref());
                cost.actions_by_mode.count(data.mode.as_deref());
            }
            _ => {}
        }
    }

    /// Uploads whose verdict asks a person to look (`review`) or blocks them (`rejected`).
    pub fn flagged_uploads(&self) -> u64 {
        ["review", "rejected"]
            .iter()
            .filter_map(|v| self.verdicts.by_verdict.get(v))
            .sum()
    }
}

impl Merge for PeriodStats {
    fn merge(&mut self, o: &Self) {
        self.sources.merge(&o.sources);
        self.events.total += o.events.total;
        self.events.by_type.merge(&o.events.by_type);
        let (u, ou) = (&mut self.uploads, &o.uploads);
        u.total += ou.total;
        u.bytes += ou.bytes;
        u.by_outcome.merge(&ou.by_outcome);
        u.by_kind.merge(&ou.by_kind);
        u.by_prefix.merge(&ou.by_prefix);
        self.verdicts.by_verdict.merge(&o.verdicts.by_verdict);
        self.verdicts.by_category.merge(&o.verdicts.by_category);
        self.transcription.total.merge(&o.transcription.total);
        self.transcription
            .by_language
            .merge(&o.transcription.by_language);
        self.latency_ms.merge(&o.latency_ms);
        self.notifications.total.merge(&o.notifications.total);
        self.notifications
            .by_channel
            .merge(&o.notifications.by_channel);
        let (c, oc) = (&mut self.cost, &o.cost);
        c.alerts += oc.alerts;
        c.alerts_by_severity.merge(&oc.alerts_by_severity);
        c.alerts_by_budget.merge(&oc.alerts_by_budget);
        c.actions += oc.actions;
        c.actions_by_action.merge(&oc.actions_by_action);
        c.actions_by_mode.merge(&oc.actions_by_mode);
        self.reviews.merge(&o.reviews);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_line::parse_line;
    use crate::labels::UNKNOWN_LABEL;

    fn stats_of(lines: &[&str]) -> PeriodStats {
        let mut s = PeriodStats::default();
        for line in lines {
            s.record(&parse_line(line.as_bytes()).unwrap());
        }
        s
    }

    #[test]
    fn uploads_verdicts_and_latency_come_from_media_events() {
        let s = stats_of(&[
            r#"{"version":1,"id":"1","type":"media.analyzed","subject":"s3://m/videos/a.mp4","severity":"info","data":{"kind":"video","size_bytes":1000,"verdict":"approved","latency_ms":1500}}"#,
            r#"{"version":1,"id":"2","type":"media.analyzed","subject":"s3://m/covers/b.jpg","severity":"warning","data":{"kind":"image","prefix":"covers/","size_bytes":200,"verdict":"review","moderation_labels":[{"name":"Smoking","parent_name":"Tobacco"},{"name":"Drinking","parent_name":"Tobacco"}],"uploaded_at":"2026-11-24T13:00:00Z","analyzed_at":"2026-11-24T13:00:02.500Z"}}"#,
            r#"{"version":1,"id":"2f","type":"media.flagged","subject":"s3://m/covers/b.jpg","severity":"warning","data":{"kind":"image","size_bytes":200}}"#,
            r#"{"version":1,"id":"3","type":"media.failed","subject":"s3://m/audio/c.mp3","severity":"critical","data":{"reason":"gone"}}"#,
        ]);
        assert_eq!(s.events.total, 4);
        assert_eq!(s.uploads.total, 3);
        assert_eq!(s.uploads.bytes, 1200);
        assert_eq!(
            s.uploads.by_kind.get("image"),
            Some(&CountAndBytes {
                count: 1,
                bytes: 200
            })
        );
        assert_eq!(
            s.uploads.by_kind.get(UNKNOWN_LABEL).map(|c| c.count),
            Some(1)
        );
        assert_eq!(s.uploads.by_prefix.get("videos/").map(|c| c.count), Some(1));
        assert_eq!(s.uploads.by_prefix.get("audio/").map(|c| c.count), Some(1));
        assert_eq!(s.uploads.by_outcome.get("failed"), Some(&1));
        assert_eq!(s.verdicts.by_verdict.get("review"), Some(&1));
        // Two labels of one category on one upload count once.
        assert_eq!(s.verdicts.by_category.get("Tobacco"), Some(&1));
        assert_eq!(s.flagged_uploads(), 1);
        assert_eq!(s.latency_ms.count(), 2);
        assert_eq!(s.latency_ms.min_max(), Some((1500.0, 2500.0)));
        assert_eq!(s.events.by_type.get("media.flagged"), Some(&1));
    }

    #[test]
    fn transcripts_notifications_and_costs_are_counted_by_their_labels() {
        let s = stats_of(&[
            r#"{"version":1,"id":"1","type":"transcript.ready","data":{"language":"zh-CN","duration_seconds":90.5}}"#,
            r#"{"version":1,"id":"2","type":"transcript.ready","data":{"language":"zh-CN","duration_seconds":29.5}}"#,
            r#"{"version":1,"id":"3","type":"transcript.ready","data":{}}"#,
            r#"{"version":1,"id":"4","type":"notification.delivered","data":{"channel":"dingtalk"}}"#,
            r#"{"version":1,"id":"5","type":"notification.failed","data":{"channel":"dingtalk"}}"#,
            r#"{"version":1,"id":"6","type":"cost.threshold","severity":"warning","data":{"budget":"monthly"}}"#,
            r#"{"version":1,"id":"7","type":"cost.action","severity":"critical","data":{"action":"lambda.concurrency_zero","mode":"dry-run"}}"#,
            r#"{"version":1,"id":"8","type":"something.new","data":{}}"#,
        ]);
        assert_eq!(s.transcription.total.jobs, 3);
        assert_eq!(s.transcription.total.duration_ms, 120_000);
        let zh = s.transcription.by_language.get("zh-CN").unwrap();
        assert_eq!((zh.jobs, minutes(zh.duration_ms)), (2, 2.0));
        assert_eq!(
            s.transcription
                .by_language
                .get(UNKNOWN_LABEL)
                .map(|j| j.jobs),
            Some(1)
        );
        assert_eq!(
            s.notifications.by_channel.get("dingtalk"),
            Some(&DeliveredAndFailed {
                delivered: 1,
                failed: 1
            })
        );
        assert_eq!(s.cost.alerts_by_severity.get("warning"), Some(&1));
        assert_eq!(s.cost.actions_by_mode.get("dry-run"), Some(&1));
        assert_eq!(s.events.by_type.get("something.new"), Some(&1));
        assert_eq!(s.events.total, 8);
    }

    #[test]
    fn merging_gives_the_same_result_in_any_grouping() {
        let lines = [
            r#"{"version":1,"id":"1","type":"media.analyzed","data":{"kind":"video","size_bytes":10,"latency_ms":100}}"#,
            r#"{"version":1,"id":"2","type":"transcript.ready","data":{"language":"en-US","duration_seconds":1.25}}"#,
            r#"{"version":1,"id":"3","type":"media.analyzed","data":{"kind":"image","size_bytes":5,"latency_ms":300}}"#,
        ];
        let whole = stats_of(&lines);
        let mut merged = stats_of(&lines[2..]);
        merged.merge(&stats_of(&lines[..2]));
        assert_eq!(merged, whole);
        let json = serde_json::to_string(&whole).unwrap();
        let back: PeriodStats = serde_json::from_str(&json).unwrap();
        assert_eq!(back, whole);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }
}
