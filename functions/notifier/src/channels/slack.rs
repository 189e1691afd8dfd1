//! Slack incoming webhook: Block Kit blocks with a plain-text fallback. Slack answers `ok`
//! with HTTP 200; errors are 4xx with a short code (`invalid_payload`, `no_service`,
//! `channel_is_archived`, ...), 429 with `Retry-After`, or 5xx.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::json;
use shared::secrets::SecretSource;

use super::http::{post_json, secret, WebhookTarget};
use crate::ports::{Attempt, DeliveryError, NotificationChannel};

/// Slack allows at most 10 fields per section and 150 characters in a header.
const MAX_FIELDS: usize = 10;
const MAX_HEADER_CHARS: usize = 150;

pub struct SlackChannel<S> {
    secret_id: String,
    secrets: Arc<S>,
    http: reqwest::Client,
}

use crate::escape::{slack as escape, CommandFormat};

/// Slack allows at most 2000 characters in a section field.
const MAX_FIELD_CHARS: usize = 2000;

impl<S: SecretSource> SlackChannel<S> {
    pub fn new(secret_id: String, secrets: Arc<S>, http: reqwest::Client) -> Self {
        Self {
            secret_id,
            secrets,
            http,
        }
    }

    pub fn payload(attempt: &Attempt<'_>) -> serde_json::Value {
        let n = attempt.notification;
        let header: String = n.title.chars().take(MAX_HEADER_CHARS).collect();
        let fields: Vec<serde_json::Value> = n
            .facts
            .iter()
            .take(MAX_FIELDS)
            .map(|f| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", escape(&f.label), escape(&f.value)).chars().take(MAX_FIELD_CHARS).collect::<String>()}))
            .collect();
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": true}}),
            json!({"type": "section", "fields": fields}),
        ];
        if let Some(link) = &n.link {
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": format!("<{}|{}>", escape(link), escape(&n.link_text))},
            }));
        }
        // Commands in code blocks, where Slack reads no formatting; `inert_json` leaves no
        // backtick to close the block and no `<`, `>` or `&`, so `escape` keeps them exact.
        for command in &n.commands {
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": format!("*{}*\n```{}```", escape(&command.label), escape(&command.text(CommandFormat::Text)))},
            }));
        }
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!("`{}` · {}", escape(&n.event_type), escape(&n.event_id))}],
        }));
        // `text` is read as mrkdwn too (notifications, fallbacks), so it is escaped like the blocks.
        json!({"text": escape(&n.title), "blocks": blocks})
    }

    async fn deliver(&self, attempt: Attempt<'_>) -> Result<(), DeliveryError> {
        let target = WebhookTarget::from_secret(
            &self.secret_id,
            &secret(self.secrets.as_ref(), &self.secret_id).await?,
        )?;
        let body = serde_json::to_vec(&Self::payload(&attempt))
            .map_err(|e| DeliveryError::permanent(format!("payload: {e}")))?;
        post_json(&self.http, target.url, Vec::new(), body, &attempt)
            .await?
            .status_verdict()
    }
}

impl<S: SecretSource> NotificationChannel for SlackChannel<S> {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver(attempt))
    }
}
