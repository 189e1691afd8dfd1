//! WeCom (WeChat Work) group robot: a markdown message (`<@userid>` mentions on critical
//! events). WeCom answers `{"errcode": 0, "errmsg": "ok"}` with HTTP 200, errors with a
//! non-zero `errcode`.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::json;
use shared::events::Severity;
use shared::secrets::SecretSource;

use super::http::{body_code_verdict, post_json, secret, WebhookTarget};
use crate::ports::{Attempt, DeliveryError, NotificationChannel};
use crate::routing::WeComSpec;

/// -1: system busy.
const RETRYABLE_CODES: &[i64] = &[-1];
/// 45009: API call frequency out of limit (20 messages per minute per robot).
const RATE_LIMITED_CODES: &[i64] = &[45009];
/// WeCom rejects markdown content over 4096 bytes.
const MAX_CONTENT_BYTES: usize = 4096;

pub struct WeComChannel<S> {
    spec: WeComSpec,
    secrets: Arc<S>,
    http: reqwest::Client,
}

fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    if max < '…'.len_utf8() {
        s.clear();
        return;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push('…');
}

impl<S: SecretSource> WeComChannel<S> {
    pub fn new(spec: WeComSpec, secrets: Arc<S>, http: reqwest::Client) -> Self {
        Self {
            spec,
            secrets,
            http,
        }
    }

    pub fn payload(&self, attempt: &Attempt<'_>) -> serde_json::Value {
        let n = attempt.notification;
        let head = format!("### {}\n", n.markdown_title());
        let commands = n.markdown_commands(true);
        let mut mentions = String::new();
        if n.severity == Severity::Critical && !self.spec.mention_user_ids.is_empty() {
            let ids: Vec<String> = self
                .spec
                .mention_user_ids
                .iter()
                .map(|id| format!("<@{id}>"))
                .collect();
            mentions = ids.join(" ");
        }
        // Over the limit, the facts are cut first, then the link is left out; a command is
        // never cut (it would record something else). Commands are bounded so that they fit.
        let kept = head.len() + commands.len() + mentions.len();
        let mut link = n.markdown_link();
        if kept + link.len() > MAX_CONTENT_BYTES {
            link.clear();
        }
        let mut facts = n.markdown_facts();
        truncate_bytes(
            &mut facts,
            MAX_CONTENT_BYTES.saturating_sub(kept + link.len()),
        );
        let mut content = format!("{head}{facts}{link}{commands}{mentions}");
        truncate_bytes(&mut content, MAX_CONTENT_BYTES);
        json!({"msgtype": "markdown", "markdown": {"content": content}})
    }

    async fn deliver(&self, attempt: Attempt<'_>) -> Result<(), DeliveryError> {
        let target = WebhookTarget::from_secret(
            &self.spec.secret_id,
            &secret(self.secrets.as_ref(), &self.spec.secret_id).await?,
        )?;
        let body = serde_json::to_vec(&self.payload(&attempt))
            .map_err(|e| DeliveryError::permanent(format!("payload: {e}")))?;
        let reply = post_json(&self.http, target.url, Vec::new(), body, &attempt).await?;
        body_code_verdict(
            &reply,
            "WeCom",
            "errcode",
            "errmsg",
            RETRYABLE_CODES,
            RATE_LIMITED_CODES,
        )
    }
}

impl<S: SecretSource> NotificationChannel for WeComChannel<S> {
    fn send<'a>(&'a self, attempt: Attempt<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.deliver(attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::truncate_bytes;

    #[test]
    fn long_content_is_cut_on_a_character_boundary() {
        let mut s = "媒".repeat(2000);
        truncate_bytes(&mut s, 4096);
        assert!(s.len() <= 4096 && s.ends_with('…'));
    }
}
