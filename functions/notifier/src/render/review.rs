//! Reviews, from the typed contracts: `media.flagged` with a [`ReviewAid`] (what the moderator
//! needs to decide: the labels, a link to the upload and the commands recording the decision)
//! and `media.reviewed` (who decided what, after how long).

use shared::events::contracts::media::{FlaggedLabel, MediaFlagged, MediaKind, ReviewAid, Verdict};
use shared::events::contracts::review::{Decision, MediaReviewed};
use shared::time::BusinessTimeZone;

use super::command::Command;
use super::units::{human_duration, local_minute};
use super::{fact, Fact};
use crate::language::Language;

/// Labels listed by name; the others are counted.
const MAX_LABELS: usize = 3;

/// What a review notice holds besides the common parts.
pub struct ReviewNotice {
    pub title: String,
    pub facts: Vec<Fact>,
    pub link: Option<String>,
    pub commands: Vec<Command>,
}

fn kind_name(kind: MediaKind, language: Language) -> &'static str {
    language.pick(match kind {
        MediaKind::Image => ("Image", "图片"),
        MediaKind::Video => ("Video", "视频"),
        MediaKind::Audio => ("Audio", "音频"),
        MediaKind::Document => ("Document", "文档"),
    })
}

fn verdict_name(verdict: Verdict, language: Language) -> &'static str {
    language.pick(match verdict {
        Verdict::Approved => ("approved", "批准"),
        Verdict::Review => ("review", "待审核"),
        Verdict::Rejected => ("rejected", "拒绝"),
    })
}

/// `Graphic Violence 93.0 %`.
fn label_text(label: &FlaggedLabel) -> String {
    format!("{} {:.1} %", label.name, label.confidence)
}

/// The labels strictest first (verdict, then confidence), the first few by name.
fn labels_text(labels: &[FlaggedLabel], language: Language) -> Option<String> {
    let mut sorted: Vec<&FlaggedLabel> = labels.iter().collect();
    sorted.sort_by(|a, b| {
        b.verdict
            .cmp(&a.verdict)
            .then(b.confidence.total_cmp(&a.confidence))
    });
    let shown: Vec<String> = sorted
        .iter()
        .take(MAX_LABELS)
        .map(|l| label_text(l))
        .collect();
    if shown.is_empty() {
        return None;
    }
    let more = sorted.len().saturating_sub(MAX_LABELS);
    Some(match (language, more) {
        (Language::En, 0) => shown.join(", "),
        (Language::En, n) => format!("{} and {n} more", shown.join(", ")),
        (Language::Zh, 0) => shown.join("，"),
        (Language::Zh, n) => format!("{} 等 {} 个", shown.join("，"), n + MAX_LABELS),
    })
}

/// The strictest label, for the title.
fn strictest(labels: &[FlaggedLabel]) -> Option<&FlaggedLabel> {
    labels.iter().max_by(|a, b| {
        a.verdict
            .cmp(&b.verdict)
            .then(a.confidence.total_cmp(&b.confidence))
    })
}

/// The approve and reject commands, or why they are not shown (logged by the caller).
fn decision_commands(
    aid: &ReviewAid,
    language: Language,
) -> Result<Vec<Command>, super::command::CommandProblem> {
    Ok(vec![
        Command::new(
            language.pick(("Approve with", "批准命令")),
            &aid.function_name,
            &aid.approve_input,
        )?,
        Command::new(
            language.pick(("Reject with", "拒绝命令")),
            &aid.function_name,
            &aid.reject_input,
        )?,
    ])
}

/// `media.flagged` with a review aid: the upload, its labels, the link and its expiry in the
/// business time zone, and the commands that record the decision.
pub fn flagged(
    f: &MediaFlagged,
    aid: &ReviewAid,
    language: Language,
    zone: &BusinessTimeZone,
) -> ReviewNotice {
    let colon = language.pick((": ", "："));
    let what = match language {
        Language::En => format!("{} awaiting review", kind_name(f.kind, language)),
        Language::Zh => format!("{}待人工审核", kind_name(f.kind, language)),
    };
    let title = match strictest(&f.labels) {
        Some(label) => format!("{what}{colon}{}", label_text(label)),
        None => what,
    };
    let mut facts = vec![fact(language, ("File", "文件"), f.key.clone())];
    if let Some(labels) = labels_text(&f.labels, language) {
        facts.push(fact(language, ("Labels", "标签"), labels));
    }
    // The link as the channels will show it: a parsed web link, or none.
    let link = aid.link.as_deref().and_then(crate::escape::web_link);
    match (&aid.link, &link, &aid.link_expires_at) {
        (_, Some(_), Some(expires)) => facts.push(fact(
            language,
            ("Link valid until", "链接有效期至"),
            local_minute(expires, zone),
        )),
        (_, Some(_), None) => {}
        (None, None, _) => facts.push(fact(
            language,
            ("Link", "链接"),
            language
                .pick(("none could be signed", "未能生成"))
                .to_string(),
        )),
        (Some(_), None, _) => facts.push(fact(
            language,
            ("Link", "链接"),
            language
                .pick(("not shown: not a web link", "未显示：不是网页链接"))
                .to_string(),
        )),
    }
    let commands = match decision_commands(aid, language) {
        Ok(commands) => commands,
        Err(problem) => {
            tracing::warn!(problem = %problem.describe(Language::En), "review decision commands not shown");
            let text = match language {
                Language::En => format!(
                    "not shown: {}; send the decision input from the Lambda console instead",
                    problem.describe(language)
                ),
                Language::Zh => format!(
                    "未显示：{}；请在 Lambda 控制台发送决定输入",
                    problem.describe(language)
                ),
            };
            facts.push(fact(language, ("Decision command", "决定命令"), text));
            Vec::new()
        }
    };
    ReviewNotice {
        title,
        facts,
        link,
        commands,
    }
}

/// `media.reviewed`: `Approved by alice after 2 h 5 min: covers/x.jpg`, then the decision
/// (and what it replaced), the reviewer, the reason and the wait.
pub fn reviewed(r: &MediaReviewed, language: Language) -> (String, Vec<Fact>) {
    let decided = match r.decision {
        Decision::Approved => language.pick(("Approved", "已批准")),
        Decision::Rejected => language.pick(("Rejected", "已拒绝")),
    };
    let wait = r.wait_ms.map(|ms| human_duration(ms as f64, language));
    let title = match (language, &wait) {
        (Language::En, Some(wait)) => {
            format!("{decided} by {} after {wait}: {}", r.reviewer, r.key)
        }
        (Language::En, None) => format!("{decided} by {}: {}", r.reviewer, r.key),
        (Language::Zh, Some(wait)) => {
            format!("{} {decided}（上传后 {wait}）：{}", r.reviewer, r.key)
        }
        (Language::Zh, None) => format!("{} {decided}：{}", r.reviewer, r.key),
    };
    let decision = match r.decision {
        Decision::Approved => verdict_name(Verdict::Approved, language),
        Decision::Rejected => verdict_name(Verdict::Rejected, language),
    };
    let decision = match (r.changed, r.previous_verdict, language) {
        (false, _, _) => decision.to_string(),
        (true, Some(previous), Language::En) => {
            format!(
                "{decision}, changed from {}",
                verdict_name(previous, language)
            )
        }
        (true, None, Language::En) => format!("{decision}, changed from an earlier decision"),
        (true, Some(previous), Language::Zh) => {
            format!("{decision}（由{}改判）", verdict_name(previous, language))
        }
        (true, None, Language::Zh) => format!("{decision}（改判）"),
    };
    let mut facts = vec![
        fact(language, ("Decision", "决定"), decision),
        fact(language, ("Reviewer", "审核人"), r.reviewer.clone()),
    ];
    if let Some(reason) = r.reason.as_ref().filter(|s| !s.trim().is_empty()) {
        facts.push(fact(language, ("Reason", "原因"), reason.clone()));
    }
    if let Some(wait) = wait {
        facts.push(fact(
            language,
            ("Upload to decision", "上传到决定用时"),
            wait,
        ));
    }
    facts.push(fact(language, ("File", "文件"), r.key.clone()));
    (title, facts)
}
