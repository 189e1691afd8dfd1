//! Typed configuration from environment variables, read once at init.
//!
//! Every problem is collected and reported together, so an operator fixes a deployment in one
//! round instead of one variable per cold start.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// All problems found while reading the configuration, in the order they were found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.problems.join("; "))
    }
}

impl ConfigError {
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

    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_string)
    }

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
    fn defaults_apply_when_unset_and_lists_are_trimmed() {
        let mut env = Env::from_vars([("LANGS", " zh-CN, ,en-US ")]);
        assert_eq!(env.parse_or("MAX_CONCURRENCY", 4usize), 4);
        assert_eq!(env.list_or("LANGS", &["x"]), vec!["zh-CN", "en-US"]);
        assert_eq!(env.list_or("OTHER", &["x"]), vec!["x"]);
        assert!(env.finish(()).is_ok());
    }
}
