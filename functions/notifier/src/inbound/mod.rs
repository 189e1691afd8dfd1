//! The SQS message body: the envelope itself (raw SNS delivery, or a producer writing to
//! the queue directly), or an SNS notification wrapping it (raw delivery off); or a CloudWatch
//! alarm notification from the alarm topic, read as an `alarm.state_changed` event.

pub mod cloudwatch_alarm;

use shared::batch::RecordError;
use shared::events::{unwrap_sns_notification, Envelope, EnvelopeError};

pub fn envelope_from_body(body: Option<&str>) -> Result<Envelope, RecordError> {
    let body = body
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| RecordError::permanent("empty message body"))?;
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| EnvelopeError::Malformed(format!("the body is not JSON: {e}")))
        .map_err(RecordError::permanent)?;
    let message = unwrap_sns_notification(value).map_err(RecordError::permanent)?;
    if cloudwatch_alarm::is_alarm_notification(&message) {
        return cloudwatch_alarm::alarm_envelope(message).map_err(RecordError::permanent);
    }
    Envelope::from_value(message).map_err(RecordError::permanent)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &str = r#"{"version":1,"id":"e1","type":"media.flagged","source":"ai-processor","time":"2026-11-25T12:00:00Z","subject":"s3://m/videos/a.mp4","severity":"critical","data":{}}"#;

    #[test]
    fn raw_and_sns_wrapped_bodies_give_the_same_envelope() {
        let raw = envelope_from_body(Some(ENVELOPE)).unwrap();
        let wrapped = serde_json::json!({
            "Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:123456789012:suite-events",
            "Message": ENVELOPE, "Timestamp": "2026-11-25T12:00:00.000Z"
        })
        .to_string();
        assert_eq!(envelope_from_body(Some(&wrapped)).unwrap(), raw);
        assert_eq!(raw.id, "e1");
    }

    #[test]
    fn bad_bodies_are_permanent_errors_with_the_reason() {
        let err = |b: Option<&str>| envelope_from_body(b).unwrap_err();
        assert_eq!(err(None), RecordError::permanent("empty message body"));
        assert!(
            matches!(err(Some("{oops")), RecordError::Permanent(r) if r.contains("the body is not JSON"))
        );
        assert_eq!(
            err(Some(&ENVELOPE.replace("\"version\":1", "\"version\":2"))),
            RecordError::permanent(
                "envelope version 2 is not supported (this consumer reads version 1)"
            )
        );
    }
}
