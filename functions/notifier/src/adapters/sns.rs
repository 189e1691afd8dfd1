//! SNS topic: subject and plain-text message, with `type` and `severity` attributes so
//! subscriptions (e-mail, HTTP, SQS) can filter. The place for subscribers the other
//! channels do not cover.

use aws_sdk_sns::types::MessageAttributeValue;
use futures::future::BoxFuture;

use crate::ports::{Attempt, DeliveryError, NotificationChannel};

/// SNS subjects must be under 100 characters with no line breaks or control characters.
const MAX_SUBJECT_CHARS: usize = 99;

pub struct SnsTopicChannel {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

pub fn subject(title: &str) -> String {
    title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SUBJECT_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

fn attribute(value: &str) -> Result<MessageAttributeValue, DeliveryError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| DeliveryError::permanent(format!("message attribute: {e}")))
}

impl SnsTopicChannel {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }

    async fn deliver(&self, attempt: Attempt<'_>) -> Result<(), DeliveryError> {
        let n = attempt.notification;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject(&n.title))
            .message(n.plain_text())
            .message_attributes("type", attribute(&attempt.envelope.event_type)?)
            .message_attributes("severity", attribute(attempt.envelope.severity.as_str())?)
            .message_attributes("event_id", attribute(&attempt.envelope.id)?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                // The suite's one SDK error policy (`shared::aws::classify`).
                let failure = shared::aws::classify("SNS publish", e);
                if failure.retryable {
                    DeliveryError::retryable(failure.detail)
                } else {
                    DeliveryError::permanent(failure.detail)
                }
            })
    }
}

impl NotificationChannel for SnsTopicChannel {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver(attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::subject;

    #[test]
    fn subjects_have_no_line_breaks_and_stay_under_100_characters() {
        assert_eq!(subject("a\nb\tc"), "a b c");
        assert_eq!(subject(&"费".repeat(150)).chars().count(), 99);
    }
}
