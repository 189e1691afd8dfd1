//! Fault injection: Cost Explorer, SNS and S3 fail part-way through a series of scheduled
//! runs, and the runs that follow finish the work exactly once: every alert announced once,
//! none twice, the pause applied once.
//!
//! The faults come from the SDK's own test tools (`aws-smithy-mocks`), because moto cannot be
//! made to throttle or fail a call:
//! - Cost Explorer: a mocked client whose first `GetCostAndUsage` is throttled (moto also
//!   lacks `GetCostForecast`);
//! - SNS: a mocked client that refuses chosen publishes with a 5xx error and records the
//!   others (what was announced);
//! - S3: the real client against moto, with mock rules on chosen `PutObject` calls. A modeled
//!   error from `aws-smithy-mocks` replaces the response after the request was sent, so the
//!   write happens and the caller sees an error: a response lost on the way back, the hardest
//!   case for state (the run cannot tell whether its write landed).
//!
//! Lambda is moto's, with a mock rule that never matches and only counts the
//! `PutFunctionConcurrency` calls that pause the function.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_costexplorer::operation::get_cost_and_usage::{
    GetCostAndUsageError, GetCostAndUsageOutput,
};
use aws_sdk_costexplorer::operation::get_cost_forecast::GetCostForecastOutput;
use aws_sdk_costexplorer::types::{DateInterval, Group, MetricValue, ResultByTime};
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
use aws_smithy_mocks::{mock, mock_client, MockResponseInterceptor, Rule, RuleMode};
use common::{at, schedule_event, Fixture};
use cost_guard::adapters::{CostExplorerSource, LambdaTarget};
use cost_guard::handle;
use serde_json::json;
use shared::events::{Envelope, SnsEventPublisher};
use shared::results::S3ObjectStore;

const CLAIMS: &str = "cost-guard/claims/";
const ACTIONS: &str = "cost-guard/actions/2026-05/enforce/";

fn day(date: &str, next: &str, services: &[(&str, f64)]) -> ResultByTime {
    let mut result = ResultByTime::builder()
        .time_period(
            DateInterval::builder()
                .start(date)
                .end(next)
                .build()
                .expect("interval"),
        )
        .estimated(false);
    for (service, amount) in services {
        result = result.groups(
            Group::builder()
                .keys(*service)
                .metrics(
                    "UnblendedCost",
                    MetricValue::builder()
                        .amount(amount.to_string())
                        .unit("USD")
                        .build(),
                )
                .build(),
        );
    }
    result.build()
}

/// Cost Explorer, throttled once, then always the same month: 7 yesterday, 6 today
/// (13 of a monthly 10: 130 %, past the action level of 120 %), forecast 8 more.
fn cost_explorer_throttled_once_via_sdk_mock() -> (aws_sdk_costexplorer::Client, Vec<Rule>) {
    let usage = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
        .sequence()
        .error(|| {
            GetCostAndUsageError::generic(
                aws_sdk_costexplorer::error::ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| {
            GetCostAndUsageOutput::builder()
                .results_by_time(day(
                    "2026-05-13",
                    "2026-05-14",
                    &[("AWS Lambda", 4.0), ("Amazon S3", 3.0)],
                ))
                .results_by_time(day(
                    "2026-05-14",
                    "2026-05-15",
                    &[("AWS Lambda", 3.0), ("Amazon S3", 3.0)],
                ))
                .build()
        })
        .repeatedly()
        .build();
    let forecast = mock!(aws_sdk_costexplorer::Client::get_cost_forecast).then_output(|| {
        GetCostForecastOutput::builder()
            .total(MetricValue::builder().amount("8").unit("USD").build())
            .build()
    });
    // Retries off: one injected throttle stands for a call that failed after the retries.
    let client = mock_client!(
        aws_sdk_costexplorer,
        RuleMode::MatchAny,
        [&usage, &forecast],
        |c| c.retry_config(aws_sdk_costexplorer::config::retry::RetryConfig::disabled())
    );
    (client, vec![usage, forecast])
}

fn sns_internal_error() -> PublishError {
    PublishError::InternalErrorException(
        aws_sdk_sns::types::error::InternalErrorException::builder()
            .message("Internal error, try again")
            .build(),
    )
}

/// S3 `SlowDown`, returned after the write reached moto (see the module docs).
fn s3_slow_down() -> PutObjectError {
    PutObjectError::generic(
        aws_sdk_s3::error::ErrorMetadata::builder()
            .code("SlowDown")
            .message("Please reduce your request rate.")
            .build(),
    )
}

#[tokio::test]
async fn cost_explorer_sns_and_s3_failing_part_way_lose_and_repeat_nothing_via_sdk_mocks_because_moto_cannot_fail_calls(
) {
    let f = Fixture::new("us-east-1").await;
    let function = f.create_function(Some(7)).await;

    // SNS: the first publish for yesterday's daily budget and the first cost.action publish
    // are refused; every other publish is recorded as announced.
    let announced: Arc<Mutex<Vec<Envelope>>> = Arc::default();
    let refuse_daily = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| {
            r.message()
                .is_some_and(|m| m.contains(r#""period":"2026-05-13""#))
        })
        .sequence()
        .error(sns_internal_error)
        .build();
    let refuse_action = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| r.message().is_some_and(|m| m.contains("cost.action")))
        .sequence()
        .error(sns_internal_error)
        .build();
    let record = {
        let announced = announced.clone();
        mock!(aws_sdk_sns::Client::publish).then_compute_output(move |r| {
            let envelope = Envelope::parse(r.message().unwrap_or_default()).expect("envelope");
            let mut announced = announced.lock().unwrap();
            announced.push(envelope);
            PublishOutput::builder()
                .message_id(format!("message-{}", announced.len()))
                .build()
        })
    };
    let sns = mock_client!(
        aws_sdk_sns,
        RuleMode::MatchAny,
        [&refuse_daily, &refuse_action, &record],
        |c| c.retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
    );

    // S3: the claim of the `other` budget's crossing and the first outcome write of the
    // pause record land in moto, but the run is told they failed.
    let lost_claim = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| {
            r.key().is_some_and(|k| k.starts_with(CLAIMS))
                && r.if_none_match().is_some()
                && r.body().bytes().is_some_and(|b| {
                    String::from_utf8_lossy(b).contains(r#""key":"other/2026-05/"#)
                })
        })
        .sequence()
        .error(s3_slow_down)
        .build();
    let lost_outcome = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| {
            r.key().is_some_and(|k| k.starts_with(ACTIONS)) && r.if_match().is_some()
        })
        .sequence()
        .error(s3_slow_down)
        .build();
    let s3 = {
        let faults = MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(&lost_claim)
            .with_rule(&lost_outcome)
            .allow_passthrough();
        let conf =
            f.s3.config()
                .to_builder()
                .interceptor(faults)
                .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
                .build();
        aws_sdk_s3::Client::from_conf(conf)
    };

    // Lambda: moto, with a rule that never matches and counts the pauses.
    let pauses = Arc::new(AtomicUsize::new(0));
    let count_pauses = {
        let pauses = pauses.clone();
        mock!(aws_sdk_lambda::Client::put_function_concurrency)
            .match_requests(move |r| {
                if r.reserved_concurrent_executions() == Some(0) {
                    pauses.fetch_add(1, Ordering::SeqCst);
                }
                false
            })
            .then_output(|| {
                aws_sdk_lambda::operation::put_function_concurrency::PutFunctionConcurrencyOutput::builder().build()
            })
    };
    let lambda = {
        let spy = MockResponseInterceptor::new()
            .with_rule(&count_pauses)
            .allow_passthrough();
        let conf = aws_sdk_lambda::config::Builder::from(&f.sdk)
            .interceptor(spy)
            .build();
        aws_sdk_lambda::Client::from_conf(conf)
    };

    let (ce, _ce_rules) = cost_explorer_throttled_once_via_sdk_mock();
    let budgets = json!({
        "currency": "USD", "monthly": 10, "daily": 3, "thresholds": [80, 100],
        "forecast_threshold": 100, "services": {"AWS Lambda": 6}, "other": 5,
    });
    let mut guard = f.guard_with(
        CostExplorerSource::new(ce),
        f.config(
            budgets,
            &[
                ("COST_GUARD_MODE", "enforce"),
                ("COST_GUARD_ALLOW_LIST", &function),
            ],
        ),
    );
    guard.state = S3ObjectStore::new(s3, &f.bucket);
    guard.events = SnsEventPublisher::new(sns, &f.topic_arn);
    guard.targets.lambda = LambdaTarget::new(lambda);

    let announced_count = || announced.lock().unwrap().len();
    let event = schedule_event();

    // 1. Cost Explorer throttles: the run fails before anything is announced or written.
    let err = handle(&guard, &event, at("2026-05-14T10:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "CostGuard.CostExplorer", "{err}");
    assert_eq!(announced_count(), 0);
    assert!(f.keys("cost-guard/").await.is_empty());

    // 2. SNS refuses yesterday's daily alert; the `other` claim and the pause record's
    //    outcome are written but reported failed. The rest is announced, the pause applied.
    let err = handle(&guard, &event, at("2026-05-14T11:00:00Z"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert_eq!(err.kind(), "CostGuard.Incomplete", "{message}");
    for problem in [
        "budget daily: publishing",
        "budget other: state store failed",
        "action on arn:aws:lambda",
    ] {
        assert!(message.contains(problem), "{problem}: {message}");
    }
    assert_eq!(
        announced_count(),
        4,
        "monthly, today's daily, service, forecast"
    );
    assert_eq!(pauses.load(Ordering::SeqCst), 1);

    // 3. The scheduler's retry minutes later: yesterday's daily alert is announced; the claim
    //    and the unannounced pause are still within the lease of run 2, so they wait.
    let report = handle(&guard, &event, at("2026-05-14T11:05:00Z"))
        .await
        .expect("run 3");
    assert_eq!(announced_count(), 5);
    let other = report["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["budget"] == "other")
        .unwrap();
    assert_eq!(other["announcement"], "in-progress");
    assert_eq!(report["actions"][0]["outcome"], "already-done");

    // 4. After the lease: the abandoned `other` claim is taken over and announced; the
    //    pause is announced, but SNS refuses that publish.
    let err = handle(&guard, &event, at("2026-05-14T12:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("action on arn:aws:lambda"),
        "{err}"
    );
    assert_eq!(announced_count(), 6);

    // 5. The next run announces the pause, without pausing again.
    let report = handle(&guard, &event, at("2026-05-14T13:00:00Z"))
        .await
        .expect("run 5");
    assert_eq!(report["actions"][0]["outcome"], "applied");
    assert_eq!(announced_count(), 7);

    // 6. A quiet run: everything is done.
    let report = handle(&guard, &event, at("2026-05-14T19:00:00Z"))
        .await
        .expect("run 6");
    assert!(report["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["announcement"] == "already-announced"));
    assert_eq!(report["actions"][0]["outcome"], "already-done");
    let runs = 6;

    let announced = announced.lock().unwrap().clone();
    let expected = [
        ("cost.threshold", "cost-budget:monthly", "2026-05"),
        ("cost.threshold", "cost-budget:daily", "2026-05-13"),
        ("cost.threshold", "cost-budget:daily", "2026-05-14"),
        (
            "cost.threshold",
            "cost-budget:service-aws-lambda",
            "2026-05",
        ),
        ("cost.threshold", "cost-budget:other", "2026-05"),
        ("cost.threshold", "cost-budget:forecast", "2026-05"),
        ("cost.action", function.as_str(), "2026-05"),
    ];
    let times_announced = |(event_type, subject, period): &(&str, &str, &str)| {
        announced
            .iter()
            .filter(|e| {
                e.event_type == *event_type && e.subject == *subject && e.data["period"] == *period
            })
            .count()
    };
    let once = expected.iter().filter(|e| times_announced(e) == 1).count();
    let lost = expected.iter().filter(|e| times_announced(e) == 0).count();
    let duplicated = announced.len() - (expected.len() - lost);
    let mut ids: Vec<&str> = announced.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    println!("{runs} runs, {once} alerts announced once, {lost} lost, {duplicated} duplicated");
    assert_eq!((once, lost, duplicated), (expected.len(), 0, 0));
    assert_eq!(ids.len(), announced.len(), "every event id announced once");

    // The pause was applied once and restores to what it was before.
    assert_eq!(
        pauses.load(Ordering::SeqCst),
        1,
        "PutFunctionConcurrency(0) calls"
    );
    let lambda = aws_sdk_lambda::Client::new(&f.sdk);
    let reserved = lambda
        .get_function_concurrency()
        .function_name(&function)
        .send()
        .await
        .expect("concurrency")
        .reserved_concurrent_executions();
    assert_eq!(reserved, Some(0));
    let tags = lambda
        .list_tags()
        .resource(&function)
        .send()
        .await
        .expect("tags");
    assert_eq!(
        tags.tags().unwrap()["cost-guard:previous-reserved-concurrency"],
        "7"
    );
    // No claim is left pending.
    let claims = f.keys(CLAIMS).await;
    assert_eq!(claims.len(), 6, "one per crossing announced");
    for key in claims {
        let body =
            f.s3.get_object()
                .bucket(&f.bucket)
                .key(&key)
                .send()
                .await
                .expect("state")
                .body
                .collect()
                .await
                .expect("body")
                .into_bytes();
        let state: serde_json::Value = serde_json::from_slice(&body).expect("state json");
        assert_eq!(state["state"], "completed", "{key}: {state}");
    }
    assert_eq!(
        (
            lost_claim.num_calls(),
            lost_outcome.num_calls(),
            refuse_daily.num_calls(),
            refuse_action.num_calls()
        ),
        (1, 1, 1, 1),
        "every fault was injected"
    );
}
