//! SMTP e-mail against a local SMTP server on 127.0.0.1.

mod support;

use std::time::Duration;

use serde_json::json;
use support::stub_servers::SmtpStub;
use support::*;

fn mail_rules(port: u16, security: &str, language: &str) -> serde_json::Value {
    json!({
        "channels": {"mail": {"kind": "email", "smtp_host": "127.0.0.1", "smtp_port": port, "security": security,
                              "secret_id": "smtp", "from": "Media Bot <bot@example.com>",
                              "to": ["ops@example.com", "oncall@example.com"], "language": language}},
        "rules": [{"types": ["*"], "channels": ["mail"]}]
    })
}

fn smtp_secret() -> String {
    json!({"username": "mailer", "password": "pw-123"}).to_string()
}

#[tokio::test]
async fn the_notification_arrives_as_an_authenticated_plain_text_mail() {
    let local = local().await;
    let smtp = SmtpStub::start("250 2.1.5 OK").await;
    let app = app(
        &local,
        settings(
            &mail_rules(smtp.addr.port(), "none", "en"),
            &local.bucket,
            &[],
        ),
        secrets(&[("smtp", smtp_secret())]),
    )
    .await;
    let event = envelope(
        "cost.threshold",
        "warning",
        json!({"amount": 950, "budget": 1000, "currency": "USD"}),
    );
    let response = app
        .handle(invocation(
            sqs_event(&[event.to_string()]),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert!(failed_ids(&response).is_empty());

    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.auth.as_deref(), Some("mailer\0pw-123"));
    assert_eq!(smtp.logins().len(), 1);
    assert_eq!(mail.from, "<bot@example.com>");
    assert_eq!(
        mail.recipients,
        vec!["<ops@example.com>", "<oncall@example.com>"]
    );
    assert!(
        mail.data
            .contains("Subject: [Warning] Cost threshold reached: clip.mp4\r\n"),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains("From: \"Media Bot\" <bot@example.com>\r\n"),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains("Content-Type: text/plain; charset=utf-8\r\n"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("Amount: 950.00 USD"), "{}", mail.data);
}

#[tokio::test]
async fn a_chinese_subject_is_encoded_for_mail() {
    let local = local().await;
    let smtp = SmtpStub::start("250 OK").await;
    let app = app(
        &local,
        settings(
            &mail_rules(smtp.addr.port(), "none", "zh"),
            &local.bucket,
            &[],
        ),
        secrets(&[("smtp", smtp_secret())]),
    )
    .await;
    let event = envelope("media.failed", "critical", json!({"error": "codec"}));
    let response = app
        .handle(invocation(
            sqs_event(&[event.to_string()]),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert!(failed_ids(&response).is_empty());
    let data = &smtp.mails()[0].data;
    // RFC 2047 encoded word; the body is UTF-8 text.
    assert!(data.contains("Subject: =?utf-8?b?"), "{data}");
    assert!(!data.contains("Subject: [严重]"), "{data}");
}

#[tokio::test]
async fn an_unknown_mailbox_is_permanent_and_a_busy_server_is_retried() {
    let local = local().await;
    let rejecting = SmtpStub::start("550 5.1.1 mailbox unavailable").await;
    let app_rejecting = app(
        &local,
        settings(
            &mail_rules(rejecting.addr.port(), "none", "en"),
            &local.bucket,
            &[],
        ),
        secrets(&[("smtp", smtp_secret())]),
    )
    .await;
    let event = envelope("media.failed", "critical", json!({}));
    let started = std::time::Instant::now();
    let response = app_rejecting
        .handle(invocation(
            sqs_event(&[event.to_string()]),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert_eq!(
        failed_ids(&response),
        vec!["m0"],
        "poison: left for the redrive policy"
    );
    assert!(started.elapsed() < Duration::from_secs(1), "not retried");
    assert!(rejecting.mails().is_empty());

    let busy = SmtpStub::start("451 4.3.0 try again later").await;
    let app_busy = app(
        &local,
        settings(
            &mail_rules(busy.addr.port(), "none", "en"),
            &local.bucket,
            &[("NOTIFIER_MAX_ATTEMPTS", "2")],
        ),
        secrets(&[("smtp", smtp_secret())]),
    )
    .await;
    let event = envelope("media.failed", "critical", json!({}));
    let response = app_busy
        .handle(invocation(
            sqs_event(&[event.to_string()]),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), vec!["m0"]);
}

#[tokio::test]
async fn starttls_is_required_so_a_relay_without_it_gets_neither_mail_nor_credentials() {
    let local = local().await;
    let smtp = SmtpStub::start("250 OK").await;
    let app = app(
        &local,
        settings(
            &mail_rules(smtp.addr.port(), "starttls", "en"),
            &local.bucket,
            &[("NOTIFIER_MAX_ATTEMPTS", "1")],
        ),
        secrets(&[("smtp", smtp_secret())]),
    )
    .await;
    let event = envelope("media.failed", "critical", json!({}));
    let response = app
        .handle(invocation(
            sqs_event(&[event.to_string()]),
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), vec!["m0"]);
    assert!(smtp.mails().is_empty());
    assert!(
        smtp.logins().is_empty(),
        "credentials were sent over plain text"
    );
}
