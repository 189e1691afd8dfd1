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
