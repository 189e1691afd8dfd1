//! What a notification says: a title, the subject, the key facts (verdict, amount, ...) and a
//! link, in Chinese or English. Channel adapters turn this into their own format
//! (markdown, Slack blocks, a Feishu card, an e-mail).

use serde_json::Value;
use shared::events::{types, Envelope, Severity};

use shared::events::contracts::alarm::AlarmStateChanged;
use shared::events::contracts::cost::{CostAction, CostThreshold};
use shared::events::contracts::media::MediaFlagged;
use shared::events::contracts::review::MediaReviewed;
use shared::events::contracts::stats::StatsDigest;
use shared::events::EventPayload;
use shared::time::BusinessTimeZone;

use crate::escape::{self, CommandFormat};
use crate::language::Language;

mod alarm;
mod command;
mod cost;
mod digest;
mod review;
mod units;

pub use command::{Command, CommandProblem, MAX_COMMAND_BYTES};

/// One labelled fact of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// A rendered notification in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub language: Language,
    pub severity: Severity,
    /// `[Critical] Media flagged for review: a.mp4`
    pub title: String,
    pub facts: Vec<Fact>,
    /// An http(s) link to the resource, when the event carries one.
    pub link: Option<String>,
    /// Text of the link (`Open` / `查看`).
    pub link_text: String,
    /// Commands a person runs (a review decision), each shown whole, as code, or not at all.
    pub commands: Vec<Command>,
    pub event_id: String,
    pub event_type: String,
}

/// (type, English title, Chinese title)
const TITLES: &[(&str, &str, &str)] = &[
    (types::MEDIA_ANALYZED, "Media analysed", "媒体分析完成"),
    (
        types::MEDIA_FLAGGED,
        "Media flagged for review",
        "媒体内容需要审核",
    ),
    (
        types::MEDIA_FAILED,
        "Media processing failed",
        "媒体处理失败",
    ),
    (types::MEDIA_SKIPPED, "Media skipped", "媒体已跳过"),
    (types::TRANSCRIPT_READY, "Transcript ready", "转写已完成"),
    (
        types::COST_THRESHOLD,
        "Cost threshold reached",
        "费用已达阈值",
    ),
    (types::COST_ACTION, "Cost control action", "费用控制操作"),
    (types::STATS_DIGEST, "Statistics digest", "统计摘要"),
    (MediaReviewed::TYPE, "Review decision", "人工审核决定"),
];

/// Data fields shown first, in this order, with their labels (English, Chinese). Other
/// scalar fields follow in alphabetical order with their own names as labels.
const KNOWN_FIELDS: &[(&str, &str, &str)] = &[
    ("verdict", "Verdict", "结论"),
    ("amount", "Amount", "金额"),
    ("forecast", "Forecast", "预测"),
    ("budget", "Budget", "预算"),
    ("threshold", "Threshold", "阈值"),
    ("percent", "Share of budget", "预算占比"),
    ("action", "Action", "操作"),
    ("target", "Target", "对象"),
    ("reason", "Reason", "原因"),
    ("reasons", "Reasons", "原因"),
    ("error", "Error", "错误"),
    ("labels", "Labels", "标签"),
    ("categories", "Categories", "类别"),
    ("confidence", "Confidence", "置信度"),
    ("media_type", "Media type", "媒体类型"),
    ("language_code", "Language", "语言"),
    ("period", "Period", "周期"),
    ("transcript_uri", "Transcript", "转写文本"),
];

/// Fields that are a link, in order of preference, or formatting helpers not shown alone.
const LINK_FIELDS: &[&str] = &["link", "url", "console_url", "presigned_url"];
const HELPER_FIELDS: &[&str] = &["currency"];

/// At most this many facts, so a chat message stays readable.
const MAX_FACTS: usize = 12;

fn severity_label(severity: Severity, language: Language) -> &'static str {
    match (severity, language) {
        (Severity::Info, Language::En) => "Info",
        (Severity::Warning, Language::En) => "Warning",
        (Severity::Critical, Language::En) => "Critical",
        (Severity::Info, Language::Zh) => "信息",
        (Severity::Warning, Language::Zh) => "警告",
        (Severity::Critical, Language::Zh) => "严重",
    }
}

/// The last path segment of `s3://bucket/videos/a.mp4`, or the subject itself.
fn short_subject(subject: &str) -> &str {
    subject
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(subject)
}

fn is_web_link(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn format_number(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        (None, Some(f)) => format!("{f:.2}"),
        _ => n.to_string(),
    }
}

/// A value as one line of text; `None` for nested objects and empty values.
fn scalar_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => format_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Object(o) => o
                    .get("name")
                    .or_else(|| o.get("Name"))
                    .and_then(scalar_text),
                other => scalar_text(other),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null | Value::Object(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// An amount with the event's currency: `123.45 CNY`.
fn money(value: &Value, currency: Option<&str>) -> Option<String> {
    let amount = match value {
        Value::Number(n) => format!("{:.2}", n.as_f64()?),
        other => scalar_text(other)?,
    };
    Some(match currency {
        Some(c) => format!("{amount} {c}"),
        None => amount,
    })
}

/// The notification of an event: typed renderers for the types the suite produces, the
/// generic one for anything else (or a payload that does not parse, logged). Instants are
/// shown in `zone` (`SUITE_TIMEZONE`).
pub fn render(envelope: &Envelope, language: Language, zone: &BusinessTimeZone) -> Notification {
    let typed = match envelope.event_type.as_str() {
        MediaFlagged::TYPE => return flagged(envelope, language, zone),
        MediaReviewed::TYPE => envelope
            .payload::<MediaReviewed>()
            .map(|p| with_link(review::reviewed(&p, language), envelope)),
        AlarmStateChanged::TYPE => envelope
            .payload::<AlarmStateChanged>()
            .map(|p| alarm::render(&p, language)),
        CostThreshold::TYPE => envelope
            .payload::<CostThreshold>()
            .map(|p| with_link(cost::threshold(&p, language), envelope)),
        CostAction::TYPE => envelope
            .payload::<CostAction>()
            .map(|p| with_link(cost::action(&p, language), envelope)),
        StatsDigest::TYPE => envelope
            .payload::<StatsDigest>()
            .map(|p| with_link(digest::render(&p, language), envelope)),
        _ => return generic(envelope, language),
    };
    match typed {
        Ok((title, facts, link)) => finish(envelope, language, title, facts, link),
        Err(e) => {
            tracing::warn!(event_id = %envelope.id, event_type = %envelope.event_type, error = %e, "payload does not match its contract; rendered generically");
            generic(envelope, language)
        }
    }
}

/// Adds the event's link (a `link` / `url` field), for renderers whose payload has none typed.
fn with_link(
    (title, facts): (String, Vec<Fact>),
    envelope: &Envelope,
) -> (String, Vec<Fact>, Option<String>) {
    (title, facts, data_link(envelope))
}

/// `media.flagged` with a review aid gets the review notice; without one (a `rejected`
/// verdict, or a producer that predates review aids) the generic message, as before.
fn flagged(envelope: &Envelope, language: Language, zone: &BusinessTimeZone) -> Notification {
    let Ok(payload) = envelope.payload::<MediaFlagged>() else {
        return generic(envelope, language);
    };
    let Some(aid) = &payload.review else {
        return generic(envelope, language);
    };
    let notice = review::flagged(&payload, aid, language, zone);
    let mut n = finish(envelope, language, notice.title, notice.facts, notice.link);
    n.link_text = language.pick(("View the upload", "查看文件")).to_string();
    n.commands = notice.commands;
    n
}

fn data_link(envelope: &Envelope) -> Option<String> {
    let data = envelope.data.as_object()?;
    LINK_FIELDS
        .iter()
        .filter_map(|k| data.get(*k).and_then(Value::as_str))
        .find(|s| is_web_link(s))
        .map(str::to_string)
}

/// The notification with the severity tag before the title and the time as the last fact.
pub(crate) fn finish(
    envelope: &Envelope,
    language: Language,
    title: String,
    mut facts: Vec<Fact>,
    link: Option<String>,
) -> Notification {
    facts.truncate(MAX_FACTS);
    facts.push(fact(language, ("Time", "时间"), envelope.time.clone()));
    // Untrusted text arrives here (file names, labels, reasons): one line each, bounded.
    for f in &mut facts {
        f.value = escape::one_line(&f.value, escape::MAX_VALUE_CHARS);
    }
    let title = format!("[{}] {title}", severity_label(envelope.severity, language));
    Notification {
        language,
        severity: envelope.severity,
        title: escape::one_line(&title, escape::MAX_TITLE_CHARS),
        facts,
        link: link.as_deref().and_then(escape::web_link),
        link_text: language.pick(("Open", "查看")).to_string(),
        commands: Vec::new(),
        event_id: envelope.id.clone(),
        event_type: envelope.event_type.clone(),
    }
}

/// `label: value` per fact, for tests that compare rendered facts.
#[cfg(test)]
pub(crate) fn fact_lines(facts: &[Fact]) -> Vec<String> {
    facts
        .iter()
        .map(|f| format!("{}: {}", f.label, f.value))
        .collect()
}

/// A fact with its label in `language`, labels given as (English, Chinese).
pub(crate) fn fact(language: Language, label: (&str, &str), value: String) -> Fact {
    Fact {
        label: language.pick(label).to_string(),
        value,
    }
}

/// Events without a dedicated renderer: the title of their type, then their data fields.
fn generic(envelope: &Envelope, language: Language) -> Notification {
    let (en, zh) = TITLES
        .iter()
        .find(|(t, _, _)| *t == envelope.event_type)
        .map(|(_, en, zh)| (en.to_string(), zh.to_string()))
        .unwrap_or_else(|| {
            (
                format!("Event {}", envelope.event_type),
                format!("事件 {}", envelope.event_type),
            )
        });
    let base = match language {
        Language::En => en,
        Language::Zh => zh,
    };
    let colon = match language {
        Language::En => ": ",
        Language::Zh => "：",
    };
    let title = format!("{base}{colon}{}", short_subject(&envelope.subject));

    let data = envelope.data.as_object();
    let currency = data.and_then(|d| d.get("currency")).and_then(Value::as_str);
    let mut facts = vec![Fact {
        label: match language {
            Language::En => "Subject",
            Language::Zh => "对象",
        }
        .to_string(),
        value: envelope.subject.clone(),
    }];
    let mut link = None;
    if let Some(data) = data {
        link = data_link(envelope);
        for (key, label_en, label_zh) in KNOWN_FIELDS {
            let Some(value) = data.get(*key) else {
                continue;
            };
            let text = if matches!(*key, "amount" | "forecast" | "budget" | "threshold") {
                money(value, currency)
            } else if *key == "percent" {
                scalar_text(value).map(|v| format!("{v}%"))
            } else {
                scalar_text(value)
            };
            if let Some(text) = text {
                let label = match language {
                    Language::En => label_en,
                    Language::Zh => label_zh,
                };
                facts.push(Fact {
                    label: label.to_string(),
                    value: text,
                });
            }
        }
        let mut others: Vec<(&String, &Value)> = data
            .iter()
            .filter(|(k, _)| {
                !KNOWN_FIELDS.iter().any(|(f, _, _)| f == k)
                    && !LINK_FIELDS.contains(&k.as_str())
                    && !HELPER_FIELDS.contains(&k.as_str())
            })
            .collect();
        others.sort_by(|a, b| a.0.cmp(b.0));
        for (key, value) in others {
            if let Some(text) = scalar_text(value) {
                facts.push(Fact {
                    label: key.replace('_', " "),
                    value: text,
                });
            }
        }
    }
    finish(envelope, language, title, facts, link)
}

/// `**label**:<separator>value` lines; labels are ours, values already made safe.
fn bold_labelled<'a>(items: impl Iterator<Item = (&'a String, String)>, separator: &str) -> String {
    items
        .map(|(label, value)| format!("**{label}**:{separator}{value}\n"))
        .collect()
}

impl Notification {
    /// Plain text: title, one `label: value` line per fact, the link. For SNS and e-mail.
    pub fn plain_text(&self) -> String {
        let mut out = format!("{}\n\n", self.title);
        for fact in &self.facts {
            out.push_str(&format!("{}: {}\n", fact.label, fact.value));
        }
        if let Some(link) = &self.link {
            out.push_str(&format!("{}: {link}\n", self.link_text));
        }
        if !self.commands.is_empty() {
            out.push('\n');
        }
        for command in &self.commands {
            out.push_str(&format!(
                "{}:\n{}\n",
                command.label,
                command.text(CommandFormat::Text)
            ));
        }
        out.push_str(&format!("\n{} · {}\n", self.event_type, self.event_id));
        out
    }

    /// Markdown body as the Chinese chat robots render it (DingTalk, WeCom, Feishu `lark_md`):
    /// bold labels, one fact per line, a `[text](url)` link, then the commands.
    pub fn markdown_body(&self) -> String {
        format!(
            "{}{}{}",
            self.markdown_facts(),
            self.markdown_link(),
            self.markdown_commands(false)
        )
    }

    /// The facts of [`Notification::markdown_body`].
    pub fn markdown_facts(&self) -> String {
        bold_labelled(
            self.facts
                .iter()
                .map(|f| (&f.label, escape::chat_markdown(&f.value))),
            " ",
        )
    }

    /// `[text](url)` and a line break, or nothing.
    pub fn markdown_link(&self) -> String {
        match &self.link {
            Some(link) => format!("[{}]({link})\n", self.link_text),
            None => String::new(),
        }
    }

    /// Each command under its bold label, on a line of its own, made inert by
    /// [`escape::inert_json`] rather than [`escape::chat_markdown`], whose full-width forms
    /// would change what a person copies. `code_span` for a format that documents inline code
    /// (WeCom); DingTalk and Feishu `lark_md` document none. A command holds no backtick, so
    /// it cannot end its span.
    pub fn markdown_commands(&self, code_span: bool) -> String {
        let fence = if code_span { "`" } else { "" };
        bold_labelled(
            self.commands.iter().map(|c| {
                let text = c.text(CommandFormat::ChatMarkdown);
                (&c.label, format!("{fence}{text}{fence}"))
            }),
            "\n",
        )
    }

    /// The title for a markdown heading (`### title`).
    pub fn markdown_title(&self) -> String {
        // The severity tag is ours; the rest may hold a file name.
        let tag = format!("[{}] ", severity_label(self.severity, self.language));
        match self.title.strip_prefix(&tag) {
            Some(rest) => format!("{tag}{}", escape::chat_markdown(rest)),
            None => escape::chat_markdown(&self.title),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(event_type: &str, severity: Severity, data: Value) -> Envelope {
        let mut e = Envelope::new(
            event_type,
            "test",
            "s3://media/videos/clip 1.mp4",
            severity,
            "",
            data,
        );
        e.time = "2026-11-25T12:00:00Z".into();
        e
    }

    #[test]
    fn flagged_media_in_english_and_chinese_shows_verdict_labels_and_link() {
        let e = event(
            types::MEDIA_FLAGGED,
            Severity::Critical,
            json!({"verdict": "reject", "labels": [{"name": "Violence", "confidence": 97.1}, {"name": "Weapons"}],
                   "link": "https://console.example.com/media/1", "etag": "abc"}),
        );
        let en = render(&e, Language::En, &BusinessTimeZone::utc());
        assert_eq!(en.title, "[Critical] Media flagged for review: clip 1.mp4");
        assert_eq!(
            en.plain_text(),
            "[Critical] Media flagged for review: clip 1.mp4\n\n\
             Subject: s3://media/videos/clip 1.mp4\nVerdict: reject\nLabels: Violence, Weapons\n\
             etag: abc\nTime: 2026-11-25T12:00:00Z\nOpen: https://console.example.com/media/1\n\n\
             media.flagged · "
                .to_string()
                + &e.id
                + "\n"
        );
        let zh = render(&e, Language::Zh, &BusinessTimeZone::utc());
        assert_eq!(zh.title, "[严重] 媒体内容需要审核：clip 1.mp4");
        assert_eq!(
            zh.markdown_body(),
            "**对象**: s3://media/videos/clip 1.mp4\n**结论**: reject\n**标签**: Violence, Weapons\n\
             **etag**: abc\n**时间**: 2026-11-25T12:00:00Z\n[查看](https://console.example.com/media/1)\n"
        );
    }

    #[test]
    fn cost_amounts_carry_the_currency() {
        let e = event(
            types::COST_THRESHOLD,
            Severity::Warning,
            json!({"amount": 812.5, "budget": 1000, "currency": "CNY", "percent": 81.25, "period": "2026-11"}),
        );
        let n = render(&e, Language::En, &BusinessTimeZone::utc());
        let facts: Vec<(String, String)> = n
            .facts
            .iter()
            .map(|f| (f.label.clone(), f.value.clone()))
            .collect();
        assert_eq!(
            facts[1..5],
            [
                ("Amount".to_string(), "812.50 CNY".to_string()),
                ("Budget".to_string(), "1000.00 CNY".to_string()),
                ("Share of budget".to_string(), "81.25%".to_string()),
                ("Period".to_string(), "2026-11".to_string()),
            ]
        );
        assert_eq!(n.link, None);
    }

    #[test]
    fn unknown_types_get_a_generic_title_and_non_web_links_are_not_links() {
        let e = event(
            "brand.new",
            Severity::Info,
            json!({"link": "s3://x/y", "nested": {"a": 1}}),
        );
        let n = render(&e, Language::Zh, &BusinessTimeZone::utc());
        assert_eq!(n.title, "[信息] 事件 brand.new：clip 1.mp4");
        assert_eq!(n.link, None);
        assert_eq!(n.facts.len(), 2, "subject and time only: {:?}", n.facts);
    }

    /// Every producer's contract fixture (`events/contracts/`) renders in both languages with
    /// a title that names neither a file nor an id; suite types get their typed renderer.
    #[test]
    fn every_contract_fixture_renders_without_file_names_or_ids_in_the_title() {
        for (event_type, envelope) in shared::testkit::contract::fixtures() {
            for language in [Language::En, Language::Zh] {
                let n = render(&envelope, language, &BusinessTimeZone::utc());
                assert!(!n.title.contains(&envelope.id), "{event_type}: {}", n.title);
                assert!(!n.title.contains(".json"), "{event_type}: {}", n.title);
                let typed = matches!(
                    event_type.as_str(),
                    "cost.threshold"
                        | "cost.action"
                        | "stats.digest"
                        | "alarm.state_changed"
                        | "media.reviewed"
                );
                if typed {
                    assert!(
                        !n.title.contains(&format!("Event {event_type}"))
                            && !n.title.contains(&format!("事件 {event_type}")),
                        "{event_type} fell back to the generic renderer: {}",
                        n.title
                    );
                }
                // A review request gets the review notice, not the generic flag.
                if envelope.data.get("review").is_some_and(|r| !r.is_null()) {
                    assert!(
                        n.title.contains("awaiting review") || n.title.contains("待人工审核"),
                        "{event_type} with a review aid: {}",
                        n.title
                    );
                }
            }
        }
    }
}
