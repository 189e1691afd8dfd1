//! The function's configuration, read once at init from environment variables.

use std::time::Duration;

use shared::config::{Common, ConfigError, Env};

/// Where the routing rules come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesSource {
    /// `NOTIFIER_RULES`: the JSON document itself.
    Inline(String),
    /// `NOTIFIER_RULES_S3_URI`: `s3://bucket/key` of the JSON document.
    S3 { bucket: String, key: String },
}

/// How hard to try one channel inside one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryTuning {
    /// Upper bound of one HTTP or SMTP attempt.
    pub attempt_timeout: Duration,
    /// Attempts per channel per invocation, the first included.
    pub max_attempts: u32,
    /// First backoff step; doubles per retry (full jitter), capped at `max_backoff`.
    pub backoff_base: Duration,
    pub max_backoff: Duration,
    /// Time kept free before the invocation deadline to record results and answer.
    pub safety_margin: Duration,
}

impl Default for DeliveryTuning {
    fn default() -> Self {
        Self {
            attempt_timeout: Duration::from_millis(5_000),
            max_attempts: 4,
            backoff_base: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            safety_margin: Duration::from_millis(1_500),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The variables every function shares (`RESULTS_BUCKET`, `BATCH_CONCURRENCY`, ...).
    pub common: Common,
    pub rules: RulesSource,
    /// `NOTIFIER_RULES_TTL_SECONDS`: how long rules read from S3 are used before the object is
    /// checked again (its ETag), so a changed file takes effect within this time.
    pub rules_ttl: Duration,
    pub delivery: DeliveryTuning,
    /// `STATS_INGEST_QUEUE_URL`: where delivery reports go; unset, none are sent.
    pub stats_ingest_queue_url: Option<String>,
    /// `ALARM_TOPIC_ARN`: the CloudWatch alarm topic the notifications queue also receives;
    /// no SNS channel may publish to it (nor to `EVENTS_TOPIC_ARN`).
    pub alarm_topic_arn: Option<String>,
}

/// Prefix of the per (event, channel) delivery markers in the results bucket.
pub const IDEMPOTENCY_PREFIX: &str = "idempotency/notifier/";

impl Config {
    /// The topics whose messages reach the notifications queue.
    pub fn consumed_topics(&self) -> Vec<&str> {
        [&self.common.events_topic_arn, &self.alarm_topic_arn]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }

    pub fn from_env(mut env: Env) -> Result<Self, ConfigError> {
        let common = Common::read(&mut env, "notifier");
        let rules = match (
            env.optional("NOTIFIER_RULES"),
            env.optional("NOTIFIER_RULES_S3_URI"),
        ) {
            (Some(json), None) => RulesSource::Inline(json),
            (None, Some(uri)) => match parse_s3_uri(&uri) {
                Ok((bucket, key)) => RulesSource::S3 { bucket, key },
                Err(problem) => {
                    env.problem(format!(
                        "NOTIFIER_RULES_S3_URI={uri:?} is not valid: {problem}"
                    ));
                    RulesSource::Inline(String::new())
                }
            },
            (Some(_), Some(_)) => {
                env.problem("set only one of NOTIFIER_RULES and NOTIFIER_RULES_S3_URI");
                RulesSource::Inline(String::new())
            }
            (None, None) => {
                env.problem("missing NOTIFIER_RULES (inline JSON) or NOTIFIER_RULES_S3_URI (s3://bucket/key)");
                RulesSource::Inline(String::new())
            }
        };
        let defaults = DeliveryTuning::default();
        let attempt_timeout_ms: u64 = env.parse_or(
            "NOTIFIER_HTTP_TIMEOUT_MS",
            defaults.attempt_timeout.as_millis() as u64,
        );
        let max_attempts: u32 = env.parse_or("NOTIFIER_MAX_ATTEMPTS", defaults.max_attempts);
        let backoff_base_ms: u64 = env.parse_or(
            "NOTIFIER_RETRY_BASE_MS",
            defaults.backoff_base.as_millis() as u64,
        );
        let safety_margin_ms: u64 = env.parse_or(
            "NOTIFIER_DEADLINE_MARGIN_MS",
            defaults.safety_margin.as_millis() as u64,
        );
        if attempt_timeout_ms == 0 {
            env.problem("NOTIFIER_HTTP_TIMEOUT_MS must be at least 1");
        }
        if max_attempts == 0 {
            env.problem("NOTIFIER_MAX_ATTEMPTS must be at least 1");
        }
        let rules_ttl: u64 = env.parse_or("NOTIFIER_RULES_TTL_SECONDS", 60);
        let config = Config {
            common,
            rules,
            rules_ttl: Duration::from_secs(rules_ttl),
            stats_ingest_queue_url: env.optional("STATS_INGEST_QUEUE_URL"),
            alarm_topic_arn: env.optional("ALARM_TOPIC_ARN"),
            delivery: DeliveryTuning {
                attempt_timeout: Duration::from_millis(attempt_timeout_ms),
                max_attempts,
                backoff_base: Duration::from_millis(backoff_base_ms),
                max_backoff: defaults.max_backoff,
                safety_margin: Duration::from_millis(safety_margin_ms),
            },
        };
        env.finish(config)
    }
}

/// Splits `s3://bucket/key` into bucket and key.
pub fn parse_s3_uri(uri: &str) -> Result<(String, String), String> {
    let rest = uri
        .strip_prefix("s3://")
        .ok_or_else(|| "expected s3://bucket/key".to_string())?;
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err("expected s3://bucket/key".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_problems_are_reported_together() {
        let env = Env::from_vars([
            ("BATCH_CONCURRENCY", "0"),
            ("NOTIFIER_MAX_ATTEMPTS", "lots"),
        ]);
        let err = Config::from_env(env).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                "missing RESULTS_BUCKET",
                "BATCH_CONCURRENCY=0 is out of range 1..=100",
                "missing NOTIFIER_RULES (inline JSON) or NOTIFIER_RULES_S3_URI (s3://bucket/key)",
                "NOTIFIER_MAX_ATTEMPTS=\"lots\" is not valid: invalid digit found in string",
            ]
        );
    }

    #[test]
    fn rules_from_s3_and_defaults() {
        let env = Env::from_vars([
            (
                "NOTIFIER_RULES_S3_URI",
                "s3://config-bucket/notifier/rules.json",
            ),
            ("RESULTS_BUCKET", "results"),
        ]);
        let s = Config::from_env(env).unwrap();
        assert_eq!(
            s.rules,
            RulesSource::S3 {
                bucket: "config-bucket".into(),
                key: "notifier/rules.json".into()
            }
        );
        // One wave per SQS batch of 10 (issue 19.2).
        assert_eq!(s.common.batch_concurrency, 10);
        assert_eq!(s.common.metrics_namespace, "MediaSuite");
        assert_eq!(s.common.results_bucket, "results");
        assert_eq!(s.delivery, DeliveryTuning::default());
        assert!(s.common.dead_letter_queue_url.is_none());
    }

    #[test]
    fn both_rule_sources_or_a_bad_uri_are_rejected() {
        let env = Env::from_vars([
            ("NOTIFIER_RULES", "{}"),
            ("NOTIFIER_RULES_S3_URI", "s3://b/k"),
            ("RESULTS_BUCKET", "r"),
        ]);
        assert_eq!(
            Config::from_env(env).unwrap_err().problems,
            vec!["set only one of NOTIFIER_RULES and NOTIFIER_RULES_S3_URI"]
        );
        let env = Env::from_vars([
            ("NOTIFIER_RULES_S3_URI", "bucket/key"),
            ("RESULTS_BUCKET", "r"),
        ]);
        assert_eq!(
            Config::from_env(env).unwrap_err().problems,
            vec!["NOTIFIER_RULES_S3_URI=\"bucket/key\" is not valid: expected s3://bucket/key"]
        );
    }
}
