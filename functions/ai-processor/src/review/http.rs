//! The answer to a decision sent through the function URL: an HTTP status and a JSON body.

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use aws_lambda_events::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue};
use shared::batch::RecordError;

use super::{DecisionAnswer, ReviewError};

/// 200 with the answer, or the status that says why not, with `{"error", "message", "retry"}`.
pub fn response(result: &Result<DecisionAnswer, ReviewError>) -> LambdaFunctionUrlResponse {
    match result {
        Ok(answer) => json(200, serde_json::to_value(answer).unwrap_or_default()),
        Err(e) => {
            let (status, error, retry) = match e {
                ReviewError::Invalid(_) => (400, "InvalidDecision", false),
                ReviewError::NotFound(_) => (404, "DecisionRefused", false),
                ReviewError::Conflict(_) => (409, "DecisionRefused", false),
                ReviewError::Failed(RecordError::Retryable(_)) => (503, "RetryableFailure", true),
                ReviewError::Failed(RecordError::Permanent(_)) => (500, "PermanentFailure", false),
            };
            refusal(status, error, &e.to_string(), retry)
        }
    }
}

/// An error answer.
pub fn refusal(status: i64, error: &str, message: &str, retry: bool) -> LambdaFunctionUrlResponse {
    json(
        status,
        serde_json::json!({"error": error, "message": message, "retry": retry}),
    )
}

fn json(status: i64, body: serde_json::Value) -> LambdaFunctionUrlResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(body.to_string());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status() {
        let status = |e: ReviewError| response(&Err(e)).status_code;
        assert_eq!(status(ReviewError::Invalid("x".into())), 400);
        assert_eq!(status(ReviewError::NotFound("x".into())), 404);
        assert_eq!(status(ReviewError::Conflict("x".into())), 409);
        assert_eq!(
            status(ReviewError::Failed(RecordError::retryable("slow"))),
            503
        );
        let answer = response(&Err(ReviewError::Conflict("another version".into())));
        let body: serde_json::Value =
            serde_json::from_str(answer.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["message"], "decision refused: another version");
        assert_eq!(answer.headers["content-type"], "application/json");
    }
}
