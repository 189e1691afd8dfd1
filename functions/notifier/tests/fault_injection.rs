//! Fault injection: a batch on a real local queue with a redrive policy (maxReceiveCount 3),
//! the Lambda event source mapping simulated (receive -> handler -> delete what did not fail
//! -> again), and a webhook stub that fails part of the deliveries with 5xx, 429 and a
//! timeout. Every message ends delivered exactly once per channel or in the dead-letter queue.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::json;
use support::stub_servers::{HttpStub, Recorded, Reply};
use support::*;

/// (channel, event id) of every request a stub answered with 2xx: the effects.
type Effects = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook that answers by the event's `data.plan`, counting attempts per idempotency key.
async fn scripted_webhook(channel: &'static str, effects: Effects) -> HttpStub {
    let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    HttpStub::start(move |r: &Recorded, _| {
        let body = r.json();
        let plan = body["event"]["data"]["plan"].as_str().unwrap_or("ok");
        let key = r.header("idempotency-key").unwrap_or_default().to_string();
        let n = {
            let mut all = attempts.lock().unwrap();
            let n = all.entry(key).or_default();
            *n += 1;
            *n
        };
        let reply = match (channel, plan, n) {
            ("flaky", "5xx-once", 1) => Reply::new(503, "unavailable"),
            ("flaky", "throttled-once", 1) => {
                Reply::new(429, "slow down").header("Retry-After", "0")
            }
            ("flaky", "timeout-once", 1) => Reply::new(503, "late").after(Duration::from_secs(2)),
            ("flaky", "always-5xx", _) => Reply::new(500, "broken"),
            _ => Reply::new(200, "{}"),
        };
        if reply.status == 200 {
            let id = body["event"]["id"].as_str().unwrap_or_default().to_string();
            effects.lock().unwrap().push((channel.to_string(), id));
        }
        reply
    })
    .await
}

async fn queue_depth(local: &Local, url: &str) -> usize {
    let attrs = local
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attrs
        .values()
        .map(|v| v.parse::<usize>().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn a_batch_under_webhook_faults_ends_delivered_once_or_in_the_dead_letter_queue() {
    let local = local().await;
    let (dlq, dlq_arn) = shared::testkit::create_queue(&local.sqs, "notifier-fault-dlq").await;
    let queue = local
        .sqs
        .create_queue()
        .queue_name(shared::testkit::unique("notifier-fault"))
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    let effects: Effects = Arc::default();
    let steady = scripted_webhook("steady", effects.clone()).await;
    let flaky = scripted_webhook("flaky", effects.clone()).await;
    let rules = json!({
        "channels": {
            "steady": {"kind": "webhook", "secret_id": "steady"},
            "flaky": {"kind": "webhook", "secret_id": "flaky"}
        },
        "rules": [{"types": ["media.*"], "channels": ["steady", "flaky"]}]
    });
    let app = app(
        &local,
        settings(
            &rules,
            &local.bucket,
            &[
                ("NOTIFIER_MAX_ATTEMPTS", "1"),
                ("NOTIFIER_HTTP_TIMEOUT_MS", "300"),
                ("DEAD_LETTER_QUEUE_URL", &dlq),
            ],
        ),
        secrets(&[("steady", steady.url("/a")), ("flaky", flaky.url("/b"))]),
    )
    .await;

    let plans = [
        "ok",
        "ok",
        "ok",
        "5xx-once",
        "5xx-once",
        "throttled-once",
        "throttled-once",
        "timeout-once",
        "always-5xx",
    ];
    let mut sent: Vec<(String, String)> = plans
        .iter()
        .map(|plan| {
            let e = envelope("media.flagged", "warning", json!({"plan": plan}));
            (e["id"].as_str().unwrap().to_string(), e.to_string())
        })
        .collect();
    sent.push((
        "poison".into(),
        "{\"version\": 1, \"id\": \"poison\"".into(),
    ));
    for (_, body) in &sent {
        local
            .sqs
            .send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    // The event source mapping: receive, invoke, delete what did not fail, until empty.
    let mut receives: HashMap<String, u32> = HashMap::new();
    for _ in 0..20 {
        let got = local
            .sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            if queue_depth(&local, &queue).await == 0 {
                break;
            }
            continue;
        }
        let mut event = SqsEvent::default();
        event.records = got
            .iter()
            .map(|m| {
                *receives.entry(m.body().unwrap().to_string()).or_default() += 1;
                let mut record = message(m.message_id().unwrap(), m.body().unwrap());
                record.receipt_handle = m.receipt_handle().map(str::to_string);
                record
            })
            .collect();
        let response = app
            .handle(invocation(event, Duration::from_secs(10)))
            .await
            .unwrap();
        let failed = failed_ids(&response);
        for m in got
            .iter()
            .filter(|m| !failed.contains(&m.message_id().unwrap().to_string()))
        {
            local
                .sqs
                .delete_message()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(queue_depth(&local, &queue).await, 0, "the queue drained");

    let dead: Vec<String> = shared::testkit::receive_all(&local.sqs, &dlq, 2)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect();
    let effects = effects.lock().unwrap().clone();
    let count = |channel: &str, id: &str| {
        effects
            .iter()
            .filter(|(c, e)| c == channel && e == id)
            .count()
    };
    let (mut processed_once, mut in_dlq, mut lost, mut duplicated) = (0, 0, 0, 0);
    for (id, body) in &sent {
        let per_channel = [count("steady", id), count("flaky", id)];
        duplicated += per_channel
            .iter()
            .map(|n| n.saturating_sub(1))
            .sum::<usize>();
        let dead_copies = dead.iter().filter(|d| *d == body).count();
        if per_channel == [1, 1] && dead_copies == 0 {
            processed_once += 1;
        } else if dead_copies == 1 {
            in_dlq += 1;
        } else {
            lost += 1;
        }
    }
    println!(
        "{} sent, {processed_once} processed once, {in_dlq} in DLQ, {lost} lost, {duplicated} duplicated effects",
        sent.len()
    );
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0);
    assert_eq!((processed_once, in_dlq), (8, 2));
    // The poison record left at its first delivery; the always-failing one after three.
    assert_eq!(receives[&sent[9].1], 1);
    assert_eq!(receives[&sent[8].1], 3);
    assert_eq!(
        count("steady", &sent[8].0),
        1,
        "the working channel got it once"
    );
}

#[tokio::test]
async fn a_webhook_asking_to_retry_after_u64_max_seconds_gets_the_record_retried_not_a_panic() {
    let local = local().await;
    let hook = HttpStub::start(|_, _| {
        Reply::new(429, "slow down").header("Retry-After", &u64::MAX.to_string())
    })
    .await;
    let rules = json!({"channels": {"h": {"kind": "webhook", "secret_id": "h"}},
                       "rules": [{"types": ["*"], "channels": ["h"]}]});
    let app = app(
        &local,
        settings(&rules, &local.bucket, &[("NOTIFIER_MAX_ATTEMPTS", "3")]),
        secrets(&[("h", hook.url("/h"))]),
    )
    .await;
    let body = envelope("media.flagged", "critical", json!({})).to_string();
    let response = app
        .handle(invocation(sqs_event(&[body]), Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), vec!["m0"]);
    assert_eq!(
        hook.requests().len(),
        1,
        "no second attempt inside this invocation"
    );
}
