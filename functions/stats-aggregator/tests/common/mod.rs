//! Shared set-up of the integration tests: each test gets its own bucket, topic and queues on
//! the local AWS (moto), and the function wired to them through the real adapters.
#![allow(dead_code)]

use aws_lambda_events::event::sqs::SqsBatchResponse;
use serde_json::{json, Value};
use shared::batch::SqsDeadLetterQueue;
use shared::config::Env;
use shared::events::SnsEventPublisher;
use shared::results::S3ObjectStore;
use shared::testkit;
use shared::time::SystemClock;
use stats_aggregator::{Config, StatsAggregator};

pub type App = StatsAggregator<S3ObjectStore, SnsEventPublisher, SqsDeadLetterQueue, SystemClock>;

/// The configuration a deployment would have, pointing at the test's resources.
pub fn app_config(bucket: &str, topic_arn: &str, lateness_minutes: u32) -> Config {
    Config::from_env(Env::from_vars([
        ("RESULTS_BUCKET", bucket.to_string()),
        ("EVENTS_TOPIC_ARN", topic_arn.to_string()),
        ("ROLLUP_LATENESS_MINUTES", lateness_minutes.to_string()),
        ("ROLLUP_FETCH_CONCURRENCY", "4".to_string()),
        ("BATCH_CONCURRENCY", "8".to_string()),
        ("METRICS_NAMESPACE", "MediaSuiteTest".to_string()),
    ]))
    .expect("test configuration")
}

pub struct Stack {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub bucket: String,
    pub topic_arn: String,
    /// Subscribed to the topic with raw delivery: where published events can be seen.
    pub events_queue_url: String,
    pub dead_letter_queue_url: String,
    pub app: App,
}

pub async fn stack(lateness_minutes: u32) -> Stack {
    let config = testkit::local_config().await;
    let s3 = shared::aws::s3_client(&config);
    let sqs = shared::aws::sqs_client(&config);
    let sns = shared::aws::sns_client(&config);
    let bucket = testkit::create_bucket(&s3, "stats-results").await;
    let topic_arn = testkit::create_topic(&sns, "suite-events").await;
    let (events_queue_url, events_queue_arn) = testkit::create_queue(&sqs, "seen-events").await;
    testkit::subscribe_queue(&sns, &topic_arn, &events_queue_arn, None).await;
    let (dead_letter_queue_url, _) = testkit::create_queue(&sqs, "stats-ingest-dlq").await;
    let app = StatsAggregator {
        store: S3ObjectStore::new(s3.clone(), &bucket),
        publisher: SnsEventPublisher::new(sns.clone(), &topic_arn),
        dead_letters: SqsDeadLetterQueue::new(sqs.clone(), &dead_letter_queue_url),
        clock: SystemClock,
        config: app_config(&bucket, &topic_arn, lateness_minutes),
    };
    Stack {
        s3,
        sqs,
        bucket,
        topic_arn,
        events_queue_url,
        dead_letter_queue_url,
        app,
    }
}

/// An envelope as the producers write it.
pub fn envelope(id: &str, event_type: &str, time: &str, data: Value) -> String {
    json!({
        "version": 1,
        "id": id,
        "type": event_type,
        "source": "test",
        "time": time,
        "subject": format!("s3://media/videos/{id}.mp4"),
        "severity": "info",
        "data": data,
    })
    .to_string()
}

/// An SQS event as Lambda delivers it from `stats-ingest`.
pub fn sqs_event(records: &[(&str, String)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(message_id, body)| {
            json!({
                "messageId": message_id,
                "receiptHandle": format!("rh-{message_id}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795953600000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1795953600001"
                },
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:stats-ingest",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// An EventBridge scheduled event as a rule delivers it.
pub fn scheduled_event(rule: &str, time: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule}")],
        "detail": detail
    })
}

pub fn failed_ids(response: &Value) -> Vec<String> {
    let response: SqsBatchResponse =
        serde_json::from_value(response.clone()).expect("batch response");
    let mut ids: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    ids.sort();
    ids
}

pub async fn keys(stack: &Stack, prefix: &str) -> Vec<String> {
    let out = stack
        .s3
        .list_objects_v2()
        .bucket(&stack.bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    keys
}

pub async fn object(stack: &Stack, key: &str) -> Vec<u8> {
    stack
        .s3
        .get_object()
        .bucket(&stack.bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"))
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

pub async fn json_object(stack: &Stack, key: &str) -> Value {
    serde_json::from_slice(&object(stack, key).await).expect("json document")
}

pub async fn put(stack: &Stack, key: &str, body: Vec<u8>) {
    stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .expect("put");
}
