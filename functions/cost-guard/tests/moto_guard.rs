//! The guard against the local AWS (moto): Cost Explorer results loaded through moto's
//! static-results API, state in S3 with conditional writes, events through SNS to SQS, and
//! real moto Lambda functions and ECS services to pause.

mod common;

use common::{at, cost_result, schedule_event, CostDay, Fixture};
use cost_guard::handle;
use serde_json::{json, Value};
use shared::events::Severity;

const NOW: &str = "2026-05-14T10:00:00Z";

fn budgets() -> Value {
    json!({
        "currency": "USD", "monthly": 10, "daily": 2,
        "thresholds": [50, 80, 100],
        "services": {"AWS App Runner": 5, "Amazon EC2 Container Registry (ECR)": 1},
        "other": 10
    })
}

/// May 2026 spend: `per_day` on each of the 1st..13th (13th estimated) and `today` on the 14th.
fn may_costs(per_day: f64, today: f64) -> Value {
    let dates: Vec<String> = (1..=14).map(|d| format!("2026-05-{d:02}")).collect();
    let per_day_services = [
        ("AWS App Runner", per_day * 0.5),
        ("AWS Lambda", per_day * 0.5),
    ];
    let today_services = [("AWS Lambda", today)];
    let mut days: Vec<CostDay> = Vec::new();
    for (i, date) in dates.iter().enumerate() {
        match i {
            13 => days.push((date, true, &today_services)),
            12 => days.push((date, true, &per_day_services)),
            _ => days.push((date, false, &per_day_services)),
        }
    }
    cost_result("USD", &days)
}

#[tokio::test]
async fn below_every_threshold_nothing_is_announced_and_two_requests_are_counted() {
    let f = Fixture::new("us-east-1").await;
    f.load_cost_results(vec![may_costs(0.2, 0.1)]).await;
    let guard = f.guard(f.config(budgets(), &[]));

    let report = handle(&guard, &schedule_event(), at(NOW))
        .await
        .expect("run");

    assert_eq!(report["spend"]["month_to_date"], 2.7);
    assert_eq!(report["cost_explorer_requests"], 2);
    assert_eq!(
        report["forecast"]["available"], false,
        "moto has no GetCostForecast"
    );
    assert_eq!(
        report["forecast"]["unavailable_reason"],
        "GetCostForecast failed: HTTP 500"
    );
    let monthly = &report["budgets"][0];
    assert_eq!(
        (monthly["budget"].as_str(), monthly["percent"].as_f64()),
        (Some("monthly"), Some(27.0))
    );
    assert!(report["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["announcement"] == "none"));
    assert_eq!(
        report["spend"]["complete_days"].as_array().unwrap().len(),
        12,
        "the 13th is estimated and the 14th is today"
    );
    assert_eq!(
        report["spend"]["estimated_days"],
        json!(["2026-05-13", "2026-05-14"])
    );
    assert!(f.events().await.is_empty());
    assert!(f.keys("cost-guard/").await.is_empty());
}

#[tokio::test]
async fn crossing_80_percent_is_announced_once_and_not_again_on_the_next_run() {
    let f = Fixture::new("us-east-1").await;
    // 13 days x 0.6 + 0.4 today = 8.2 of 10: monthly at 82 %; App Runner 3.9 of 5 = 78 %.
    f.load_cost_results(vec![may_costs(0.6, 0.4)]).await;
    let guard = f.guard(f.config(budgets(), &[]));

    let first = handle(&guard, &schedule_event(), at(NOW))
        .await
        .expect("first run");
    let events = f.events().await;
    assert_eq!(
        events.len(),
        2,
        "monthly 80 % and App Runner 50 %: {events:#?}"
    );
    let monthly = events
        .iter()
        .find(|e| e.subject == "cost-budget:monthly")
        .expect("monthly alert");
    assert_eq!(monthly.event_type, "cost.threshold");
    assert_eq!(monthly.severity, Severity::Warning);
    assert_eq!(monthly.data["threshold"], 80);
    assert_eq!(monthly.data["percent"], 82.0);
    assert_eq!(monthly.data["spent"], 8.2);
    assert_eq!(monthly.data["limit"], 10.0);
    assert_eq!(monthly.data["currency"], "USD");
    assert_eq!(monthly.data["top_services"][0]["service"], "AWS Lambda");
    assert!(
        monthly.data.get("forecast").is_none(),
        "no forecast from moto"
    );
    let app_runner = events
        .iter()
        .find(|e| e.subject == "cost-budget:service-aws-app-runner")
        .expect("App Runner alert");
    assert_eq!(
        (app_runner.severity, app_runner.data["threshold"].as_u64()),
        (Severity::Info, Some(50))
    );
    assert_eq!(first["budgets"][0]["announcement"], "announced");
    assert_eq!(
        first["budgets"][0]["event_id"].as_str(),
        Some(monthly.id.as_str())
    );

    let second = handle(&guard, &schedule_event(), at("2026-05-14T16:00:00Z"))
        .await
        .expect("second run");
    assert!(
        f.events().await.is_empty(),
        "a crossing is announced once per period"
    );
    assert_eq!(second["budgets"][0]["announcement"], "already-announced");
    assert_eq!(second["budgets"][0]["previously_announced"], 80);
    assert!(f
        .keys("cost-guard/state/")
        .await
        .contains(&"cost-guard/state/monthly/2026-05.json".to_string()));
}

#[tokio::test]
async fn a_report_invocation_announces_and_changes_nothing() {
    let f = Fixture::new("us-east-1").await;
    f.load_cost_results(vec![may_costs(1.0, 0.5)]).await;
    let function = f.create_function(Some(3)).await;
    let config = f.config(
        budgets(),
        &[
            ("COST_GUARD_MODE", "enforce"),
            ("COST_GUARD_ALLOW_LIST", &function),
        ],
    );
    let guard = f.guard(config);

    let report = handle(&guard, &json!({"action": "report"}), at(NOW))
        .await
        .expect("report");

    assert_eq!(report["budgets"][0]["announcement"], "would-announce");
    assert_eq!(report["action_level_reached"], true);
    assert_eq!(report["actions"][0]["outcome"], "report-only");
    assert!(f.events().await.is_empty());
    assert!(f.keys("cost-guard/").await.is_empty());
    assert_eq!(reserved_concurrency(&f, &function).await, Some(3));
}

async fn reserved_concurrency(f: &Fixture, function: &str) -> Option<i32> {
    aws_sdk_lambda::Client::new(&f.sdk)
        .get_function_concurrency()
        .function_name(function)
        .send()
        .await
        .expect("get concurrency")
        .reserved_concurrent_executions
}

async fn function_tags(f: &Fixture, function: &str) -> std::collections::HashMap<String, String> {
    aws_sdk_lambda::Client::new(&f.sdk)
        .list_tags()
        .resource(function)
        .send()
        .await
        .expect("list tags")
        .tags
        .unwrap_or_default()
}

async fn desired_count(f: &Fixture, service_arn: &str) -> (i32, Vec<(String, String)>) {
    let ecs = aws_sdk_ecs::Client::new(&f.sdk);
    let cluster = service_arn.split('/').nth(1).expect("cluster in arn");
    let count = ecs
        .describe_services()
        .cluster(cluster)
        .services(service_arn)
        .send()
        .await
        .expect("describe")
        .services()[0]
        .desired_count();
    let tags = ecs
        .list_tags_for_resource()
        .resource_arn(service_arn)
        .send()
        .await
        .expect("tags")
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (count, tags)
}

#[tokio::test]
async fn at_the_action_level_dry_run_announces_would_be_actions_and_changes_nothing() {
    let f = Fixture::new("us-east-1").await;
    // 13 x 0.9 + 0.8 = 12.5 of 10: 125 %, above the 120 % action level.
    f.load_cost_results(vec![may_costs(0.9, 0.8)]).await;
    let function = f.create_function(Some(5)).await;
    let service = f.create_service(2).await;
    let allow = format!("{function},{service}");
    let guard = f.guard(f.config(budgets(), &[("COST_GUARD_ALLOW_LIST", &allow)]));

    let report = handle(&guard, &schedule_event(), at(NOW))
        .await
        .expect("run");

    assert_eq!(report["mode"], "dry-run");
    let events = f.events().await;
    let monthly = events
        .iter()
        .find(|e| e.subject == "cost-budget:monthly")
        .expect("alert");
    assert_eq!(
        (monthly.severity, monthly.data["threshold"].as_u64()),
        (Severity::Critical, Some(100))
    );
    let actions: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "cost.action")
        .collect();
    assert_eq!(actions.len(), 2, "{events:#?}");
    assert!(actions
        .iter()
        .all(|a| a.data["dry_run"] == true && a.severity == Severity::Warning));
    assert!(actions
        .iter()
        .any(|a| a.subject == function && a.data["action"] == "set-reserved-concurrency-to-zero"));
    assert!(actions
        .iter()
        .any(|a| a.subject == service && a.data["action"] == "scale-desired-count-to-zero"));
    assert_eq!(actions[0].data["reason"]["percent"], 125.0);
    assert_eq!(reserved_concurrency(&f, &function).await, Some(5));
    assert_eq!(desired_count(&f, &service).await.0, 2);
    assert_eq!(f.keys("cost-guard/actions/2026-05/dry-run/").await.len(), 2);

    handle(&guard, &schedule_event(), at("2026-05-14T16:00:00Z"))
        .await
        .expect("next run");
    assert!(
        f.events().await.is_empty(),
        "would-be actions are announced once a month"
    );
}

#[tokio::test]
async fn enforce_pauses_lambda_and_ecs_and_restore_puts_them_back() {
    let f = Fixture::new("us-east-1").await;
    f.load_cost_results(vec![may_costs(0.9, 0.8)]).await;
    let function = f.create_function(Some(5)).await;
    let unreserved = f.create_function(None).await;
    let service = f.create_service(2).await;
    let allow = format!("{function},{unreserved},{service}");
    let guard = f.guard(f.config(
        budgets(),
        &[
            ("COST_GUARD_MODE", "enforce"),
            ("COST_GUARD_ALLOW_LIST", &allow),
        ],
    ));

    let report = handle(&guard, &schedule_event(), at(NOW))
        .await
        .expect("run");

    let outcomes: Vec<&str> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["applied", "applied", "applied"]);
    assert_eq!(reserved_concurrency(&f, &function).await, Some(0));
    assert_eq!(
        function_tags(&f, &function).await["cost-guard:previous-reserved-concurrency"],
        "5"
    );
    assert_eq!(reserved_concurrency(&f, &unreserved).await, Some(0));
    assert_eq!(
        function_tags(&f, &unreserved).await["cost-guard:previous-reserved-concurrency"],
        "none"
    );
    let (count, tags) = desired_count(&f, &service).await;
    assert_eq!(count, 0);
    assert!(tags.contains(&("cost-guard:previous-desired-count".into(), "2".into())));
    let actions: Vec<_> = f
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "cost.action")
        .collect();
    assert_eq!(actions.len(), 3);
    assert!(actions
        .iter()
        .all(|a| a.data["dry_run"] == false && a.severity == Severity::Critical));
    let lambda_event = actions.iter().find(|a| a.subject == function).unwrap();
    assert_eq!(
        lambda_event.data["previous"],
        json!({"kind": "reserved-concurrency", "value": 5})
    );
    assert_eq!(f.keys("cost-guard/actions/2026-05/enforce/").await.len(), 3);

    // Next run, same month: already paused, nothing done or announced twice.
    let again = handle(&guard, &schedule_event(), at("2026-05-14T16:00:00Z"))
        .await
        .expect("run");
    assert!(again["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["outcome"] == "already-done"));
    assert!(f.events().await.is_empty());

    let restored = handle(
        &guard,
        &json!({"action": "restore"}),
        at("2026-05-15T09:00:00Z"),
    )
    .await
    .expect("restore");
    assert_eq!(restored["cost_explorer_requests"], 0);
    assert_eq!(restored["mode"], "enforce");
    assert_eq!(restored["actions"].as_array().unwrap().len(), 3);
    assert_eq!(reserved_concurrency(&f, &function).await, Some(5));
    assert_eq!(reserved_concurrency(&f, &unreserved).await, None);
    assert!(function_tags(&f, &function).await.is_empty());
    let (count, tags) = desired_count(&f, &service).await;
    assert_eq!((count, tags.len()), (2, 0));
    let restore_events = f.events().await;
    assert_eq!(restore_events.len(), 3);
    assert!(restore_events
        .iter()
        .all(|e| e.data["action"] == "restore" && e.severity == Severity::Info));

    let nothing_left = handle(
        &guard,
        &json!({"action": "restore"}),
        at("2026-05-15T10:00:00Z"),
    )
    .await
    .expect("second restore");
    assert_eq!(nothing_left["actions"], json!([]));
    assert!(f.events().await.is_empty());
}

#[tokio::test]
async fn two_overlapping_runs_announce_a_crossing_once() {
    let f = Fixture::new("us-east-1").await;
    // Twice: moto hands queued results to the first request of each body, and the two runs
    // may ask at the same moment.
    f.load_cost_results(vec![may_costs(0.6, 0.4), may_costs(0.6, 0.4)])
        .await;
    let a = f.guard(f.config(budgets(), &[]));
    let b = f.guard(f.config(budgets(), &[]));
    let event = schedule_event();

    let (ra, rb) = tokio::join!(handle(&a, &event, at(NOW)), handle(&b, &event, at(NOW)));
    let (ra, rb) = (ra.expect("run a"), rb.expect("run b"));

    let events = f.events().await;
    let monthly: Vec<_> = events
        .iter()
        .filter(|e| e.subject == "cost-budget:monthly")
        .collect();
    assert_eq!(monthly.len(), 1, "{events:#?}");
    let announced = [&ra, &rb]
        .iter()
        .filter(|r| r["budgets"][0]["announcement"] == "announced")
        .count();
    assert_eq!(announced, 1);
}

#[tokio::test]
async fn first_of_the_month_without_data_yet_reports_zero_and_judges_yesterday() {
    let f = Fixture::new("us-east-1").await;
    // Only yesterday (31 May, still estimated) is there: 2.5 against a daily budget of 2.
    f.load_cost_results(vec![cost_result(
        "USD",
        &[("2026-05-31", true, &[("AWS Lambda", 2.5)])],
    )])
    .await;
    let guard = f.guard(f.config(budgets(), &[]));

    let report = handle(&guard, &schedule_event(), at("2026-06-01T02:00:00Z"))
        .await
        .expect("run");

    assert_eq!(report["month"], "2026-06");
    assert_eq!(report["spend"]["month_to_date"], 0.0);
    assert_eq!(report["spend"]["complete_days"], json!([]));
    assert_eq!(report["forecast"]["available"], false);
    let events = f.events().await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].subject, "cost-budget:daily");
    assert_eq!(events[0].data["period"], "2026-05-31");
    assert_eq!(
        (events[0].severity, events[0].data["threshold"].as_u64()),
        (Severity::Critical, Some(100))
    );
}

#[tokio::test]
async fn amounts_in_another_currency_fail_the_run_without_announcing() {
    let f = Fixture::new("us-east-1").await;
    f.load_cost_results(vec![cost_result(
        "EUR",
        &[("2026-05-13", false, &[("AWS Lambda", 50.0)])],
    )])
    .await;
    let guard = f.guard(f.config(budgets(), &[]));

    let err = handle(&guard, &schedule_event(), at(NOW))
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "Cost Explorer reported AWS Lambda on 2026-05-13 in EUR, the budgets are in USD"
    );
    assert!(f.events().await.is_empty());
}

#[tokio::test]
async fn a_failed_action_is_retried_by_the_next_run() {
    let f = Fixture::new("us-east-1").await;
    f.load_cost_results(vec![may_costs(0.9, 0.8)]).await;
    let name = shared::testkit::unique("late-function");
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
    let guard = f.guard(f.config(
        budgets(),
        &[
            ("COST_GUARD_MODE", "enforce"),
            ("COST_GUARD_ALLOW_LIST", &arn),
        ],
    ));

    let err = handle(&guard, &schedule_event(), at(NOW))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("set-reserved-concurrency-to-zero on arn:aws:lambda"),
        "{err}"
    );
    assert!(f
        .events()
        .await
        .iter()
        .all(|e| e.event_type != "cost.action"));

    f.create_function_named(&name, Some(7)).await;
    let report = handle(&guard, &schedule_event(), at("2026-05-14T16:00:00Z"))
        .await
        .expect("second run");
    assert_eq!(report["actions"][0]["outcome"], "applied");
    assert_eq!(reserved_concurrency(&f, &arn).await, Some(0));
    assert_eq!(
        function_tags(&f, &arn).await["cost-guard:previous-reserved-concurrency"],
        "7"
    );
}

#[tokio::test]
async fn the_same_schedule_delivered_three_times_at_once_pauses_and_announces_once() {
    let f = Fixture::new("us-east-1").await;
    // One result per run: moto hands queued results out in order.
    f.load_cost_results(vec![
        may_costs(0.9, 0.8),
        may_costs(0.9, 0.8),
        may_costs(0.9, 0.8),
    ])
    .await;
    let function = f.create_function(Some(4)).await;
    let config = || {
        f.config(
            budgets(),
            &[
                ("COST_GUARD_MODE", "enforce"),
                ("COST_GUARD_ALLOW_LIST", &function),
            ],
        )
    };
    let (a, b, c) = (f.guard(config()), f.guard(config()), f.guard(config()));
    let event = schedule_event();

    let (ra, rb, rc) = tokio::join!(
        handle(&a, &event, at(NOW)),
        handle(&b, &event, at(NOW)),
        handle(&c, &event, at(NOW))
    );
    let reports = [ra.expect("run a"), rb.expect("run b"), rc.expect("run c")];

    let applied = reports
        .iter()
        .filter(|r| r["actions"][0]["outcome"] == "applied")
        .count();
    assert_eq!(applied, 1, "{reports:#?}");
    assert_eq!(reserved_concurrency(&f, &function).await, Some(0));
    assert_eq!(
        function_tags(&f, &function).await["cost-guard:previous-reserved-concurrency"],
        "4",
        "a second pause would have recorded 0 as the previous value"
    );
    let events = f.events().await;
    let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        events.len(),
        "an event delivered twice: {events:#?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "cost.action")
            .count(),
        1
    );
    let monthly = events
        .iter()
        .filter(|e| e.subject == "cost-budget:monthly")
        .count();
    assert_eq!(monthly, 1, "{events:#?}");
}

/// A run that paused the function and died before recording the outcome leaves a `claimed`
/// record and the function paused with its previous value tagged. After the lease the next
/// run takes the claim over: the pause is idempotent (the first previous value stays) and
/// announced once.
#[tokio::test]
async fn a_run_that_died_after_pausing_is_finished_by_the_next_run_after_the_lease() {
    use cost_guard::actions::{record_key, ActionRecord, ActionStatus};
    use cost_guard::config::Mode;
    use cost_guard::resources::Resource;

    let f = Fixture::new("us-east-1").await;
    f.load_cost_results(vec![may_costs(0.9, 0.8), may_costs(0.9, 0.8)])
        .await;
    let function = f.create_function(Some(6)).await;
    let lambda = aws_sdk_lambda::Client::new(&f.sdk);
    lambda
        .tag_resource()
        .resource(&function)
        .tags("cost-guard:previous-reserved-concurrency", "6")
        .send()
        .await
        .expect("tag");
    lambda
        .put_function_concurrency()
        .function_name(&function)
        .reserved_concurrent_executions(0)
        .send()
        .await
        .expect("pause");
    let resource = Resource::parse(&function).expect("arn");
    let key = record_key("2026-05", Mode::Enforce, &resource);
    let abandoned = ActionRecord {
        action: resource.kind.pause_action().to_string(),
        resource,
        mode: Mode::Enforce,
        period: "2026-05".into(),
        status: ActionStatus::Claimed,
        previous: None,
        error: None,
        event_id: None,
        announced: false,
        updated_at: "2026-05-14T09:50:00Z".into(),
    };
    f.s3.put_object()
        .bucket(&f.bucket)
        .key(&key)
        .body(serde_json::to_vec(&abandoned).unwrap().into())
        .send()
        .await
        .expect("abandoned record");
    let guard = f.guard(f.config(
        budgets(),
        &[
            ("COST_GUARD_MODE", "enforce"),
            ("COST_GUARD_ALLOW_LIST", &function),
        ],
    ));

    let within_lease = handle(&guard, &schedule_event(), at("2026-05-14T10:00:00Z"))
        .await
        .expect("run within the lease");
    assert_eq!(within_lease["actions"][0]["outcome"], "already-done");
    let after_lease = handle(&guard, &schedule_event(), at("2026-05-14T16:00:00Z"))
        .await
        .expect("run after the lease");
    assert_eq!(after_lease["actions"][0]["outcome"], "applied");
    assert_eq!(
        after_lease["actions"][0]["previous"],
        json!({"kind": "reserved-concurrency", "value": 6})
    );
    assert_eq!(reserved_concurrency(&f, &function).await, Some(0));
    let actions: Vec<_> = f
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "cost.action")
        .collect();
    assert_eq!(actions.len(), 1, "{actions:#?}");
}
