//! `make bench`: a batch of 10 records to a webhook that answers after 200 ms. Delivered one
//! after another this would take 2000 ms; records and channels run concurrently, so it takes
//! about 200 ms per `BATCH_CONCURRENCY` wave. Prints one JSON line last.

#[path = "../tests/support/stub_servers.rs"]
mod stub_servers;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use notifier::config::Config;
use notifier::delivery_metrics::DeliveryMetrics;
use notifier::notifier::Notifier;
use notifier::routing::Routing;
use serde_json::json;
use shared::batch::Deadline;
use shared::batch::RedrivePolicyOnly;
use shared::config::Env;
use shared::events::{Envelope, Severity};
use shared::idempotency::Idempotency;
use shared::testkit::{MemoryObjectStore, StaticSecrets};
use stub_servers::{HttpStub, Reply};

const RECORDS: usize = 10;
const ANSWER_AFTER: Duration = Duration::from_millis(200);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hook = HttpStub::start(|_, _| Reply::new(200, "{}").after(ANSWER_AFTER)).await;
    let rules = json!({"channels": {"hook": {"kind": "webhook", "secret_id": "hook"}},
                       "rules": [{"types": ["*"], "channels": ["hook"]}]});
    // The deployed defaults (BATCH_CONCURRENCY, timeouts), with inline rules.
    let settings = Config::from_env(Env::from_vars([
        ("NOTIFIER_RULES", rules.to_string()),
        ("RESULTS_BUCKET", "bench".to_string()),
    ]))?;
    let routing = Routing::parse(&rules.to_string())?;
    let secrets = Arc::new(StaticSecrets(HashMap::from([(
        "hook".to_string(),
        hook.url("/hook"),
    )])));
    // The SNS client is never called (no SNS channel); it needs no network to build.
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .region(aws_sdk_sns::config::Region::new("us-east-1"))
            .build(),
    );
    let http = notifier::channels::http_client(settings.delivery.attempt_timeout)?;
    let adapters = notifier::channels::build(&routing.channels, secrets, &sns, &http);
    let notifier = Notifier::new(
        routing,
        adapters,
        settings.delivery,
        Arc::new(notifier::ports::SystemClock),
        Arc::new(notifier::rate_limit::SharedRateLimit::per_minute(
            MemoryObjectStore::default(),
            notifier::ports::SystemClock,
        )),
    )?;

    let mut event = SqsEvent::default();
    event.records = (0..RECORDS)
        .map(|i| {
            let envelope = Envelope::new(
                "media.flagged",
                "bench",
                &format!("s3://media/videos/{i}.mp4"),
                Severity::Warning,
                "",
                json!({"verdict": "review"}),
            );
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("m{i}"));
            m.body = Some(envelope.to_json());
            m
        })
        .collect();

    let store = Idempotency::new(
        MemoryObjectStore::default(),
        "idempotency/notifier/",
        settings.common.idempotency_lease,
        notifier::ports::SystemClock,
    );
    let metrics = DeliveryMetrics::default();
    let started = Instant::now();
    let (response, summary) = notifier
        .handle_batch(
            event,
            &store,
            &RedrivePolicyOnly,
            settings.common.batch_concurrency,
            Deadline::after(Duration::from_secs(30)),
            &metrics,
        )
        .await;
    let elapsed = started.elapsed();
    if !response.batch_item_failures.is_empty()
        || summary.processed != RECORDS
        || hook.requests().len() != RECORDS
    {
        return Err(format!(
            "benchmark run failed: {summary:?}, {} requests",
            hook.requests().len()
        )
        .into());
    }
    println!(
        "{}",
        json!({
            "name": "notifier_batch_10x200ms",
            "elapsed_ms": elapsed.as_millis() as u64,
            "sequential_ms": RECORDS as u64 * ANSWER_AFTER.as_millis() as u64,
        })
    );
    Ok(())
}
