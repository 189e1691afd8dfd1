//! Configuration from environment variables, read once at init (see `env.example`): the
//! variables every function shares ([`Common`]) and this function's own.

use shared::config::{Common, ConfigError, Env};

/// The service name in logs, metrics and the events it publishes.
pub const SERVICE: &str = "stats-aggregator";

/// Maximum `ROLLUP_LATENESS_MINUTES`: one day (each hourly run would re-roll 25 hours).
pub const MAX_LATENESS_MINUTES: u32 = 24 * 60;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub common: Common,
    /// `EVENTS_TOPIC_ARN`: where the daily `stats.digest` is published (required here).
    pub events_topic_arn: String,
    /// How late (after its hour ended) an event may arrive and still be counted in its hour.
    pub lateness_minutes: u32,
    /// Raw objects read at once during a rollup.
    pub fetch_concurrency: usize,
    /// `RAW_STATS_RETENTION_DAYS`: how long the bucket keeps raw objects (the lifecycle rule).
    /// An hour whose earlier raw objects may have expired is never rolled again: a re-roll
    /// would count only what is left.
    pub raw_retention_days: u32,
}

impl Config {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigError> {
        let common = Common::read(&mut env, SERVICE);
        let events_topic_arn = common.require_events_topic(&mut env);
        let lateness_minutes: u32 = env.parse_or("ROLLUP_LATENESS_MINUTES", 60);
        if lateness_minutes > MAX_LATENESS_MINUTES {
            env.problem(format!(
                "ROLLUP_LATENESS_MINUTES={lateness_minutes} is more than {MAX_LATENESS_MINUTES} (one day)"
            ));
        }
        if let Err(e) = crate::period::whole_hour_zone(&common.time_zone) {
            env.problem(e.to_string());
        }
        let fetch_concurrency: usize = env.parse_or("ROLLUP_FETCH_CONCURRENCY", 8);
        if !(1..=256).contains(&fetch_concurrency) {
            env.problem(format!(
                "ROLLUP_FETCH_CONCURRENCY={fetch_concurrency} must be between 1 and 256"
            ));
        }
        let raw_retention_days: u32 = env.parse_or("RAW_STATS_RETENTION_DAYS", 30);
        if raw_retention_days < 2 {
            env.problem(format!(
                "RAW_STATS_RETENTION_DAYS={raw_retention_days} must be at least 2 (late events are re-counted from raw objects up to a day before they expire)"
            ));
        }
        let config = Config {
            common,
            events_topic_arn,
            lateness_minutes,
            fetch_concurrency,
            raw_retention_days,
        };
        env.finish(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_and_every_problem_is_reported_at_once() {
        let config = Config::from_env(Env::from_vars([
            ("RESULTS_BUCKET", "results"),
            ("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:suite-events"),
        ]))
        .unwrap();
        assert_eq!(config.lateness_minutes, 60);
        assert_eq!(config.fetch_concurrency, 8);
        assert_eq!(config.raw_retention_days, 30);
        assert_eq!(config.common.metrics_namespace, "MediaSuite");
        assert_eq!(config.common.dead_letter_queue_url, None);
        assert_eq!(config.common.time_zone.name(), "UTC");

        let err = Config::from_env(Env::from_vars([
            ("ROLLUP_LATENESS_MINUTES", "2000"),
            ("ROLLUP_FETCH_CONCURRENCY", "0"),
            ("BATCH_CONCURRENCY", "lots"),
            ("RAW_STATS_RETENTION_DAYS", "1"),
        ]))
        .unwrap_err();
        let problems = err.problems.join("\n");
        for expected in [
            "missing RESULTS_BUCKET",
            "EVENTS_TOPIC_ARN",
            "ROLLUP_LATENESS_MINUTES=2000 is more than 1440 (one day)",
            "BATCH_CONCURRENCY=\"lots\" is not valid",
            "ROLLUP_FETCH_CONCURRENCY=0 must be between 1 and 256",
            "RAW_STATS_RETENTION_DAYS=1 must be at least 2",
        ] {
            assert!(problems.contains(expected), "{expected} in {problems}");
        }
    }
}
