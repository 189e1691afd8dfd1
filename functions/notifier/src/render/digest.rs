//! `stats.digest`: the day and its headline figures, from the typed `StatsDigest`.

use shared::events::contracts::stats::StatsDigest;

use shared::events::contracts::stats::ReviewFigures;

use super::units::human_duration;
use super::{fact, Fact};
use crate::language::Language;

fn seconds(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}

/// `17 requested, 12 approved, 3 rejected (1 changed), 5 pending`, then the wait from upload
/// to decision when the day had decisions.
fn review_facts(r: &ReviewFigures, language: Language) -> Vec<Fact> {
    let mut counts = match language {
        Language::En => format!(
            "{} requested, {} approved, {} rejected",
            r.requested, r.approved, r.rejected
        ),
        Language::Zh => format!(
            "送审 {}，批准 {}，拒绝 {}",
            r.requested, r.approved, r.rejected
        ),
    };
    if r.changed > 0 {
        counts.push_str(&match language {
            Language::En => format!(" ({} changed)", r.changed),
            Language::Zh => format!("（改判 {}）", r.changed),
        });
    }
    if r.withdrawn > 0 {
        counts.push_str(&match language {
            Language::En => format!(", {} deleted undecided", r.withdrawn),
            Language::Zh => format!("，未审即删除 {}", r.withdrawn),
        });
    }
    if let Some(pending) = r.pending {
        counts.push_str(&match language {
            Language::En => format!(", {pending} pending"),
            Language::Zh => format!("，待审 {pending}"),
        });
    }
    let mut facts = vec![fact(language, ("Reviews", "人工审核"), counts)];
    let waits: Vec<String> = [("p50", r.wait_ms_p50), ("p95", r.wait_ms_p95)]
        .iter()
        .filter_map(|(q, v)| Some(format!("{q} {}", human_duration((*v)?, language))))
        .collect();
    if !waits.is_empty() {
        facts.push(fact(
            language,
            ("Review wait", "审核等待"),
            waits.join(language.pick((", ", "，"))),
        ));
    }
    facts
}

/// Title (without the severity tag) and facts.
pub fn render(d: &StatsDigest, language: Language) -> (String, Vec<Fact>) {
    let title = format!(
        "{} {}",
        language.pick(("Daily statistics", "每日统计")),
        d.period
    );
    let mut facts = vec![fact(
        language,
        ("Uploads", "上传"),
        match language {
            Language::En => format!("{} ({} flagged)", d.uploads, d.flagged_uploads),
            Language::Zh => format!("{}（{} 个被标记）", d.uploads, d.flagged_uploads),
        },
    )];
    let verdicts: Vec<String> = d.verdicts.iter().map(|(v, n)| format!("{v} {n}")).collect();
    if !verdicts.is_empty() {
        facts.push(fact(
            language,
            ("Verdicts", "审核结论"),
            verdicts.join(", "),
        ));
    }
    if let Some(reviews) = &d.reviews {
        facts.extend(review_facts(reviews, language));
    }
    let l = &d.latency_ms;
    let quantiles: Vec<String> = [("p50", l.p50), ("p95", l.p95), ("p99", l.p99)]
        .iter()
        .filter_map(|(q, v)| Some(format!("{q} {}", seconds((*v)?))))
        .collect();
    if !quantiles.is_empty() {
        facts.push(fact(
            language,
            ("Analysis latency", "分析耗时"),
            quantiles.join(", "),
        ));
    }
    facts.push(fact(
        language,
        ("Transcription", "转写"),
        match language {
            Language::En => format!(
                "{:.1} min ({} jobs)",
                d.transcription_minutes, d.transcription_jobs
            ),
            Language::Zh => format!(
                "{:.1} 分钟（{} 个任务）",
                d.transcription_minutes, d.transcription_jobs
            ),
        },
    ));
    let mut deliveries = match language {
        Language::En => format!(
            "{} delivered, {} failed",
            d.notifications_delivered, d.notifications_failed
        ),
        Language::Zh => format!(
            "送达 {}，失败 {}",
            d.notifications_delivered, d.notifications_failed
        ),
    };
    if !d.notifications_by_channel.is_empty() {
        let per: Vec<String> = d
            .notifications_by_channel
            .iter()
            .map(|(channel, c)| format!("{channel} {}/{}", c.delivered, c.failed))
            .collect();
        deliveries.push_str(&format!(" ({})", per.join(", ")));
    }
    facts.push(fact(language, ("Notifications", "通知"), deliveries));
    if d.cost_alerts + d.cost_actions > 0 {
        facts.push(fact(
            language,
            ("Cost", "费用"),
            match language {
                Language::En => format!("{} alerts, {} pauses", d.cost_alerts, d.cost_actions),
                Language::Zh => format!("告警 {} 次，暂停 {} 次", d.cost_alerts, d.cost_actions),
            },
        ));
    }
    (title, facts)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shared::events::contracts::stats::{ChannelDeliveries, DigestLatency, ReviewFigures};

    use super::*;
    use crate::render::fact_lines;

    fn digest() -> StatsDigest {
        StatsDigest {
            period: "2026-11-30".into(),
            time_zone: "Asia/Shanghai".into(),
            document: "s3://results/stats/daily/2026/11/30.json".into(),
            events: 300,
            uploads: 120,
            upload_bytes: 1_000_000,
            flagged_uploads: 3,
            verdicts: BTreeMap::from([
                ("approved".to_string(), 100),
                ("rejected".to_string(), 3),
                ("review".to_string(), 17),
            ]),
            transcription_jobs: 4,
            transcription_minutes: 12.5,
            latency_ms: DigestLatency {
                p50: Some(1200.0),
                p90: Some(3000.0),
                p95: Some(3400.0),
                p99: Some(8000.0),
            },
            notifications_delivered: 45,
            notifications_failed: 2,
            notifications_by_channel: BTreeMap::from([(
                "dingtalk".to_string(),
                ChannelDeliveries {
                    delivered: 45,
                    failed: 2,
                },
            )]),
            cost_alerts: 1,
            cost_actions: 0,
            malformed_lines: 0,
            hours_with_data: Some(24),
            reviews: None,
        }
    }

    #[test]
    fn the_digest_names_the_day_and_its_headline_figures() {
        let (title, facts) = render(&digest(), Language::En);
        assert_eq!(title, "Daily statistics 2026-11-30");
        assert_eq!(
            fact_lines(&facts),
            vec![
                "Uploads: 120 (3 flagged)",
                "Verdicts: approved 100, rejected 3, review 17",
                "Analysis latency: p50 1.2 s, p95 3.4 s, p99 8.0 s",
                "Transcription: 12.5 min (4 jobs)",
                "Notifications: 45 delivered, 2 failed (dingtalk 45/2)",
                "Cost: 1 alerts, 0 pauses",
            ]
        );
        let (title, facts) = render(&digest(), Language::Zh);
        assert_eq!(title, "每日统计 2026-11-30");
        assert_eq!(facts[0].value, "120（3 个被标记）");
    }

    #[test]
    fn review_figures_follow_the_verdicts_in_human_units() {
        let mut d = digest();
        d.reviews = Some(ReviewFigures {
            requested: 17,
            approved: 12,
            rejected: 3,
            changed: 1,
            withdrawn: 2,
            pending: Some(5),
            wait_ms_p50: Some(7_500_000.0),
            wait_ms_p95: Some(97_200_000.0),
        });
        let (_, facts) = render(&d, Language::En);
        assert_eq!(
            fact_lines(&facts)[1..4],
            [
                "Verdicts: approved 100, rejected 3, review 17",
                "Reviews: 17 requested, 12 approved, 3 rejected (1 changed), 2 deleted undecided, 5 pending",
                "Review wait: p50 2 h 5 min, p95 1 d 3 h",
            ]
        );
        let (_, facts) = render(&d, Language::Zh);
        assert_eq!(
            fact_lines(&facts)[2..4],
            [
                "人工审核: 送审 17，批准 12，拒绝 3（改判 1），未审即删除 2，待审 5",
                "审核等待: p50 2 小时 5 分钟，p95 1 天 3 小时",
            ]
        );
    }

    #[test]
    fn a_day_without_decisions_shows_the_requests_and_no_wait() {
        let mut d = digest();
        d.reviews = Some(ReviewFigures {
            requested: 2,
            ..ReviewFigures::default()
        });
        let (_, facts) = render(&d, Language::En);
        let lines = fact_lines(&facts);
        assert!(lines.contains(&"Reviews: 2 requested, 0 approved, 0 rejected".to_string()));
        assert!(!lines.iter().any(|l| l.starts_with("Review wait")));
        // Producers that predate review figures: no review line at all.
        let (_, facts) = render(&digest(), Language::En);
        assert!(!facts.iter().any(|f| f.label.starts_with("Review")));
    }

    #[test]
    fn a_day_without_analysed_uploads_shows_no_latency() {
        let mut quiet = digest();
        quiet.latency_ms = DigestLatency::default();
        let (_, facts) = render(&quiet, Language::En);
        assert!(!facts.iter().any(|f| f.label == "Analysis latency"));
    }
}
