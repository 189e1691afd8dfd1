//! Feishu / Lark custom bot: an interactive card (or plain text); with a signing secret,
//! `timestamp` and `sign` in the body. Feishu answers `{"code": 0, "msg": "success"}`, and
//! errors with a non-zero `code` (e.g. 19021 bad signature, 19024 keyword missing,
//! 11232 frequency limited).

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{json, Value};
use shared::events::Severity;
use shared::secrets::SecretSource;

use super::http::{body_code_verdict, post_json, secret, WebhookTarget};
use crate::ports::{Attempt, DeliveryError, NotificationChannel};
use crate::routing::{FeishuFormat, FeishuSpec};
use crate::signing::feishu_sign;

const RETRYABLE_CODES: &[i64] = &[];
/// 11232: frequency limited (100 per minute, 5 per second per bot).
const RATE_LIMITED_CODES: &[i64] = &[11232];

pub struct FeishuChannel<S> {
    spec: FeishuSpec,
    secrets: Arc<S>,
    http: reqwest::Client,
}

impl<S: SecretSource> FeishuChannel<S> {
    pub fn new(spec: FeishuSpec, secrets: Arc<S>, http: reqwest::Client) -> Self {
        Self {
            spec,
            secrets,
            http,
        }
    }

    /// The message part of the body (without `timestamp` / `sign`).
    pub fn payload(&self, attempt: &Attempt<'_>) -> Value {
        let n = attempt.notification;
        match self.spec.format {
            FeishuFormat::Text => {
                json!({"msg_type": "text", "content": {"text": crate::escape::feishu_text(&n.plain_text())}})
            }
            FeishuFormat::Card => {
                let template = match n.severity {
                    Severity::Critical => "red",
                    Severity::Warning => "orange",
                    Severity::Info => "blue",
                };
                let mut elements = vec![json!({
                    "tag": "div",
                    "text": {"tag": "lark_md", "content": n.markdown_body()},
                })];
                if let Some(link) = &n.link {
                    elements.push(json!({
                        "tag": "action",
                        "actions": [{
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": n.link_text},
                            "type": "primary",
                            "url": link,
                        }],
                    }));
                }
                elements.push(json!({
                    "tag": "note",
                    "elements": [{"tag": "plain_text", "content": format!("{} · {}", n.event_type, n.event_id)}],
                }));
                json!({
                    "msg_type": "interactive",
                    "card": {
                        "config": {"wide_screen_mode": true},
                        "header": {"title": {"tag": "plain_text", "content": n.title}, "template": template},
                        "elements": elements,
                    },
                })
            }
        }
    }

    async fn deliver(&self, attempt: Attempt<'_>) -> Result<(), DeliveryError> {
        let target = WebhookTarget::from_secret(
            &self.spec.secret_id,
            &secret(self.secrets.as_ref(), &self.spec.secret_id).await?,
        )?;
        let mut payload = self.payload(&attempt);
        if let (Some(signing), Some(object)) = (&target.signing_secret, payload.as_object_mut()) {
            let timestamp = attempt.now.unix_timestamp();
            object.insert("timestamp".into(), Value::String(timestamp.to_string()));
            object.insert(
                "sign".into(),
                Value::String(feishu_sign(signing.expose(), timestamp)),
            );
        }
        let body = serde_json::to_vec(&payload)
            .map_err(|e| DeliveryError::permanent(format!("payload: {e}")))?;
        let reply = post_json(&self.http, target.url, Vec::new(), body, &attempt).await?;
        // Older bot endpoints answer `{"StatusCode": 0, "StatusMessage": "success"}`.
        if reply
            .json()
            .and_then(|j| j.get("StatusCode").cloned())
            .is_some()
        {
            return body_code_verdict(
                &reply,
                "Feishu",
                "StatusCode",
                "StatusMessage",
                RETRYABLE_CODES,
                RATE_LIMITED_CODES,
            );
        }
        body_code_verdict(
            &reply,
            "Feishu",
            "code",
            "msg",
            RETRYABLE_CODES,
            RATE_LIMITED_CODES,
        )
    }
}

impl<S: SecretSource> NotificationChannel for FeishuChannel<S> {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver(attempt))
    }
}
