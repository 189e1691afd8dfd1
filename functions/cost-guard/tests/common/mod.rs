//! Test fixtures on the local AWS (moto): a results bucket, the events topic with a queue
//! subscribed to it, Cost Explorer results loaded through moto's static-results API, and the
//! guard wired with its real adapters.
#![allow(dead_code)]

use aws_config::SdkConfig;
use aws_sdk_costexplorer::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_costexplorer::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_costexplorer::error::BoxError;
use cost_guard::actions::Targets;
use cost_guard::adapters::{
    cost_explorer_config, AppRunnerTarget, CostExplorerSource, EcsTarget, LambdaTarget,
};
use cost_guard::config::Config;
use cost_guard::ports::CostSource;
use cost_guard::Guard;
use serde_json::{json, Value};
use shared::config::Env;
use shared::events::{Envelope, SnsEventPublisher};
use shared::partition::Partition;
use shared::results::S3ObjectStore;
use shared::testkit;

pub type MotoGuard<C = CostExplorerSource> =
    Guard<C, S3ObjectStore, SnsEventPublisher, LambdaTarget, EcsTarget, AppRunnerTarget>;

/// Sends Cost Explorer requests as a test's own moto account: moto keeps one queue of
/// static results per account, so parallel tests cannot take each other's results.
#[derive(Debug)]
struct MotoAccount(String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "MotoAccount"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

pub struct Fixture {
    pub sdk: SdkConfig,
    pub partition: Partition,
    pub bucket: String,
    pub topic_arn: String,
    pub queue_url: String,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// The moto account this test's Cost Explorer results live in.
    pub ce_account: String,
}

impl Fixture {
    pub async fn new(region: &str) -> Self {
        let sdk = testkit::local_config()
            .await
            .into_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        let s3 = shared::aws::s3_client(&sdk);
        let sns = shared::aws::sns_client(&sdk);
        let sqs = shared::aws::sqs_client(&sdk);
        let bucket = testkit::unique("cost-guard-results");
        let mut create = s3.create_bucket().bucket(&bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create.send().await.expect("create bucket");
        let topic_arn = testkit::create_topic(&sns, "suite-events").await;
        let (queue_url, queue_arn) = testkit::create_queue(&sqs, "cost-events").await;
        testkit::subscribe_queue(&sns, &topic_arn, &queue_arn, None).await;
        let ce_account = {
            let id = testkit::unique("account");
            let n = u64::from_str_radix(id.trim_start_matches("account-"), 16).expect("hex");
            format!("{:012}", n % 1_000_000_000_000)
        };
        Self {
            partition: shared::aws::partition(&sdk),
            sdk,
            bucket,
            topic_arn,
            queue_url,
            s3,
            sqs,
            ce_account,
        }
    }

    /// The configuration a deployment would have, plus `extra` variables.
    pub fn config(&self, budgets: Value, extra: &[(&str, &str)]) -> Config {
        let budgets = budgets.to_string();
        let mut vars = vec![
            ("RESULTS_BUCKET", self.bucket.as_str()),
            ("EVENTS_TOPIC_ARN", self.topic_arn.as_str()),
            ("COST_BUDGETS", budgets.as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "cost-guard"),
            ("NOTIFIER_FUNCTION_NAME", "notifier"),
        ];
        vars.extend_from_slice(extra);
        Config::from_env(Env::from_vars(vars), self.partition).expect("valid configuration")
    }

    /// The Cost Explorer client as the function builds it (partition's CE region, the local
    /// endpoint), sent as this test's moto account. moto has no GetCostForecast and answers it
    /// with a 500, so retries are off to keep tests quick.
    pub fn cost_explorer(&self) -> CostExplorerSource {
        let conf = cost_explorer_config(&self.sdk, self.partition)
            .interceptor(MotoAccount(self.ce_account.clone()))
            .retry_config(aws_sdk_costexplorer::config::retry::RetryConfig::disabled())
            .build();
        CostExplorerSource::new(aws_sdk_costexplorer::Client::from_conf(conf))
    }

    pub fn guard_with<C: CostSource>(&self, costs: C, config: Config) -> MotoGuard<C> {
        Guard {
            costs,
            state: S3ObjectStore::new(self.s3.clone(), &self.bucket),
            events: SnsEventPublisher::new(shared::aws::sns_client(&self.sdk), &self.topic_arn),
            targets: Targets {
                lambda: LambdaTarget::new(aws_sdk_lambda::Client::new(&self.sdk)),
                ecs: EcsTarget::new(aws_sdk_ecs::Client::new(&self.sdk)),
                app_runner: AppRunnerTarget::new(aws_sdk_apprunner::Client::new(&self.sdk)),
            },
            config,
        }
    }

    pub fn guard(&self, config: Config) -> MotoGuard {
        self.guard_with(self.cost_explorer(), config)
    }

    /// Queues GetCostAndUsage results in moto for this test's account.
    pub async fn load_cost_results(&self, results: Vec<Value>) {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
        let response = http()
            .post(format!(
                "{endpoint}/moto-api/static/ce/cost-and-usage-results"
            ))
            .json(&json!({"account_id": self.ce_account, "results": results}))
            .send()
            .await
            .expect("moto static results API");
        assert_eq!(
            response.status().as_u16(),
            201,
            "moto refused the cost results"
        );
    }

    /// Domain events delivered to the subscribed queue since the last call.
    pub async fn events(&self) -> Vec<Envelope> {
        let messages = testkit::receive_all(&self.sqs, &self.queue_url, 50).await;
        let mut events = Vec::new();
        for m in messages {
            events.push(Envelope::parse(m.body().unwrap_or_default()).expect("an envelope"));
            self.sqs
                .delete_message()
                .queue_url(&self.queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete message");
        }
        events
    }

    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        self.s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("list")
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }

    /// A Lambda function in moto (with the IAM role moto insists on).
    pub async fn create_function(&self, reserved: Option<i32>) -> String {
        self.create_function_named(&testkit::unique("transcoder"), reserved)
            .await
    }

    pub async fn create_function_named(&self, name: &str, reserved: Option<i32>) -> String {
        let role = create_role(&self.sdk).await;
        let lambda = aws_sdk_lambda::Client::new(&self.sdk);
        // The smallest valid zip archive: just the end-of-central-directory record.
        let mut empty_zip = b"PK\x05\x06".to_vec();
        empty_zip.extend([0u8; 18]);
        let arn = lambda
            .create_function()
            .function_name(name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .role(role)
            .handler("bootstrap")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_smithy_types::Blob::new(empty_zip))
                    .build(),
            )
            .send()
            .await
            .expect("create function")
            .function_arn
            .expect("function arn");
        if let Some(n) = reserved {
            lambda
                .put_function_concurrency()
                .function_name(&arn)
                .reserved_concurrent_executions(n)
                .send()
                .await
                .expect("reserve concurrency");
        }
        arn
    }

    /// An ECS service with `desired` tasks; returns its ARN.
    pub async fn create_service(&self, desired: i32) -> String {
        let ecs = aws_sdk_ecs::Client::new(&self.sdk);
        let cluster = testkit::unique("media");
        ecs.create_cluster()
            .cluster_name(&cluster)
            .send()
            .await
            .expect("create cluster");
        let family = testkit::unique("api");
        ecs.register_task_definition()
            .family(&family)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("api")
                    .image("api:latest")
                    .memory(128)
                    .build(),
            )
            .send()
            .await
            .expect("task definition");
        ecs.create_service()
            .cluster(&cluster)
            .service_name("api")
            .task_definition(&family)
            .desired_count(desired)
            .send()
            .await
            .expect("create service")
            .service
            .and_then(|s| s.service_arn)
            .expect("service arn")
    }
}

/// A client for moto's own APIs; reqwest is built without a default TLS crypto provider (the
/// workspace links one rustls stack, aws-lc), so the process installs it first.
fn http() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}

/// moto's Lambda checks that the role exists in its IAM; the workspace has no IAM SDK crate,
/// so this one call goes to moto's IAM query API directly (moto does not verify signatures).
async fn create_role(sdk: &SdkConfig) -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let name = testkit::unique("cost-guard-test-role");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let body = http()
        .post(format!("{endpoint}/"))
        .header(
            "Authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/iam/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .form(&[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name.as_str()),
            ("AssumeRolePolicyDocument", policy),
        ])
        .send()
        .await
        .expect("create role")
        .text()
        .await
        .expect("create role response");
    let start = body.find("<Arn>").expect("role arn in response") + 5;
    let end = body[start..].find("</Arn>").expect("end of role arn") + start;
    body[start..end].to_string()
}

/// One day of costs: (date, estimated, [(service, amount)]).
pub type CostDay<'a> = (&'a str, bool, &'a [(&'a str, f64)]);

/// One GetCostAndUsage result of `days` in `unit`.
pub fn cost_result(unit: &str, days: &[CostDay<'_>]) -> Value {
    let results: Vec<Value> = days
        .iter()
        .map(|(date, estimated, services)| {
            let end = next_day(date);
            json!({
                "TimePeriod": {"Start": date, "End": end},
                "Total": {},
                "Groups": services.iter().map(|(service, amount)| json!({
                    "Keys": [service],
                    "Metrics": {"UnblendedCost": {"Amount": amount.to_string(), "Unit": unit}}
                })).collect::<Vec<_>>(),
                "Estimated": estimated,
            })
        })
        .collect();
    json!({"ResultsByTime": results, "DimensionValueAttributes": [], "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]})
}

fn next_day(date: &str) -> String {
    let d = cost_guard::spend::parse_day(date).expect("test date");
    cost_guard::spend::day_string(d + time::Duration::days(1))
}

/// `2026-05-14T10:00:00Z`-style instants for runs.
pub fn at(rfc3339: &str) -> time::OffsetDateTime {
    shared::time::parse_rfc3339_lenient(rfc3339).expect("test instant")
}

pub fn schedule_event() -> Value {
    serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/cost-guard/scheduled.json"
    )))
    .expect("sample schedule event")
}
