//! Helpers shared by the integration tests: envelopes, SQS events, contexts, and an `App`
//! built exactly as `main.rs` builds it, against the local AWS.

#![allow(dead_code)]

pub mod stub_servers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Context, LambdaEvent};
use notifier::config::Config;
use notifier::App;
use serde_json::{json, Value};
use shared::config::Env;
use shared::secrets::SecretSource;
use shared::testkit::StaticSecrets;

/// A domain event envelope with a fresh id.
pub fn envelope(event_type: &str, severity: &str, data: Value) -> Value {
    json!({
        "version": 1,
        "id": shared::testkit::unique("evt"),
        "type": event_type,
        "source": "ai-processor",
        "time": "2026-11-25T12:00:00Z",
        "subject": "s3://media-bucket/videos/clip.mp4",
        "severity": severity,
        "data": data,
    })
}

pub fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.receipt_handle = Some(format!("handle-{id}"));
    m.body = Some(body.to_string());
    m.event_source = Some("aws:sqs".into());
    m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:notifications".into());
    m.aws_region = Some("us-east-1".into());
    m
}

/// An SQS event with one record per body, message ids `m0`, `m1`, ...
pub fn sqs_event(bodies: &[String]) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| message(&format!("m{i}"), b))
        .collect();
    e
}

/// An invocation with `remaining` time before its deadline.
pub fn invocation(event: SqsEvent, remaining: Duration) -> LambdaEvent<SqsEvent> {
    let mut context = Context::default();
    context.request_id = shared::testkit::unique("req");
    let deadline = SystemTime::now() + remaining;
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    LambdaEvent::new(event, context)
}

pub fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

pub fn secrets(pairs: &[(&str, String)]) -> Arc<StaticSecrets> {
    Arc::new(StaticSecrets(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<HashMap<_, _>>(),
    ))
}

/// The configuration as the function reads them, from `vars` on top of inline rules and a bucket.
pub fn settings(rules: &Value, bucket: &str, vars: &[(&str, &str)]) -> Config {
    let rules = rules.to_string();
    let mut all: Vec<(String, String)> = vec![
        ("NOTIFIER_RULES".into(), rules),
        ("RESULTS_BUCKET".into(), bucket.into()),
        ("NOTIFIER_RETRY_BASE_MS".into(), "20".into()),
        ("NOTIFIER_DEADLINE_MARGIN_MS".into(), "200".into()),
    ];
    for (k, v) in vars {
        all.retain(|(name, _)| name != k);
        all.push((k.to_string(), v.to_string()));
    }
    Config::from_env(Env::from_vars(all)).expect("valid test settings")
}

pub struct Local {
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub bucket: String,
}

/// The local AWS with a fresh results bucket.
pub async fn local() -> Local {
    let sdk = shared::testkit::local_config().await;
    let s3 = shared::aws::s3_client(&sdk);
    let bucket = shared::testkit::create_bucket(&s3, "notifier-results").await;
    Local {
        sqs: shared::aws::sqs_client(&sdk),
        sns: shared::aws::sns_client(&sdk),
        s3,
        sdk,
        bucket,
    }
}

pub async fn app<S: SecretSource + 'static>(
    local: &Local,
    settings: Config,
    secrets: Arc<S>,
) -> App {
    notifier::build_with_secrets(&settings, &local.sdk, secrets)
        .await
        .expect("app builds")
}

/// Captures every log line written while it is installed on this thread.
#[derive(Clone, Default)]
pub struct LogCapture(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
