//! Configuration from environment variables, read once at init (see `env.example`).

use shared::config::{ConfigError, Env};

/// The service name in logs, metrics and the events it publishes.
pub const SERVICE: &str = "stats-aggregator";

/// Maximum `ROLLUP_LATENESS_MINUTES`: one day (each hourly run would re-roll 25 hours).
pub const MAX_LATENESS_MINUTES: u32 = 24 * 60;

/// What the domain needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub results_bucket: String,
    /// How late (after its hour ended) an event may arrive and still be counted in its hour.
    pub lateness_minutes: u32,
    /// Raw objects read at once during a rollup.
    pub fetch_concurrency: usize,
    /// Records parsed and objects written at once during ingest.
    pub batch_concurrency: usize,
    pub metrics_namespace: String,
}

/// Everything read at init, including what only `main` uses to build adapters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub settings: Settings,
    pub events_topic_arn: String,
    pub dead_letter_queue_url: Option<String>,
}

impl Config {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigError> {
        let results_bucket = env.required("RESULTS_BUCKET");
        let events_topic_arn = env.required("EVENTS_TOPIC_ARN");
        let lateness_minutes: u32 = env.parse_or("ROLLUP_LATENESS_MINUTES", 60);
        if lateness_minutes > MAX_LATENESS_MINUTES {
            env.problem(format!(
                "ROLLUP_LATENESS_MINUTES={lateness_minutes} is more than {MAX_LATENESS_MINUTES} (one day)"
            ));
        }
        let fetch_concurrency: usize = env.parse_or("ROLLUP_FETCH_CONCURRENCY", 8);
        let batch_concurrency: usize = env.parse_or("BATCH_CONCURRENCY", 8);
        for (name, value) in [
            ("ROLLUP_FETCH_CONCURRENCY", fetch_concurrency),
            ("BATCH_CONCURRENCY", batch_concurrency),
        ] {
            if !(1..=256).contains(&value) {
                env.problem(format!("{name}={value} must be between 1 and 256"));
            }
        }
        let config = Config {
            settings: Settings {
                results_bucket,
                lateness_minutes,
                fetch_concurrency,
                batch_concurrency,
                metrics_namespace: env.string_or("METRICS_NAMESPACE", "MediaSuite"),
            },
            events_topic_arn,
            dead_letter_queue_url: env.optional("DEAD_LETTER_QUEUE_URL"),
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
        assert_eq!(config.settings.lateness_minutes, 60);
        assert_eq!(config.settings.fetch_concurrency, 8);
        assert_eq!(config.settings.metrics_namespace, "MediaSuite");
        assert_eq!(config.dead_letter_queue_url, None);

        let err = Config::from_env(Env::from_vars([
            ("ROLLUP_LATENESS_MINUTES", "2000"),
            ("ROLLUP_FETCH_CONCURRENCY", "0"),
            ("BATCH_CONCURRENCY", "lots"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.problems,
            [
                "missing RESULTS_BUCKET",
                "missing EVENTS_TOPIC_ARN",
                "ROLLUP_LATENESS_MINUTES=2000 is more than 1440 (one day)",
                "BATCH_CONCURRENCY=\"lots\" is not valid: invalid digit found in string",
                "ROLLUP_FETCH_CONCURRENCY=0 must be between 1 and 256",
            ]
        );
    }
}
