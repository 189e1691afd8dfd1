//! Generic webhook: the envelope and the rendered notification as one JSON POST, optionally
//! signed (`X-Signature-256: sha256=<hex>` over `<timestamp>.<body>`, with
//! `X-Signature-Timestamp`).

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::json;
use shared::secrets::SecretSource;

use super::http::{post_json, secret, WebhookTarget};
use crate::escape::CommandFormat;
use crate::ports::{Attempt, DeliveryError, NotificationChannel};
use crate::signing::webhook_signature;

pub struct WebhookChannel<S> {
    secret_id: String,
    secrets: Arc<S>,
    http: reqwest::Client,
}

impl<S: SecretSource> WebhookChannel<S> {
    pub fn new(secret_id: String, secrets: Arc<S>, http: reqwest::Client) -> Self {
        Self {
            secret_id,
            secrets,
            http,
        }
    }

    async fn deliver(&self, attempt: Attempt<'_>) -> Result<(), DeliveryError> {
        let target = WebhookTarget::from_secret(
            &self.secret_id,
            &secret(self.secrets.as_ref(), &self.secret_id).await?,
        )?;
        let n = attempt.notification;
        let body = serde_json::to_vec(&json!({
            "event": attempt.envelope,
            "notification": {
                "title": n.title,
                "text": n.plain_text(),
                "severity": n.severity,
                "link": n.link,
                "language": n.language.code(),
                "commands": n.commands.iter().map(|c| json!({"label": c.label, "command": c.text(CommandFormat::Text)})).collect::<Vec<_>>(),
            }
        }))
        .map_err(|e| DeliveryError::permanent(format!("payload: {e}")))?;
        let mut headers = vec![
            ("x-event-id", attempt.envelope.id.clone()),
            ("x-event-type", attempt.envelope.event_type.clone()),
            ("idempotency-key", attempt.idempotency_key.to_string()),
        ];
        if let Some(signing) = &target.signing_secret {
            let timestamp = attempt.now.unix_timestamp();
            headers.push(("x-signature-timestamp", timestamp.to_string()));
            headers.push((
                "x-signature-256",
                webhook_signature(signing.expose(), timestamp, &body),
            ));
        }
        post_json(&self.http, target.url, headers, body, &attempt)
            .await?
            .status_verdict()
    }
}

impl<S: SecretSource> NotificationChannel for WebhookChannel<S> {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver(attempt))
    }
}
