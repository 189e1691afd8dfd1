//! Hostile file names and labels through every channel's payload: links, mentions, HTML,
//! control characters and 1,000-character names come out as inert text.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use shared::events::{Envelope, Severity};
use shared::testkit::StaticSecrets;

use super::dingtalk::DingTalkChannel;
use super::email::EmailChannel;
use super::feishu::FeishuChannel;
use super::slack::SlackChannel;
use super::wecom::WeComChannel;
use crate::language::Language;
use crate::ports::Attempt;
use crate::render::{render, Notification};
use crate::routing::{DingTalkSpec, EmailSpec, FeishuFormat, FeishuSpec, SmtpSecurity, WeComSpec};

/// File names (S3 keys) an uploader chooses.
const HOSTILE_NAMES: &[&str] = &[
    "[click me](https://evil.example/phish).mp4",
    "![img](https://evil.example/x.png).mp4",
    "<@all> <@zhangsan>.mp4",
    "<at user_id=\"all\">everyone</at>.mp4",
    "<!channel> <!here> <https://evil.example|bank>.mp4",
    "<script>alert(1)</script><img src=x onerror=alert(1)>.mp4",
    "<font color=\"warning\">urgent</font>.mp4",
    "**bold** _it_ `code` # heading ~~gone~~ | table |.mp4",
    "@13800000000 @all.mp4",
    "back\\slash\\[not a link\\](x).mp4",
];

fn hostile_events(language: Language) -> Vec<(String, Notification, Envelope)> {
    let mut names: Vec<String> = HOSTILE_NAMES.iter().map(|s| s.to_string()).collect();
    names.push(format!("{}.mp4", "长".repeat(1000)));
    names
        .into_iter()
        .map(|name| {
            let envelope = Envelope::new(
                "media.flagged",
                "ai-processor",
                &format!("s3://media/uploads/{name}"),
                Severity::Critical,
                "",
                json!({
                    "verdict": "review",
                    "labels": [format!("line\nbreak {name}"), "tab\there"],
                    "reason": format!("{name}\r\n**Verdict**: approve"),
                    "link": "https://console.example.com/m/1)[evil](https://evil.example"
                }),
            );
            let n = render(&envelope, language, &shared::time::BusinessTimeZone::utc());
            (name, n, envelope)
        })
        .collect()
}

fn attempt<'a>(envelope: &'a Envelope, n: &'a Notification) -> Attempt<'a> {
    Attempt {
        envelope,
        notification: n,
        timeout: Duration::from_secs(1),
        idempotency_key: "k",
        now: time::OffsetDateTime::UNIX_EPOCH,
    }
}

fn secrets() -> Arc<StaticSecrets> {
    Arc::new(StaticSecrets::default())
}

/// No markdown link or image, no mention, no HTML tag, no emphasis, no heading in the text
/// outside what the channel itself wrote.
fn assert_inert_markdown(text: &str, name: &str) {
    for forbidden in [
        "](https://evil",
        "![",
        "<@",
        "<at",
        "<script",
        "<img",
        "<font",
        "<!channel",
        "**bold**",
        "`code`",
        "~~",
        "@all",
        "@13800000000",
        "\n# ",
        "**Verdict**: approve",
    ] {
        assert!(
            !text.contains(forbidden),
            "{forbidden:?} survived for {name:?}:\n{text}"
        );
    }
    for line in text.lines() {
        assert!(
            line.chars().count() <= 400,
            "a line of {} characters for {name:?}",
            line.chars().count()
        );
    }
}

#[test]
fn dingtalk_markdown_is_inert() {
    let channel = DingTalkChannel::new(
        DingTalkSpec {
            secret_id: "s".into(),
            at_mobiles: vec![],
            at_all_on_critical: false,
        },
        secrets(),
        super::http_client(Duration::from_secs(1)).unwrap(),
    );
    for language in [Language::Zh, Language::En] {
        for (name, n, e) in hostile_events(language) {
            let payload = channel.payload(&attempt(&e, &n));
            assert_inert_markdown(payload["markdown"]["text"].as_str().unwrap(), &name);
            assert_eq!(payload["at"]["isAtAll"], false);
            assert_eq!(payload["at"]["atMobiles"], json!([]));
        }
    }
}

#[test]
fn wecom_markdown_is_inert() {
    let channel = WeComChannel::new(
        WeComSpec {
            secret_id: "s".into(),
            mention_user_ids: vec![],
        },
        secrets(),
        super::http_client(Duration::from_secs(1)).unwrap(),
    );
    for (name, n, e) in hostile_events(Language::Zh) {
        let payload = channel.payload(&attempt(&e, &n));
        assert_inert_markdown(payload["markdown"]["content"].as_str().unwrap(), &name);
    }
}

#[test]
fn feishu_card_and_text_are_inert() {
    for format in [FeishuFormat::Card, FeishuFormat::Text] {
        let channel = FeishuChannel::new(
            FeishuSpec {
                secret_id: "s".into(),
                format,
            },
            secrets(),
            super::http_client(Duration::from_secs(1)).unwrap(),
        );
        for (name, n, e) in hostile_events(Language::Zh) {
            let payload = channel.payload(&attempt(&e, &n));
            match format {
                FeishuFormat::Card => {
                    let card = &payload["card"];
                    let md = card["elements"][0]["text"]["content"].as_str().unwrap();
                    assert_inert_markdown(md, &name);
                    assert_eq!(card["header"]["title"]["tag"], "plain_text");
                    // The button's URL is a parsed https URL that cannot leave its field.
                    let url = card["elements"][1]["actions"][0]["url"].as_str().unwrap();
                    assert!(url.starts_with("https://console.example.com/") && !url.contains(')'));
                }
                FeishuFormat::Text => {
                    let text = payload["content"]["text"].as_str().unwrap();
                    assert!(
                        !text.contains("<at") && !text.contains('<'),
                        "{name:?}: {text}"
                    );
                    assert!(!text.contains("\n**Verdict**: approve"), "{text}");
                }
            }
        }
    }
}

fn slack_texts(payload: &Value) -> Vec<String> {
    let mut out = vec![payload["text"].as_str().unwrap().to_string()];
    for block in payload["blocks"].as_array().unwrap() {
        if let Some(fields) = block["fields"].as_array() {
            out.extend(
                fields
                    .iter()
                    .map(|f| f["text"].as_str().unwrap().to_string()),
            );
        }
        // The header is `plain_text`, which Slack never interprets.
        if block["text"]["type"] == "mrkdwn" {
            out.push(block["text"]["text"].as_str().unwrap().to_string());
        }
        if let Some(elements) = block["elements"].as_array() {
            out.extend(
                elements
                    .iter()
                    .filter_map(|e| e["text"].as_str().map(str::to_string)),
            );
        }
    }
    out
}

#[test]
fn slack_blocks_and_fallback_text_are_inert() {
    for (name, n, e) in hostile_events(Language::En) {
        let payload = SlackChannel::<StaticSecrets>::payload(&attempt(&e, &n));
        for text in slack_texts(&payload) {
            // Slack reads links and mentions only between < and >; our own link is the one
            // `<https://console.example.com/...|Open>`.
            let outside_own_link = text.replace(
                &format!("<{}|Open>", n.link.as_deref().unwrap_or_default()),
                "",
            );
            assert!(
                !outside_own_link.contains('<') && !outside_own_link.contains('>'),
                "{name:?}: {text}"
            );
            assert!(text.chars().count() <= 2000, "{name:?}");
        }
        let header = payload["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(header.chars().count() <= 150);
    }
}

#[test]
fn plain_text_channels_get_one_line_per_fact_and_bounded_subjects() {
    let email = EmailChannel::new(
        EmailSpec {
            smtp_host: "127.0.0.1".into(),
            smtp_port: None,
            security: SmtpSecurity::None,
            secret_id: None,
            from: "bot@example.com".into(),
            to: vec!["ops@example.com".into()],
        },
        secrets(),
    );
    for (name, n, e) in hostile_events(Language::En) {
        // A forged fact line needs a line break inside a value.
        let text = n.plain_text();
        assert!(!text.contains("\n**Verdict**: approve"), "{name:?}");
        assert!(text.lines().all(|l| l.chars().count() <= 400), "{name:?}");
        let subject = crate::adapters::sns::subject(&n.title);
        assert!(subject.chars().count() < 100 && !subject.contains('\n'));
        let mail = email.message_for_test(&attempt(&e, &n));
        let headers = String::from_utf8_lossy(&mail);
        let header_end = headers.find("\r\n\r\n").unwrap();
        assert!(
            !headers[..header_end].contains("\r\n**Verdict"),
            "{name:?}: a header line was forged"
        );
    }
}
