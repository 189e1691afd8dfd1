//! Review decisions: a direct invocation `{"review": {...}}` (console, `cargo lambda invoke`,
//! the SDK), or a Lambda function URL request (payload format 2.0: `requestContext.http`,
//! `body`, maybe base64) whose body is the same JSON. Neither has `Records`, so they are told
//! apart from SQS batches and S3 notifications before those are read.

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine;
use serde_json::Value;

use super::{malformed, Malformed};
use crate::review::DecisionInput;

/// A decision, as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewInvocation {
    Direct(Result<DecisionInput, Malformed>),
    FunctionUrl(UrlRequest),
}

/// What the function URL request says.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlRequest {
    /// `POST` is the only method that decides.
    pub method: String,
    /// The IAM principal that signed the request (`AWS_IAM` auth).
    pub caller: Option<String>,
    pub input: Result<DecisionInput, Malformed>,
}

/// `None`: the payload is not a review decision (SQS batches, S3 notifications, ...).
pub fn review_invocation(payload: &Value) -> Option<ReviewInvocation> {
    let fields = payload.as_object()?;
    if fields.contains_key("Records") {
        return None;
    }
    if fields.contains_key("review") {
        return Some(ReviewInvocation::Direct(decision_input(payload)));
    }
    let is_url_request = fields
        .get("requestContext")
        .is_some_and(|context| context.get("http").is_some());
    is_url_request.then(|| ReviewInvocation::FunctionUrl(url_request(payload)))
}

fn url_request(payload: &Value) -> UrlRequest {
    let parsed = serde_json::from_value::<LambdaFunctionUrlRequest>(payload.clone())
        .map_err(|e| malformed(format!("not a function URL request: {e}")));
    let request = match parsed {
        Ok(request) => request,
        Err(reason) => {
            return UrlRequest {
                method: String::new(),
                caller: None,
                input: Err(reason),
            }
        }
    };
    let caller = request
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.iam.as_ref())
        .and_then(|iam| iam.user_arn.clone());
    let method = request
        .request_context
        .http
        .method
        .clone()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let input = body_json(&request).and_then(|body| decision_input(&body));
    UrlRequest {
        method,
        caller,
        input,
    }
}

fn body_json(request: &LambdaFunctionUrlRequest) -> Result<Value, Malformed> {
    let body = request.body.as_deref().unwrap_or_default();
    let bytes = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| malformed(format!("the request body is not base64: {e}")))?
    } else {
        body.as_bytes().to_vec()
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed(
            "the request body is empty; send {\"review\": {...}} as JSON",
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| malformed(format!("the request body is not JSON: {e}")))
}

/// The `review` object of `{"review": {...}}`.
fn decision_input(payload: &Value) -> Result<DecisionInput, Malformed> {
    let Some(fields) = payload.as_object() else {
        return Err(malformed("a decision is a JSON object {\"review\": {...}}"));
    };
    if let Some(other) = fields.keys().find(|k| *k != "review") {
        return Err(malformed(format!(
            "a decision has only a `review` object; {} is not expected",
            super::shown(other)
        )));
    }
    let review = fields
        .get("review")
        .filter(|r| r.is_object())
        .ok_or_else(|| malformed("`review` must be an object with bucket, key, version_id, decision, reviewer and reason"))?;
    serde_json::from_value(review.clone()).map_err(|e| malformed(format!("review: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url_event(body: &str, base64: bool, method: &str) -> Value {
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "abc", "domainName": "abc.lambda-url.us-east-1.on.aws",
                "domainPrefix": "abc", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
                "time": "25/Nov/2026:12:00:00 +0000", "timeEpoch": 1795608000000_i64,
                "authorizer": {"iam": {"accessKey": "AKIA", "accountId": "123456789012", "callerId": "AIDA",
                                       "userArn": "arn:aws:iam::123456789012:user/mei", "userId": "AIDA"}},
                "http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "curl"}
            },
            "body": body, "isBase64Encoded": base64
        })
    }

    const BODY: &str = r#"{"review": {"bucket": "media", "key": "covers/a.jpg", "decision": "approved", "reviewer": "mei"}}"#;

    #[test]
    fn direct_and_function_url_decisions_are_recognised() {
        let direct: Value = serde_json::from_str(BODY).unwrap();
        let Some(ReviewInvocation::Direct(Ok(input))) = review_invocation(&direct) else {
            panic!("a direct decision")
        };
        assert_eq!(input.decision, "approved");
        let encoded = base64::engine::general_purpose::STANDARD.encode(BODY);
        for event in [
            url_event(BODY, false, "POST"),
            url_event(&encoded, true, "post"),
        ] {
            let Some(ReviewInvocation::FunctionUrl(request)) = review_invocation(&event) else {
                panic!("a function URL request")
            };
            assert_eq!(request.method, "POST");
            assert_eq!(
                request.caller.as_deref(),
                Some("arn:aws:iam::123456789012:user/mei")
            );
            assert_eq!(request.input.unwrap().key, "covers/a.jpg");
        }
    }

    #[test]
    fn other_shapes_are_not_decisions_and_bad_bodies_say_why() {
        assert_eq!(review_invocation(&json!({"Records": []})), None);
        assert_eq!(review_invocation(&json!({"detail-type": "x"})), None);
        let bad = |body: &str| match review_invocation(&url_event(body, false, "POST")) {
            Some(ReviewInvocation::FunctionUrl(r)) => r.input.unwrap_err().0,
            other => panic!("{other:?}"),
        };
        assert!(bad("").contains("body is empty"));
        assert!(bad("{").contains("not JSON"));
        assert!(bad(r#"{"review": "yes"}"#).contains("must be an object"));
        assert!(bad(r#"{"review": {"bucket": "m"}}"#).contains("missing field"));
        assert!(
            bad(r#"{"review": {"bucket": "m", "key": "k", "decison": "approved"}}"#)
                .contains("unknown field `decison`")
        );
        assert!(bad(r#"{"review": {}, "extra": 1}"#).contains("\"extra\" is not expected"));
        let Some(ReviewInvocation::FunctionUrl(r)) =
            review_invocation(&json!({"requestContext": {"http": {}}}))
        else {
            panic!("a function URL request")
        };
        assert!(r
            .input
            .unwrap_err()
            .0
            .contains("not a function URL request"));
    }
}
