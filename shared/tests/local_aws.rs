//! The shared crate against the local AWS (moto server): real SDK calls over HTTP.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use shared::batch::{process_batch, RecordError, SqsDeadLetterQueue};
use shared::events::{Envelope, EventPublisher, Severity, SnsEventPublisher};
use shared::idempotency::{
    once, Claim, IdempotencyError, IdempotencyStore, Once, S3IdempotencyStore,
};
use shared::secrets::{SecretSource, SecretsManagerSource};
use shared::testkit;

/// Counts requests that reach the wire, to prove what the cache saves.
#[derive(Debug, Clone, Default)]
struct RequestCounter(Arc<AtomicUsize>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn secrets_are_fetched_once_and_served_from_cache_within_the_ttl() {
    let config = testkit::local_config().await;
    let admin = aws_sdk_secretsmanager::Client::new(&config);
    let name = testkit::unique("webhook");
    admin
        .create_secret()
        .name(&name)
        .secret_string(r#"{"url":"https://hooks.example.com/abc","token":"s3cr3t"}"#)
        .send()
        .await
        .unwrap();

    let counter = RequestCounter::default();
    let builder =
        aws_sdk_secretsmanager::config::Builder::from(&config).interceptor(counter.clone());
    let source = SecretsManagerSource::from_builder(builder, Duration::from_secs(300))
        .await
        .unwrap();

    let first = source.secret(&name).await.unwrap();
    let second = source.secret(&name).await.unwrap();
    assert_eq!(first.json_field("token").unwrap().expose(), "s3cr3t");
    assert_eq!(first, second);
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "the second read must not call Secrets Manager"
    );

    let missing = source.secret("no-such-secret").await.unwrap_err();
    assert!(missing.to_string().contains("no-such-secret"), "{missing}");
}

#[tokio::test]
async fn a_published_event_arrives_on_a_subscribed_queue_with_its_attributes() {
    let config = testkit::local_config().await;
    let sns = shared::aws::sns_client(&config);
    let sqs = shared::aws::sqs_client(&config);
    let topic = testkit::create_topic(&sns, "suite-events").await;
    let (url, arn) = testkit::create_queue(&sqs, "notifications").await;
    testkit::subscribe_queue(
        &sns,
        &topic,
        &arn,
        Some(r#"{"severity":["warning","critical"]}"#),
    )
    .await;

    let publisher = SnsEventPublisher::new(sns, &topic);
    let flagged = Envelope::new(
        "media.flagged",
        "ai-processor",
        "s3://media/covers/a.jpg",
        Severity::Warning,
        "etag-1",
        serde_json::json!({"verdict": "review"}),
    );
    let analyzed = Envelope::new(
        "media.analyzed",
        "ai-processor",
        "s3://media/covers/a.jpg",
        Severity::Info,
        "etag-1",
        serde_json::json!({}),
    );
    publisher.publish(&analyzed).await.unwrap();
    publisher.publish(&flagged).await.unwrap();

    let messages = testkit::receive_all(&sqs, &url, 2).await;
    assert_eq!(
        messages.len(),
        1,
        "the filter policy lets only the warning through"
    );
    let message = &messages[0];
    let received = Envelope::parse(message.body().unwrap()).unwrap();
    assert_eq!(received, flagged);
    let attributes = message.message_attributes().unwrap();
    assert_eq!(attributes["type"].string_value(), Some("media.flagged"));
    assert_eq!(attributes["severity"].string_value(), Some("warning"));
}

#[derive(Debug)]
struct EffectFailed;
impl From<IdempotencyError> for EffectFailed {
    fn from(_: IdempotencyError) -> Self {
        EffectFailed
    }
}

#[tokio::test]
async fn an_idempotency_key_claimed_twice_is_already_done_the_second_time() {
    let config = testkit::local_config().await;
    let s3 = shared::aws::s3_client(&config);
    let bucket = testkit::create_bucket(&s3, "results").await;
    let store =
        S3IdempotencyStore::on_s3(s3, &bucket, "idempotency/test/", Duration::from_secs(60));

    let effects = AtomicUsize::new(0);
    for _ in 0..3 {
        let _ = once(&store, "event-1/slack", || async {
            effects.fetch_add(1, Ordering::SeqCst);
            Ok::<_, EffectFailed>(())
        })
        .await
        .unwrap();
    }
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    assert_eq!(
        store.claim("event-1/slack").await.unwrap(),
        Claim::AlreadyDone
    );

    // A claim held by a live caller is reported as in progress, not granted twice.
    let Claim::Acquired(token) = store.claim("event-2/slack").await.unwrap() else {
        panic!("first claim must be granted");
    };
    assert_eq!(
        store.claim("event-2/slack").await.unwrap(),
        Claim::InProgress
    );
    // A failed effect releases its claim so a redelivery can try again.
    store.release(&token).await.unwrap();
    let retried = once(&store, "event-2/slack", || async {
        Ok::<_, EffectFailed>(42)
    })
    .await
    .unwrap();
    assert_eq!(retried, Once::Done(42));
}

#[tokio::test]
async fn an_expired_claim_is_taken_over_by_exactly_one_caller() {
    let config = testkit::local_config().await;
    let s3 = shared::aws::s3_client(&config);
    let bucket = testkit::create_bucket(&s3, "results").await;
    // A zero lease: the first claimant "died" at once.
    let store = S3IdempotencyStore::on_s3(s3, &bucket, "idempotency/test/", Duration::ZERO);
    assert!(matches!(
        store.claim("k").await.unwrap(),
        Claim::Acquired(_)
    ));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (a, b) = tokio::join!(store.claim("k"), store.claim("k"));
    let acquired = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|c| matches!(c, Claim::Acquired(_)))
        .count();
    assert_eq!(acquired, 1);
}

fn sqs_message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(body.to_string());
    m
}

#[tokio::test]
async fn a_batch_reports_exactly_the_failed_record_and_moves_the_poison_one_to_the_dlq() {
    let config = testkit::local_config().await;
    let sqs = shared::aws::sqs_client(&config);
    let (dlq_url, _) = testkit::create_queue(&sqs, "media-ingest-dlq").await;
    let dlq = SqsDeadLetterQueue::new(sqs.clone(), &dlq_url);

    let mut event = SqsEvent::default();
    event.records = vec![
        sqs_message("m-ok", "fine"),
        sqs_message("m-throttled", "throttle"),
        sqs_message("m-poison", "{truncated"),
        sqs_message("m-ok-2", "fine"),
    ];
    let (response, summary) = process_batch(event, 4, &dlq, |m| async move {
        match m.body.as_deref() {
            Some("fine") => Ok(()),
            Some("throttle") => Err(RecordError::retryable("ThrottlingException")),
            _ => Err(RecordError::permanent("body is not JSON")),
        }
    })
    .await;

    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["m-throttled"]);
    assert_eq!(summary.processed, 2);
    assert_eq!(summary.moved_to_dead_letter_queue, 1);

    let in_dlq = testkit::receive_all(&sqs, &dlq_url, 1).await;
    assert_eq!(in_dlq.len(), 1);
    assert_eq!(in_dlq[0].body(), Some("{truncated"));
    let attributes = in_dlq[0].message_attributes().unwrap();
    assert_eq!(
        attributes["source_message_id"].string_value(),
        Some("m-poison")
    );
    assert_eq!(
        attributes["failure_reason"].string_value(),
        Some("body is not JSON")
    );
}
