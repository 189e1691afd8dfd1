//! The delivery loop with in-memory fakes: no network, no local AWS.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::json;
use shared::batch::RecordError;
use shared::events::Severity;
use shared::idempotency::Idempotency;
use shared::testkit::MemoryObjectStore;

use super::*;
use crate::ports::{DeliveryError, SystemClock};
use crate::rate_limit::SharedRateLimit;

/// A channel that records the event ids it was sent and answers from a script
/// (then success).
#[derive(Default)]
struct FakeChannel {
    sent: Mutex<Vec<String>>,
    sent_at: Mutex<Vec<std::time::SystemTime>>,
    script: Mutex<VecDeque<Result<(), DeliveryError>>>,
}

impl FakeChannel {
    fn answering(script: Vec<Result<(), DeliveryError>>) -> Arc<Self> {
        Arc::new(Self {
            sent: Mutex::default(),
            sent_at: Mutex::default(),
            script: Mutex::new(script.into()),
        })
    }
    fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }
}

impl NotificationChannel for FakeChannel {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        let answer = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
        if answer.is_ok() {
            self.sent.lock().unwrap().push(attempt.envelope.id.clone());
            self.sent_at
                .lock()
                .unwrap()
                .push(std::time::SystemTime::now());
        }
        Box::pin(async move { answer })
    }
}

/// Collects the delivery reports sent.
#[derive(Default)]
struct MemoryReports(Mutex<Vec<Envelope>>);

impl DeliveryReports for MemoryReports {
    fn send<'a>(&'a self, reports: &'a [Envelope]) -> BoxFuture<'a, Result<(), String>> {
        self.0.lock().unwrap().extend_from_slice(reports);
        Box::pin(async { Ok(()) })
    }
}

/// Collects dead-lettered bodies with their reasons.
#[derive(Default)]
struct MemoryDeadLetters(Mutex<Vec<(String, String)>>);

impl DeadLetterSink for MemoryDeadLetters {
    async fn send(&self, message: &SqsMessage, reason: &str) -> Result<(), String> {
        self.0.lock().unwrap().push((
            message.message_id.clone().unwrap_or_default(),
            reason.to_string(),
        ));
        Ok(())
    }
}

const RULES: &str = r#"{
    "channels": {
        "ops": {"kind": "webhook", "secret_id": "ops"},
        "chat": {"kind": "slack", "secret_id": "chat", "language": "zh"}
    },
    "rules": [
        {"types": ["media.*"], "min_severity": "warning", "channels": ["ops", "chat"]},
        {"types": ["cost.*"], "channels": ["ops"]}
    ]
}"#;

fn notifier(ops: Arc<FakeChannel>, chat: Arc<FakeChannel>) -> Notifier {
    notifier_with(
        RULES,
        ops,
        chat,
        Arc::new(SharedRateLimit::per_minute(
            MemoryObjectStore::default(),
            SystemClock,
        )),
    )
}

fn notifier_with(
    rules: &str,
    ops: Arc<FakeChannel>,
    chat: Arc<FakeChannel>,
    slots: Arc<dyn SendSlots>,
) -> Notifier {
    let tuning = DeliveryTuning {
        max_attempts: 1,
        ..DeliveryTuning::default()
    };
    let adapters: HashMap<String, Arc<dyn NotificationChannel>> = HashMap::from([
        ("ops".to_string(), ops as Arc<dyn NotificationChannel>),
        ("chat".to_string(), chat as Arc<dyn NotificationChannel>),
    ]);
    Notifier::new(
        Routing::parse(rules).unwrap(),
        adapters,
        tuning,
        Arc::new(SystemClock),
        slots,
    )
    .unwrap()
}

fn body(event_type: &str, severity: Severity, discriminator: &str) -> String {
    Envelope::new(
        event_type,
        "test",
        "s3://media/videos/a.mp4",
        severity,
        discriminator,
        json!({"verdict": "review"}),
    )
    .to_json()
}

fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(body.to_string());
    m
}

fn batch(bodies: &[&str]) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| message(&format!("m{i}"), b))
        .collect();
    e
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

fn in_ten_seconds() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

/// Delivery markers as the function keeps them, in memory.
fn markers() -> Idempotency<MemoryObjectStore, SystemClock> {
    Idempotency::new(
        MemoryObjectStore::default(),
        "idempotency/notifier/",
        Duration::from_secs(960),
        SystemClock,
    )
}

fn failed(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn an_event_goes_to_every_channel_its_rules_name_once() {
    let (ops, chat) = (
        FakeChannel::answering(vec![]),
        FakeChannel::answering(vec![]),
    );
    let n = notifier(ops.clone(), chat.clone());
    let store = markers();
    let metrics = DeliveryMetrics::default();
    let flagged = body("media.flagged", Severity::Critical, "a");
    let cost = body("cost.threshold", Severity::Info, "b");
    let quiet = body("media.analyzed", Severity::Info, "c");
    let (response, summary) = n
        .handle_batch(
            batch(&[&flagged, &cost, &quiet]),
            &store,
            &MemoryDeadLetters::default(),
            10,
            in_ten_seconds(),
            &metrics,
        )
        .await;
    assert!(failed(&response).is_empty());
    assert_eq!(summary.processed, 3);
    let id = |b: &str| Envelope::parse(b).unwrap().id;
    let mut to_ops = ops.sent();
    to_ops.sort();
    let mut want = vec![id(&flagged), id(&cost)];
    want.sort();
    assert_eq!(to_ops, want);
    assert_eq!(chat.sent(), vec![id(&flagged)]);
    let counts = metrics.snapshot();
    assert_eq!((counts["ops"].delivered, counts["chat"].delivered), (2, 1));
}

#[tokio::test]
async fn redelivery_sends_only_to_the_channels_that_failed() {
    let ops = FakeChannel::answering(vec![]);
    let chat = FakeChannel::answering(vec![Err(DeliveryError::retryable("HTTP 502"))]);
    let n = notifier(ops.clone(), chat.clone());
    let store = markers();
    let flagged = body("media.flagged", Severity::Warning, "a");
    let dead = MemoryDeadLetters::default();
    let metrics = DeliveryMetrics::default();

    let (first, _) = n
        .handle_batch(
            batch(&[&flagged]),
            &store,
            &dead,
            10,
            in_ten_seconds(),
            &metrics,
        )
        .await;
    assert_eq!(failed(&first), vec!["m0"]);
    assert_eq!((ops.sent().len(), chat.sent().len()), (1, 0));

    let (second, _) = n
        .handle_batch(
            batch(&[&flagged]),
            &store,
            &dead,
            10,
            in_ten_seconds(),
            &metrics,
        )
        .await;
    assert!(failed(&second).is_empty());
    assert_eq!((ops.sent().len(), chat.sent().len()), (1, 1));

    let (third, _) = n
        .handle_batch(
            batch(&[&flagged]),
            &store,
            &dead,
            10,
            in_ten_seconds(),
            &metrics,
        )
        .await;
    assert!(failed(&third).is_empty());
    assert_eq!(
        (ops.sent().len(), chat.sent().len()),
        (1, 1),
        "nothing twice"
    );
    assert_eq!(metrics.snapshot()["chat"].duplicates, 1);
    assert!(dead.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn copies_of_one_event_in_a_batch_are_delivered_once_per_channel() {
    let (ops, chat) = (
        FakeChannel::answering(vec![]),
        FakeChannel::answering(vec![]),
    );
    let n = notifier(ops.clone(), chat.clone());
    let store = markers();
    let flagged = body("media.flagged", Severity::Warning, "a");
    let (response, _) = n
        .handle_batch(
            batch(&[&flagged, &flagged, &flagged]),
            &store,
            &MemoryDeadLetters::default(),
            10,
            in_ten_seconds(),
            &DeliveryMetrics::default(),
        )
        .await;
    // A copy that found another still in flight comes back; nothing is sent twice.
    assert!(failed(&response).len() <= 2);
    assert_eq!((ops.sent().len(), chat.sent().len()), (1, 1));
}

#[tokio::test]
async fn a_channel_that_refuses_for_good_sends_the_record_to_the_dead_letter_queue() {
    let ops = FakeChannel::answering(vec![]);
    let chat = FakeChannel::answering(vec![Err(DeliveryError::permanent("HTTP 404: no_service"))]);
    let n = notifier(ops.clone(), chat.clone());
    let dead = MemoryDeadLetters::default();
    let flagged = body("media.failed", Severity::Critical, "a");
    let (response, summary) = n
        .handle_batch(
            batch(&[&flagged, "not json"]),
            &markers(),
            &dead,
            10,
            in_ten_seconds(),
            &DeliveryMetrics::default(),
        )
        .await;
    assert!(failed(&response).is_empty(), "moved, not reported");
    assert_eq!(summary.moved_to_dead_letter_queue, 2);
    let mut reasons = dead.0.lock().unwrap().clone();
    reasons.sort();
    assert_eq!(reasons[0].0, "m0");
    assert!(
        reasons[0]
            .1
            .ends_with("rejected by chat: HTTP 404: no_service"),
        "{}",
        reasons[0].1
    );
    assert!(
        reasons[1].1.contains("the body is not JSON"),
        "{}",
        reasons[1].1
    );
    assert_eq!(ops.sent().len(), 1, "the working channel still got it");
}

#[tokio::test]
async fn an_event_no_rule_matches_is_skipped_without_sending() {
    let (ops, chat) = (
        FakeChannel::answering(vec![]),
        FakeChannel::answering(vec![]),
    );
    let n = notifier(ops.clone(), chat.clone());
    let result = n
        .handle_message(
            &message("m0", &body("brand.new", Severity::Critical, "a")),
            &markers(),
            soon(),
            &DeliveryMetrics::default(),
        )
        .await;
    assert_eq!(result, Ok(()));
    assert!(ops.sent().is_empty() && chat.sent().is_empty());
}

#[tokio::test]
async fn no_time_left_means_retry_later_not_a_lost_message() {
    let (ops, chat) = (
        FakeChannel::answering(vec![]),
        FakeChannel::answering(vec![]),
    );
    let n = notifier(ops.clone(), chat.clone());
    let result = n
        .handle_message(
            &message("m0", &body("cost.action", Severity::Info, "a")),
            &markers(),
            Instant::now(),
            &DeliveryMetrics::default(),
        )
        .await;
    assert!(
        matches!(&result, Err(RecordError::Retryable(r)) if r.contains("ops: no time left")),
        "{result:?}"
    );
    assert!(ops.sent().is_empty());
}

#[tokio::test]
async fn every_delivery_and_failure_is_reported_once_for_stats() {
    use shared::events::contracts::notification::{NotificationDelivered, NotificationFailed};
    let ops = FakeChannel::answering(vec![]);
    let chat = FakeChannel::answering(vec![Err(DeliveryError::retryable("HTTP 502"))]);
    let reports = Arc::new(MemoryReports::default());
    let n = notifier(ops, chat).with_reports(reports.clone());
    let store = markers();
    let flagged = body("media.flagged", Severity::Warning, "a");
    for _ in 0..2 {
        n.handle_batch(
            batch(&[&flagged]),
            &store,
            &MemoryDeadLetters::default(),
            10,
            in_ten_seconds(),
            &DeliveryMetrics::default(),
        )
        .await;
    }
    let sent = reports.0.lock().unwrap().clone();
    let types: Vec<&str> = sent.iter().map(|e| e.event_type.as_str()).collect();
    // First batch: ops delivered, chat failed; second: chat delivered, ops already had it.
    assert_eq!(
        types,
        vec![
            "notification.delivered",
            "notification.failed",
            "notification.delivered"
        ]
    );
    let failed: NotificationFailed = sent[1].payload().unwrap();
    assert_eq!(
        (
            failed.channel.as_str(),
            failed.kind.as_str(),
            failed.retryable
        ),
        ("chat", "slack", true)
    );
    let delivered: NotificationDelivered = sent[2].payload().unwrap();
    assert_eq!(delivered.channel, "chat");
    assert_eq!(delivered.event_id, Envelope::parse(&flagged).unwrap().id);
}

/// Issue 18.4: five instances (separate notifiers sharing only the results bucket) each
/// get a batch; 60 messages in all go to one DingTalk robot allowing 20 per window. No
/// window carries more than 20, and every message is delivered. Windows of one second
/// stand in for minutes so the test takes seconds.
#[tokio::test]
async fn five_instances_bursting_sixty_messages_keep_one_robots_limit_and_lose_nothing() {
    const RULES_ONE_ROBOT: &str = r#"{
        "channels": {
            "ops": {"kind": "dingtalk", "secret_id": "ops", "rate_limit_per_minute": 20},
            "chat": {"kind": "slack", "secret_id": "chat"}
        },
        "rules": [{"types": ["media.*"], "channels": ["ops"]}]
    }"#;
    let window = Duration::from_secs(1);
    let bucket = MemoryObjectStore::default();
    let robot = FakeChannel::answering(vec![]);
    let store = markers();
    let instances: Vec<Notifier> = (0..5)
        .map(|_| {
            notifier_with(
                RULES_ONE_ROBOT,
                robot.clone(),
                FakeChannel::answering(vec![]),
                Arc::new(SharedRateLimit::new(bucket.clone(), SystemClock, window)),
            )
        })
        .collect();
    let bodies: Vec<String> = (0..60)
        .map(|i| body("media.flagged", Severity::Warning, &i.to_string()))
        .collect();
    let runs = instances.iter().enumerate().map(|(i, n)| {
        let mine: Vec<&str> = bodies[i * 12..(i + 1) * 12]
            .iter()
            .map(String::as_str)
            .collect();
        let store = &store;
        async move {
            n.handle_batch(
                batch(&mine),
                store,
                &MemoryDeadLetters::default(),
                10,
                in_ten_seconds(),
                &DeliveryMetrics::default(),
            )
            .await
        }
    });
    for (response, _) in futures::future::join_all(runs).await {
        assert!(
            failed(&response).is_empty(),
            "nothing comes back: {response:?}"
        );
    }
    let mut sent = robot.sent();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 60, "every message delivered once");
    let mut per_window: HashMap<u128, usize> = HashMap::new();
    for t in robot.sent_at.lock().unwrap().iter() {
        let since = t.duration_since(std::time::UNIX_EPOCH).unwrap();
        *per_window
            .entry(since.as_nanos() / window.as_nanos())
            .or_default() += 1;
    }
    assert!(per_window.len() >= 3, "{per_window:?}");
    assert!(per_window.values().all(|n| *n <= 20), "{per_window:?}");
}
