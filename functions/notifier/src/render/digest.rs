//! `stats.digest`: the day and its headline figures.
//!
//! stats-aggregator has no typed `StatsDigest` contract yet (`shared::events::contracts::stats`
//! is empty), so this reads the fields its `report::digest_event` writes today; when the struct
//! lands, this file parses it instead. A digest without a `period` falls back to the generic
//! renderer.

use serde_json::Value;

use super::{fact, Fact};
use crate::language::Language;

fn count(data: &Value, field: &str) -> Option<u64> {
    data.get(field).and_then(Value::as_u64)
}

fn seconds(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}

/// Title (without the severity tag) and facts; `None` when the digest names no day.
pub fn render(data: &Value, language: Language) -> Option<(String, Vec<Fact>)> {
    let day = data.get("period")?.as_str()?;
    let title = format!("{} {day}", language.pick(("Daily statistics", "每日统计")));
    let mut facts = Vec::new();
    if let Some(uploads) = count(data, "uploads") {
        let flagged = count(data, "flagged_uploads").unwrap_or(0);
        facts.push(fact(
            language,
            ("Uploads", "上传"),
            match language {
                Language::En => format!("{uploads} ({flagged} flagged)"),
                Language::Zh => format!("{uploads}（{flagged} 个被标记）"),
            },
        ));
    }
    if let Some(verdicts) = data.get("verdicts").and_then(Value::as_object) {
        let mut parts: Vec<String> = verdicts
            .iter()
            .filter_map(|(verdict, n)| Some(format!("{verdict} {}", n.as_u64()?)))
            .collect();
        parts.sort();
        if !parts.is_empty() {
            facts.push(fact(language, ("Verdicts", "审核结论"), parts.join(", ")));
        }
    }
    if let Some(latency) = data.get("latency_ms") {
        let parts: Vec<String> = ["p50", "p90", "p99"]
            .iter()
            .filter_map(|q| Some(format!("{q} {}", seconds(latency.get(*q)?.as_f64()?))))
            .collect();
        if !parts.is_empty() {
            facts.push(fact(
                language,
                ("Analysis latency", "分析耗时"),
                parts.join(", "),
            ));
        }
    }
    if let Some(minutes) = data.get("transcription_minutes").and_then(Value::as_f64) {
        let jobs = count(data, "transcription_jobs").unwrap_or(0);
        facts.push(fact(
            language,
            ("Transcription", "转写"),
            match language {
                Language::En => format!("{minutes:.1} min ({jobs} jobs)"),
                Language::Zh => format!("{minutes:.1} 分钟（{jobs} 个任务）"),
            },
        ));
    }
    if let Some(delivered) = count(data, "notifications_delivered") {
        let failed = count(data, "notifications_failed").unwrap_or(0);
        facts.push(fact(
            language,
            ("Notifications", "通知"),
            match language {
                Language::En => format!("{delivered} delivered, {failed} failed"),
                Language::Zh => format!("送达 {delivered}，失败 {failed}"),
            },
        ));
    }
    let (alerts, actions) = (
        count(data, "cost_alerts").unwrap_or(0),
        count(data, "cost_actions").unwrap_or(0),
    );
    if alerts + actions > 0 {
        facts.push(fact(
            language,
            ("Cost", "费用"),
            match language {
                Language::En => format!("{alerts} alerts, {actions} pauses or restores"),
                Language::Zh => format!("告警 {alerts} 次，暂停或恢复 {actions} 次"),
            },
        ));
    }
    Some((title, facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn digest() -> Value {
        json!({
            "period": "2026-11-30", "document": "s3://results/stats/daily/2026/11/30.json",
            "events": 300, "uploads": 120, "upload_bytes": 1_000_000, "flagged_uploads": 3,
            "verdicts": {"approved": 100, "review": 17, "rejected": 3},
            "transcription_jobs": 4, "transcription_minutes": 12.5,
            "latency_ms": {"p50": 1200.0, "p90": 3400.0, "p99": 8000.0},
            "notifications_delivered": 45, "notifications_failed": 2,
            "cost_alerts": 1, "cost_actions": 0, "malformed_lines": 0, "hours_with_data": 24
        })
    }

    #[test]
    fn the_digest_names_the_day_and_its_headline_figures() {
        let (title, facts) = render(&digest(), Language::En).unwrap();
        assert_eq!(title, "Daily statistics 2026-11-30");
        let lines: Vec<String> = facts
            .iter()
            .map(|f| format!("{}: {}", f.label, f.value))
            .collect();
        assert_eq!(
            lines,
            vec![
                "Uploads: 120 (3 flagged)",
                "Verdicts: approved 100, rejected 3, review 17",
                "Analysis latency: p50 1.2 s, p90 3.4 s, p99 8.0 s",
                "Transcription: 12.5 min (4 jobs)",
                "Notifications: 45 delivered, 2 failed",
                "Cost: 1 alerts, 0 pauses or restores",
            ]
        );
        let (title, facts) = render(&digest(), Language::Zh).unwrap();
        assert_eq!(title, "每日统计 2026-11-30");
        assert_eq!(facts[0].value, "120（3 个被标记）");
    }

    #[test]
    fn a_day_without_uploads_has_no_latency_and_a_digest_without_a_day_is_generic() {
        let mut quiet = digest();
        quiet["latency_ms"] = json!({"p50": null, "p90": null, "p99": null});
        let (_, facts) = render(&quiet, Language::En).unwrap();
        assert!(!facts.iter().any(|f| f.label == "Analysis latency"));
        assert!(render(&json!({"uploads": 1}), Language::En).is_none());
    }
}
