//! The channel adapters outside AWS (chat robots, webhooks, SMTP), one per service, all
//! behind [`NotificationChannel`]; [`build`] makes one adapter per configured channel.

pub mod dingtalk;
pub mod email;
pub mod feishu;
#[cfg(test)]
mod hostile_names;
pub mod http;
#[cfg(test)]
mod review_messages;
pub mod slack;
#[cfg(test)]
mod test_support;
pub mod webhook;
pub mod wecom;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use shared::secrets::SecretSource;

use crate::adapters::sns::SnsTopicChannel;
use crate::ports::NotificationChannel;
use crate::routing::{ChannelKind, ChannelSpec};

/// The one HTTP client of the process: rustls, no redirects (a redirect would carry the
/// request, and its token, elsewhere), bounded connect time.
pub fn http_client(attempt_timeout: Duration) -> Result<reqwest::Client, String> {
    // reqwest is built without its own crypto (which would be ring); the process uses aws-lc,
    // the provider the AWS SDK links. Installing twice is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(attempt_timeout.min(Duration::from_secs(3)))
        .timeout(attempt_timeout)
        .user_agent(concat!("media-suite-notifier/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Builds one adapter per configured channel. No network: secrets are read at first use.
pub fn build<S: SecretSource + 'static>(
    specs: &[ChannelSpec],
    secrets: Arc<S>,
    sns: &aws_sdk_sns::Client,
    http: &reqwest::Client,
) -> HashMap<String, Arc<dyn NotificationChannel>> {
    specs
        .iter()
        .map(|spec| {
            let channel: Arc<dyn NotificationChannel> = match &spec.kind {
                ChannelKind::Sns(s) => {
                    Arc::new(SnsTopicChannel::new(sns.clone(), s.topic_arn.clone()))
                }
                ChannelKind::Webhook(s) => Arc::new(webhook::WebhookChannel::new(
                    s.secret_id.clone(),
                    secrets.clone(),
                    http.clone(),
                )),
                ChannelKind::DingTalk(s) => Arc::new(dingtalk::DingTalkChannel::new(
                    s.clone(),
                    secrets.clone(),
                    http.clone(),
                )),
                ChannelKind::WeCom(s) => Arc::new(wecom::WeComChannel::new(
                    s.clone(),
                    secrets.clone(),
                    http.clone(),
                )),
                ChannelKind::Feishu(s) => Arc::new(feishu::FeishuChannel::new(
                    s.clone(),
                    secrets.clone(),
                    http.clone(),
                )),
                ChannelKind::Slack(s) => Arc::new(slack::SlackChannel::new(
                    s.secret_id.clone(),
                    secrets.clone(),
                    http.clone(),
                )),
                ChannelKind::Email(s) => {
                    Arc::new(email::EmailChannel::new(s.clone(), secrets.clone()))
                }
            };
            (spec.name.clone(), channel)
        })
        .collect()
}
