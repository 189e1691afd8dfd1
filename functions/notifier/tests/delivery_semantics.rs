//! Redelivery, duplicates, secrets in logs, rules from S3 and secrets from Secrets Manager,
//! against the local AWS and local webhook stand-ins.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use shared::secrets::SecretsManagerSource;
use support::stub_servers::{HttpStub, Reply};
use support::*;

fn two_webhooks() -> Value {
    json!({
        "channels": {
            "steady": {"kind": "webhook", "secret_id": "steady"},
            "flaky": {"kind": "slack", "secret_id": "flaky"}
        },
        "rules": [{"types": ["media.*"], "channels": ["steady", "flaky"]}]
    })
}

#[tokio::test]
async fn redelivery_retries_only_the_channels_that_failed() {
    let local = local().await;
    let steady = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    // Down for the whole first invocation (one attempt allowed), then up.
    let flaky = HttpStub::start(|_, i| {
        if i == 0 {
            Reply::new(502, "bad gateway")
        } else {
            Reply::ok("ok")
        }
    })
    .await;
    let settings = settings(
        &two_webhooks(),
        &local.bucket,
        &[("NOTIFIER_MAX_ATTEMPTS", "1")],
    );
    let app = app(
        &local,
        settings,
        secrets(&[
            ("steady", steady.url("/hook")),
            ("flaky", flaky.url("/services/T/B/X")),
        ]),
    )
    .await;
    let body = envelope("media.flagged", "critical", json!({"verdict": "reject"})).to_string();

    let first = app
        .handle(invocation(
            sqs_event(std::slice::from_ref(&body)),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert_eq!(failed_ids(&first), vec!["m0"]);
    assert_eq!((steady.requests().len(), flaky.requests().len()), (1, 1));

    let second = app
        .handle(invocation(
            sqs_event(std::slice::from_ref(&body)),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert!(failed_ids(&second).is_empty());
    assert_eq!(
        (steady.requests().len(), flaky.requests().len()),
        (1, 2),
        "only the failed channel was tried again"
    );

    let third = app
        .handle(invocation(sqs_event(&[body]), Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(failed_ids(&third).is_empty());
    assert_eq!(
        (steady.requests().len(), flaky.requests().len()),
        (1, 2),
        "nothing is sent twice"
    );
}

#[tokio::test]
async fn a_duplicate_event_in_one_batch_is_delivered_once_per_channel() {
    let local = local().await;
    let steady =
        HttpStub::start(|_, _| Reply::new(200, "{}").after(Duration::from_millis(100))).await;
    let other = HttpStub::start(|_, _| Reply::ok("ok")).await;
    let app = app(
        &local,
        settings(&two_webhooks(), &local.bucket, &[]),
        secrets(&[
            ("steady", steady.url("/hook")),
            ("flaky", other.url("/services/T/B/X")),
        ]),
    )
    .await;
    let body = envelope("media.analyzed", "info", json!({})).to_string();
    let event = sqs_event(&[body.clone(), body.clone(), body.clone()]);
    let response = app
        .handle(invocation(event, Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!((steady.requests().len(), other.requests().len()), (1, 1));
    // Copies that found the first delivery still in flight come back; then they are no-ops.
    let again: Vec<String> = failed_ids(&response).iter().map(|_| body.clone()).collect();
    if !again.is_empty() {
        let response = app
            .handle(invocation(sqs_event(&again), Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(failed_ids(&response).is_empty());
    }
    assert_eq!((steady.requests().len(), other.requests().len()), (1, 1));
}

#[tokio::test]
async fn events_no_rule_matches_are_skipped_and_bad_records_go_to_the_dead_letter_queue() {
    let local = local().await;
    let hook = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    let (dlq_url, _) = shared::testkit::create_queue(&local.sqs, "notifier-dlq").await;
    let rules = json!({"channels": {"h": {"kind": "webhook", "secret_id": "h"}},
                       "rules": [{"types": ["media.*"], "min_severity": "warning", "channels": ["h"]}]});
    let app = app(
        &local,
        settings(
            &rules,
            &local.bucket,
            &[("DEAD_LETTER_QUEUE_URL", &dlq_url)],
        ),
        secrets(&[("h", hook.url("/h"))]),
    )
    .await;
    let mut v2 = envelope("media.flagged", "critical", json!({}));
    v2["version"] = json!(2);
    let bodies = vec![
        envelope("brand.new", "critical", json!({})).to_string(),
        envelope("media.analyzed", "info", json!({})).to_string(),
        v2.to_string(),
        "not json".to_string(),
        envelope("media.failed", "warning", json!({})).to_string(),
    ];
    let response = app
        .handle(invocation(sqs_event(&bodies), Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(
        failed_ids(&response).is_empty(),
        "poison records were moved, not reported"
    );
    assert_eq!(hook.requests().len(), 1, "only media.failed matched a rule");
    let dead = shared::testkit::receive_all(&local.sqs, &dlq_url, 2).await;
    let mut reasons: Vec<String> = dead
        .iter()
        .map(|m| {
            m.message_attributes().unwrap()["failure_reason"]
                .string_value()
                .unwrap()
                .to_string()
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2);
    assert_eq!(
        reasons[0],
        "envelope version 2 is not supported (this consumer reads version 1)"
    );
    assert!(
        reasons[1].contains("the body is not JSON"),
        "{}",
        reasons[1]
    );
}

#[tokio::test]
async fn secrets_never_appear_in_logs() {
    use tracing_subscriber::fmt::format::FmtSpan;
    let capture = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let local = local().await;
    let rejecting = HttpStub::start(|_, _| Reply::new(403, "invalid_token")).await;
    let hanging = HttpStub::start(|_, _| Reply::ok("{}").after(Duration::from_secs(3))).await;
    let signed =
        HttpStub::start(|_, _| Reply::ok(r#"{"errcode":310000,"errmsg":"sign not match"}"#)).await;
    let rules = json!({
        "channels": {
            "a": {"kind": "slack", "secret_id": "a"},
            "b": {"kind": "webhook", "secret_id": "b"},
            "c": {"kind": "dingtalk", "secret_id": "c"},
            "d": {"kind": "wecom", "secret_id": "d"},
            "e": {"kind": "email", "smtp_host": "127.0.0.1", "smtp_port": 9, "security": "none",
                  "secret_id": "e", "from": "bot@example.com", "to": ["ops@example.com"]}
        },
        "rules": [{"types": ["*"], "channels": ["a", "b", "c", "d", "e"]}]
    });
    let app = app(
        &local,
        settings(&rules, &local.bucket, &[("NOTIFIER_HTTP_TIMEOUT_MS", "300"), ("NOTIFIER_MAX_ATTEMPTS", "2")]),
        secrets(&[
            ("a", rejecting.url("/services/T1/B1/tok-SLACK-0001")),
            ("b", json!({"url": hanging.url("/hook?token=tok-HOOK-0002"), "secret": "sig-HOOK-0003"}).to_string()),
            ("c", json!({"url": signed.url("/robot/send?access_token=tok-DING-0004"), "secret": "SEC-DING-0005"}).to_string()),
            ("d", "http://wecom.example.com/cgi-bin/webhook/send?key=tok-WECOM-0006".to_string()),
            ("e", json!({"username": "smtp-user", "password": "pw-SMTP-0007"}).to_string()),
        ]),
    )
    .await;
    let body = envelope("media.flagged", "critical", json!({})).to_string();
    let response = app
        .handle(invocation(sqs_event(&[body]), Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), vec!["m0"]);

    let logs = capture.text();
    // The failures were logged, with their reasons...
    for expected in [
        "HTTP 403: invalid_token",
        "timed out",
        "DingTalk errcode 310000",
        "webhook URLs must use https",
        "SMTP",
    ] {
        assert!(logs.contains(expected), "{expected:?} missing from logs");
    }
    // ...and no URL token, signing secret or password.
    for secret in [
        "tok-SLACK-0001",
        "tok-HOOK-0002",
        "sig-HOOK-0003",
        "tok-DING-0004",
        "SEC-DING-0005",
        "tok-WECOM-0006",
        "pw-SMTP-0007",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}

#[tokio::test]
async fn rules_are_read_from_s3_and_secrets_from_secrets_manager() {
    let local = local().await;
    let hook = HttpStub::start(|_, _| Reply::ok("ok")).await;
    let secrets_client = aws_sdk_secretsmanager::Client::new(&local.sdk);
    let secret_name = shared::testkit::unique("notifier/slack");
    secrets_client
        .create_secret()
        .name(&secret_name)
        .secret_string(json!({"url": hook.url("/services/T/B/X")}).to_string())
        .send()
        .await
        .unwrap();
    let rules = json!({"channels": {"s": {"kind": "slack", "secret_id": secret_name}},
                       "rules": [{"types": ["cost.*"], "channels": ["s"]}]});
    local
        .s3
        .put_object()
        .bucket(&local.bucket)
        .key("config/notifier.json")
        .body(rules.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    let uri = format!("s3://{}/config/notifier.json", local.bucket);
    let settings = notifier::config::Config::from_env(shared::config::Env::from_vars([
        ("NOTIFIER_RULES_S3_URI", uri.as_str()),
        ("RESULTS_BUCKET", local.bucket.as_str()),
    ]))
    .unwrap();
    let secrets = Arc::new(
        SecretsManagerSource::new(&local.sdk, shared::secrets::DEFAULT_SECRET_TTL)
            .await
            .unwrap(),
    );
    let app = app(&local, settings, secrets).await;
    let body = envelope(
        "cost.threshold",
        "warning",
        json!({"amount": 90, "currency": "USD"}),
    )
    .to_string();
    let response = app
        .handle(invocation(sqs_event(&[body]), Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(failed_ids(&response).is_empty());
    assert_eq!(hook.requests().len(), 1);
    assert_eq!(
        hook.requests()[0].json()["text"],
        "[Warning] Cost threshold reached: clip.mp4"
    );
}

/// Issue 19.3: rules in S3 are read on first use, not at init; with no usable rules every
/// record goes back to the queue and the problems are logged.
#[tokio::test]
async fn bad_rules_in_s3_return_every_record_and_log_every_problem() {
    let capture = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let local = local().await;
    let rules =
        json!({"channels": {"x": {"kind": "fax"}}, "rules": [{"types": ["*"], "channels": ["y"]}]});
    put_rules(&local, "rules.json", &rules).await;
    let body = envelope("media.flagged", "critical", json!({})).to_string();
    for key in ["rules.json", "absent.json"] {
        let settings = rules_from_s3(&local, key);
        let app = notifier::build_with_secrets(&settings, &local.sdk, secrets(&[]))
            .await
            .expect("init reads no rules");
        let response = app
            .handle(invocation(
                sqs_event(std::slice::from_ref(&body)),
                Duration::from_secs(10),
            ))
            .await
            .unwrap();
        assert_eq!(failed_ids(&response), vec!["m0"], "{key}");
    }
    let logs = capture.text();
    assert!(
        logs.contains("channel \\\"x\\\": kind \\\"fax\\\" is not known"),
        "{logs}"
    );
    assert!(
        logs.contains("rule 1: channel \\\"y\\\" is not defined"),
        "{logs}"
    );
    assert!(logs.contains("absent.json could not be read"), "{logs}");
}

async fn put_rules(local: &Local, key: &str, rules: &Value) {
    local
        .s3
        .put_object()
        .bucket(&local.bucket)
        .key(key)
        .body(rules.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
}

fn rules_from_s3(local: &Local, key: &str) -> notifier::config::Config {
    notifier::config::Config::from_env(shared::config::Env::from_vars([
        (
            "NOTIFIER_RULES_S3_URI",
            format!("s3://{}/{key}", local.bucket),
        ),
        ("RESULTS_BUCKET", local.bucket.clone()),
        ("NOTIFIER_RULES_TTL_SECONDS", "1".to_string()),
    ]))
    .unwrap()
}

/// Issue 19.3: a changed rules file takes effect after the TTL without a new instance; a
/// broken one keeps the last good rules.
#[tokio::test]
async fn changed_rules_in_s3_take_effect_after_the_ttl_and_broken_ones_keep_the_last_good() {
    let local = local().await;
    let first = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    let second = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    let rules = |secret: &str| {
        json!({"channels": {"h": {"kind": "webhook", "secret_id": secret}},
               "rules": [{"types": ["*"], "channels": ["h"]}]})
    };
    put_rules(&local, "rules.json", &rules("first")).await;
    let app = notifier::build_with_secrets(
        &rules_from_s3(&local, "rules.json"),
        &local.sdk,
        secrets(&[("first", first.url("/1")), ("second", second.url("/2"))]),
    )
    .await
    .unwrap();
    let deliver = || async {
        let body = envelope("media.flagged", "critical", json!({})).to_string();
        let response = app
            .handle(invocation(sqs_event(&[body]), Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(failed_ids(&response).is_empty());
    };
    deliver().await;
    put_rules(&local, "rules.json", &rules("second")).await;
    deliver().await; // within the TTL: still the first rules
    assert_eq!((first.requests().len(), second.requests().len()), (2, 0));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    deliver().await;
    assert_eq!((first.requests().len(), second.requests().len()), (2, 1));
    put_rules(&local, "rules.json", &json!({"channels": {}, "rules": []})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    deliver().await;
    assert_eq!(
        (first.requests().len(), second.requests().len()),
        (2, 2),
        "the broken file left the last good rules in force"
    );
}

#[tokio::test]
async fn the_same_event_in_two_overlapping_invocations_is_delivered_once_per_channel() {
    let local = local().await;
    let steady =
        HttpStub::start(|_, _| Reply::new(200, "{}").after(Duration::from_millis(200))).await;
    let other = HttpStub::start(|_, _| Reply::ok("ok")).await;
    let secrets = secrets(&[
        ("steady", steady.url("/hook")),
        ("flaky", other.url("/services/T/B/X")),
    ]);
    // Two Lambda instances: separate apps sharing only the results bucket.
    let first = app(
        &local,
        settings(&two_webhooks(), &local.bucket, &[]),
        secrets.clone(),
    )
    .await;
    let second = app(
        &local,
        settings(&two_webhooks(), &local.bucket, &[]),
        secrets,
    )
    .await;
    let body = envelope("media.flagged", "warning", json!({})).to_string();
    let (a, b) = tokio::join!(
        first.handle(invocation(
            sqs_event(std::slice::from_ref(&body)),
            Duration::from_secs(10)
        )),
        second.handle(invocation(
            sqs_event(std::slice::from_ref(&body)),
            Duration::from_secs(10)
        )),
    );
    // Whichever found the other's claim asks for redelivery; the redelivery is a no-op.
    let retried = failed_ids(&a.unwrap()).len() + failed_ids(&b.unwrap()).len();
    for _ in 0..retried {
        let again = first
            .handle(invocation(
                sqs_event(std::slice::from_ref(&body)),
                Duration::from_secs(10),
            ))
            .await
            .unwrap();
        assert!(failed_ids(&again).is_empty());
    }
    assert_eq!((steady.requests().len(), other.requests().len()), (1, 1));
}

#[tokio::test]
async fn deliveries_and_failures_are_reported_to_the_stats_ingest_queue() {
    let local = local().await;
    let steady = HttpStub::start(|_, _| Reply::new(200, "{}")).await;
    let broken = HttpStub::start(|_, _| Reply::new(404, "no_service")).await;
    let (stats_queue, _) = shared::testkit::create_queue(&local.sqs, "stats-ingest").await;
    let app = app(
        &local,
        settings(
            &two_webhooks(),
            &local.bucket,
            &[("STATS_INGEST_QUEUE_URL", &stats_queue)],
        ),
        secrets(&[
            ("steady", steady.url("/hook")),
            ("flaky", broken.url("/services/T/B/X")),
        ]),
    )
    .await;
    let body = envelope("media.flagged", "critical", json!({})).to_string();
    let event_id = serde_json::from_str::<Value>(&body).unwrap()["id"].clone();
    app.handle(invocation(sqs_event(&[body]), Duration::from_secs(10)))
        .await
        .unwrap();
    let mut reports: Vec<Value> = shared::testkit::receive_all(&local.sqs, &stats_queue, 2)
        .await
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    reports.sort_by_key(|r| r["type"].as_str().unwrap().to_string());
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["type"], "notification.delivered");
    assert_eq!(reports[0]["data"]["channel"], "steady");
    assert_eq!(reports[0]["data"]["kind"], "webhook");
    assert_eq!(reports[0]["data"]["event_id"], event_id);
    assert_eq!(reports[1]["type"], "notification.failed");
    assert_eq!(reports[1]["data"]["channel"], "flaky");
    assert_eq!(reports[1]["data"]["retryable"], false);
    assert_eq!(reports[1]["data"]["reason"], "HTTP 404: no_service");
}

/// Issue 18.4 against the local S3: five limiters (five instances) share counters in the
/// results bucket through conditional writes; 60 sends at one robot allowing 20 per window
/// are all granted, none in a window beyond its 20. One-second windows stand in for minutes.
#[tokio::test]
async fn five_instances_share_one_robots_limit_through_the_results_bucket() {
    use notifier::ports::{SendSlots, SystemClock};
    use notifier::rate_limit::SharedRateLimit;
    use shared::results::S3ObjectStore;
    let local = local().await;
    let window = Duration::from_secs(1);
    let instances: Vec<_> = (0..5)
        .map(|_| {
            SharedRateLimit::new(
                S3ObjectStore::new(local.s3.clone(), &local.bucket),
                SystemClock,
                window,
            )
        })
        .collect();
    let latest = time::OffsetDateTime::now_utc() + Duration::from_secs(30);
    let bursts = instances.iter().map(|limits| async move {
        let mut slots = Vec::new();
        for _ in 0..12 {
            slots.push(
                limits
                    .reserve("ops-dingtalk", 20, latest)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        slots
    });
    let slots: Vec<time::OffsetDateTime> = futures::future::join_all(bursts)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(slots.len(), 60);
    let mut per_window = std::collections::BTreeMap::new();
    for slot in &slots {
        *per_window
            .entry(slot.unix_timestamp_nanos() / window.as_nanos() as i128)
            .or_insert(0) += 1;
    }
    assert!(per_window.values().all(|n| *n <= 20), "{per_window:?}");
    assert!(per_window.len() >= 3, "{per_window:?}");
}
