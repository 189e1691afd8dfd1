//! Helpers shared by the integration tests: a private set of moto resources per test, the
//! function built from a real configuration, SQS events and the published domain events.
#![allow(dead_code)]

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::{Context, LambdaEvent};
use shared::config::Env;
use shared::events::Envelope;
use shared::partition::Partition;
use shared::testkit;

use ai_processor::config::Config;
use ai_processor::ports::{ModerationBackend, Transcriber};
use ai_processor::processor::{Adapters, Processor};
use ai_processor::Aws;

/// The bucket names the samples in `events/` use; tests replace them with their own.
pub const SAMPLE_MEDIA_BUCKET: &str = "media-suite-dev-media-123456789012-us-east-1";
pub const SAMPLE_RESULTS_BUCKET: &str = "media-suite-dev-results-123456789012-us-east-1";

pub struct Stack {
    pub sdk: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub media_bucket: String,
    pub results_bucket: String,
    pub topic_arn: String,
    /// Receives everything published on the topic (raw delivery).
    pub events_queue_url: String,
    pub dead_letter_queue_url: String,
}

impl Stack {
    pub async fn new() -> Self {
        shared::logging::init();
        let sdk = testkit::local_config().await;
        let s3 = shared::aws::s3_client(&sdk);
        let sqs = shared::aws::sqs_client(&sdk);
        let sns = shared::aws::sns_client(&sdk);
        let media_bucket = testkit::create_bucket(&s3, "aip-media").await;
        let results_bucket = testkit::create_bucket(&s3, "aip-results").await;
        let topic_arn = testkit::create_topic(&sns, "aip-events").await;
        let (events_queue_url, events_queue_arn) = testkit::create_queue(&sqs, "aip-events").await;
        testkit::subscribe_queue(&sns, &topic_arn, &events_queue_arn, None).await;
        let (dead_letter_queue_url, _) = testkit::create_queue(&sqs, "aip-dlq").await;
        Self {
            sdk,
            s3,
            sqs,
            sns,
            media_bucket,
            results_bucket,
            topic_arn,
            events_queue_url,
            dead_letter_queue_url,
        }
    }

    /// The environment the function would get, with `extra` added or overriding.
    pub fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = vec![
            ("MEDIA_BUCKET".into(), self.media_bucket.clone()),
            ("RESULTS_BUCKET".into(), self.results_bucket.clone()),
            ("EVENTS_TOPIC_ARN".into(), self.topic_arn.clone()),
            (
                "REKOGNITION_SNS_TOPIC_ARN".into(),
                "arn:aws:sns:us-east-1:123456789012:AmazonRekognition-media-suite".into(),
            ),
            (
                "REKOGNITION_ROLE_ARN".into(),
                "arn:aws:iam::123456789012:role/media-suite-rekognition".into(),
            ),
        ];
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            vars.push((k.to_string(), v.to_string()));
        }
        vars
    }

    pub fn config(&self, extra: &[(&str, &str)]) -> Config {
        Config::from_env(Env::from_vars(self.env(extra)), Partition::Aws).expect("valid config")
    }

    /// The function exactly as `main` builds it.
    pub fn live(&self, extra: &[(&str, &str)]) -> ai_processor::App {
        ai_processor::build(&self.config(extra), &self.sdk)
    }

    /// The function with real S3, SNS and idempotency but the given backend and transcriber
    /// (for what moto cannot do).
    pub fn with<B: ModerationBackend, T: Transcriber>(
        &self,
        extra: &[(&str, &str)],
        backend: B,
        transcriber: T,
    ) -> Processor<Aws<B, T>> {
        let config = self.config(extra);
        let text = ai_processor::text_extractor(&config, &self.sdk);
        ai_processor::build_with(&config, &self.sdk, backend, transcriber, text)
    }

    pub fn transcribe(&self) -> ai_processor::adapters::transcribe::TranscribeJobs {
        ai_processor::adapters::transcribe::TranscribeJobs::new(aws_sdk_transcribe::Client::new(
            &self.sdk,
        ))
    }

    /// Uploads to the media bucket; returns the ETag without quotes.
    pub async fn put(&self, key: &str, body: &[u8], content_type: Option<&str>) -> String {
        self.s3
            .put_object()
            .bucket(&self.media_bucket)
            .key(key)
            .set_content_type(content_type.map(str::to_string))
            .body(body.to_vec().into())
            .send()
            .await
            .expect("put object")
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string()
    }

    /// The moto-shaped S3 event of an upload made with [`Stack::put`].
    pub fn upload_event(&self, key: &str, etag: &str, size: usize) -> String {
        moto_s3_event(&self.media_bucket, key, etag, size)
    }

    /// Routes the media bucket's ObjectCreated notifications for the upload prefixes to a
    /// new queue, as the deployment does; returns the queue URL.
    pub async fn notify_uploads_to_queue(&self) -> String {
        use aws_sdk_s3::types::{
            Event, FilterRule, FilterRuleName, NotificationConfiguration,
            NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
        };
        let (url, arn) = testkit::create_queue(&self.sqs, "aip-ingest").await;
        let configs = ["covers/", "avatars/", "videos/", "audio/"]
            .iter()
            .map(|prefix| {
                QueueConfiguration::builder()
                    .queue_arn(&arn)
                    .events(Event::from("s3:ObjectCreated:*"))
                    .filter(
                        NotificationConfigurationFilter::builder()
                            .key(
                                S3KeyFilter::builder()
                                    .filter_rules(
                                        FilterRule::builder()
                                            .name(FilterRuleName::Prefix)
                                            .value(*prefix)
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
                    .expect("queue configuration")
            })
            .collect::<Vec<_>>();
        self.s3
            .put_bucket_notification_configuration()
            .bucket(&self.media_bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .set_queue_configurations(Some(configs))
                    .build(),
            )
            .send()
            .await
            .expect("notification configuration");
        url
    }

    /// Every domain event published so far that has not been read yet.
    pub async fn published(&self) -> Vec<Envelope> {
        let messages = testkit::receive_all(&self.sqs, &self.events_queue_url, 100).await;
        for m in &messages {
            if let Some(handle) = m.receipt_handle() {
                let _ = self
                    .sqs
                    .delete_message()
                    .queue_url(&self.events_queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
        messages
            .iter()
            .map(|m| Envelope::parse(m.body().unwrap_or_default()).expect("an envelope"))
            .collect()
    }

    pub async fn document(&self, media_key: &str) -> Option<serde_json::Value> {
        let out = self
            .s3
            .get_object()
            .bucket(&self.results_bucket)
            .key(ai_processor::analysis::document_key(media_key))
            .send()
            .await
            .ok()?;
        let bytes = out.body.collect().await.ok()?.into_bytes();
        Some(serde_json::from_slice(&bytes).expect("document is JSON"))
    }

    /// An object of the results bucket, if it exists.
    pub async fn results_object(&self, key: &str) -> Option<Vec<u8>> {
        let out = self
            .s3
            .get_object()
            .bucket(&self.results_bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(out.body.collect().await.ok()?.into_bytes().to_vec())
    }

    pub async fn tags(&self, key: &str) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = self
            .s3
            .get_object_tagging()
            .bucket(&self.media_bucket)
            .key(key)
            .send()
            .await
            .expect("tags")
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        tags.sort();
        tags
    }

    /// The request document this suite wrote for an asynchronous SageMaker inference.
    pub async fn async_request(&self, inference: &str) -> serde_json::Value {
        let key = format!("sagemaker-async/requests/{inference}.json");
        let bytes = self.results_object(&key).await.expect("request document");
        serde_json::from_slice(&bytes).expect("the request is JSON")
    }

    pub async fn put_results_object(&self, key: &str, body: &[u8]) {
        self.s3
            .put_object()
            .bucket(&self.results_bucket)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await
            .expect("put results object");
    }

    /// A sample file as the invocation Lambda would make with it (an SQS batch, or an S3
    /// notification sent to the function directly), the sample bucket names replaced.
    pub fn sample_payload(
        &self,
        relative: &str,
        replacements: &[(&str, &str)],
    ) -> LambdaEvent<serde_json::Value> {
        let text = self.sample_text(relative, replacements);
        let payload =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"));
        LambdaEvent::new(payload, context())
    }

    /// A SageMaker asynchronous notification sample for this run: the sample's inference id
    /// and its output location (`sagemaker-async/outputs/<id>.out` in the sample results
    /// bucket) replaced by this run's.
    pub fn async_notification(
        &self,
        sample: &str,
        sample_inference: &str,
        inference: &str,
        output: &str,
    ) -> SqsEvent {
        let sample_output = format!(
            "s3://{}/sagemaker-async/outputs/{sample_inference}.out",
            self.results_bucket
        );
        // The output first: it contains the sample inference id.
        self.sample(
            sample,
            &[
                (sample_output.as_str(), output),
                (sample_inference, inference),
            ],
        )
    }

    /// A sample file with the sample bucket names replaced by this stack's.
    pub fn sample(&self, relative: &str, replacements: &[(&str, &str)]) -> SqsEvent {
        let text = self.sample_text(relative, replacements);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{relative} is not an SQS event: {e}"))
    }

    fn sample_text(&self, relative: &str, replacements: &[(&str, &str)]) -> String {
        let path = format!("{}/../../events/{relative}", env!("CARGO_MANIFEST_DIR"));
        let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        text = text
            .replace(SAMPLE_MEDIA_BUCKET, &self.media_bucket)
            .replace(SAMPLE_RESULTS_BUCKET, &self.results_bucket);
        for (from, to) in replacements {
            text = text.replace(from, to);
        }
        text
    }
}

pub fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(body.to_string());
    m.event_source = Some("aws:sqs".into());
    m
}

pub fn sqs_event(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = messages;
    e
}

/// The Lambda event for messages received from a real queue.
pub fn sqs_event_from(received: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    sqs_event(
        received
            .iter()
            .map(|m| {
                let mut msg = message(
                    m.message_id().unwrap_or_default(),
                    m.body().unwrap_or_default(),
                );
                msg.receipt_handle = m.receipt_handle().map(str::to_string);
                msg.md5_of_body = m.md5_of_body().map(str::to_string);
                msg
            })
            .collect(),
    )
}

/// The invocation Lambda makes for an SQS batch (the handler takes any JSON event).
pub fn lambda_event(event: SqsEvent) -> LambdaEvent<serde_json::Value> {
    let payload = serde_json::to_value(event).expect("an SQS event serialises");
    LambdaEvent::new(payload, context())
}

/// An invocation context with a minute left, like a function with a 60 s timeout.
pub fn context() -> Context {
    let mut ctx = Context::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    ctx.deadline = now_ms + 60_000;
    ctx
}

pub fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

pub fn of_type<'a>(events: &'a [Envelope], event_type: &str) -> Vec<&'a Envelope> {
    events
        .iter()
        .filter(|e| e.event_type == event_type)
        .collect()
}

/// Polls moto's Transcribe job until it reports COMPLETED (moto advances it per read).
pub async fn wait_until_completed(client: &aws_sdk_transcribe::Client, job_name: &str) {
    for _ in 0..10 {
        let job = client
            .get_transcription_job()
            .transcription_job_name(job_name)
            .send()
            .await
            .expect("job exists");
        let status = job
            .transcription_job()
            .and_then(|j| j.transcription_job_status())
            .map(|s| s.as_str().to_string());
        if status.as_deref() == Some("COMPLETED") {
            return;
        }
    }
    panic!("transcription job {job_name} never completed in moto");
}

/// What Transcribe writes for a job: the transcript document.
pub fn transcript_json(job_name: &str, language: &str, text: &str) -> Vec<u8> {
    let mut items = Vec::new();
    let mut t = 0.0_f64;
    for word in text.split_whitespace() {
        let content = word.trim_end_matches(['.', '!', '?']);
        items.push(serde_json::json!({
            "type": "pronunciation",
            "start_time": format!("{t:.2}"),
            "end_time": format!("{:.2}", t + 0.4),
            "alternatives": [{"confidence": "0.98", "content": content}]
        }));
        t += 0.5;
        if content.len() != word.len() {
            items.push(serde_json::json!({
                "type": "punctuation",
                "alternatives": [{"confidence": "0.0", "content": &word[content.len()..]}]
            }));
        }
    }
    serde_json::to_vec(&serde_json::json!({
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "language_code": language,
            "language_identification": [{"code": language, "score": "0.9981"}],
            "transcripts": [{"transcript": text}],
            "items": items
        }
    }))
    .expect("json")
}

/// Retry settings of the deployed clients (3 attempts, see `shared::aws`), with short
/// backoff, for clients answered by `aws-smithy-mocks`.
pub fn deployed_retries() -> aws_smithy_types::retry::RetryConfig {
    aws_smithy_types::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(5))
}

pub fn rekognition_backend(
    client: aws_sdk_rekognition::Client,
) -> ai_processor::adapters::rekognition::RekognitionModeration {
    ai_processor::adapters::rekognition::RekognitionModeration::new(
        client,
        "arn:aws:sns:us-east-1:123456789012:AmazonRekognition-media-suite",
        "arn:aws:iam::123456789012:role/media-suite-rekognition",
    )
}

/// An S3 event notification body in moto's shape (no userIdentity etc., `%2F`, `+`).
pub fn moto_s3_event(bucket: &str, key: &str, etag: &str, size: usize) -> String {
    let encoded = urlencoding::encode(key).replace("%20", "+");
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T12:00:00.000", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "media-ingest",
               "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded, "size": size, "eTag": etag}}
    }]})
    .to_string()
}

/// moto's SageMaker InvokeEndpoint answers from one result queue per server: every test that
/// loads it holds this lock from `drain_sagemaker_results` until it has made its calls.
pub static SAGEMAKER_RESULT_QUEUE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Takes every queued SageMaker result until moto answers with its built-in default body.
pub async fn drain_results(stack: &Stack) {
    let client = aws_sdk_sagemakerruntime::Client::new(&stack.sdk);
    for i in 0..50 {
        let out = client
            .invoke_endpoint()
            .endpoint_name("drain")
            .body(aws_sdk_sagemakerruntime::primitives::Blob::new(format!(
                "{{\"drain\": \"{}-{i}\"}}",
                stack.media_bucket
            )))
            .send()
            .await
            .expect("invoke");
        if out.body().map(|b| b.as_ref()) == Some(b"body".as_slice()) {
            return;
        }
    }
    panic!("moto's SageMaker result queue does not empty");
}

/// Queues what the SageMaker endpoint answers next, in order.
pub async fn queue_endpoint_answers(answers: &[String]) {
    let results: Vec<_> = answers
        .iter()
        .map(|body| serde_json::json!({"Body": body, "ContentType": "application/json"}))
        .collect();
    load_sagemaker_results("endpoint-results", results).await;
}

/// Queues what the asynchronous endpoint answers next: `(is_failure, data)`; moto writes each
/// answer to S3 and returns its output location from InvokeEndpointAsync.
pub async fn queue_async_answers(answers: &[(bool, String)]) {
    let results: Vec<_> = answers
        .iter()
        .map(|(is_failure, data)| serde_json::json!({"is_failure": is_failure, "data": data}))
        .collect();
    load_sagemaker_results("async-endpoint-results", results).await;
}

/// Loads one of moto's SageMaker result queues (`/moto-api/static/sagemaker/<queue>`).
async fn load_sagemaker_results(queue: &str, results: Vec<serde_json::Value>) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    // reqwest is built without a default TLS crypto provider (one HTTP/TLS stack for the suite).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/moto-api/static/sagemaker/{queue}"))
        .json(&serde_json::json!({"account_id": "123456789012", "region": "us-east-1", "results": results}))
        .send()
        .await
        .expect("moto api");
    assert!(response.status().is_success(), "{response:?}");
}

/// Delivers `body` as `copies` messages in one batch, then redelivers whatever the handler
/// lists (copies that found another copy at work) until nothing is listed.
pub async fn deliver_copies<F>(function: &F, body: &str, copies: usize)
where
    F: HandlesSqs,
{
    let mut pending: Vec<String> = (0..copies).map(|i| format!("copy-{i}")).collect();
    for _ in 0..10 {
        if pending.is_empty() {
            return;
        }
        let event = sqs_event(pending.iter().map(|id| message(id, body)).collect());
        pending = failed_ids(&function.handle(event).await);
    }
    panic!("copies still listed after 10 deliveries: {pending:?}");
}

/// The handler of a processor, whatever its adapters.
pub trait HandlesSqs {
    fn handle(
        &self,
        event: SqsEvent,
    ) -> impl std::future::Future<Output = aws_lambda_events::event::sqs::SqsBatchResponse>;
}

/// Runs `event` through the handler and checks that no record is handed back to SQS.
pub async fn handle_ok<A: Adapters>(function: &Processor<A>, event: SqsEvent) {
    let response = ai_processor::handler(lambda_event(event), function)
        .await
        .expect("handler");
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}

impl<A: Adapters> HandlesSqs for Processor<A> {
    async fn handle(&self, event: SqsEvent) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        ai_processor::handler(lambda_event(event), self)
            .await
            .expect("handler")
    }
}

/// A Rekognition image moderation that is always throttled (HTTP 400 ThrottlingException).
pub fn throttled_image_moderation() -> aws_smithy_mocks::Rule {
    aws_smithy_mocks::mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .repeatedly()
        .build()
}

/// The reason a dead-lettered message carries.
pub fn failure_reason(dead: &aws_sdk_sqs::types::Message) -> String {
    dead.message_attributes()
        .and_then(|a| a.get("failure_reason"))
        .and_then(|v| v.string_value())
        .unwrap_or_default()
        .to_string()
}
