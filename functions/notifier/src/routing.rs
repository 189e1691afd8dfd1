//! Routing rules: which channels an event goes to.
//!
//! The document (from `NOTIFIER_RULES` or an S3 object) names the channels and the rules:
//!
//! ```json
//! {
//!   "channels": {
//!     "ops-dingtalk": {"kind": "dingtalk", "secret_id": "notifier/ops-dingtalk", "language": "zh",
//!                      "at_mobiles": ["13800000000"]},
//!     "ops-mail": {"kind": "email", "smtp_host": "smtp.example.com", "from": "bot@example.com",
//!                  "to": ["ops@example.com"], "secret_id": "notifier/smtp"}
//!   },
//!   "rules": [
//!     {"types": ["media.*"], "min_severity": "warning", "channels": ["ops-dingtalk"]},
//!     {"types": ["cost.*"], "channels": ["ops-dingtalk", "ops-mail"]}
//!   ]
//! }
//! ```
//!
//! Everything is checked at init and every problem is reported at once.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use shared::config::ConfigError;
use shared::events::{Envelope, Severity};

/// The language a channel's messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Zh,
    En,
}

impl Language {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" => Some(Language::Zh),
            "en" | "en-us" | "en-gb" => Some(Language::En),
            _ => None,
        }
    }
}

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

/// A type pattern: `*` matches any run of characters (`media.*`, `*.failed`, `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypePattern(String);

impl TypePattern {
    fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("an empty type pattern".into());
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '*')))
        {
            return Err(format!("type pattern {pattern:?} contains {c:?} (allowed: letters, digits, . _ - and * as wildcard)"));
        }
        Ok(Self(pattern.to_string()))
    }

    pub fn matches(&self, event_type: &str) -> bool {
        glob_match(self.0.as_bytes(), event_type.as_bytes())
    }
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative wildcard matching with backtracking to the last `*`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub types: Vec<TypePattern>,
    pub min_severity: Severity,
    pub channels: Vec<String>,
}

impl Rule {
    fn matches(&self, envelope: &Envelope) -> bool {
        envelope.severity >= self.min_severity
            && self.types.iter().any(|t| t.matches(&envelope.event_type))
    }
}

/// The validated routing document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub channels: Vec<ChannelSpec>,
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    channels: BTreeMap<String, Map<String, Value>>,
    rules: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    types: Vec<String>,
    #[serde(default)]
    min_severity: Option<Severity>,
    channels: Vec<String>,
}

impl Routing {
    /// Parses and validates the document; the error lists every problem found.
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        let raw: RawRouting = serde_json::from_str(json).map_err(|e| {
            ConfigError::single(format!(
                "routing rules are not valid JSON of the form {{\"channels\": {{...}}, \"rules\": [...]}}: {e}"
            ))
        })?;
        let mut problems = Vec::new();
        if raw.channels.is_empty() {
            problems.push("routing rules define no channels".to_string());
        }
        if raw.rules.is_empty() {
            problems.push("routing rules have no rules, so nothing would be delivered".to_string());
        }
        let mut channels = Vec::new();
        for (name, fields) in raw.channels {
            match parse_channel(&name, fields) {
                Ok(spec) => channels.push(spec),
                Err(mut p) => problems.append(&mut p),
            }
        }
        let mut rules = Vec::new();
        for (index, value) in raw.rules.into_iter().enumerate() {
            match parse_rule(index, value, &channels) {
                Ok(rule) => rules.push(rule),
                Err(mut p) => problems.append(&mut p),
            }
        }
        if problems.is_empty() {
            Ok(Self { channels, rules })
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The channels an event goes to, each once, in rule order. Empty when no rule matches.
    pub fn route(&self, envelope: &Envelope) -> Vec<&ChannelSpec> {
        let mut out: Vec<&ChannelSpec> = Vec::new();
        for rule in self.rules.iter().filter(|r| r.matches(envelope)) {
            for name in &rule.channels {
                if out.iter().any(|c| &c.name == name) {
                    continue;
                }
                if let Some(spec) = self.channels.iter().find(|c| &c.name == name) {
                    out.push(spec);
                }
            }
        }
        out
    }
}

fn parse_channel(name: &str, mut fields: Map<String, Value>) -> Result<ChannelSpec, Vec<String>> {
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

fn parse_rule(index: usize, value: Value, channels: &[ChannelSpec]) -> Result<Rule, Vec<String>> {
    let at = |what: String| format!("rule {}: {what}", index + 1);
    let raw: RawRule = serde_json::from_value(value).map_err(|e| vec![at(e.to_string())])?;
    let mut problems = Vec::new();
    if raw.types.is_empty() {
        problems.push(at("types is empty (use [\"*\"] for every type)".into()));
    }
    let mut types = Vec::new();
    for t in &raw.types {
        match TypePattern::parse(t) {
            Ok(p) => types.push(p),
            Err(e) => problems.push(at(e)),
        }
    }
    if raw.channels.is_empty() {
        problems.push(at("channels is empty".into()));
    }
    for name in &raw.channels {
        if !channels.iter().any(|c| &c.name == name) {
            problems.push(at(format!(
                "channel {name:?} is not defined under \"channels\""
            )));
        }
    }
    if problems.is_empty() {
        Ok(Rule {
            types,
            min_severity: raw.min_severity.unwrap_or(Severity::Info),
            channels: raw.channels,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event_type: &str, severity: Severity) -> Envelope {
        Envelope::new(
            event_type,
            "test",
            "s3://media/videos/a.mp4",
            severity,
            "",
            Value::Null,
        )
    }

    const DOC: &str = r#"{
        "channels": {
            "ops": {"kind": "dingtalk", "secret_id": "s/ops", "language": "zh"},
            "hook": {"kind": "webhook", "secret_id": "s/hook", "rate_limit_per_minute": 5},
            "mail": {"kind": "email", "smtp_host": "smtp.example.com", "from": "Bot <bot@example.com>", "to": ["ops@example.com"]}
        },
        "rules": [
            {"types": ["media.*"], "min_severity": "warning", "channels": ["ops", "hook"]},
            {"types": ["*.failed", "cost.threshold"], "channels": ["hook", "mail"]}
        ]
    }"#;

    #[test]
    fn routes_by_type_pattern_and_minimum_severity_each_channel_once() {
        let routing = Routing::parse(DOC).unwrap();
        let names = |e: &Envelope| {
            routing
                .route(e)
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&envelope("media.flagged", Severity::Critical)),
            vec!["ops", "hook"]
        );
        assert_eq!(
            names(&envelope("media.analyzed", Severity::Info)),
            Vec::<String>::new()
        );
        assert_eq!(
            names(&envelope("media.failed", Severity::Warning)),
            vec!["ops", "hook", "mail"]
        );
        assert_eq!(
            names(&envelope("media.failed", Severity::Info)),
            vec!["hook", "mail"]
        );
        assert_eq!(
            names(&envelope("cost.threshold", Severity::Info)),
            vec!["hook", "mail"]
        );
        assert_eq!(
            names(&envelope("brand.new", Severity::Critical)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn defaults_and_documented_rate_limits_apply() {
        let routing = Routing::parse(DOC).unwrap();
        let ops = routing.channels.iter().find(|c| c.name == "ops").unwrap();
        assert_eq!(ops.language, Language::Zh);
        assert_eq!(ops.rate_limit_per_minute, Some(20));
        let hook = routing.channels.iter().find(|c| c.name == "hook").unwrap();
        assert_eq!(hook.rate_limit_per_minute, Some(5));
        let ChannelKind::Email(mail) = &routing
            .channels
            .iter()
            .find(|c| c.name == "mail")
            .unwrap()
            .kind
        else {
            panic!("mail is an email channel")
        };
        assert_eq!((mail.security, mail.port()), (SmtpSecurity::Starttls, 587));
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let doc = r#"{
            "channels": {
                "a": {"kind": "pager"},
                "b": {"kind": "slack", "secret_id": "x", "colour": "red"},
                "c": {"kind": "email", "smtp_host": "mail.example.com", "security": "none", "from": "nobody", "to": []},
                "d": {"kind": "sns", "topic_arn": "events"},
                "e": {"kind": "feishu", "secret_id": "f", "language": "fr"}
            },
            "rules": [
                {"types": [], "channels": ["a"]},
                {"types": ["media.*"], "min_severity": "loud", "channels": ["b"]},
                {"types": ["media flagged"], "channels": ["zzz"]}
            ]
        }"#;
        let err = Routing::parse(doc).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                "channel \"a\": kind \"pager\" is not known (use sns, webhook, dingtalk, wecom, feishu, slack or email)",
                "channel \"b\": unknown field `colour`, expected `secret_id`",
                "channel \"c\": security \"none\" sends mail unencrypted and is allowed only for a loopback relay, not \"mail.example.com\"; use \"starttls\" or \"tls\"",
                "channel \"c\": from \"nobody\" is not an e-mail address",
                "channel \"c\": to lists no recipients",
                "channel \"d\": topic_arn \"events\" is not an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)",
                "channel \"e\": language \"fr\" is not supported (use \"zh\" or \"en\")",
                "rule 1: types is empty (use [\"*\"] for every type)",
                "rule 1: channel \"a\" is not defined under \"channels\"",
                "rule 2: unknown variant `loud`, expected one of `info`, `warning`, `critical`",
                "rule 3: type pattern \"media flagged\" contains ' ' (allowed: letters, digits, . _ - and * as wildcard)",
                "rule 3: channel \"zzz\" is not defined under \"channels\"",
            ]
        );
        assert!(Routing::parse("[]")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert_eq!(
            Routing::parse(r#"{"channels": {}, "rules": []}"#)
                .unwrap_err()
                .problems,
            vec![
                "routing rules define no channels",
                "routing rules have no rules, so nothing would be delivered"
            ]
        );
    }

    #[test]
    fn plain_smtp_is_allowed_for_loopback_only() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("localhost"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert!(!is_loopback_host("smtp.example.com"));
    }

    #[test]
    fn wildcards_match_any_run_of_characters() {
        let p = |s: &str| TypePattern::parse(s).unwrap();
        assert!(p("*").matches("anything.at.all"));
        assert!(p("media.*").matches("media.flagged"));
        assert!(!p("media.*").matches("mediax.flagged"));
        assert!(p("*.failed").matches("media.failed"));
        assert!(p("m*a.*ed").matches("media.flagged"));
        assert!(!p("cost.threshold").matches("cost.thresholds"));
    }
}
