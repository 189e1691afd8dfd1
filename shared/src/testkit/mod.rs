//! Helpers for integration tests against the local AWS (moto in server mode).
//!
//! `make test` starts moto and exports `AWS_ENDPOINT_URL`; each test creates its own uniquely
//! named resources, so tests run in parallel without seeing each other.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// SDK configuration for the local AWS. Panics with instructions when it is not running,
/// because an integration test that silently skips proves nothing.
pub async fn local_config() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: integration tests need the local AWS. \
             Run `make test`, or `eval $(tools/moto.sh start)` before `cargo test`."
        )
    });
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        ))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "testkit",
        ))
        .load()
        .await
}

/// A name no other test uses: `prefix-<random>`, lowercase, valid for buckets and queues.
pub fn unique(prefix: &str) -> String {
    let n: u64 = rand::random();
    format!("{prefix}-{n:016x}")
}

/// Creates a bucket named after `prefix` and returns its name.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let name = unique(prefix);
    s3.create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("create bucket");
    name
}

/// Creates a queue and returns (url, arn).
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> (String, String) {
    let name = unique(prefix);
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let arn = queue_arn(sqs, &url).await;
    (url, arn)
}

/// The ARN of the queue at `url`, for subscriptions and event records.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn")
}

/// Creates a topic named after `prefix` and returns its ARN.
pub async fn create_topic(sns: &aws_sdk_sns::Client, prefix: &str) -> String {
    sns.create_topic()
        .name(unique(prefix))
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .expect("topic arn")
}

/// Subscribes a queue to a topic with raw message delivery and an optional filter policy.
pub async fn subscribe_queue(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    queue_arn: &str,
    filter_policy: Option<&str>,
) {
    let mut req = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true");
    if let Some(policy) = filter_policy {
        req = req.attributes("FilterPolicy", policy);
    }
    req.send().await.expect("subscribe");
}

/// Receives up to `max` messages, waiting briefly; returns them all.
pub async fn receive_all(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    max: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut out = Vec::new();
    for _ in 0..5 {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        let empty = got.is_empty();
        out.extend(got);
        if out.len() >= max || empty {
            break;
        }
    }
    out
}

// ------------------------------------------------------------------ SQS events and the mapping

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use time::OffsetDateTime;

use crate::events::{Envelope, EventPublisher, PublishError};
use crate::results::{
    ListedObject, ObjectStore, StoreError, StoredObject, WriteCondition, WriteOutcome,
};
use crate::secrets::{SecretError, SecretSource, SecretValue};
use crate::time::Clock;

/// One SQS record as Lambda delivers it.
pub fn sqs_message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.receipt_handle = Some(format!("receipt-{id}"));
    m.body = Some(body.to_string());
    m.event_source = Some("aws:sqs".into());
    m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:test-queue".into());
    m.attributes
        .insert("ApproximateReceiveCount".into(), "1".into());
    m
}

/// A batch of records with ids `m0`, `m1`, ...
pub fn sqs_event<S: AsRef<str>>(bodies: &[S]) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| sqs_message(&format!("m{i}"), b.as_ref()))
        .collect();
    e
}

/// The ids a partial batch response hands back.
pub fn failed_ids(response: &SqsBatchResponse) -> BTreeSet<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// What one invocation did with its batch, as the event source mapping sees it.
pub enum Invocation {
    /// The function answered; records not listed as failures are deleted.
    Answered(SqsBatchResponse),
    /// The invocation failed or timed out: nothing is deleted, the whole batch comes back.
    Failed,
}

/// Counts of a drained queue.
#[derive(Debug, Default)]
pub struct MappingReport {
    /// Receive rounds made, empty ones included.
    pub rounds: usize,
    /// How many times each body was delivered.
    pub deliveries: BTreeMap<String, u32>,
    /// Records the function handed back in its partial batch responses, over all rounds.
    pub reported_failures: usize,
}

/// Lambda's SQS event source mapping against a local queue: receive up to ten messages, invoke,
/// delete what the partial batch response does not hand back, until the queue is empty.
/// The queue's own redrive policy moves poison to its dead-letter queue, as on AWS.
pub struct EventSourceMapping<'a> {
    /// Client of the local SQS.
    pub sqs: &'a aws_sdk_sqs::Client,
    /// The queue the mapping reads.
    pub queue_url: String,
    /// The queue's ARN, set as each record's `eventSourceARN`.
    pub queue_arn: String,
    /// Rounds after which [`EventSourceMapping::drain`] panics, so a queue that never empties
    /// fails the test.
    pub max_rounds: usize,
}

impl<'a> EventSourceMapping<'a> {
    /// A mapping on the queue at `queue_url` (ARN `queue_arn`), with at most 60 rounds.
    pub fn new(sqs: &'a aws_sdk_sqs::Client, queue_url: &str, queue_arn: &str) -> Self {
        Self {
            sqs,
            queue_url: queue_url.to_string(),
            queue_arn: queue_arn.to_string(),
            max_rounds: 60,
        }
    }

    /// Drains the queue through `invoke` (given the round number and the batch).
    pub async fn drain<F, Fut>(&self, mut invoke: F) -> MappingReport
    where
        F: FnMut(usize, SqsEvent) -> Fut,
        Fut: std::future::Future<Output = Invocation>,
    {
        let mut report = MappingReport::default();
        loop {
            report.rounds += 1;
            assert!(report.rounds <= self.max_rounds, "the queue never drained");
            let messages = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                )
                .message_attribute_names("All")
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                if queue_depth(self.sqs, &self.queue_url).await == 0 {
                    break;
                }
                continue;
            }
            let mut event = SqsEvent::default();
            for m in &messages {
                *report
                    .deliveries
                    .entry(m.body().unwrap_or_default().to_string())
                    .or_default() += 1;
                let mut record = sqs_message(
                    m.message_id().unwrap_or_default(),
                    m.body().unwrap_or_default(),
                );
                record.receipt_handle = m.receipt_handle().map(str::to_string);
                record.event_source_arn = Some(self.queue_arn.clone());
                event.records.push(record);
            }
            let failed = match invoke(report.rounds, event).await {
                Invocation::Answered(response) => failed_ids(&response),
                Invocation::Failed => continue,
            };
            report.reported_failures += failed.len();
            for m in messages
                .iter()
                .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
            {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
        report
    }
}

/// Visible plus in-flight messages of a queue.
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|a| attributes.get(a)?.parse::<u64>().ok())
    .sum()
}

// ------------------------------------------------------------------ in-memory fakes of the ports

/// Which store operation a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// [`ObjectStore::get`] and [`ObjectStore::get_capped`].
    Get,
    /// [`ObjectStore::put`].
    Put,
    /// [`ObjectStore::delete`].
    Delete,
    /// [`ObjectStore::list`].
    List,
}

struct Fault {
    op: StoreOp,
    key_prefix: String,
    error: StoreError,
    remaining: usize,
}

#[derive(Default)]
struct MemoryBucket {
    objects: BTreeMap<String, (Vec<u8>, String)>,
    version: u64,
    faults: Vec<Fault>,
}

/// [`ObjectStore`] in memory with the S3 semantics the suite relies on: conditional writes
/// (`Absent`, `Matches`, a `Matches` on a missing key fails), a new ETag per write, sorted
/// listings, and injectable faults.
#[derive(Default, Clone)]
pub struct MemoryObjectStore {
    inner: Arc<Mutex<MemoryBucket>>,
}

impl MemoryObjectStore {
    /// Makes the next `times` operations `op` on keys starting with `key_prefix` fail.
    pub fn fail(&self, op: StoreOp, key_prefix: &str, times: usize, error: StoreError) {
        self.lock().faults.push(Fault {
            op,
            key_prefix: key_prefix.to_string(),
            error,
            remaining: times,
        });
    }

    /// The body stored under `key`.
    pub fn body(&self, key: &str) -> Option<Vec<u8>> {
        self.lock().objects.get(key).map(|(b, _)| b.clone())
    }

    /// The body under `key` as JSON.
    pub fn json(&self, key: &str) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body(key)?).ok()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.lock().objects.keys().cloned().collect()
    }

    /// Stores an object directly (test set-up).
    pub fn insert(&self, key: &str, body: impl Into<Vec<u8>>) {
        let mut bucket = self.lock();
        bucket.version += 1;
        let etag = format!("\"{}\"", bucket.version);
        bucket.objects.insert(key.to_string(), (body.into(), etag));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryBucket> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fault(bucket: &mut MemoryBucket, op: StoreOp, key: &str) -> Result<(), StoreError> {
        if let Some(f) = bucket
            .faults
            .iter_mut()
            .find(|f| f.op == op && f.remaining > 0 && key.starts_with(&f.key_prefix))
        {
            f.remaining -= 1;
            return Err(f.error.clone());
        }
        Ok(())
    }
}

impl ObjectStore for MemoryObjectStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        let mut bucket = self.lock();
        Self::fault(&mut bucket, StoreOp::Get, key)?;
        Ok(bucket.objects.get(key).map(|(body, etag)| StoredObject {
            body: body.clone(),
            etag: Some(etag.clone()),
        }))
    }

    async fn get_capped(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> Result<Option<StoredObject>, StoreError> {
        let object = self.get(key).await?;
        match object {
            Some(o) if o.body.len() as u64 > max_bytes => Err(StoreError::permanent(format!(
                "{key} is {} bytes, over the {max_bytes}-byte limit",
                o.body.len()
            ))),
            other => Ok(other),
        }
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        condition: WriteCondition<'_>,
    ) -> Result<WriteOutcome, StoreError> {
        let mut bucket = self.lock();
        Self::fault(&mut bucket, StoreOp::Put, key)?;
        let current = bucket.objects.get(key).map(|(_, etag)| etag.clone());
        let allowed = match condition {
            WriteCondition::Always => true,
            WriteCondition::Absent => current.is_none(),
            WriteCondition::Matches(etag) => current.as_deref() == Some(etag),
        };
        if !allowed {
            return Ok(WriteOutcome::ConditionFailed);
        }
        bucket.version += 1;
        let etag = format!("\"{}\"", bucket.version);
        bucket.objects.insert(key.to_string(), (body, etag.clone()));
        Ok(WriteOutcome::Written { etag: Some(etag) })
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut bucket = self.lock();
        Self::fault(&mut bucket, StoreOp::Delete, key)?;
        bucket.objects.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        let mut bucket = self.lock();
        Self::fault(&mut bucket, StoreOp::List, prefix)?;
        Ok(bucket
            .objects
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, (body, etag))| ListedObject {
                key: k.clone(),
                size: body.len() as u64,
                etag: Some(etag.clone()),
            })
            .collect())
    }
}

/// Collects published events in memory.
#[derive(Default, Clone)]
pub struct MemoryPublisher {
    events: Arc<Mutex<Vec<Envelope>>>,
    failures: Arc<Mutex<usize>>,
}

impl MemoryPublisher {
    /// Every event published so far, in order.
    pub fn published(&self) -> Vec<Envelope> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Event types in publishing order.
    pub fn types(&self) -> Vec<String> {
        self.published().into_iter().map(|e| e.event_type).collect()
    }

    /// Makes the next `times` publishes fail.
    pub fn fail_next(&self, times: usize) {
        *self.failures.lock().unwrap_or_else(|e| e.into_inner()) = times;
    }
}

impl EventPublisher for MemoryPublisher {
    async fn publish(&self, event: &Envelope) -> Result<(), PublishError> {
        {
            let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            if *failures > 0 {
                *failures -= 1;
                return Err(PublishError {
                    id: event.id.clone(),
                    event_type: event.event_type.clone(),
                    reason: "injected publish failure".into(),
                });
            }
        }
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
        Ok(())
    }
}

/// A clock tests set and move.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock showing `t` until it is set or moved.
    pub fn at(t: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(t)))
    }
    /// Sets the time to `t`.
    pub fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
    /// Moves the time forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Fixed secrets.
#[derive(Default, Clone)]
pub struct StaticSecrets(pub HashMap<String, String>);

impl StaticSecrets {
    /// Secrets from `(id, value)` pairs.
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl SecretSource for StaticSecrets {
    async fn secret(&self, secret_id: &str) -> Result<SecretValue, SecretError> {
        self.0
            .get(secret_id)
            .map(|v| SecretValue::new(v.clone()))
            .ok_or_else(|| SecretError {
                secret_id: secret_id.to_string(),
                reason: "not found".into(),
            })
    }
}

// ------------------------------------------------------------------ event contracts by fixture

/// Event contracts by fixture (`events/contracts/`).
pub mod contract;
