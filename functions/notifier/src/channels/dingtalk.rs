//! DingTalk group robot: a markdown message; with a signing secret, `timestamp` and `sign`
//! query parameters; critical events @-mention the configured mobiles. DingTalk answers
//! `{"errcode": 0, "errmsg": "ok"}` with HTTP 200, and errors with a non-zero `errcode`.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::json;
use shared::events::Severity;
use shared::secrets::SecretSource;

use super::http::{body_code_verdict, post_json, secret, WebhookTarget};
use crate::ports::{Attempt, DeliveryError, NotificationChannel};
use crate::routing::DingTalkSpec;
use crate::signing::dingtalk_sign;

/// -1: system busy.
const RETRYABLE_CODES: &[i64] = &[-1];
/// 130101: "send too fast, exceed 20 times per minute"; 410100: rate limited;
/// 90018/90030: call quota reached.
const RATE_LIMITED_CODES: &[i64] = &[130101, 410100, 90018, 90030];

pub struct DingTalkChannel<S> {
    spec: DingTalkSpec,
    secrets: Arc<S>,
    http: reqwest::Client,
}

impl<S: SecretSource> DingTalkChannel<S> {
    pub fn new(spec: DingTalkSpec, secrets: Arc<S>, http: reqwest::Client) -> Self {
        Self {
            spec,
            secrets,
            http,
        }
    }

    /// The request body DingTalk documents for a markdown message.
    pub fn payload(&self, attempt: &Attempt<'_>) -> serde_json::Value {
        let n = attempt.notification;
        let critical = n.severity == Severity::Critical;
        let mut text = format!("### {}\n\n{}", n.markdown_title(), n.markdown_body());
        let mobiles: Vec<&String> = if critical {
            self.spec.at_mobiles.iter().collect()
        } else {
            Vec::new()
        };
        if !mobiles.is_empty() {
            // DingTalk only notifies mobiles that also appear as @mobile in a markdown text.
            text.push('\n');
            text.push_str(
                &mobiles
                    .iter()
                    .map(|m| format!("@{m}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        json!({
            "msgtype": "markdown",
            "markdown": {"title": n.title, "text": text},
            "at": {"atMobiles": mobiles, "isAtAll": critical && self.spec.at_all_on_critical},
        })
    }

    async fn deliver(&self, attempt: Attempt<'_>) -> Result<(), DeliveryError> {
        let target = WebhookTarget::from_secret(
            &self.spec.secret_id,
            &secret(self.secrets.as_ref(), &self.spec.secret_id).await?,
        )?;
        let mut url = target.url;
        if let Some(signing) = &target.signing_secret {
            let timestamp = (attempt.now.unix_timestamp_nanos() / 1_000_000) as i64;
            let sign = dingtalk_sign(signing.expose(), timestamp);
            // `sign` is already URL-encoded as DingTalk documents, so it is appended as is.
            let query = match url.query() {
                Some(q) if !q.is_empty() => format!("{q}&timestamp={timestamp}&sign={sign}"),
                _ => format!("timestamp={timestamp}&sign={sign}"),
            };
            url.set_query(Some(&query));
        }
        let body = serde_json::to_vec(&self.payload(&attempt))
            .map_err(|e| DeliveryError::permanent(format!("payload: {e}")))?;
        let reply = post_json(&self.http, url, Vec::new(), body, &attempt).await?;
        body_code_verdict(
            &reply,
            "DingTalk",
            "errcode",
            "errmsg",
            RETRYABLE_CODES,
            RATE_LIMITED_CODES,
        )
    }
}

impl<S: SecretSource> NotificationChannel for DingTalkChannel<S> {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver(attempt))
    }
}
