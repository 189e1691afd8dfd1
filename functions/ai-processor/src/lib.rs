//! ai-processor: every upload to the media bucket is moderated, labelled and transcribed.
//!
//! Triggers: SQS `media-ingest` (S3 `ObjectCreated` notifications) and SQS `ai-jobs`
//! (Rekognition video job completions through SNS, Transcribe job state changes through
//! EventBridge). Outputs: an analysis document per upload in the results bucket, verdict tags
//! on the upload, and domain events on `suite-events`.
//!
//! Layout: [`inbound`] reads message shapes, [`routing`] picks the analysis, [`policy`] turns
//! labels into a verdict, [`analysis`] is the document, [`processor`] runs it all against the
//! traits in [`ports`], implemented for AWS in [`adapters`].

pub mod adapters;
pub mod analysis;
pub mod config;
pub mod inbound;
pub mod model;
pub mod policy;
pub mod ports;
pub mod processor;
pub mod routing;
pub mod transcript;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use shared::events::SnsEventPublisher;
use shared::idempotency::S3IdempotencyStore;
use tracing::Instrument;

use adapters::rekognition::RekognitionModeration;
use adapters::s3::S3ObjectStore;
use adapters::sagemaker::SageMakerModeration;
use adapters::transcribe::TranscribeJobs;
use adapters::ConfiguredBackend;
use config::{BackendConfig, Config};
use processor::{Ports, Processor, Settings, SOURCE};
use shared::batch::DeadLetters;

/// Where this function keeps its "done once" markers in the results bucket.
pub const IDEMPOTENCY_PREFIX: &str = "idempotency/ai-processor/";

/// The function as deployed: the behaviour wired to the AWS adapters.
pub type LiveProcessor = Processor<
    S3ObjectStore,
    ConfiguredBackend,
    TranscribeJobs,
    SnsEventPublisher,
    S3IdempotencyStore,
    DeadLetters,
>;

/// Builds every client once from one SDK configuration. Makes no network call.
pub fn build(config: &Config, sdk: &SdkConfig) -> LiveProcessor {
    let s3 = shared::aws::s3_client(sdk);
    let backend = match &config.backend {
        BackendConfig::Rekognition {
            sns_topic_arn,
            role_arn,
        } => ConfiguredBackend::Rekognition(RekognitionModeration::new(
            aws_sdk_rekognition::Client::new(sdk),
            sns_topic_arn,
            role_arn,
        )),
        BackendConfig::SageMaker { endpoint_name } => ConfiguredBackend::SageMaker(
            SageMakerModeration::new(aws_sdk_sagemakerruntime::Client::new(sdk), endpoint_name),
        ),
    };
    Processor::new(
        Settings::from(config),
        Ports {
            store: S3ObjectStore::new(s3.clone()),
            backend,
            transcriber: TranscribeJobs::new(aws_sdk_transcribe::Client::new(sdk)),
            publisher: SnsEventPublisher::new(
                shared::aws::sns_client(sdk),
                &config.events_topic_arn,
            ),
            idempotency: S3IdempotencyStore::new(
                s3,
                &config.results_bucket,
                IDEMPOTENCY_PREFIX,
                config.idempotency_lease,
            ),
            dead_letters: DeadLetters::new(
                shared::aws::sqs_client(sdk),
                config.dead_letter_queue_url.clone(),
            ),
        },
    )
}

/// The Lambda handler: one SQS batch in, the records to deliver again out.
pub async fn handler<S, B, T, P, I, D>(
    event: LambdaEvent<SqsEvent>,
    processor: &Processor<S, B, T, P, I, D>,
) -> Result<SqsBatchResponse, lambda_runtime::Error>
where
    S: ports::ObjectStore,
    B: ports::ModerationBackend,
    T: ports::Transcriber,
    P: shared::events::EventPublisher,
    I: shared::idempotency::IdempotencyStore,
    D: shared::batch::DeadLetterSink,
{
    let span = shared::logging::invocation_span(SOURCE);
    Ok(processor.handle_batch(event.payload).instrument(span).await)
}
