//! What moto cannot do, with the SDK's own test tools (`aws-smithy-mocks`); S3, SNS, SQS and
//! the rest still run against moto:
//! - moto has no `GetCostForecast` (it answers with a 500);
//! - moto's static Cost Explorer results reach only the `aws` partition's backend, so a
//!   client in `cn-northwest-1` (as the function uses in `aws-cn`) always gets empty results;
//! - moto has no App Runner;
//! - moto's SNS accepts every publish, even to a topic that does not exist.

mod common;

use aws_sdk_apprunner::types::{Service, ServiceStatus};
use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput;
use aws_sdk_costexplorer::operation::get_cost_forecast::{
    GetCostForecastError, GetCostForecastOutput,
};
use aws_sdk_costexplorer::types::error::DataUnavailableException;
use aws_sdk_costexplorer::types::{DateInterval, Group, MetricValue, ResultByTime};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::{at, schedule_event, Fixture};
use cost_guard::adapters::{cost_explorer_config, AppRunnerTarget, CostExplorerSource};
use cost_guard::handle;
use serde_json::json;
use shared::events::Severity;
use shared::partition::Partition;

fn day(date: &str, estimated: bool, unit: &str, services: &[(&str, f64)]) -> ResultByTime {
    let next = cost_guard::spend::parse_day(date).unwrap() + time::Duration::days(1);
    let mut result = ResultByTime::builder()
        .time_period(
            DateInterval::builder()
                .start(date)
                .end(cost_guard::spend::day_string(next))
                .build()
                .unwrap(),
        )
        .estimated(estimated);
    for (service, amount) in services {
        result = result.groups(
            Group::builder()
                .keys(*service)
                .metrics(
                    "UnblendedCost",
                    MetricValue::builder()
                        .amount(amount.to_string())
                        .unit(unit)
                        .build(),
                )
                .build(),
        );
    }
    result.build()
}

fn forecast(amount: f64, unit: &'static str) -> Rule {
    mock!(aws_sdk_costexplorer::Client::get_cost_forecast)
        .match_requests(|r| r.time_period().map(|p| p.start()) == Some("2026-05-14"))
        .then_output(move || {
            GetCostForecastOutput::builder()
                .total(
                    MetricValue::builder()
                        .amount(amount.to_string())
                        .unit(unit)
                        .build(),
                )
                .build()
        })
}

#[tokio::test]
async fn month_end_forecast_over_budget_is_announced_via_sdk_mock_because_moto_lacks_get_cost_forecast(
) {
    let f = Fixture::new("us-east-1").await;
    // Two pages: the days' groups continue on the second page (each page is a billed request).
    let first_page = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
        .match_requests(|r| r.next_page_token().is_none())
        .then_output(|| {
            GetCostAndUsageOutput::builder()
                .results_by_time(day("2026-05-12", false, "USD", &[("AWS Lambda", 3.0)]))
                .results_by_time(day("2026-05-13", true, "USD", &[("AWS Lambda", 1.0)]))
                .next_page_token("page-2")
                .build()
        });
    let second_page = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
        .match_requests(|r| r.next_page_token() == Some("page-2"))
        .then_output(|| {
            GetCostAndUsageOutput::builder()
                .results_by_time(day("2026-05-13", false, "USD", &[("Amazon S3", 2.0)]))
                .results_by_time(day("2026-05-14", true, "USD", &[("AWS Lambda", 0.5)]))
                .build()
        });
    // Before today 6.0, forecast from today 4.5: month end 10.5 of 10.
    let forecast_rule = forecast(4.5, "USD");
    let ce = mock_client!(
        aws_sdk_costexplorer,
        RuleMode::MatchAny,
        [&first_page, &second_page, &forecast_rule]
    );
    let guard = f.guard_with(
        CostExplorerSource::new(ce),
        f.config(json!({"currency": "USD", "monthly": 10}), &[]),
    );

    let report = handle(&guard, &schedule_event(), at("2026-05-14T10:00:00Z"))
        .await
        .expect("run");

    assert_eq!(
        report["cost_explorer_requests"], 3,
        "two pages and one forecast"
    );
    assert_eq!(
        (
            first_page.num_calls(),
            second_page.num_calls(),
            forecast_rule.num_calls()
        ),
        (1, 1, 1)
    );
    assert_eq!(report["spend"]["month_to_date"], 6.5);
    assert_eq!(
        report["spend"]["estimated_days"],
        json!([
            "2026-05-01",
            "2026-05-02",
            "2026-05-03",
            "2026-05-04",
            "2026-05-05",
            "2026-05-06",
            "2026-05-07",
            "2026-05-08",
            "2026-05-09",
            "2026-05-10",
            "2026-05-11",
            "2026-05-13",
            "2026-05-14"
        ]),
        "days without data and days marked estimated are not complete"
    );
    assert_eq!(report["forecast"]["month_end"], 10.5);
    let events = f.events().await;
    let forecast_event = events
        .iter()
        .find(|e| e.subject == "cost-budget:forecast")
        .expect("forecast alert");
    assert_eq!(forecast_event.severity, Severity::Warning);
    assert_eq!(forecast_event.data["percent"], 105.0);
    assert_eq!(forecast_event.data["threshold"], 100);
    let monthly = events
        .iter()
        .find(|e| e.subject == "cost-budget:monthly")
        .expect("monthly alert");
    assert_eq!(monthly.data["forecast"], 10.5, "alerts carry the forecast");
}

#[tokio::test]
async fn too_little_history_for_a_forecast_is_no_forecast_via_sdk_mock_because_moto_lacks_get_cost_forecast(
) {
    let f = Fixture::new("us-east-1").await;
    let usage = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage).then_output(|| {
        GetCostAndUsageOutput::builder()
            .results_by_time(day("2026-05-14", true, "USD", &[("AWS Lambda", 0.01)]))
            .build()
    });
    let unavailable = mock!(aws_sdk_costexplorer::Client::get_cost_forecast).then_error(|| {
        GetCostForecastError::DataUnavailableException(
            DataUnavailableException::builder()
                .message("Insufficient amount of historical data")
                .build(),
        )
    });
    let ce = mock_client!(
        aws_sdk_costexplorer,
        RuleMode::MatchAny,
        [&usage, &unavailable]
    );
    let guard = f.guard_with(
        CostExplorerSource::new(ce),
        f.config(json!({"currency": "USD", "monthly": 10}), &[]),
    );

    let report = handle(&guard, &schedule_event(), at("2026-05-14T10:00:00Z"))
        .await
        .expect("run");

    assert_eq!(report["cost_explorer_requests"], 2);
    assert_eq!(report["forecast"]["available"], false);
    let reason = report["forecast"]["unavailable_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("not enough cost history to forecast yet"),
        "{reason}"
    );
    assert!(report["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["budget"] != "forecast"));
}

#[tokio::test]
async fn cny_amounts_in_aws_cn_via_sdk_mock_because_moto_static_ce_results_reach_only_the_aws_partition(
) {
    let f = Fixture::new("cn-northwest-1").await;
    assert_eq!(f.partition, Partition::AwsCn);
    let usage = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage).then_output(|| {
        GetCostAndUsageOutput::builder()
            .results_by_time(day(
                "2026-05-13",
                false,
                "CNY",
                &[("Amazon Simple Storage Service", 40.0)],
            ))
            .results_by_time(day("2026-05-14", true, "CNY", &[("AWS Lambda", 20.0)]))
            .build()
    });
    let forecast_rule = forecast(35.0, "CNY");
    let ce = mock_client!(
        aws_sdk_costexplorer,
        RuleMode::MatchAny,
        [&usage, &forecast_rule]
    );
    let guard = f.guard_with(
        CostExplorerSource::new(ce),
        f.config(
            json!({"currency": "CNY", "monthly": 70, "thresholds": [80, 100]}),
            &[],
        ),
    );

    let report = handle(&guard, &schedule_event(), at("2026-05-14T10:00:00Z"))
        .await
        .expect("run");

    assert_eq!(
        (report["currency"].as_str(), report["partition"].as_str()),
        (Some("CNY"), Some("aws-cn"))
    );
    assert_eq!(report["spend"]["month_to_date"], 60.0);
    let events = f.events().await;
    let monthly = events
        .iter()
        .find(|e| e.subject == "cost-budget:monthly")
        .expect("monthly alert");
    assert_eq!(monthly.data["currency"], "CNY");
    assert_eq!(monthly.data["spent"], 60.0);
    assert_eq!(
        (monthly.severity, monthly.data["threshold"].as_u64()),
        (Severity::Warning, Some(80))
    );
    let forecast_event = events
        .iter()
        .find(|e| e.subject == "cost-budget:forecast")
        .expect("forecast alert");
    assert_eq!(
        forecast_event.data["spent"], 75.0,
        "40 before today + 35 forecast"
    );

    // The real client for aws-cn goes to Cost Explorer's region there, from any China region.
    let sdk = f
        .sdk
        .clone()
        .into_builder()
        .region(aws_config::Region::new("cn-north-1"))
        .build();
    let conf = cost_explorer_config(&sdk, Partition::AwsCn).build();
    assert_eq!(conf.region().map(|r| r.as_ref()), Some("cn-northwest-1"));
}

#[tokio::test]
async fn app_runner_is_paused_and_resumed_via_sdk_mock_because_moto_lacks_app_runner() {
    let f = Fixture::new("us-east-1").await;
    f.load_cost_results(vec![common::cost_result(
        "USD",
        &[("2026-05-13", false, &[("AWS App Runner", 13.0)])],
    )])
    .await;
    const ARN: &str =
        "arn:aws:apprunner:us-east-1:123456789012:service/site/8fe1e10304f84fd2b0df550fe98a71fa";
    let service = move |status: ServiceStatus| {
        Service::builder()
            .service_name("site")
            .service_id("8fe1e10304f84fd2b0df550fe98a71fa")
            .service_arn(ARN)
            .created_at(aws_smithy_types::DateTime::from_secs(0))
            .updated_at(aws_smithy_types::DateTime::from_secs(0))
            .status(status)
            .build()
            .unwrap()
    };
    let describe = mock!(aws_sdk_apprunner::Client::describe_service)
        .match_requests(move |r| r.service_arn() == Some(ARN))
        .sequence()
        .output(move || {
            aws_sdk_apprunner::operation::describe_service::DescribeServiceOutput::builder()
                .service(service(ServiceStatus::Running))
                .build()
        })
        .output(move || {
            aws_sdk_apprunner::operation::describe_service::DescribeServiceOutput::builder()
                .service(service(ServiceStatus::Paused))
                .build()
        })
        .build();
    let pause = mock!(aws_sdk_apprunner::Client::pause_service).then_output(|| {
        aws_sdk_apprunner::operation::pause_service::PauseServiceOutput::builder().build()
    });
    let resume = mock!(aws_sdk_apprunner::Client::resume_service).then_output(|| {
        aws_sdk_apprunner::operation::resume_service::ResumeServiceOutput::builder().build()
    });
    let app_runner = mock_client!(
        aws_sdk_apprunner,
        RuleMode::MatchAny,
        [&describe, &pause, &resume]
    );
    let mut guard = f.guard(f.config(
        json!({"currency": "USD", "monthly": 10}),
        &[
            ("COST_GUARD_MODE", "enforce"),
            ("COST_GUARD_ALLOW_LIST", ARN),
        ],
    ));
    guard.targets.app_runner = AppRunnerTarget::new(app_runner);

    let report = handle(&guard, &schedule_event(), at("2026-05-14T10:00:00Z"))
        .await
        .expect("run");
    assert_eq!(report["actions"][0]["outcome"], "applied");
    assert_eq!(report["actions"][0]["action"], "pause-service");
    assert_eq!(pause.num_calls(), 1);
    let paused = f.events().await;
    assert!(paused
        .iter()
        .any(|e| e.event_type == "cost.action" && e.subject == ARN));

    let restored = handle(
        &guard,
        &json!({"action": "restore"}),
        at("2026-05-15T10:00:00Z"),
    )
    .await
    .expect("restore");
    assert_eq!(restored["actions"][0]["outcome"], "restored");
    assert_eq!(resume.num_calls(), 1);
}

#[tokio::test]
async fn a_failed_publish_leaves_the_crossing_for_the_next_run_via_sdk_mock_because_moto_never_fails_a_publish(
) {
    let f = Fixture::new("us-east-1").await;
    f.load_cost_results(vec![common::cost_result(
        "USD",
        &[("2026-05-13", false, &[("AWS Lambda", 8.5)])],
    )])
    .await;
    let refused = mock!(aws_sdk_sns::Client::publish).then_error(|| {
        aws_sdk_sns::operation::publish::PublishError::InternalErrorException(
            aws_sdk_sns::types::error::InternalErrorException::builder()
                .message("try again")
                .build(),
        )
    });
    let failing_sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&refused]);
    let config = || f.config(json!({"currency": "USD", "monthly": 10}), &[]);
    let mut broken = f.guard(config());
    broken.events = shared::events::SnsEventPublisher::new(failing_sns, &f.topic_arn);

    let err = handle(&broken, &schedule_event(), at("2026-05-14T10:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "CostGuard.Incomplete");
    assert!(
        err.to_string()
            .contains("budget monthly: publishing cost.threshold"),
        "{err}"
    );
    assert!(refused.num_calls() >= 1);

    let guard = f.guard(config());
    let report = handle(&guard, &schedule_event(), at("2026-05-14T16:00:00Z"))
        .await
        .expect("run");
    assert_eq!(report["budgets"][0]["announcement"], "announced");
    assert_eq!(report["budgets"][0]["previously_announced"], json!(null));
    let events = f.events().await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].data["threshold"], 80);
}
