//! Each chat / webhook service played by a local HTTP server that checks the payload and
//! signature the real service expects and answers with its real success and error shapes.

mod support;

use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use support::stub_servers::{HttpStub, Reply};
use support::*;

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rules(channel: Value) -> Value {
    json!({"channels": {"target": channel}, "rules": [{"types": ["*"], "channels": ["target"]}]})
}

/// Runs one invocation of the function with one record; returns the failed message ids.
async fn run_once(
    local: &Local,
    rules: &Value,
    secret: String,
    body: &Value,
    vars: &[(&str, &str)],
) -> Vec<String> {
    let app = app(
        local,
        settings(rules, &local.bucket, vars),
        secrets(&[("hook", secret)]),
    )
    .await;
    let response = app
        .handle(invocation(
            sqs_event(&[body.to_string()]),
            Duration::from_secs(20),
        ))
        .await
        .unwrap();
    failed_ids(&response)
}

#[tokio::test]
async fn dingtalk_gets_a_signed_markdown_message_that_mentions_mobiles_when_critical() {
    let local = local().await;
    let stub = HttpStub::start(|_, _| Reply::ok(r#"{"errcode":0,"errmsg":"ok"}"#)).await;
    let secret = json!({"url": stub.url("/robot/send?access_token=abc123"), "secret": "SECtest"})
        .to_string();
    let rules = rules(
        json!({"kind": "dingtalk", "secret_id": "hook", "language": "zh", "at_mobiles": ["13800000000"]}),
    );
    let event = envelope(
        "media.flagged",
        "critical",
        json!({"verdict": "reject", "link": "https://console.example.com/m/1"}),
    );

    assert!(run_once(&local, &rules, secret, &event, &[])
        .await
        .is_empty());

    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert!(
        r.target
            .starts_with("/robot/send?access_token=abc123&timestamp="),
        "{}",
        r.target
    );
    let timestamp = r.query_param("timestamp").unwrap();
    let now_ms = shared::time::now_utc().unix_timestamp() * 1000;
    assert!(
        (now_ms - timestamp.parse::<i64>().unwrap()).abs() < 60_000,
        "timestamp in ms"
    );
    let expected = b64(&hmac_sha256(
        b"SECtest",
        format!("{timestamp}\nSECtest").as_bytes(),
    ));
    assert_eq!(
        urlencoding::decode(&r.query_param("sign").unwrap()).unwrap(),
        expected
    );
    let body = r.json();
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(
        body["markdown"]["title"],
        "[严重] 媒体内容需要审核：clip.mp4"
    );
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(text.starts_with("### [严重] 媒体内容需要审核：clip.mp4\n\n**对象**: s3://media-bucket/videos/clip.mp4\n**结论**: reject\n"), "{text}");
    assert!(
        text.contains("[查看](https://console.example.com/m/1)"),
        "{text}"
    );
    assert!(text.ends_with("@13800000000"), "{text}");
    assert_eq!(
        body["at"],
        json!({"atMobiles": ["13800000000"], "isAtAll": false})
    );
}

#[tokio::test]
async fn dingtalk_errors_in_a_200_body_are_classified_by_errcode() {
    let local = local().await;
    // A bad signature is permanent: one attempt, the record goes to the dead-letter path.
    let stub = HttpStub::start(|_, _| {
        Reply::ok(r#"{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}"#)
    })
    .await;
    let secret =
        json!({"url": stub.url("/robot/send?access_token=abc"), "secret": "SECx"}).to_string();
    let rules = rules(json!({"kind": "dingtalk", "secret_id": "hook"}));
    let event = envelope("media.failed", "warning", json!({"error": "codec"}));
    // Without a DLQ URL the poison record is reported and the redrive policy moves it.
    assert_eq!(
        run_once(&local, &rules, secret, &event, &[]).await,
        vec!["m0"]
    );
    assert_eq!(stub.requests().len(), 1, "a permanent error is not retried");

    // "send too fast" is retried after a pause, then delivered.
    let stub = HttpStub::start(|_, i| match i {
        0 => {
            Reply::ok(r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#)
        }
        _ => Reply::ok(r#"{"errcode":0,"errmsg":"ok"}"#),
    })
    .await;
    let secret = stub.url("/robot/send?access_token=abc");
    let started = Instant::now();
    assert!(run_once(&local, &rules, secret, &event, &[])
        .await
        .is_empty());
    assert_eq!(stub.requests().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "waited before retrying a rate-limit code"
    );
}

#[tokio::test]
async fn wecom_gets_markdown_with_mentions_and_its_errcodes_are_honoured() {
    let local = local().await;
    let stub = HttpStub::start(|_, i| match i {
        0 => Reply::ok(r#"{"errcode":-1,"errmsg":"system busy"}"#),
        _ => Reply::ok(r#"{"errcode":0,"errmsg":"ok"}"#),
    })
    .await;
    let rules = rules(
        json!({"kind": "wecom", "secret_id": "hook", "language": "en", "mention_user_ids": ["zhangsan"]}),
    );
    let event = envelope(
        "cost.threshold",
        "critical",
        json!({"amount": 1234.5, "budget": 1000, "currency": "CNY"}),
    );
    assert!(run_once(
        &local,
        &rules,
        stub.url("/cgi-bin/webhook/send?key=k1"),
        &event,
        &[]
    )
    .await
    .is_empty());
    let requests = stub.requests();
    assert_eq!(requests.len(), 2, "system busy is retried");
    assert_eq!(requests[1].target, "/cgi-bin/webhook/send?key=k1");
    let body = requests[1].json();
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(
        body["markdown"]["content"],
        "### [Critical] Cost threshold reached: clip.mp4\n**Subject**: s3://media-bucket/videos/clip.mp4\n\
         **Amount**: 1234.50 CNY\n**Budget**: 1000.00 CNY\n**Time**: 2026-11-25T12:00:00Z\n<@zhangsan>"
    );

    let stub = HttpStub::start(|_, _| {
        Reply::ok(r#"{"errcode":93000,"errmsg":"invalid webhook url, hint: [1700000000_1_abc]"}"#)
    })
    .await;
    let event = envelope("cost.threshold", "critical", json!({}));
    assert_eq!(
        run_once(
            &local,
            &rules,
            stub.url("/cgi-bin/webhook/send?key=gone"),
            &event,
            &[]
        )
        .await,
        vec!["m0"]
    );
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn feishu_gets_a_signed_interactive_card_and_a_bad_signature_is_permanent() {
    let local = local().await;
    let stub = HttpStub::start(|r, _| {
        // Verify as Feishu does: HMAC keyed with "timestamp\nsecret" over nothing.
        let body = r.json();
        let timestamp = body["timestamp"].as_str().unwrap_or_default().to_string();
        let expected = b64(&hmac_sha256(format!("{timestamp}\nfeishu-secret").as_bytes(), b""));
        if body["sign"] == expected {
            Reply::ok(r#"{"code":0,"data":{},"msg":"success"}"#)
        } else {
            Reply::ok(r#"{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}"#)
        }
    })
    .await;
    let rules = rules(json!({"kind": "feishu", "secret_id": "hook", "language": "zh"}));
    let event = envelope(
        "transcript.ready",
        "info",
        json!({"language_code": "zh-CN", "link": "https://console.example.com/t/1"}),
    );
    let good = json!({"url": stub.url("/open-apis/bot/v2/hook/h1"), "secret": "feishu-secret"})
        .to_string();
    assert!(run_once(&local, &rules, good, &event, &[]).await.is_empty());
    let body = stub.requests()[0].json();
    assert_eq!(body["msg_type"], "interactive");
    let now = shared::time::now_utc().unix_timestamp();
    assert!(
        (now - body["timestamp"].as_str().unwrap().parse::<i64>().unwrap()).abs() < 60,
        "timestamp in seconds"
    );
    let card = &body["card"];
    assert_eq!(
        card["header"]["title"],
        json!({"tag": "plain_text", "content": "[信息] 转写已完成：clip.mp4"})
    );
    assert_eq!(card["header"]["template"], "blue");
    assert_eq!(card["elements"][0]["tag"], "div");
    assert_eq!(card["elements"][0]["text"]["tag"], "lark_md");
    assert!(card["elements"][0]["text"]["content"]
        .as_str()
        .unwrap()
        .contains("**语言**: zh-CN"));
    assert_eq!(
        card["elements"][1]["actions"][0]["url"],
        "https://console.example.com/t/1"
    );

    let wrong = json!({"url": stub.url("/open-apis/bot/v2/hook/h1"), "secret": "not-the-secret"})
        .to_string();
    let event = envelope("transcript.ready", "info", json!({}));
    assert_eq!(
        run_once(&local, &rules, wrong, &event, &[]).await,
        vec!["m0"]
    );
    assert_eq!(
        stub.requests().len(),
        2,
        "the rejected signature is not retried"
    );
}

#[tokio::test]
async fn feishu_text_format_sends_plain_text() {
    let local = local().await;
    let stub =
        HttpStub::start(|_, _| Reply::ok(r#"{"StatusCode":0,"StatusMessage":"success"}"#)).await;
    let rules = rules(json!({"kind": "lark", "secret_id": "hook", "format": "text"}));
    let event = envelope(
        "media.skipped",
        "warning",
        json!({"reason": "unsupported format"}),
    );
    assert!(run_once(
        &local,
        &rules,
        stub.url("/open-apis/bot/v2/hook/h2"),
        &event,
        &[]
    )
    .await
    .is_empty());
    let body = stub.requests()[0].json();
    assert_eq!(body["msg_type"], "text");
    assert!(body.get("sign").is_none());
    let text = body["content"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("[Warning] Media skipped: clip.mp4\n\n")
            && text.contains("Reason: unsupported format\n"),
        "{text}"
    );
}

#[tokio::test]
async fn slack_gets_blocks_and_429_with_retry_after_is_honoured() {
    let local = local().await;
    let stub = HttpStub::start(|_, i| match i {
        0 => Reply::new(429, "rate_limited").header("Retry-After", "1"),
        _ => Reply::ok("ok"),
    })
    .await;
    let rules = rules(json!({"kind": "slack", "secret_id": "hook"}));
    let event = envelope(
        "media.flagged",
        "warning",
        json!({"verdict": "review", "labels": ["Suggestive"], "link": "https://console.example.com/m/<2>"}),
    );
    let started = Instant::now();
    assert!(run_once(
        &local,
        &rules,
        stub.url("/services/T000/B000/XXXX"),
        &event,
        &[]
    )
    .await
    .is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    let body = requests[1].json();
    assert_eq!(body["text"], "[Warning] Media flagged for review: clip.mp4");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0],
        json!({"type": "header", "text": {"type": "plain_text", "text": "[Warning] Media flagged for review: clip.mp4", "emoji": true}})
    );
    assert_eq!(blocks[1]["type"], "section");
    assert_eq!(
        blocks[1]["fields"][1],
        json!({"type": "mrkdwn", "text": "*Verdict*\nreview"})
    );
    assert_eq!(
        blocks[2]["text"]["text"],
        // The link is a parsed URL whose `<` and `>` are percent-encoded (issue 18.5).
        "<https://console.example.com/m/%3C2%3E|Open>"
    );
    assert_eq!(blocks[3]["type"], "context");
}

#[tokio::test]
async fn slack_errors_4xx_are_permanent_and_5xx_are_retried() {
    let local = local().await;
    let rules = rules(json!({"kind": "slack", "secret_id": "hook"}));
    let event = envelope("media.failed", "critical", json!({}));
    let gone = HttpStub::start(|_, _| Reply::new(404, "no_service")).await;
    assert_eq!(
        run_once(&local, &rules, gone.url("/services/T/B/X"), &event, &[]).await,
        vec!["m0"]
    );
    assert_eq!(gone.requests().len(), 1);

    let flaky = HttpStub::start(|_, i| {
        if i < 2 {
            Reply::new(503, "")
        } else {
            Reply::ok("ok")
        }
    })
    .await;
    let event = envelope("media.failed", "critical", json!({}));
    assert!(
        run_once(&local, &rules, flaky.url("/services/T/B/X"), &event, &[])
            .await
            .is_empty()
    );
    assert_eq!(flaky.requests().len(), 3);
}

#[tokio::test]
async fn generic_webhook_is_signed_over_timestamp_and_body() {
    let local = local().await;
    let stub = HttpStub::start(|_, _| Reply::new(204, "")).await;
    let rules = rules(json!({"kind": "webhook", "secret_id": "hook"}));
    let event = envelope(
        "cost.action",
        "critical",
        json!({"action": "pause", "target": "transcoder"}),
    );
    let secret = json!({"url": stub.url("/hooks/media"), "secret": "whsec-1"}).to_string();
    assert!(run_once(&local, &rules, secret, &event, &[])
        .await
        .is_empty());
    let r = &stub.requests()[0];
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let timestamp = r.header("x-signature-timestamp").unwrap();
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(&r.body);
    assert_eq!(
        r.header("x-signature-256").unwrap(),
        format!("sha256={}", hex::encode(hmac_sha256(b"whsec-1", &signed)))
    );
    assert_eq!(r.header("x-event-id"), event["id"].as_str());
    assert_eq!(
        r.header("idempotency-key").unwrap(),
        format!("{}/target", event["id"].as_str().unwrap())
    );
    let body = r.json();
    assert_eq!(body["event"], event);
    assert_eq!(
        body["notification"]["title"],
        "[Critical] Cost control action: clip.mp4"
    );
    assert_eq!(body["notification"]["language"], "en");
}

#[tokio::test]
async fn a_webhook_that_hangs_times_out_and_the_record_is_retried_later() {
    let local = local().await;
    let stub = HttpStub::start(|_, _| Reply::ok("{}").after(Duration::from_secs(5))).await;
    let rules = rules(json!({"kind": "webhook", "secret_id": "hook"}));
    let event = envelope("media.failed", "critical", json!({}));
    let started = Instant::now();
    let failed = run_once(
        &local,
        &rules,
        stub.url("/slow"),
        &event,
        &[
            ("NOTIFIER_HTTP_TIMEOUT_MS", "300"),
            ("NOTIFIER_MAX_ATTEMPTS", "2"),
        ],
    )
    .await;
    assert_eq!(failed, vec!["m0"]);
    assert_eq!(stub.requests().len(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_plain_http_url_to_a_remote_host_is_refused_without_sending() {
    let local = local().await;
    let rules = rules(json!({"kind": "webhook", "secret_id": "hook"}));
    let event = envelope("media.failed", "critical", json!({}));
    let failed = run_once(
        &local,
        &rules,
        "http://hooks.example.com/t0ken".into(),
        &event,
        &[],
    )
    .await;
    assert_eq!(
        failed,
        vec!["m0"],
        "permanent: reported for the redrive policy"
    );
}

#[tokio::test]
async fn a_webhook_answer_is_read_up_to_its_cap_only() {
    let huge = "x".repeat(4 * 1024 * 1024);
    let stub = HttpStub::start(move |_, _| Reply::new(500, &huge)).await;
    let client = notifier::channels::http_client(Duration::from_secs(5)).unwrap();
    let response = client.post(stub.url("/h")).send().await.unwrap();
    let body = notifier::channels::http::read_capped(response)
        .await
        .unwrap();
    assert_eq!(body.len(), notifier::channels::http::MAX_REPLY_BYTES);
}
