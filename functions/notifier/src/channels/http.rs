//! What the HTTP channels share: webhook targets from secrets, the URL rule, one POST, and
//! how an HTTP answer is classified. Nothing here ever puts a URL into an error: webhook URLs
//! carry their access tokens.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use shared::secrets::{SecretSource, SecretValue};

use crate::ports::{Attempt, DeliveryError};
use crate::routing::is_loopback_host;

/// Where a webhook channel posts, read from its secret: either the URL alone, or
/// `{"url": "...", "secret": "..."}` with the signing secret.
pub struct WebhookTarget {
    pub url: Url,
    pub signing_secret: Option<SecretValue>,
}

impl WebhookTarget {
    pub fn from_secret(secret_id: &str, value: &SecretValue) -> Result<Self, DeliveryError> {
        let raw = value.expose().trim();
        let (url, signing_secret) = if raw.starts_with('{') {
            let url = value.json_field("url").ok_or_else(|| {
                DeliveryError::permanent(format!(
                    "secret {secret_id} has no \"url\" field (expected {{\"url\": \"https://...\", \"secret\": \"...\"}})"
                ))
            })?;
            let signing = value
                .json_field("secret")
                .filter(|s| !s.expose().is_empty());
            (url, signing)
        } else {
            (SecretValue::new(raw), None)
        };
        Ok(Self {
            url: webhook_url(secret_id, url.expose())?,
            signing_secret,
        })
    }
}

/// Parses a webhook URL: https, or http to a loopback address (local runs and tests).
pub fn webhook_url(secret_id: &str, raw: &str) -> Result<Url, DeliveryError> {
    let url = Url::parse(raw).map_err(|e| {
        DeliveryError::permanent(format!("secret {secret_id} holds no valid URL: {e}"))
    })?;
    let host = url.host_str().unwrap_or_default().to_string();
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(&host) => Ok(url),
        scheme => Err(DeliveryError::permanent(format!(
            "secret {secret_id}: webhook URLs must use https (got {scheme}:// to host {host:?})"
        ))),
    }
}

pub async fn secret<S: SecretSource>(
    secrets: &S,
    secret_id: &str,
) -> Result<SecretValue, DeliveryError> {
    // Usually a throttled or unreachable Secrets Manager; a missing secret is retried too and
    // ends in the dead-letter queue, where the operator sees the reason.
    secrets
        .secret(secret_id)
        .await
        .map_err(|e| DeliveryError::retryable(e.to_string()))
}

/// An HTTP answer: status, the body as text, and `Retry-After` when given.
#[derive(Debug)]
pub struct HttpReply {
    pub status: StatusCode,
    pub body: String,
    pub retry_after: Option<Duration>,
}

/// Posts a JSON body. Transport failures (connect, timeout, reset) are retryable; any HTTP
/// answer is returned for the caller to classify.
pub async fn post_json(
    client: &reqwest::Client,
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    attempt: &Attempt<'_>,
) -> Result<HttpReply, DeliveryError> {
    let mut map = HeaderMap::new();
    map.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    for (name, value) in headers {
        let value = HeaderValue::from_str(&value)
            .map_err(|_| DeliveryError::permanent(format!("header {name} has an invalid value")))?;
        map.insert(HeaderName::from_static(name), value);
    }
    let response = client
        .post(url)
        .headers(map)
        .body(body)
        .timeout(attempt.timeout)
        .send()
        .await
        .map_err(transport_error)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, attempt.now));
    let body = read_capped(response).await.map_err(transport_error)?;
    Ok(HttpReply {
        status,
        body,
        retry_after,
    })
}

/// Most bytes of a webhook's answer read: an answer is a status and a short message, and a
/// misbehaving endpoint must not make the function buffer megabytes.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// The answer's body, at most [`MAX_REPLY_BYTES`]; the rest is not read.
pub async fn read_capped(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_REPLY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_REPLY_BYTES {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn transport_error(e: reqwest::Error) -> DeliveryError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // `without_url`: the URL holds the access token.
    let e = e.without_url();
    DeliveryError::retryable(format!("{what}: {}", error_chain(&e)))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The longest `Retry-After` taken literally: a Lambda invocation never lasts longer, and a
/// larger value (up to `u64::MAX` seconds) would overflow the clock arithmetic.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// `Retry-After` as seconds or as an HTTP date, at most [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
            .ok()?;
        let wait = at - now;
        Duration::try_from(wait).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// At most `max` characters of a response body, for error messages.
pub fn snippet(body: &str) -> String {
    const MAX: usize = 200;
    let body = body.trim();
    if body.chars().count() <= MAX {
        body.to_string()
    } else {
        format!("{}…", body.chars().take(MAX).collect::<String>())
    }
}

impl HttpReply {
    /// Throttling (429) and server errors (5xx, 408) are retryable, honouring `Retry-After`.
    pub fn is_retryable_status(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::REQUEST_TIMEOUT
            || self.status.is_server_error()
    }

    /// The plain HTTP verdict: 2xx is delivered, 429/408/5xx retryable, other 4xx permanent.
    pub fn status_verdict(&self) -> Result<(), DeliveryError> {
        if self.status.is_success() {
            return Ok(());
        }
        let reason = format!("HTTP {}: {}", self.status.as_u16(), snippet(&self.body));
        if self.is_retryable_status() {
            Err(DeliveryError::retryable(reason).with_retry_after(self.retry_after))
        } else {
            Err(DeliveryError::permanent(reason))
        }
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Verdict for the chat robots that answer errors as `{"errcode": N, "errmsg": "..."}` or
/// `{"code": N, "msg": "..."}`, usually with HTTP 200: code 0 is delivered, codes in
/// `retryable_codes` are worth another attempt, other codes are permanent.
pub fn body_code_verdict(
    reply: &HttpReply,
    service: &str,
    code_field: &str,
    message_field: &str,
    retryable_codes: &[i64],
    rate_limited_codes: &[i64],
) -> Result<(), DeliveryError> {
    if reply.is_retryable_status() {
        return reply.status_verdict();
    }
    let Some(json) = reply.json() else {
        return reply.status_verdict();
    };
    let Some(code) = json.get(code_field).and_then(serde_json::Value::as_i64) else {
        return reply.status_verdict();
    };
    if code == 0 {
        return reply.status_verdict();
    }
    let message = json
        .get(message_field)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let reason = format!("{service} {code_field} {code}: {}", snippet(message));
    if rate_limited_codes.contains(&code) {
        // These services send no Retry-After; their limits are per minute.
        Err(DeliveryError::retryable(reason).with_retry_after(Some(RATE_LIMITED_WAIT)))
    } else if retryable_codes.contains(&code) {
        Err(DeliveryError::retryable(reason))
    } else {
        Err(DeliveryError::permanent(reason))
    }
}

/// How long to wait after a rate-limit code that came without `Retry-After`.
pub const RATE_LIMITED_WAIT: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_except_loopback_and_errors_never_show_the_url() {
        assert!(webhook_url(
            "s",
            "https://oapi.dingtalk.com/robot/send?access_token=t0ken"
        )
        .is_ok());
        assert!(webhook_url("s", "http://127.0.0.1:8080/hook").is_ok());
        let err = webhook_url("s", "http://hooks.example.com/services/t0ken").unwrap_err();
        assert_eq!(err.kind, crate::ports::FailureKind::Permanent);
        assert!(!err.reason.contains("t0ken"), "{}", err.reason);
        let err = webhook_url("s", "not a url t0ken").unwrap_err();
        assert!(!err.reason.contains("t0ken"), "{}", err.reason);
    }

    #[test]
    fn webhook_secrets_are_a_url_or_json_with_url_and_secret() {
        let t = WebhookTarget::from_secret("s", &SecretValue::new("https://x.example/h")).unwrap();
        assert_eq!(t.url.as_str(), "https://x.example/h");
        assert!(t.signing_secret.is_none());
        let t = WebhookTarget::from_secret(
            "s",
            &SecretValue::new(r#"{"url": "https://x.example/h", "secret": "SECabc"}"#),
        )
        .unwrap();
        assert_eq!(t.signing_secret.unwrap().expose(), "SECabc");
        let err = WebhookTarget::from_secret("s", &SecretValue::new(r#"{"secret": "SECabc"}"#))
            .err()
            .unwrap();
        assert!(err.reason.contains("no \"url\" field") && !err.reason.contains("SECabc"));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = time::macros::datetime!(1994-11-06 08:49:30 UTC);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                now + Duration::from_secs(60)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    fn reply(status: u16, body: &str) -> HttpReply {
        HttpReply {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.into(),
            retry_after: None,
        }
    }

    #[test]
    fn body_codes_decide_over_a_200() {
        let v =
            |r: &HttpReply| body_code_verdict(r, "DingTalk", "errcode", "errmsg", &[-1], &[130101]);
        assert!(v(&reply(200, r#"{"errcode":0,"errmsg":"ok"}"#)).is_ok());
        let busy = v(&reply(200, r#"{"errcode":-1,"errmsg":"busy"}"#)).unwrap_err();
        assert!(busy.is_retryable() && busy.retry_after.is_none());
        let fast = v(&reply(
            200,
            r#"{"errcode":130101,"errmsg":"send too fast"}"#,
        ))
        .unwrap_err();
        assert_eq!(
            (fast.is_retryable(), fast.retry_after),
            (true, Some(RATE_LIMITED_WAIT))
        );
        let sign = v(&reply(
            200,
            r#"{"errcode":310000,"errmsg":"sign not match"}"#,
        ))
        .unwrap_err();
        assert_eq!(sign.reason, "DingTalk errcode 310000: sign not match");
        assert!(!sign.is_retryable());
        assert!(v(&reply(502, "bad gateway")).unwrap_err().is_retryable());
        assert!(!v(&reply(404, "not found")).unwrap_err().is_retryable());
    }
}
