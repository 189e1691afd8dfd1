//! ai-processor: every upload to the media bucket is moderated, labelled and transcribed.
//!
//! Triggers: SQS `media-ingest` (S3 `ObjectCreated` and `ObjectRemoved` notifications), SQS
//! `ai-jobs` (Rekognition video and Textract document job completions and SageMaker
//! asynchronous inference notifications, moderation or OCR, through SNS, Transcribe job state
//! changes through EventBridge), and S3
//! notifications invoked directly. Outputs: an analysis document per upload in the results
//! bucket, verdict tags on the upload, and domain events on `suite-events`.
//!
//! Layout: [`inbound`] reads message shapes, [`routing`] picks the analysis, [`policy`] turns
//! labels into a verdict, [`analysis`] is the document, [`processor`] runs it all against the
//! traits in [`ports`], implemented for AWS in [`adapters`].

pub mod adapters;
pub mod analysis;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod inbound;
pub mod model;
pub mod policy;
pub mod ports;
pub mod processor;
pub mod review;
pub mod routing;
pub mod transcript;

use std::marker::PhantomData;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::SqsBatchResponse;
use lambda_runtime::LambdaEvent;
use shared::batch::{Deadline, DEFAULT_DEADLINE_MARGIN};
use shared::events::SnsEventPublisher;
use shared::idempotency::Idempotency;
use shared::results::S3ObjectStore;
use shared::time::{Clock, SystemClock};
use tracing::Instrument;

use adapters::rekognition::RekognitionModeration;
use adapters::s3::{S3KeywordList, S3MediaStore};
use adapters::sagemaker::{AsyncEndpoint, SageMakerModeration, SageMakerOcr};
use adapters::sqs::DeadLettersBySource;
use adapters::textract::TextractText;
use adapters::transcribe::TranscribeJobs;
use adapters::{ConfiguredBackend, ConfiguredText};
use config::{BackendConfig, Config, OcrConfig};
pub use error::Error;
use inbound::{Invocation, ReviewInvocation};
use ports::{ModerationBackend, Transcriber};
use processor::{Adapters, Ports, Processor, Settings, SOURCE};
use review::http;

/// Where this function keeps its "done once" markers in the results bucket.
pub const IDEMPOTENCY_PREFIX: &str = "idempotency/ai-processor/";

/// The AWS adapters, with the moderation backend and transcriber as parameters so tests can
/// answer what the local AWS cannot.
pub struct Aws<B = ConfiguredBackend, T = TranscribeJobs>(PhantomData<(B, T)>);

impl<B: ModerationBackend, T: Transcriber> Adapters for Aws<B, T> {
    type Media = S3MediaStore;
    type Results = S3ObjectStore;
    type Backend = B;
    type Transcriber = T;
    type Text = ConfiguredText;
    type Keywords = S3KeywordList;
    type Publisher = SnsEventPublisher;
    type Idempotency = Idempotency<S3ObjectStore, Arc<dyn Clock>>;
    type DeadLetters = DeadLettersBySource;
}

/// The function as deployed: the behaviour wired to the AWS adapters.
pub type App = Processor<Aws>;

/// Builds every client once from one SDK configuration. Makes no network call.
pub fn build(config: &Config, sdk: &SdkConfig) -> App {
    let backend = match &config.backend {
        BackendConfig::Rekognition {
            sns_topic_arn,
            role_arn,
        } => ConfiguredBackend::Rekognition(RekognitionModeration::new(
            aws_sdk_rekognition::Client::new(sdk),
            sns_topic_arn,
            role_arn,
        )),
        BackendConfig::SageMaker {
            endpoint_name,
            async_endpoint_name,
        } => {
            let real_time =
                SageMakerModeration::new(aws_sdk_sagemakerruntime::Client::new(sdk), endpoint_name);
            ConfiguredBackend::SageMaker(match async_endpoint_name {
                Some(name) => real_time.with_async(async_endpoint(config, sdk, name)),
                None => real_time,
            })
        }
    };
    let transcriber = TranscribeJobs::new(aws_sdk_transcribe::Client::new(sdk));
    build_with(
        config,
        sdk,
        backend,
        transcriber,
        text_extractor(config, sdk),
    )
}

/// The text extraction `OCR_BACKEND` names.
pub fn text_extractor(config: &Config, sdk: &SdkConfig) -> ConfiguredText {
    match &config.ocr {
        OcrConfig::Off => ConfiguredText::Off,
        OcrConfig::Textract {
            sns_topic_arn,
            role_arn,
        } => ConfiguredText::Textract(TextractText::new(
            aws_sdk_textract::Client::new(sdk),
            sns_topic_arn,
            role_arn,
        )),
        OcrConfig::SageMaker { endpoint_name } => ConfiguredText::SageMaker(SageMakerOcr::new(
            async_endpoint(config, sdk, endpoint_name),
        )),
    }
}

/// A SageMaker asynchronous endpoint whose requests go to the results bucket.
fn async_endpoint(config: &Config, sdk: &SdkConfig, endpoint_name: &str) -> AsyncEndpoint {
    AsyncEndpoint::new(
        aws_sdk_sagemakerruntime::Client::new(sdk),
        endpoint_name,
        shared::aws::s3_client(sdk),
        &config.common.results_bucket,
    )
}

/// [`build`] with the given moderation backend, transcriber and text extraction.
pub fn build_with<B: ModerationBackend, T: Transcriber>(
    config: &Config,
    sdk: &SdkConfig,
    backend: B,
    transcriber: T,
    text: ConfiguredText,
) -> Processor<Aws<B, T>> {
    let s3 = shared::aws::s3_client(sdk);
    let results = S3ObjectStore::new(s3.clone(), &config.common.results_bucket);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Processor::new(
        Settings::from(config),
        Ports {
            media: S3MediaStore::new(s3.clone()).signing_with(sdk.credentials_provider()),
            results: results.clone(),
            backend,
            transcriber,
            text,
            keywords: S3KeywordList::new(s3, config.ocr_keywords_s3.clone()),
            publisher: SnsEventPublisher::new(
                shared::aws::sns_client(sdk),
                &config.events_topic_arn,
            ),
            idempotency: Idempotency::new(
                results,
                IDEMPOTENCY_PREFIX,
                config.common.idempotency_lease,
                clock.clone(),
            ),
            dead_letters: DeadLettersBySource::new(
                shared::aws::sqs_client(sdk),
                config.common.dead_letter_queue_url.clone(),
                config.ai_jobs_dead_letter_queue_url.clone(),
            ),
            clock,
        },
    )
}

/// Every invocation: a review decision (invoked directly, or a function URL request), else
/// what [`handler`] takes. Answers the decision (an error when refused), the function URL's
/// HTTP response, or the SQS batch response.
pub async fn entry<A: Adapters>(
    event: LambdaEvent<serde_json::Value>,
    processor: &Processor<A>,
) -> Result<serde_json::Value, Error> {
    let Some(review) = inbound::review_invocation(&event.payload) else {
        // Boxed: nested in this one, the batch handler's future is too deep a type to lay out.
        return json(Box::pin(handler(event, processor)).await?);
    };
    Box::pin(decision(review, event.context, processor)).await
}

/// A review decision: the answer (an error when refused), or the function URL's response.
async fn decision<A: Adapters>(
    review: ReviewInvocation,
    context: lambda_runtime::Context,
    processor: &Processor<A>,
) -> Result<serde_json::Value, Error> {
    let span = shared::logging::invocation_span(SOURCE, &context);
    async {
        match review {
            ReviewInvocation::Direct(input) => {
                let input = input
                    .map_err(|e| Error::InvalidDecision(format!("invalid decision: {}", e.0)))?;
                json(processor.decide(input, None).await?)
            }
            ReviewInvocation::FunctionUrl(request) => json(match request.input {
                _ if request.method != "POST" => http::refusal(
                    405,
                    "MethodNotAllowed",
                    "send the decision with POST",
                    false,
                ),
                Err(e) => http::refusal(
                    400,
                    "InvalidDecision",
                    &format!("invalid decision: {}", e.0),
                    false,
                ),
                Ok(input) => http::response(&processor.decide(input, request.caller).await),
            }),
        }
    }
    .instrument(span)
    .await
}

fn json<T: serde::Serialize>(answer: T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(answer).map_err(|e| Error::Permanent(format!("answer: {e}")))
}

/// The Lambda handler: an SQS batch in, the records to deliver again out; or an S3 event
/// notification invoked directly, which fails the invocation when its work failed.
pub async fn handler<A: Adapters>(
    event: LambdaEvent<serde_json::Value>,
    processor: &Processor<A>,
) -> Result<SqsBatchResponse, Error> {
    let span = shared::logging::invocation_span(SOURCE, &event.context);
    match inbound::invocation(event.payload)? {
        Invocation::SqsBatch(batch) => {
            let deadline = Deadline::from_context(&event.context, DEFAULT_DEADLINE_MARGIN);
            Ok(processor
                .handle_batch(batch, deadline)
                .instrument(span)
                .await)
        }
        Invocation::S3Notification(body) => {
            processor
                .handle_notification(&body)
                .instrument(span)
                .await?;
            Ok(SqsBatchResponse::default())
        }
    }
}
