//! Typed configuration from environment variables, read once at init.
//!
//! Every problem is collected and reported together, so an operator fixes a deployment in one
//! round instead of one variable per cold start.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::time::BusinessTimeZone;

/// All problems found while reading the configuration, in the order they were found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.problems.join("; "))
    }
}

impl ConfigError {
    /// An error with one problem, for checks made outside [`Env`].
    pub fn single(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
        }
    }
}

/// Reads variables from a snapshot of the environment and collects problems.
///
/// Methods return a usable value even when the variable is bad (a default), so reading can go
/// on and report everything; [`Env::finish`] turns the collected problems into one error.
pub struct Env {
    vars: HashMap<String, String>,
    problems: Vec<String>,
}

impl Env {
    /// Snapshot of the process environment.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars())
    }

    /// Snapshot of the given variables, so tests need not touch the process environment.
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            problems: Vec::new(),
        }
    }

    /// The raw value, `None` when unset; an empty value counts as unset.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A variable that must be set and non-empty.
    pub fn required(&mut self, name: &str) -> String {
        match self.vars.get(name).map(|v| v.trim()) {
            None => {
                self.problems.push(format!("missing {name}"));
                String::new()
            }
            Some("") => {
                self.problems.push(format!("{name} is empty"));
                String::new()
            }
            Some(v) => v.to_string(),
        }
    }

    /// A variable that may be unset; an empty value counts as unset.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_string)
    }

    /// The variable's value, `default` when unset or empty.
    pub fn string_or(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or(default).to_string()
    }

    /// A variable parsed with `FromStr`, `default` when unset.
    pub fn parse_or<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.raw(name) {
            None => default,
            Some(v) => match v.parse() {
                Ok(parsed) => parsed,
                Err(e) => {
                    self.problems
                        .push(format!("{name}={v:?} is not valid: {e}"));
                    default
                }
            },
        }
    }

    /// An optional variable parsed with `FromStr`.
    pub fn parse_optional<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let v = self.raw(name)?.to_string();
        match v.parse() {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                self.problems
                    .push(format!("{name}={v:?} is not valid: {e}"));
                None
            }
        }
    }

    /// A comma-separated list; empty items are dropped.
    pub fn list_or(&self, name: &str, default: &[&str]) -> Vec<String> {
        match self.raw(name) {
            None => default.iter().map(|s| s.to_string()).collect(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// Records a problem found by the caller's own validation.
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// `Ok(value)` when no problem was recorded, otherwise every problem at once.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

/// The variables every function shares, read and checked in one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// The function's service name (`ai-processor`, ...): log key, metric dimension, event source.
    pub service: &'static str,
    /// `RESULTS_BUCKET`: analysis documents, transcripts, stats, state and idempotency markers.
    pub results_bucket: String,
    /// `EVENTS_TOPIC_ARN`: the `suite-events` topic; see [`Common::require_events_topic`].
    pub events_topic_arn: Option<String>,
    /// `DEAD_LETTER_QUEUE_URL`: where poison messages go at once (else the redrive policy).
    pub dead_letter_queue_url: Option<String>,
    /// `BATCH_CONCURRENCY`: records of one SQS batch handled at once.
    pub batch_concurrency: usize,
    /// `METRICS_NAMESPACE`: CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// `IDEMPOTENCY_LEASE_SECONDS`: how long a claim is held before another may take it over.
    pub idempotency_lease: Duration,
    /// `SUITE_TIMEZONE`: where the platform's days begin.
    pub time_zone: BusinessTimeZone,
}

/// Default of `BATCH_CONCURRENCY`: one wave for the queues' batch size of 10.
pub const DEFAULT_BATCH_CONCURRENCY: usize = 10;
/// Upper bound of `BATCH_CONCURRENCY`; a larger value is reported as a configuration problem.
pub const MAX_BATCH_CONCURRENCY: usize = 100;
/// Default idempotency lease: longer than any function's timeout in the template (15 minutes).
pub const DEFAULT_IDEMPOTENCY_LEASE_SECONDS: u64 = 960;

impl Common {
    /// Reads the shared variables, recording every problem in `env`.
    pub fn read(env: &mut Env, service: &'static str) -> Self {
        let results_bucket = env.required("RESULTS_BUCKET");
        let batch_concurrency = env.parse_or("BATCH_CONCURRENCY", DEFAULT_BATCH_CONCURRENCY);
        if !(1..=MAX_BATCH_CONCURRENCY).contains(&batch_concurrency) {
            env.problem(format!(
                "BATCH_CONCURRENCY={batch_concurrency} is out of range 1..={MAX_BATCH_CONCURRENCY}"
            ));
        }
        let lease: u64 = env.parse_or(
            "IDEMPOTENCY_LEASE_SECONDS",
            DEFAULT_IDEMPOTENCY_LEASE_SECONDS,
        );
        let timeout: Option<u64> = env.parse_optional("FUNCTION_TIMEOUT_SECONDS");
        match timeout {
            // A lease shorter than the invocation lets a second instance take over a claim
            // whose owner is still running, and the effect happens twice.
            Some(timeout) if lease <= timeout => env.problem(format!(
                "IDEMPOTENCY_LEASE_SECONDS={lease} must be longer than the function timeout ({timeout} s)"
            )),
            _ if !(1..=86_400).contains(&lease) => env.problem(format!(
                "IDEMPOTENCY_LEASE_SECONDS={lease} is out of range 1..=86400"
            )),
            _ => {}
        }
        let time_zone = env.parse_or("SUITE_TIMEZONE", BusinessTimeZone::utc());
        Self {
            service,
            results_bucket,
            events_topic_arn: env.optional("EVENTS_TOPIC_ARN"),
            dead_letter_queue_url: env.optional("DEAD_LETTER_QUEUE_URL"),
            batch_concurrency,
            metrics_namespace: env.string_or("METRICS_NAMESPACE", "MediaSuite"),
            idempotency_lease: Duration::from_secs(lease),
            time_zone,
        }
    }

    /// The events topic, for functions that publish: a missing one is a problem.
    pub fn require_events_topic(&self, env: &mut Env) -> String {
        match &self.events_topic_arn {
            Some(arn) => arn.clone(),
            None => {
                env.problem("missing EVENTS_TOPIC_ARN");
                String::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut env = Env::from_vars([("RESULTS_BUCKET", "  "), ("MAX_CONCURRENCY", "many")]);
        let _ = env.required("MEDIA_BUCKET");
        let _ = env.required("RESULTS_BUCKET");
        let _: usize = env.parse_or("MAX_CONCURRENCY", 4);
        let err = env.finish(()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: missing MEDIA_BUCKET; RESULTS_BUCKET is empty; \
             MAX_CONCURRENCY=\"many\" is not valid: invalid digit found in string"
        );
    }

    #[test]
    fn common_variables_are_checked_once_for_every_function() {
        let mut env = Env::from_vars([
            ("RESULTS_BUCKET", "results"),
            ("BATCH_CONCURRENCY", "0"),
            ("IDEMPOTENCY_LEASE_SECONDS", "60"),
            ("FUNCTION_TIMEOUT_SECONDS", "180"),
            ("SUITE_TIMEZONE", "Asia/Shanghai"),
        ]);
        let common = Common::read(&mut env, "notifier");
        assert_eq!(common.time_zone.name(), "Asia/Shanghai");
        let _ = common.require_events_topic(&mut env);
        let err = env.finish(()).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                "BATCH_CONCURRENCY=0 is out of range 1..=100",
                "IDEMPOTENCY_LEASE_SECONDS=60 must be longer than the function timeout (180 s)",
                "missing EVENTS_TOPIC_ARN",
            ]
        );
        let mut env = Env::from_vars([("RESULTS_BUCKET", "r")]);
        let common = Common::read(&mut env, "stats-aggregator");
        assert_eq!(common.batch_concurrency, 10);
        assert!(common.time_zone.is_utc());
        assert!(env.finish(()).is_ok());
    }

    #[test]
    fn defaults_apply_when_unset_and_lists_are_trimmed() {
        let mut env = Env::from_vars([("LANGS", " zh-CN, ,en-US ")]);
        assert_eq!(env.parse_or("MAX_CONCURRENCY", 4usize), 4);
        assert_eq!(env.list_or("LANGS", &["x"]), vec!["zh-CN", "en-US"]);
        assert_eq!(env.list_or("OTHER", &["x"]), vec!["x"]);
        assert!(env.finish(()).is_ok());
    }
}
