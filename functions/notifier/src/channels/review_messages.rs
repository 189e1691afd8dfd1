//! What a moderator sees in each channel kind for the review samples
//! (`events/notifier/sqs-media-flagged-review.json`, `sqs-media-reviewed.json`), in Chinese and
//! English, with `SUITE_TIMEZONE=Asia/Shanghai`.

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;
use shared::events::Envelope;
use shared::testkit::StaticSecrets;
use shared::time::BusinessTimeZone;

use super::slack::SlackChannel;
use super::test_support::{self, attempt};
use crate::language::Language;
use crate::render::{render, Notification};
use crate::routing::FeishuFormat;

const FLAGGED: &str = include_str!("../../../../events/notifier/sqs-media-flagged-review.json");
const REVIEWED: &str = include_str!("../../../../events/notifier/sqs-media-reviewed.json");

fn envelope(sample: &str) -> Envelope {
    let event: SqsEvent = serde_json::from_str(sample).unwrap();
    crate::inbound::envelope_from_body(event.records[0].body.as_deref()).unwrap()
}

fn shanghai() -> BusinessTimeZone {
    BusinessTimeZone::parse("Asia/Shanghai").unwrap()
}

fn dingtalk(n: &Notification, e: &Envelope) -> String {
    let payload = test_support::dingtalk().payload(&attempt(e, n));
    payload["markdown"]["text"].as_str().unwrap().to_string()
}

fn wecom(n: &Notification, e: &Envelope) -> String {
    let payload = test_support::wecom().payload(&attempt(e, n));
    payload["markdown"]["content"].as_str().unwrap().to_string()
}

fn feishu(n: &Notification, e: &Envelope, format: FeishuFormat) -> Value {
    test_support::feishu(format).payload(&attempt(e, n))
}

const LINK: &str = "https://media-suite-prod-media.s3.cn-northwest-1.amazonaws.com.cn/covers/user-42/summer%5Fparty.jpg?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLEEXAMPLE%2F20261130%2Fcn-northwest-1%2Fs3%2Faws4%5Frequest&X-Amz-Date=20261130T120000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=8f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";

/// The command for `decision`, exactly as a moderator copies it.
fn command(decision: &str) -> String {
    format!(
        "aws lambda invoke --function-name media-suite-prod-ai-processor --cli-binary-format raw-in-base64-out --payload '{{\"review\":{{\"bucket\":\"media-suite-prod-media\",\"decision\":\"{decision}\",\"key\":\"covers/user-42/summer_party.jpg\",\"reviewer\":\"your-name\",\"version_id\":\"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY\"}}}}' /dev/stdout"
    )
}

/// SNS, e-mail, the generic webhook's `text` and Feishu `text` carry this plain text.
#[test]
fn a_review_request_in_plain_text_names_the_upload_labels_link_expiry_and_commands() {
    let e = envelope(FLAGGED);
    let en = render(&e, Language::En, &shanghai());
    assert_eq!(
        en.plain_text(),
        format!(
            "[Warning] Image awaiting review: Revealing Clothes 83.2 %\n\n\
             File: covers/user-42/summer_party.jpg\n\
             Labels: Revealing Clothes 83.2 %, Suggestive 71.5 %, Alcoholic Beverages 64.0 % and 1 more\n\
             Link valid until: 2026-12-01 20:00 Asia/Shanghai\n\
             Time: 2026-11-30T12:00:00Z\n\
             View the upload: {LINK}\n\n\
             Approve with:\n{}\nReject with:\n{}\n\n\
             media.flagged · a1c2d3e4f5a6b7c83f2a9c1e5b7d4e8f\n",
            command("approved"),
            command("rejected")
        )
    );
    let zh = render(&e, Language::Zh, &shanghai());
    assert_eq!(
        zh.plain_text(),
        format!(
            "[警告] 图片待人工审核：Revealing Clothes 83.2 %\n\n\
             文件: covers/user-42/summer_party.jpg\n\
             标签: Revealing Clothes 83.2 %，Suggestive 71.5 %，Alcoholic Beverages 64.0 % 等 4 个\n\
             链接有效期至: 2026-12-01 20:00 Asia/Shanghai\n\
             时间: 2026-11-30T12:00:00Z\n\
             查看文件: {LINK}\n\n\
             批准命令:\n{}\n拒绝命令:\n{}\n\n\
             media.flagged · a1c2d3e4f5a6b7c83f2a9c1e5b7d4e8f\n",
            command("approved"),
            command("rejected")
        )
    );
    let text = feishu(&zh, &e, FeishuFormat::Text);
    assert_eq!(text["content"]["text"], zh.plain_text());
}

#[test]
fn a_review_request_in_chat_markdown_keeps_the_commands_exact() {
    let e = envelope(FLAGGED);
    let zh = render(&e, Language::Zh, &shanghai());
    let body = format!(
        "**文件**: covers/user-42/summer_party.jpg\n\
         **标签**: Revealing Clothes 83.2 %，Suggestive 71.5 %，Alcoholic Beverages 64.0 % 等 4 个\n\
         **链接有效期至**: 2026-12-01 20:00 Asia/Shanghai\n\
         **时间**: 2026-11-30T12:00:00Z\n\
         [查看文件]({LINK})\n\
         **批准命令**:\n{}\n**拒绝命令**:\n{}\n",
        command("approved"),
        command("rejected")
    );
    assert_eq!(
        dingtalk(&zh, &e),
        format!("### [警告] 图片待人工审核：Revealing Clothes 83.2 %\n\n{body}")
    );
    // WeCom documents inline code: each command is one span.
    let wecom_body = body
        .replace(&command("approved"), &format!("`{}`", command("approved")))
        .replace(&command("rejected"), &format!("`{}`", command("rejected")));
    assert_eq!(
        wecom(&zh, &e),
        format!("### [警告] 图片待人工审核：Revealing Clothes 83.2 %\n{wecom_body}")
    );
    let card = feishu(&zh, &e, FeishuFormat::Card);
    assert_eq!(card["card"]["elements"][0]["text"]["content"], body);
    assert_eq!(card["card"]["elements"][1]["actions"][0]["url"], LINK);
    assert_eq!(
        card["card"]["elements"][1]["actions"][0]["text"]["content"],
        "查看文件"
    );
    assert_eq!(card["card"]["header"]["template"], "orange");
}

#[test]
fn a_review_request_in_slack_shows_each_command_in_a_code_block() {
    let e = envelope(FLAGGED);
    let en = render(&e, Language::En, &shanghai());
    let payload = SlackChannel::<StaticSecrets>::payload(&attempt(&e, &en));
    let blocks = payload["blocks"].as_array().unwrap();
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "[Warning] Image awaiting review: Revealing Clothes 83.2 %".to_string(),
            format!("<{}|View the upload>", LINK.replace('&', "&amp;")),
            format!("*Approve with*\n```{}```", command("approved")),
            format!("*Reject with*\n```{}```", command("rejected")),
        ]
    );
    assert_eq!(
        blocks[1]["fields"][2]["text"],
        "*Link valid until*\n2026-12-01 20:00 Asia/Shanghai"
    );
}

#[test]
fn without_a_business_time_zone_the_expiry_is_in_utc() {
    let e = envelope(FLAGGED);
    let n = render(&e, Language::En, &BusinessTimeZone::utc());
    assert!(n
        .plain_text()
        .contains("Link valid until: 2026-12-01 12:00 UTC\n"));
}

fn with_data(sample: &str, change: impl FnOnce(&mut Value)) -> Envelope {
    let mut e = envelope(sample);
    change(&mut e.data);
    e
}

#[test]
fn a_flag_without_review_aid_reads_as_before() {
    // A producer that predates review aids, and `rejected` verdicts, which carry none.
    let e = with_data(FLAGGED, |d| {
        d.as_object_mut().unwrap().remove("review");
    });
    let n = render(&e, Language::En, &shanghai());
    assert_eq!(
        n.title,
        "[Warning] Media flagged for review: summer_party.jpg"
    );
    assert!(n.commands.is_empty());
    assert_eq!(n.link_text, "Open");
    let text = n.plain_text();
    assert!(text.contains("Verdict: review\n"), "{text}");
    assert!(!text.contains("aws lambda invoke"), "{text}");
}

#[test]
fn without_a_link_the_message_says_so_and_keeps_the_commands() {
    let e = with_data(FLAGGED, |d| {
        d["review"]["link"] = Value::Null;
        d["review"]["link_expires_at"] = Value::Null;
    });
    let n = render(&e, Language::Zh, &shanghai());
    assert_eq!(n.link, None);
    assert!(n.plain_text().contains("链接: 未能生成\n"));
    assert_eq!(n.commands.len(), 2);
    // A link that is no web link is not shown, and neither is its expiry.
    let e = with_data(FLAGGED, |d| {
        d["review"]["link"] = Value::from("javascript:alert(1)");
    });
    let n = render(&e, Language::En, &shanghai());
    assert_eq!(n.link, None);
    let text = n.plain_text();
    assert!(text.contains("Link: not shown: not a web link\n"), "{text}");
    assert!(!text.contains("valid until"), "{text}");
}

#[test]
fn unusable_decision_inputs_show_no_command_and_say_why() {
    let cases: [(&str, Value, &str, &str); 3] = [
        (
            "function_name",
            Value::from("x; rm -rf ~"),
            "Decision command: not shown: the function name is not a Lambda function name; send the decision input from the Lambda console instead\n",
            "决定命令: 未显示：函数名不是有效的 Lambda 函数名；请在 Lambda 控制台发送决定输入\n",
        ),
        (
            "reject_input",
            Value::from("{\"review\": "),
            "Decision command: not shown: the decision input is not a JSON object;",
            "决定命令: 未显示：决定输入不是 JSON 对象；",
        ),
        (
            "approve_input",
            Value::from(
                serde_json::json!({"review": {"key": "k".repeat(2000)}}).to_string(),
            ),
            "Decision command: not shown: it would be 2147 bytes long, at most 1000 are shown;",
            "决定命令: 未显示：命令长 2147 字节，超过可显示的 1000 字节；",
        ),
    ];
    for (field, value, en, zh) in cases {
        let e = with_data(FLAGGED, |d| d["review"][field] = value);
        for (language, expected) in [(Language::En, en), (Language::Zh, zh)] {
            let n = render(&e, language, &shanghai());
            assert!(n.commands.is_empty(), "{field}");
            let text = n.plain_text();
            assert!(text.contains(expected), "{field}: {text}");
            assert!(!text.contains("aws lambda invoke"), "{field}");
        }
    }
}

#[test]
fn wecom_cuts_long_facts_but_never_a_command() {
    let e = with_data(FLAGGED, |d| {
        let labels: Vec<Value> = (0..12)
            .map(|i| serde_json::json!({"name": format!("{i}{}", "长".repeat(290)), "category": "c", "confidence": 50.0, "verdict": "review"}))
            .collect();
        d["labels"] = Value::from(labels);
        d["key"] = Value::from(format!("covers/{}.jpg", "名".repeat(290)));
    });
    let n = render(&e, Language::Zh, &shanghai());
    let content = wecom(&n, &e);
    assert!(content.len() <= 4096, "{}", content.len());
    for c in &n.commands {
        let line = c.text(crate::escape::CommandFormat::ChatMarkdown);
        assert!(content.contains(&format!("`{line}`\n")), "{content}");
    }
}

/// `media.reviewed`: who decided what after how long, in every format.
#[test]
fn a_decision_reads_as_who_decided_what_after_how_long() {
    let e = envelope(REVIEWED);
    let en = render(&e, Language::En, &shanghai());
    assert_eq!(
        en.plain_text(),
        "[Info] Approved by alice after 2 h 5 min: covers/user-42/summer_party.jpg\n\n\
         Decision: approved, changed from rejected\n\
         Reviewer: alice\n\
         Reason: beach party, nothing explicit\n\
         Upload to decision: 2 h 5 min\n\
         File: covers/user-42/summer_party.jpg\n\
         Time: 2026-11-30T14:05:00Z\n\n\
         media.reviewed · b7d4e8fa1c2d3e4f5a6b7c83f2a9c1e5\n"
    );
    let zh = render(&e, Language::Zh, &shanghai());
    assert_eq!(
        dingtalk(&zh, &e),
        "### [信息] alice 已批准（上传后 2 小时 5 分钟）：covers/user-42/summer_party.jpg\n\n\
         **决定**: 批准（由拒绝改判）\n\
         **审核人**: alice\n\
         **原因**: beach party, nothing explicit\n\
         **上传到决定用时**: 2 小时 5 分钟\n\
         **文件**: covers/user-42/summer_party.jpg\n\
         **时间**: 2026-11-30T14:05:00Z\n"
    );
    let slack = SlackChannel::<StaticSecrets>::payload(&attempt(&e, &en));
    assert_eq!(
        slack["blocks"][1]["fields"][0]["text"],
        "*Decision*\napproved, changed from rejected"
    );
}

#[test]
fn a_first_decision_without_reason_or_upload_time_is_short() {
    let e = with_data(REVIEWED, |d| {
        d["decision"] = Value::from("rejected");
        d["changed"] = Value::from(false);
        d["previous_verdict"] = Value::from("review");
        d["reason"] = Value::Null;
        d["wait_ms"] = Value::Null;
        d["uploaded_at"] = Value::Null;
    });
    let en = render(&e, Language::En, &shanghai());
    assert_eq!(
        en.title,
        "[Info] Rejected by alice: covers/user-42/summer_party.jpg"
    );
    let labels: Vec<&str> = en.facts.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["Decision", "Reviewer", "File", "Time"]);
    assert_eq!(en.facts[0].value, "rejected");
    let zh = render(&e, Language::Zh, &shanghai());
    assert_eq!(
        zh.title,
        "[信息] alice 已拒绝：covers/user-42/summer_party.jpg"
    );
    assert_eq!(zh.facts[0].value, "拒绝");
}
