//! Every sample in `events/notifier` and `events/invalid/notifier`, invoked through the handler.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use notifier::inbound::envelope_from_body;
use serde_json::json;
use support::stub_servers::{HttpStub, Reply};
use support::*;

fn samples(dir: &str) -> Vec<(PathBuf, SqsEvent)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no samples in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let event: SqsEvent =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, event)
        })
        .collect()
}

fn suite_rules() -> serde_json::Value {
    json!({
        "channels": {"hook": {"kind": "webhook", "secret_id": "hook"}},
        "rules": [{"types": ["media.*", "transcript.*", "cost.*", "stats.*", "alarm.*"], "channels": ["hook"]}]
    })
}

#[tokio::test]
async fn every_valid_sample_is_delivered_and_unknown_types_are_skipped() {
    for (path, event) in samples("notifier") {
        let local = local().await;
        let hook = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
        let app = app(
            &local,
            settings(&suite_rules(), &local.bucket, &[]),
            secrets(&[("hook", hook.url("/h"))]),
        )
        .await;
        let bodies: Vec<String> = event
            .records
            .iter()
            .map(|r| r.body.clone().unwrap())
            .collect();
        let response = app
            .handle(invocation(event, Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(
            failed_ids(&response).is_empty(),
            "{}: {:?}",
            path.display(),
            response
        );
        let delivered: Vec<String> = hook
            .requests()
            .iter()
            .map(|r| r.json()["event"]["id"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = bodies
            .iter()
            .map(|b| notifier::inbound::envelope_from_body(Some(b)).unwrap())
            .filter(|e| {
                ["media.", "transcript.", "cost.", "stats.", "alarm."]
                    .iter()
                    .any(|p| e.event_type.starts_with(p))
            })
            .map(|e| e.id)
            .collect();
        let mut got = delivered.clone();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want, "{}", path.display());
    }
}

/// The logs of every test in this file. Global, not per thread: a thread-local subscriber
/// misses events whose call sites another test thread registered first.
fn global_log_capture() -> &'static LogCapture {
    static CAPTURE: std::sync::OnceLock<LogCapture> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = LogCapture::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(capture.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        capture
    })
}

/// Bad input too big to commit: (message id, body).
fn generated_huge_bodies() -> Vec<(String, String)> {
    let big = "x".repeat(250_000);
    let huge_envelope = json!({
        "version": 1, "id": "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", "type": "media.flagged",
        "source": "ai-processor", "time": "2026-11-25T12:00:00Z",
        "subject": "s3://media-suite-media/videos/a.mp4", "severity": "critical",
        "data": {"error": big.clone()}
    })
    .to_string();
    vec![
        ("generated-250kb-non-json-body".into(), big),
        (
            "generated-250kb-envelope-truncated".into(),
            huge_envelope[..250_000].to_string(),
        ),
    ]
}

/// Every file in `events/invalid/notifier` (and the generated huge bodies) goes through the
/// real handler: none is reported for redelivery (no retry loop), none reaches a channel, and
/// each ends either in the dead-letter queue with its reason or, for `*-skipped.json`, as a
/// logged skip.
#[tokio::test]
async fn every_invalid_sample_gets_a_dead_letter_reason_or_a_logged_skip() {
    let capture = global_log_capture();
    let local = local().await;
    let hook = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    let (dlq, _) = shared::testkit::create_queue(&local.sqs, "notifier-dlq").await;
    let app = app(
        &local,
        settings(
            &suite_rules(),
            &local.bucket,
            &[("DEAD_LETTER_QUEUE_URL", &dlq)],
        ),
        secrets(&[("hook", hook.url("/h"))]),
    )
    .await;

    let mut cases: Vec<(String, SqsEvent)> = samples("invalid/notifier")
        .into_iter()
        .map(|(p, e)| (p.file_name().unwrap().to_string_lossy().into_owned(), e))
        .collect();
    assert!(cases.len() >= 20, "only {} invalid samples", cases.len());
    for (id, body) in generated_huge_bodies() {
        let mut event = SqsEvent::default();
        event.records = vec![message(&id, &body)];
        cases.push((format!("{id} ({} bytes)", body.len()), event));
    }

    let mut expected_dead: Vec<String> = Vec::new();
    for (name, event) in &cases {
        let ids: Vec<String> = event
            .records
            .iter()
            .map(|r| r.message_id.clone().unwrap())
            .collect();
        let response = app
            .handle(invocation(event.clone(), Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(
            failed_ids(&response).is_empty(),
            "{name}: reported for redelivery"
        );
        if name.ends_with("-skipped.json") {
            let logs = capture.text();
            for record in &event.records {
                let id = envelope_from_body(record.body.as_deref()).unwrap().id;
                assert!(
                    logs.lines()
                        .any(|l| l.contains("no routing rule matches; event skipped")
                            && l.contains(&id)),
                    "{name}: no skip logged for event {id}"
                );
            }
        } else {
            expected_dead.extend(ids);
        }
    }
    assert!(hook.requests().is_empty(), "bad input reached a channel");

    let dead = shared::testkit::receive_all(&local.sqs, &dlq, expected_dead.len()).await;
    let mut reasons: Vec<(String, String)> = dead
        .iter()
        .map(|m| {
            let attrs = m.message_attributes().unwrap();
            (
                attrs["source_message_id"]
                    .string_value()
                    .unwrap()
                    .to_string(),
                attrs["failure_reason"].string_value().unwrap().to_string(),
            )
        })
        .collect();
    reasons.sort();
    expected_dead.sort();
    let got: Vec<String> = reasons.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(got, expected_dead, "every poison record is in the DLQ once");
    for (id, reason) in &reasons {
        assert!(!reason.is_empty(), "{id}: no reason");
        println!("{id}: {reason}");
    }
}

/// The sample `file` through the handler with `rules`, which name two webhook channels whose
/// secrets are `en` and `zh`: the body each received (exactly one each).
async fn deliver_to_en_and_zh(
    file: &str,
    rules: &serde_json::Value,
    vars: &[(&str, &str)],
) -> [serde_json::Value; 2] {
    let (_, event) = samples("notifier")
        .into_iter()
        .find(|(p, _)| p.file_name().unwrap() == file)
        .unwrap_or_else(|| panic!("sample {file} missing"));
    let local = local().await;
    let en = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    let zh = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    let app = app(
        &local,
        settings(rules, &local.bucket, vars),
        secrets(&[("en", en.url("/en")), ("zh", zh.url("/zh"))]),
    )
    .await;
    let response = app
        .handle(invocation(event, Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(failed_ids(&response).is_empty(), "{file}");
    [en, zh].map(|stub| {
        let requests = stub.requests();
        assert_eq!(requests.len(), 1, "{file}");
        requests[0].json()
    })
}

/// Each CloudWatch alarm sample (single metric, OK transition, metric math, composite) goes
/// through the handler to an English and a Chinese channel; the text names the alarm, the
/// state change, the metric and threshold (or the rule) and the reason.
#[tokio::test]
async fn every_alarm_sample_is_rendered_in_english_and_chinese() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "sqs-alarm-single-metric.json",
            &[
                "[Critical] Alarm firing: media-suite-prod-notifier-error-rate\n",
                "State: OK → ALARM\n",
                "Description: notifier errors above 5 % of invocations over 5 minutes.\n",
                "Metric: AWS/Lambda Errors (FunctionName=media-suite-prod-notifier), SUM over 300 s\n",
                "Threshold: > 5\n",
                "Reason: Threshold Crossed: 1 out of the last 1 datapoints [7.5 (30/11/26 10:00:00)] was greater than the threshold (5.0)",
                "Region: China (Ningxia)\n",
                "Open: https://cn-northwest-1.console.amazonaws.cn/cloudwatch/home?region=cn-northwest-1#alarmsV2:alarm/media-suite-prod-notifier-error-rate\n",
            ],
            &[
                "[严重] 告警触发：media-suite-prod-notifier-error-rate\n",
                "状态: 正常 → 告警\n",
                "指标: AWS/Lambda Errors (FunctionName=media-suite-prod-notifier), SUM，周期 300 秒\n",
                "阈值: > 5\n",
            ],
        ),
        (
            "sqs-alarm-ok-raw-delivery.json",
            &[
                "[Info] Alarm resolved: media-suite-prod-notifier-error-rate\n",
                "State: ALARM → OK\n",
                "Threshold: > 5\n",
            ],
            &["[信息] 告警恢复：media-suite-prod-notifier-error-rate\n", "状态: 告警 → 正常\n"],
        ),
        (
            "sqs-alarm-metric-math.json",
            &[
                "[Critical] Alarm firing: media-suite-prod-notifier-failed-records\n",
                "Metric: Failed records (%) = 100 * (m1 + m2) / (m1 + m2 + m3)\n",
                "Inputs: m1: MediaSuite RecordsRetryable (service=notifier) Sum; m2: MediaSuite RecordsPoison (service=notifier) Sum; m3: MediaSuite RecordsProcessed (service=notifier) Sum\n",
                "Threshold: > 5\n",
            ],
            &["输入指标: m1: MediaSuite RecordsRetryable", "阈值: > 5\n"],
        ),
        (
            "sqs-alarm-composite.json",
            &[
                "[Critical] Alarm firing: media-suite-prod-pipeline-down\n",
                "Rule: ALARM(\"media-suite-prod-ai-processor-queue-age\") OR ALARM(\"media-suite-prod-ai-processor-dlq\")\n",
                "Triggered by: media-suite-prod-ai-processor-queue-age\n",
            ],
            &["规则: ALARM(", "触发告警: media-suite-prod-ai-processor-queue-age\n"],
        ),
    ];
    let rules = json!({
        "channels": {
            "en": {"kind": "webhook", "secret_id": "en"},
            "zh": {"kind": "webhook", "secret_id": "zh", "language": "zh"}
        },
        "rules": [{"types": ["alarm.state_changed"], "channels": ["en", "zh"]}]
    });
    for (file, english, chinese) in cases {
        let bodies = deliver_to_en_and_zh(file, &rules, &[]).await;
        for (body, expected) in bodies.iter().zip([english, chinese]) {
            assert_eq!(body["event"]["type"], "alarm.state_changed");
            let text = body["notification"]["text"].as_str().unwrap().to_string();
            for line in expected.iter() {
                assert!(text.contains(line), "{file}: {line:?} missing from\n{text}");
            }
        }
    }
}

/// The review samples through the handler, as deployed with `SUITE_TIMEZONE=Asia/Shanghai`,
/// to an English and a Chinese webhook routed as a moderators' channel would be: the request
/// names the upload, its labels, the link's expiry in the business time zone and both
/// commands (also as `notification.commands`); the decision says who decided what after how
/// long.
#[tokio::test]
async fn review_samples_reach_the_moderators_in_english_and_chinese() {
    let command = |decision: &str| {
        format!(
            "aws lambda invoke --function-name media-suite-prod-ai-processor --cli-binary-format raw-in-base64-out --payload '{{\"review\":{{\"bucket\":\"media-suite-prod-media\",\"decision\":\"{decision}\",\"key\":\"covers/user-42/summer_party.jpg\",\"reviewer\":\"your-name\",\"version_id\":\"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY\"}}}}' /dev/stdout"
        )
    };
    let (approve, reject) = (command("approved"), command("rejected"));
    let cases: Vec<(&str, Vec<String>, Vec<String>, usize)> = vec![
        (
            "sqs-media-flagged-review.json",
            vec![
                "[Warning] Image awaiting review: Revealing Clothes 83.2 %\n".into(),
                "File: covers/user-42/summer_party.jpg\n".into(),
                "Labels: Revealing Clothes 83.2 %, Suggestive 71.5 %, Alcoholic Beverages 64.0 % and 1 more\n".into(),
                "Link valid until: 2026-12-01 20:00 Asia/Shanghai\n".into(),
                "View the upload: https://media-suite-prod-media.s3.cn-northwest-1.amazonaws.com.cn/covers/user-42/summer%5Fparty.jpg?versionId=".into(),
                format!("Approve with:\n{approve}\nReject with:\n{reject}\n"),
            ],
            vec![
                "[警告] 图片待人工审核：Revealing Clothes 83.2 %\n".into(),
                "链接有效期至: 2026-12-01 20:00 Asia/Shanghai\n".into(),
                format!("批准命令:\n{approve}\n拒绝命令:\n{reject}\n"),
            ],
            2,
        ),
        (
            "sqs-media-reviewed.json",
            vec![
                "[Info] Approved by alice after 2 h 5 min: covers/user-42/summer_party.jpg\n".into(),
                "Decision: approved, changed from rejected\n".into(),
                "Reason: beach party, nothing explicit\n".into(),
            ],
            vec![
                "[信息] alice 已批准（上传后 2 小时 5 分钟）：covers/user-42/summer_party.jpg\n".into(),
                "决定: 批准（由拒绝改判）\n".into(),
            ],
            0,
        ),
    ];
    let rules = json!({
        "channels": {
            "moderators-en": {"kind": "webhook", "secret_id": "en"},
            "moderators-zh": {"kind": "webhook", "secret_id": "zh", "language": "zh"}
        },
        "rules": [{"types": ["media.flagged", "media.reviewed"], "min_severity": "info",
                   "channels": ["moderators-en", "moderators-zh"]}]
    });
    for (file, english, chinese, commands) in cases {
        let bodies =
            deliver_to_en_and_zh(file, &rules, &[("SUITE_TIMEZONE", "Asia/Shanghai")]).await;
        for (body, expected) in bodies.iter().zip([&english, &chinese]) {
            let text = body["notification"]["text"].as_str().unwrap().to_string();
            for line in expected.iter() {
                assert!(text.contains(line), "{file}: {line:?} missing from\n{text}");
            }
            let shown = body["notification"]["commands"].as_array().unwrap();
            assert_eq!(shown.len(), commands, "{file}");
            if commands > 0 {
                assert_eq!(shown[0]["command"], approve.as_str());
                assert_eq!(shown[1]["command"], reject.as_str());
            }
        }
    }
}
