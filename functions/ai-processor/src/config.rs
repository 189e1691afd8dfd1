//! Configuration from environment variables, read once at init; every problem reported at once.

use shared::config::{Common, ConfigError, Env};
use shared::partition::{Partition, Service};

use crate::policy::ModerationPolicy;

#[derive(Debug, Clone, PartialEq)]
pub enum BackendConfig {
    Rekognition {
        /// Topic Rekognition publishes video job completions to (subscribed by `ai-jobs`).
        sns_topic_arn: String,
        /// Role Rekognition assumes to publish to that topic.
        role_arn: String,
    },
    SageMaker {
        /// Real-time endpoint for images (and videos when there is no asynchronous one).
        endpoint_name: String,
        /// `SAGEMAKER_ASYNC_ENDPOINT_NAME`: asynchronous endpoint for videos.
        async_endpoint_name: Option<String>,
    },
}

impl BackendConfig {
    pub fn name(&self) -> &'static str {
        match self {
            BackendConfig::Rekognition { .. } => "rekognition",
            BackendConfig::SageMaker { .. } => "sagemaker",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The variables every function shares (`RESULTS_BUCKET`, `DEAD_LETTER_QUEUE_URL`, ...).
    pub common: Common,
    pub media_bucket: String,
    pub events_topic_arn: String,
    pub backend: BackendConfig,
    pub transcribe_languages: Vec<String>,
    pub policy: ModerationPolicy,
    pub emit_skip_events: bool,
    /// Poison from the `ai-jobs` queue goes here (its own dead-letter queue).
    pub ai_jobs_dead_letter_queue_url: Option<String>,
}

pub const DEFAULT_LANGUAGES: [&str; 2] = ["zh-CN", "en-US"];

const INSTEAD_OF_REKOGNITION: &str =
    "set MODERATION_BACKEND=sagemaker and SAGEMAKER_ENDPOINT_NAME=<your moderation endpoint>";

impl Config {
    pub fn from_env(mut env: Env, partition: Partition) -> Result<Self, ConfigError> {
        let common = Common::read(&mut env, crate::processor::SOURCE);
        let media_bucket = env.required("MEDIA_BUCKET");
        let events_topic_arn = common.require_events_topic(&mut env);
        if !media_bucket.is_empty() && media_bucket == common.results_bucket {
            env.problem(
                "RESULTS_BUCKET must differ from MEDIA_BUCKET, so results never trigger analysis",
            );
        }

        let backend_name = env.optional("MODERATION_BACKEND").map(|b| b.to_lowercase());
        let backend = match backend_name.as_deref() {
            None | Some("rekognition") => {
                match partition.require(Service::Rekognition, INSTEAD_OF_REKOGNITION) {
                    Ok(()) => BackendConfig::Rekognition {
                        sns_topic_arn: env.required("REKOGNITION_SNS_TOPIC_ARN"),
                        role_arn: env.required("REKOGNITION_ROLE_ARN"),
                    },
                    Err(problem) => {
                        let context = if backend_name.is_none() {
                            "MODERATION_BACKEND is unset and defaults to rekognition, but "
                        } else {
                            "MODERATION_BACKEND=rekognition: "
                        };
                        env.problem(format!("{context}{problem}"));
                        BackendConfig::Rekognition {
                            sns_topic_arn: String::new(),
                            role_arn: String::new(),
                        }
                    }
                }
            }
            Some("sagemaker") => BackendConfig::SageMaker {
                endpoint_name: env.required("SAGEMAKER_ENDPOINT_NAME"),
                async_endpoint_name: env.optional("SAGEMAKER_ASYNC_ENDPOINT_NAME"),
            },
            Some(other) => {
                env.problem(format!(
                    "MODERATION_BACKEND={other:?} is not a backend (rekognition or sagemaker)"
                ));
                BackendConfig::SageMaker {
                    endpoint_name: String::new(),
                    async_endpoint_name: None,
                }
            }
        };

        let transcribe_languages = env.list_or("TRANSCRIBE_LANGUAGES", &DEFAULT_LANGUAGES);
        if transcribe_languages.is_empty() {
            env.problem("TRANSCRIBE_LANGUAGES lists no language");
        }
        for language in &transcribe_languages {
            if !is_language_code(language) {
                env.problem(format!(
                    "TRANSCRIBE_LANGUAGES: {language:?} is not a language code such as zh-CN or en-US"
                ));
            }
        }

        let policy = match env.optional("MODERATION_THRESHOLDS") {
            None => ModerationPolicy::default(),
            Some(json) => ModerationPolicy::with_overrides(&json).unwrap_or_else(|problem| {
                env.problem(problem);
                ModerationPolicy::default()
            }),
        };

        let emit_skip_events = env.parse_or("EMIT_SKIP_EVENTS", true);
        let ai_jobs_dead_letter_queue_url = env.optional("AI_JOBS_DEAD_LETTER_QUEUE_URL");

        let config = Config {
            common,
            media_bucket,
            events_topic_arn,
            backend,
            transcribe_languages,
            policy,
            emit_skip_events,
            ai_jobs_dead_letter_queue_url,
        };
        env.finish(config)
    }
}

/// `xx-XX` (Transcribe's codes, e.g. `zh-CN`, `en-US`, `zh-TW`).
fn is_language_code(code: &str) -> bool {
    let mut parts = code.split('-');
    let (Some(lang), Some(region), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    lang.len() == 2
        && lang.chars().all(|c| c.is_ascii_lowercase())
        && region.len() == 2
        && region.chars().all(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("MEDIA_BUCKET", "media"),
            ("RESULTS_BUCKET", "results"),
            (
                "EVENTS_TOPIC_ARN",
                "arn:aws-cn:sns:cn-northwest-1:1:suite-events",
            ),
        ]
    }

    #[test]
    fn china_without_a_backend_says_to_use_sagemaker() {
        let err = Config::from_env(Env::from_vars(base()), Partition::AwsCn).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                "MODERATION_BACKEND is unset and defaults to rekognition, but Rekognition does \
                 not exist in partition aws-cn; set MODERATION_BACKEND=sagemaker and \
                 SAGEMAKER_ENDPOINT_NAME=<your moderation endpoint>"
            ]
        );
        let mut vars = base();
        vars.push(("MODERATION_BACKEND", "sagemaker"));
        vars.push(("SAGEMAKER_ENDPOINT_NAME", "moderation"));
        let config = Config::from_env(Env::from_vars(vars), Partition::AwsCn).unwrap();
        assert_eq!(
            config.backend,
            BackendConfig::SageMaker {
                endpoint_name: "moderation".into(),
                async_endpoint_name: None,
            }
        );
        assert_eq!(config.transcribe_languages, vec!["zh-CN", "en-US"]);
        assert_eq!(config.common.batch_concurrency, 10);
    }

    #[test]
    fn every_problem_is_listed_together() {
        let vars = vec![
            ("RESULTS_BUCKET", "r"),
            ("MODERATION_BACKEND", "rekognition"),
            ("TRANSCRIBE_LANGUAGES", "english"),
            ("MODERATION_THRESHOLDS", "{"),
            ("BATCH_CONCURRENCY", "0"),
        ];
        let err = Config::from_env(Env::from_vars(vars), Partition::Aws).unwrap_err();
        let text = err.to_string();
        for expected in [
            "missing MEDIA_BUCKET",
            "missing EVENTS_TOPIC_ARN",
            "missing REKOGNITION_SNS_TOPIC_ARN",
            "missing REKOGNITION_ROLE_ARN",
            "\"english\" is not a language code",
            "MODERATION_THRESHOLDS must be a JSON object",
            "BATCH_CONCURRENCY=0 is out of range",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
    }
}
