//! The SQS message body: the envelope itself (raw SNS delivery, or a producer writing to
//! the queue directly), or an SNS notification wrapping it (raw delivery off).

use serde_json::Value;
use shared::batch::RecordError;
use shared::events::Envelope;

pub fn envelope_from_body(body: Option<&str>) -> Result<Envelope, RecordError> {
    let body = body
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| RecordError::permanent("empty message body"))?;
    let value: Value = serde_json::from_str(body)
        .map_err(|e| RecordError::permanent(format!("message body is not JSON: {e}")))?;
    let is_sns_notification = value.get("Type").and_then(Value::as_str) == Some("Notification")
        && value.get("TopicArn").is_some();
    let value = if is_sns_notification {
        let inner = value
            .get("Message")
            .and_then(Value::as_str)
            .ok_or_else(|| RecordError::permanent("SNS notification without a Message"))?;
        serde_json::from_str(inner).map_err(|e| {
            RecordError::permanent(format!("SNS notification Message is not JSON: {e}"))
        })?
    } else {
        value
    };
    let envelope = Envelope::from_value(value).map_err(RecordError::permanent)?;
    check_header_fields(&envelope)?;
    Ok(envelope)
}

/// Longest event id accepted; suite ids are 32 hex characters.
pub const MAX_EVENT_ID_CHARS: usize = 128;

/// The envelope fields that reach message titles, HTTP headers and idempotency keys: an id
/// of letters, digits, `.`, `_`, `:`, `-` (no paths, no percent escapes), and no control
/// characters (line breaks would forge header lines or markdown in chat messages).
fn check_header_fields(envelope: &Envelope) -> Result<(), RecordError> {
    let id = &envelope.id;
    let id_ok = id.chars().count() <= MAX_EVENT_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        && !id.contains("..");
    if !id_ok {
        let shown: String = id.chars().take(40).collect();
        return Err(RecordError::permanent(format!(
            "event id {:?}{} is not an id (at most {MAX_EVENT_ID_CHARS} letters, digits, '.', '_', ':', '-')",
            shown,
            if shown.len() < id.len() { "…" } else { "" }
        )));
    }
    for (field, value) in [
        ("type", &envelope.event_type),
        ("source", &envelope.source),
        ("time", &envelope.time),
        ("subject", &envelope.subject),
    ] {
        if value.chars().any(char::is_control) {
            return Err(RecordError::permanent(format!(
                "event {id}: `{field}` contains control characters"
            )));
        }
    }
    Ok(())
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
            matches!(err(Some("{oops")), RecordError::Permanent(r) if r.starts_with("message body is not JSON"))
        );
        assert_eq!(
            err(Some(&ENVELOPE.replace("\"version\":1", "\"version\":2"))),
            RecordError::permanent(
                "envelope version 2 is not supported (this consumer reads version 1)"
            )
        );
    }
}
