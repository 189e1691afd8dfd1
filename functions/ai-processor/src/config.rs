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

/// Text extraction for `documents/` (`OCR_BACKEND`).
#[derive(Debug, Clone, PartialEq)]
pub enum OcrConfig {
    /// Documents are skipped (tagged `skipped`, reason `ocr-off`).
    Off,
    Textract {
        /// `TEXTRACT_SNS_TOPIC_ARN`: completion topic (subscribed by `ai-jobs`).
        sns_topic_arn: String,
        /// `TEXTRACT_ROLE_ARN`: role Textract uses to publish there.
        role_arn: String,
    },
    /// An asynchronous SageMaker endpoint speaking the OCR contract (the choice in `aws-cn`).
    SageMaker {
        /// `SAGEMAKER_OCR_ENDPOINT_NAME` (may be the moderation's asynchronous endpoint).
        endpoint_name: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The variables every function shares (`RESULTS_BUCKET`, `DEAD_LETTER_QUEUE_URL`, ...).
    pub common: Common,
    pub media_bucket: String,
    pub events_topic_arn: String,
    pub backend: BackendConfig,
    pub transcribe_languages: Vec<String>,
    /// `TRANSCRIBE_JOB_PREFIX`: names of the jobs this stack starts begin with it (the template
    /// uses `<prefix>-<environment>-`, so two stacks in one account never take each other's jobs).
    pub transcribe_job_prefix: String,
    pub policy: ModerationPolicy,
    pub emit_skip_events: bool,
    /// Poison from the `ai-jobs` queue goes here (its own dead-letter queue).
    pub ai_jobs_dead_letter_queue_url: Option<String>,
    pub ocr: OcrConfig,
    /// `OCR_KEYWORDS`: terms (any language) whose presence in a document's text sends it to review.
    pub ocr_keywords: Vec<String>,
    /// `OCR_KEYWORDS_S3_URI` as (bucket, key): more keywords, one per line.
    pub ocr_keywords_s3: Option<(String, String)>,
    /// Review decisions: the function's name shown to moderators, and how long the links to
    /// uploads under review are signed for.
    pub review: ReviewConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewConfig {
    /// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda), else the service name.
    pub function_name: String,
    /// `REVIEW_LINK_TTL_SECONDS`: validity of presigned links (SigV4 allows at most 7 days).
    pub link_ttl: std::time::Duration,
}

/// SigV4 presigned URLs are valid for at most 7 days.
const MAX_LINK_TTL_SECONDS: u64 = 7 * 24 * 3600;

fn review_config(env: &mut Env) -> ReviewConfig {
    let ttl: u64 = env.parse_or("REVIEW_LINK_TTL_SECONDS", 86_400);
    if !(60..=MAX_LINK_TTL_SECONDS).contains(&ttl) {
        env.problem(format!(
            "REVIEW_LINK_TTL_SECONDS={ttl} is out of range (60 to {MAX_LINK_TTL_SECONDS}, the 7 days a presigned URL may last)"
        ));
    }
    ReviewConfig {
        function_name: env.string_or("AWS_LAMBDA_FUNCTION_NAME", crate::processor::SOURCE),
        link_ttl: std::time::Duration::from_secs(ttl),
    }
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

        let transcribe_job_prefix =
            env.string_or("TRANSCRIBE_JOB_PREFIX", crate::transcript::JOB_NAME_PREFIX);
        if transcribe_job_prefix.len() > 100
            || !transcribe_job_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            env.problem(format!(
                "TRANSCRIBE_JOB_PREFIX={transcribe_job_prefix:?} must be at most 100 of 0-9 a-z A-Z . _ - (Transcribe job names)"
            ));
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
        let ocr = ocr_config(&mut env, partition);
        let ocr_keywords = env.list_or("OCR_KEYWORDS", &[]);
        let ocr_keywords_s3 = env.optional("OCR_KEYWORDS_S3_URI").and_then(|uri| {
            let parsed = uri
                .strip_prefix("s3://")
                .and_then(|rest| rest.split_once('/'))
                .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
                .map(|(bucket, key)| (bucket.to_string(), key.to_string()));
            if parsed.is_none() {
                env.problem(format!(
                    "OCR_KEYWORDS_S3_URI={uri:?} is not an s3://bucket/key URI"
                ));
            }
            parsed
        });

        let review = review_config(&mut env);
        let config = Config {
            common,
            media_bucket,
            events_topic_arn,
            backend,
            transcribe_languages,
            transcribe_job_prefix,
            policy,
            emit_skip_events,
            ai_jobs_dead_letter_queue_url,
            ocr,
            ocr_keywords,
            ocr_keywords_s3,
            review,
        };
        env.finish(config)
    }
}

fn ocr_config(env: &mut Env, partition: Partition) -> OcrConfig {
    match env
        .optional("OCR_BACKEND")
        .map(|b| b.to_lowercase())
        .as_deref()
    {
        None | Some("none") => OcrConfig::Off,
        Some("textract") => {
            if let Err(problem) = partition.require(
                Service::Textract,
                "set OCR_BACKEND=sagemaker and SAGEMAKER_OCR_ENDPOINT_NAME=<your OCR endpoint>, or OCR_BACKEND=none",
            ) {
                env.problem(format!("OCR_BACKEND=textract: {problem}"));
            }
            OcrConfig::Textract {
                sns_topic_arn: env.required("TEXTRACT_SNS_TOPIC_ARN"),
                role_arn: env.required("TEXTRACT_ROLE_ARN"),
            }
        }
        Some("sagemaker") => OcrConfig::SageMaker {
            endpoint_name: env.required("SAGEMAKER_OCR_ENDPOINT_NAME"),
        },
        Some(other) => {
            env.problem(format!(
                "OCR_BACKEND={other:?} is not a text extraction backend (textract, sagemaker or none)"
            ));
            OcrConfig::Off
        }
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
    fn china_reads_documents_through_a_sagemaker_ocr_endpoint() {
        let mut vars = base();
        vars.push(("MODERATION_BACKEND", "sagemaker"));
        vars.push(("SAGEMAKER_ENDPOINT_NAME", "moderation"));
        vars.push(("OCR_BACKEND", "SageMaker"));
        vars.push(("SAGEMAKER_OCR_ENDPOINT_NAME", "media-ocr-async"));
        let config = Config::from_env(Env::from_vars(vars), Partition::AwsCn).unwrap();
        assert_eq!(
            config.ocr,
            OcrConfig::SageMaker {
                endpoint_name: "media-ocr-async".into()
            }
        );
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

    #[test]
    fn keyword_lists_are_lines_or_commas_with_comments() {
        assert_eq!(
            crate::adapters::s3::parse_keywords("# terms\n赌博, Casino\n\n  drugs # since 2026\n"),
            vec!["赌博", "casino", "drugs"]
        );
    }

    #[test]
    fn text_extraction_is_off_unless_chosen_and_textract_needs_its_channel() {
        let config =
            Config::from_env(Env::from_vars(base_with_rekognition()), Partition::Aws).unwrap();
        assert_eq!(config.ocr, OcrConfig::Off);
        let mut vars = base_with_rekognition();
        vars.push(("OCR_BACKEND", "textract"));
        vars.push(("OCR_KEYWORDS", "赌博, gambling"));
        let err = Config::from_env(Env::from_vars(vars.clone()), Partition::Aws).unwrap_err();
        assert!(
            err.to_string().contains("missing TEXTRACT_SNS_TOPIC_ARN"),
            "{err}"
        );
        vars.push((
            "TEXTRACT_SNS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:1:AmazonTextract-x",
        ));
        vars.push(("TEXTRACT_ROLE_ARN", "arn:aws:iam::1:role/x"));
        let config = Config::from_env(Env::from_vars(vars.clone()), Partition::Aws).unwrap();
        assert_eq!(config.ocr_keywords, vec!["赌博", "gambling"]);
        let err = Config::from_env(Env::from_vars(vars), Partition::AwsCn).unwrap_err();
        assert!(err.to_string().contains("Textract does not exist"), "{err}");
        assert!(
            err.to_string().contains("set OCR_BACKEND=sagemaker"),
            "{err}"
        );
        let mut vars = base_with_rekognition();
        vars.push(("OCR_BACKEND", "sagemaker"));
        vars.push(("OCR_KEYWORDS_S3_URI", "config/keywords.txt"));
        let err = Config::from_env(Env::from_vars(vars), Partition::Aws).unwrap_err();
        assert!(
            err.to_string()
                .contains("missing SAGEMAKER_OCR_ENDPOINT_NAME"),
            "{err}"
        );
        assert!(
            err.to_string().contains("is not an s3://bucket/key URI"),
            "{err}"
        );
    }

    #[test]
    fn review_links_last_a_day_unless_set_within_what_sigv4_allows() {
        let config =
            Config::from_env(Env::from_vars(base_with_rekognition()), Partition::Aws).unwrap();
        assert_eq!(config.review.link_ttl.as_secs(), 86_400);
        assert_eq!(config.review.function_name, "ai-processor");
        let mut vars = base_with_rekognition();
        vars.push(("REVIEW_LINK_TTL_SECONDS", "604801"));
        vars.push(("AWS_LAMBDA_FUNCTION_NAME", "media-suite-dev-ai-processor"));
        let err = Config::from_env(Env::from_vars(vars), Partition::Aws).unwrap_err();
        assert!(
            err.to_string()
                .contains("REVIEW_LINK_TTL_SECONDS=604801 is out of range"),
            "{err}"
        );
    }

    fn base_with_rekognition() -> Vec<(&'static str, &'static str)> {
        let mut vars = base();
        vars.push((
            "REKOGNITION_SNS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:1:AmazonRekognition-x",
        ));
        vars.push(("REKOGNITION_ROLE_ARN", "arn:aws:iam::1:role/r"));
        vars
    }
}
