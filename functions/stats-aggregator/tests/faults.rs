//! Fault injection: a batch of events goes through a real moto queue with a redrive policy,
//! the Lambda event source mapping simulated here (receive, invoke the handler, delete what
//! did not fail, repeat), while S3 writes fail part-way. Every event must end in the hourly
//! rollup exactly once, or (poison) in the dead-letter queue after `maxReceiveCount`
//! deliveries.
//!
//! The S3 faults come from an interceptor on the real SDK client (the SDK's own hook for
//! this): moto stores or refuses the object as usual, and the interceptor either fails the
//! request before it is sent (a timeout) or replaces moto's answer with a 5xx after moto
//! stored the object (the worst case: the write happened, the function thinks it did not).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use common::*;
use serde_json::json;
use shared::batch::RedrivePolicyOnly;
use shared::results::S3ObjectStore;
use shared::testkit;
use stats_aggregator::StatsAggregator;

const MAX_RECEIVE_COUNT: u32 = 3;

/// What happens to the n-th create-only raw write (1-based).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    TimeoutBeforeS3,
    SlowDown503AfterStored,
    InternalError500AfterStored,
}

fn fault_for(write: usize) -> Option<Fault> {
    match write {
        2 | 3 => Some(Fault::TimeoutBeforeS3),
        5 => Some(Fault::SlowDown503AfterStored),
        8 => Some(Fault::InternalError500AfterStored),
        _ => None,
    }
}

#[derive(Debug, Default)]
struct RawWriteFaults {
    writes: AtomicUsize,
    injected: AtomicUsize,
}

impl RawWriteFaults {
    fn is_raw_write(request: &aws_sdk_s3::config::http::HttpRequest) -> bool {
        request.method() == "PUT" && request.headers().get("if-none-match").is_some()
    }
}

/// Counts raw writes when they are sent and fails the ones `fault_for` names.
#[derive(Debug, Clone)]
struct FaultInjector(Arc<RawWriteFaults>);

/// The write number of the request in flight, kept in the request's config bag.
#[derive(Debug, Clone, Copy)]
struct WriteNumber(usize);

impl aws_smithy_types::config_bag::Storable for WriteNumber {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl Intercept for FaultInjector {
    fn name(&self) -> &'static str {
        "RawWriteFaultInjector"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !RawWriteFaults::is_raw_write(context.request()) {
            return Ok(());
        }
        let n = self.0.writes.fetch_add(1, Ordering::SeqCst) + 1;
        cfg.interceptor_state().store_put(WriteNumber(n));
        if fault_for(n) == Some(Fault::TimeoutBeforeS3) {
            self.0.injected.fetch_add(1, Ordering::SeqCst);
            return Err(format!("injected: raw write {n} timed out before reaching S3").into());
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(WriteNumber(n)) = cfg.load::<WriteNumber>().copied() else {
            return Ok(());
        };
        let (status, code) = match fault_for(n) {
            Some(Fault::SlowDown503AfterStored) => (503u16, "SlowDown"),
            Some(Fault::InternalError500AfterStored) => (500u16, "InternalError"),
            _ => return Ok(()),
        };
        self.0.injected.fetch_add(1, Ordering::SeqCst);
        let response = context.response_mut();
        *response.status_mut() = status.try_into()?;
        *response.body_mut() = SdkBody::from(format!(
            "<Error><Code>{code}</Code><Message>injected after the object was stored</Message></Error>"
        ));
        Ok(())
    }
}

async fn queue_with_redrive(sqs: &aws_sdk_sqs::Client) -> (String, String) {
    let (dlq_url, dlq_arn) = testkit::create_queue(sqs, "stats-ingest-faults-dlq").await;
    let redrive =
        json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT.to_string()});
    let url = sqs
        .create_queue()
        .queue_name(testkit::unique("stats-ingest-faults"))
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    (url, dlq_url)
}

async fn queue_is_empty(sqs: &aws_sdk_sqs::Client, url: &str) -> bool {
    testkit::queue_depth(sqs, url).await == 0
}

fn lambda_record(message: &aws_sdk_sqs::types::Message, queue_arn: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id().map(str::to_string);
    record.receipt_handle = message.receipt_handle().map(str::to_string);
    record.body = message.body().map(str::to_string);
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(queue_arn.to_string());
    record.aws_region = Some("us-east-1".into());
    record
}

#[tokio::test]
async fn s3_failures_part_way_lose_nothing_and_count_every_event_once_in_the_hourly_rollup() {
    let base = stack(60).await;
    let faults = Arc::new(RawWriteFaults::default());
    let sdk = testkit::local_config().await;
    // SDK retries off: every injected fault reaches the batch response and the queue, which
    // is what this test proves (the function's own SDK retries would absorb most of them).
    let flaky_s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .retry_config(RetryConfig::disabled())
            .interceptor(FaultInjector(faults.clone()))
            .build(),
    );
    let app = StatsAggregator {
        store: S3ObjectStore::new(flaky_s3, &base.bucket),
        publisher: base.app.publisher.clone(),
        // Poison records are reported and left to the queue's redrive policy.
        dead_letters: RedrivePolicyOnly,
        clock: shared::time::SystemClock,
        config: base.app.config.clone(),
    };
    let sqs = &base.sqs;
    let (queue_url, dlq_url) = queue_with_redrive(sqs).await;
    let queue_arn = testkit::queue_arn(sqs, &queue_url).await;

    // 30 events over two hours (each event a label of its own, so each one's count can be
    // read back from the rollup) and 3 poison messages.
    let valid: Vec<(String, String)> = (0..30)
        .map(|i| {
            let id = format!("evt-{i:02}");
            let time = format!("2026-11-24T{}:{:02}:00Z", 13 + i % 2, i);
            let body = envelope(
                &id,
                "media.analyzed",
                &time,
                json!({"kind": "video", "prefix": format!("p{i:02}"), "size_bytes": 1000 + i}),
            );
            (id, body)
        })
        .collect();
    let poison = [
        "{\"version\":1,\"id\":\"cut".to_string(),
        json!({"version": 9, "id": "future", "type": "media.analyzed"}).to_string(),
        envelope("bad-time", "media.analyzed", "soon", json!({})),
    ];
    let mut sent_bodies = BTreeSet::new();
    for body in valid.iter().map(|(_, b)| b).chain(&poison) {
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
            .expect("send");
        sent_bodies.insert(body.clone());
    }
    let sent = sent_bodies.len();

    // The event source mapping: batches of up to 10; round 3 acts as if the function timed
    // out after its writes (nothing deleted, the whole batch comes back).
    const LOST_DELETES_ROUND: usize = 3;
    let mut deliveries: BTreeMap<String, u32> = BTreeMap::new();
    let mut reported_failures = 0;
    let mut round = 0;
    loop {
        round += 1;
        assert!(round < 60, "the queue never drained");
        let messages = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            if queue_is_empty(sqs, &queue_url).await {
                break;
            }
            continue;
        }
        for m in &messages {
            *deliveries
                .entry(m.body().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| lambda_record(m, &queue_arn))
            .collect();
        let response = app
            .handle(serde_json::to_value(&event).expect("event"))
            .await
            .expect("an ingest invocation answers with a batch response");
        let failed: BTreeSet<String> = failed_ids(&response).into_iter().collect();
        reported_failures += failed.len();
        if round == LOST_DELETES_ROUND {
            continue;
        }
        for m in messages
            .iter()
            .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
        {
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    assert_eq!(
        faults.injected.load(Ordering::SeqCst),
        4,
        "every fault fired"
    );
    assert!(reported_failures >= 3 * poison.len());

    let in_dlq: BTreeSet<String> = testkit::receive_all(sqs, &dlq_url, poison.len() + 1)
        .await
        .iter()
        .filter_map(|m| m.body().map(str::to_string))
        .collect();
    assert_eq!(in_dlq, poison.iter().cloned().collect::<BTreeSet<_>>());
    for body in &poison {
        assert_eq!(
            deliveries[body], MAX_RECEIVE_COUNT,
            "poison delivered {MAX_RECEIVE_COUNT} times"
        );
    }

    // The hourly rollups of both hours, back-filled once the queue is drained.
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for hour in ["2026-11-24T13", "2026-11-24T14"] {
        app.handle(scheduled_event(
            "media-suite-test-stats-backfill",
            "2026-11-25T09:00:00Z",
            json!({"rollup": "hourly", "period": hour}),
        ))
        .await
        .expect("rollup");
        let key = format!("stats/hourly/2026/11/24/{}.json", &hour[11..]);
        let document = json_object(&base, &key).await;
        total += document["events"]["total"].as_u64().expect("total");
        for (prefix, figures) in document["uploads"]["by_prefix"]
            .as_object()
            .expect("by_prefix")
        {
            *counted.entry(prefix.clone()).or_default() +=
                figures["count"].as_u64().expect("count");
        }
    }
    let processed_once = (0..valid.len())
        .filter(|i| counted.get(&format!("p{i:02}")) == Some(&1))
        .count();
    let duplicated = counted.values().filter(|&&c| c > 1).count();
    let dead = in_dlq.len();
    let lost = valid
        .iter()
        .enumerate()
        .filter(|(i, (_, body))| {
            !counted.contains_key(&format!("p{i:02}")) && !in_dlq.contains(body)
        })
        .count()
        + poison.iter().filter(|body| !in_dlq.contains(*body)).count();
    println!("{sent} sent, {processed_once} processed once, {dead} in DLQ, {lost} lost, {duplicated} duplicated effects");
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0);
    assert_eq!(total, processed_once as u64);
    assert_eq!(processed_once, valid.len());
    assert_eq!(
        counted.len(),
        valid.len(),
        "no label counted that was not sent"
    );
}
