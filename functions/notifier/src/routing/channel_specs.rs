//! The channels of the routing document: kinds, their fields, and their checks.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::language::Language;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    pub language: Language,
    /// Messages per minute this channel accepts; `None` for no limit.
    pub rate_limit_per_minute: Option<u32>,
    pub kind: ChannelKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    Sns(SnsSpec),
    Webhook(SecretOnlySpec),
    DingTalk(DingTalkSpec),
    WeCom(WeComSpec),
    Feishu(FeishuSpec),
    Slack(SecretOnlySpec),
    Email(EmailSpec),
}

impl ChannelKind {
    pub fn name(&self) -> &'static str {
        match self {
            ChannelKind::Sns(_) => "sns",
            ChannelKind::Webhook(_) => "webhook",
            ChannelKind::DingTalk(_) => "dingtalk",
            ChannelKind::WeCom(_) => "wecom",
            ChannelKind::Feishu(_) => "feishu",
            ChannelKind::Slack(_) => "slack",
            ChannelKind::Email(_) => "email",
        }
    }

    /// The documented per-robot limits of the chat services, used unless the channel sets its own.
    fn default_rate_limit_per_minute(&self) -> Option<u32> {
        match self {
            ChannelKind::DingTalk(_) | ChannelKind::WeCom(_) => Some(20),
            ChannelKind::Feishu(_) => Some(100),
            ChannelKind::Slack(_) => Some(60),
            ChannelKind::Sns(_) | ChannelKind::Webhook(_) | ChannelKind::Email(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsSpec {
    pub topic_arn: String,
}

/// Webhook and Slack: the secret holds the URL (and, for webhooks, an optional signing secret).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretOnlySpec {
    pub secret_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingTalkSpec {
    pub secret_id: String,
    /// Mobile numbers @-mentioned on critical events.
    #[serde(default)]
    pub at_mobiles: Vec<String>,
    /// @all on critical events.
    #[serde(default)]
    pub at_all_on_critical: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeComSpec {
    pub secret_id: String,
    /// WeCom user ids @-mentioned (`<@userid>`) on critical events.
    #[serde(default)]
    pub mention_user_ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FeishuFormat {
    #[default]
    Card,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeishuSpec {
    pub secret_id: String,
    #[serde(default)]
    pub format: FeishuFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required); port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte; port 465 by default.
    Tls,
    /// No encryption: only for a relay on the loopback interface (local runs and tests).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSpec {
    pub smtp_host: String,
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Secret with `{"username": "...", "password": "..."}`; omit for a relay without auth.
    #[serde(default)]
    pub secret_id: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

impl EmailSpec {
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }
}

/// True for hosts on the loopback interface, the only ones allowed without TLS.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

pub(crate) fn parse_channel(
    name: &str,
    mut fields: Map<String, Value>,
) -> Result<ChannelSpec, Vec<String>> {
    let mut problems = Vec::new();
    let at = |what: String| format!("channel {name:?}: {what}");
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        problems.push(at(
            "names may contain only letters, digits, '-', '_' and '.' (they become metric dimensions)".into(),
        ));
    }
    let kind = fields.remove("kind");
    let language = match fields.remove("language") {
        None => Language::En,
        Some(Value::String(s)) => Language::parse(&s).unwrap_or_else(|| {
            problems.push(at(format!(
                "language {s:?} is not supported (use \"zh\" or \"en\")"
            )));
            Language::En
        }),
        Some(other) => {
            problems.push(at(format!("language must be a string, not {other}")));
            Language::En
        }
    };
    let rate_limit = match fields.remove("rate_limit_per_minute") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 && n <= u64::from(u32::MAX) => Some(n as u32),
            _ => {
                problems.push(at(format!(
                    "rate_limit_per_minute must be a positive integer, not {v}"
                )));
                None
            }
        },
    };
    let rest = Value::Object(fields);
    fn typed<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
    let kind = match kind.as_ref().and_then(Value::as_str) {
        Some("sns") => typed(rest).map(ChannelKind::Sns),
        Some("webhook") => typed(rest).map(ChannelKind::Webhook),
        Some("dingtalk") => typed(rest).map(ChannelKind::DingTalk),
        Some("wecom") => typed(rest).map(ChannelKind::WeCom),
        Some("feishu") | Some("lark") => typed(rest).map(ChannelKind::Feishu),
        Some("slack") => typed(rest).map(ChannelKind::Slack),
        Some("email") => typed(rest).map(ChannelKind::Email),
        Some(other) => Err(format!(
            "kind {other:?} is not known (use sns, webhook, dingtalk, wecom, feishu, slack or email)"
        )),
        None => Err("missing \"kind\"".into()),
    };
    let kind = match kind {
        Ok(kind) => {
            problems.extend(validate_kind(&kind).into_iter().map(&at));
            Some(kind)
        }
        Err(e) => {
            problems.push(at(e));
            None
        }
    };
    match kind {
        Some(kind) if problems.is_empty() => Ok(ChannelSpec {
            name: name.to_string(),
            language,
            rate_limit_per_minute: rate_limit.or_else(|| kind.default_rate_limit_per_minute()),
            kind,
        }),
        _ => Err(problems),
    }
}

fn validate_kind(kind: &ChannelKind) -> Vec<String> {
    let mut problems = Vec::new();
    let mut secret = |id: &str| {
        if id.trim().is_empty() {
            problems.push("secret_id is empty".to_string());
        }
    };
    match kind {
        ChannelKind::Sns(s) => {
            let parts: Vec<&str> = s.topic_arn.split(':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" {
                problems.push(format!(
                    "topic_arn {:?} is not an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)",
                    s.topic_arn
                ));
            }
        }
        ChannelKind::Webhook(s) | ChannelKind::Slack(s) => secret(&s.secret_id),
        ChannelKind::DingTalk(s) => {
            secret(&s.secret_id);
            if let Some(m) = s.at_mobiles.iter().find(|m| {
                m.is_empty()
                    || !m
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '+' || c == '-')
            }) {
                problems.push(format!("at_mobiles entry {m:?} is not a phone number"));
            }
        }
        ChannelKind::WeCom(s) => secret(&s.secret_id),
        ChannelKind::Feishu(s) => secret(&s.secret_id),
        ChannelKind::Email(s) => {
            if let Some(id) = &s.secret_id {
                secret(id);
            }
            if s.smtp_host.trim().is_empty() {
                problems.push("smtp_host is empty".into());
            }
            if s.security == SmtpSecurity::None && !is_loopback_host(&s.smtp_host) {
                problems.push(format!(
                    "security \"none\" sends mail unencrypted and is allowed only for a loopback relay, not {:?}; use \"starttls\" or \"tls\"",
                    s.smtp_host
                ));
            }
            if s.from.parse::<lettre::message::Mailbox>().is_err() {
                problems.push(format!("from {:?} is not an e-mail address", s.from));
            }
            if s.to.is_empty() {
                problems.push("to lists no recipients".into());
            }
            for to in &s.to {
                if to.parse::<lettre::message::Mailbox>().is_err() {
                    problems.push(format!("to entry {to:?} is not an e-mail address"));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_is_allowed_for_loopback_only() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("localhost"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert!(!is_loopback_host("smtp.example.com"));
    }
}
