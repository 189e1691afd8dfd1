//! The guard's behaviour with in-memory ports: no network, no local AWS.

use serde_json::{json, Value};
use shared::config::Env;
use shared::events::Severity;
use shared::partition::Partition;
use time::macros::{date, datetime};
use time::OffsetDateTime;

use crate::actions::Targets;
use crate::config::Config;
use crate::fakes::{FakeAppRunner, FakeCosts, FakeDay};
use crate::handle;
use crate::ports::Previous;
use crate::tagged::fake::FakeSetting;
use crate::Guard;
use shared::events::contracts::cost::{self, CostAction, CostThreshold, PeriodKind, ServiceSpend};
use shared::events::Envelope;
use shared::testkit::{MemoryObjectStore, MemoryPublisher};

const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:transcoder";
const SERVICE: &str = "arn:aws:ecs:us-east-1:123456789012:service/media/api";
const NOW: OffsetDateTime = datetime!(2026-05-14 10:00 UTC);

type TestGuard =
    Guard<FakeCosts, MemoryObjectStore, MemoryPublisher, FakeSetting, FakeSetting, FakeAppRunner>;

/// Events published since the last call.
fn new_events(g: &TestGuard, seen: &mut usize) -> Vec<Envelope> {
    let all = g.events.published();
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

fn config(budgets: Value, extra: &[(&str, &str)]) -> Config {
    let budgets = budgets.to_string();
    let mut vars = vec![
        ("RESULTS_BUCKET", "results"),
        (
            "EVENTS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:suite-events",
        ),
        ("COST_BUDGETS", budgets.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "cost-guard"),
        ("NOTIFIER_FUNCTION_NAME", "notifier"),
    ];
    vars.extend_from_slice(extra);
    Config::from_env(Env::from_vars(vars), Partition::Aws).expect("valid configuration")
}

fn budgets() -> Value {
    json!({
        "currency": "USD", "monthly": 10, "daily": 2, "thresholds": [50, 80, 100],
        "services": {"AWS App Runner": 5}, "other": 10
    })
}

/// May 2026: `per_day` on the 1st..13th (half App Runner, half Lambda), `today` on the 14th.
fn may(per_day: f64, today: f64) -> FakeCosts {
    let split = [
        ("AWS App Runner", per_day * 0.5),
        ("AWS Lambda", per_day * 0.5),
    ];
    let today_costs = [("AWS Lambda", today)];
    let mut days: Vec<FakeDay> = (1..=13)
        .map(|d| {
            (
                date!(2026 - 05 - 01).replace_day(d).unwrap(),
                d == 13,
                &split[..],
            )
        })
        .collect();
    days.push((date!(2026 - 05 - 14), true, &today_costs[..]));
    FakeCosts::usd(&days)
}

fn guard(costs: FakeCosts, config: Config) -> TestGuard {
    Guard {
        config,
        costs,
        state: MemoryObjectStore::default(),
        events: MemoryPublisher::default(),
        targets: Targets {
            lambda: FakeSetting::with(FUNCTION, Previous::ReservedConcurrency { value: Some(5) }),
            ecs: FakeSetting::with(SERVICE, Previous::DesiredCount { value: 2 }),
            app_runner: FakeAppRunner::default(),
        },
    }
}

fn schedule() -> Value {
    json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})
}

#[tokio::test]
async fn below_every_threshold_nothing_is_announced_or_written() {
    let g = guard(may(0.2, 0.1), config(budgets(), &[]));
    let mut seen = 0;
    let report = handle(&g, &schedule(), NOW).await.unwrap();
    assert_eq!(report["spend"]["month_to_date"], 2.7);
    assert_eq!(report["cost_explorer_requests"], 2);
    assert!(new_events(&g, &mut seen).is_empty());
    assert!(g.state.keys().is_empty());
}

#[tokio::test]
async fn a_crossing_is_announced_once_per_period() {
    let g = guard(may(0.6, 0.4), config(budgets(), &[]));
    let mut seen = 0;
    let first = handle(&g, &schedule(), NOW).await.unwrap();
    let events = new_events(&g, &mut seen);
    let subjects: Vec<&str> = events.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(
        subjects,
        ["cost-budget:monthly", "cost-budget:service-aws-app-runner"]
    );
    assert_eq!(
        (events[0].severity, events[0].data["threshold"].as_u64()),
        (Severity::Warning, Some(80))
    );
    assert_eq!(events[1].severity, Severity::Info);
    assert_eq!(first["budgets"][0]["announcement"], "announced");
    assert_eq!(
        g.state
            .json("cost-guard/state/monthly/2026-05.json")
            .unwrap()["level"],
        80
    );

    let second = handle(&g, &schedule(), datetime!(2026-05-14 16:00 UTC))
        .await
        .unwrap();
    assert!(new_events(&g, &mut seen).is_empty());
    assert_eq!(second["budgets"][0]["announcement"], "already-announced");
    assert_eq!(second["budgets"][0]["previously_announced"], 80);
}

#[tokio::test]
async fn a_report_announces_writes_and_changes_nothing() {
    let g = guard(
        may(1.0, 0.5),
        config(
            budgets(),
            &[
                ("COST_GUARD_MODE", "enforce"),
                ("COST_GUARD_ALLOW_LIST", FUNCTION),
            ],
        ),
    );
    let mut seen = 0;
    let report = handle(&g, &json!({"action": "report"}), NOW).await.unwrap();
    assert_eq!(report["budgets"][0]["announcement"], "would-announce");
    assert_eq!(report["actions"][0]["outcome"], "report-only");
    assert!(new_events(&g, &mut seen).is_empty());
    assert!(g.state.keys().is_empty());
    assert_eq!(
        g.targets.lambda.value(FUNCTION),
        Some(Previous::ReservedConcurrency { value: Some(5) })
    );
}

#[tokio::test]
async fn enforce_pauses_once_a_month_and_restore_puts_back() {
    let allow = format!("{FUNCTION},{SERVICE}");
    let g = guard(
        may(0.9, 0.8),
        config(
            budgets(),
            &[
                ("COST_GUARD_MODE", "enforce"),
                ("COST_GUARD_ALLOW_LIST", &allow),
            ],
        ),
    );
    let mut seen = 0;
    let report = handle(&g, &schedule(), NOW).await.unwrap();
    assert_eq!(report["actions"][0]["outcome"], "applied");
    assert_eq!(report["actions"][1]["outcome"], "applied");
    assert_eq!(
        g.targets.lambda.value(FUNCTION),
        Some(Previous::ReservedConcurrency { value: Some(0) })
    );
    assert_eq!(
        g.targets.ecs.value(SERVICE),
        Some(Previous::DesiredCount { value: 0 })
    );
    let actions: Vec<_> = new_events(&g, &mut seen)
        .into_iter()
        .filter(|e| e.event_type == "cost.action")
        .collect();
    assert_eq!(actions.len(), 2);
    assert!(actions
        .iter()
        .all(|a| a.severity == Severity::Critical && a.data["dry_run"] == false));

    let again = handle(&g, &schedule(), datetime!(2026-05-14 16:00 UTC))
        .await
        .unwrap();
    assert_eq!(again["actions"][0]["outcome"], "already-done");
    assert!(new_events(&g, &mut seen).is_empty());

    let restored = handle(
        &g,
        &json!({"action": "restore"}),
        datetime!(2026-05-15 09:00 UTC),
    )
    .await
    .unwrap();
    assert_eq!(restored["cost_explorer_requests"], 0);
    assert_eq!(
        g.targets.lambda.value(FUNCTION),
        Some(Previous::ReservedConcurrency { value: Some(5) })
    );
    assert_eq!(
        g.targets.ecs.value(SERVICE),
        Some(Previous::DesiredCount { value: 2 })
    );
    let events = new_events(&g, &mut seen);
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|e| e.data["action"] == "restore" && e.severity == Severity::Info));
    let notice: CostAction = events
        .iter()
        .find(|e| e.subject == FUNCTION)
        .expect("the function's restore notice")
        .payload()
        .unwrap();
    assert_eq!(
        (
            notice.resource_name.as_str(),
            notice.undoes.as_deref(),
            notice.previous
        ),
        (
            "transcoder",
            Some("set-reserved-concurrency-to-zero"),
            Some(Previous::ReservedConcurrency { value: Some(5) })
        )
    );
    assert_eq!((notice.period.as_str(), notice.dry_run), ("2026-05", false));

    let nothing = handle(
        &g,
        &json!({"action": "restore"}),
        datetime!(2026-05-15 10:00 UTC),
    )
    .await
    .unwrap();
    assert_eq!(nothing["actions"], json!([]));
    // What this run published is the cost.* contract every consumer is tested against.
    shared::testkit::contract::check_types(
        &g.events.published(),
        &["cost.threshold", "cost.action"],
    );
}

#[tokio::test]
async fn dry_run_announces_would_be_actions_and_changes_nothing() {
    let g = guard(
        may(0.9, 0.8),
        config(budgets(), &[("COST_GUARD_ALLOW_LIST", FUNCTION)]),
    );
    let mut seen = 0;
    let report = handle(&g, &schedule(), NOW).await.unwrap();
    assert_eq!(report["mode"], "dry-run");
    assert_eq!(report["actions"][0]["outcome"], "would-apply");
    let actions: Vec<_> = new_events(&g, &mut seen)
        .into_iter()
        .filter(|e| e.event_type == "cost.action")
        .collect();
    assert_eq!(actions.len(), 1);
    assert_eq!(
        (actions[0].severity, &actions[0].data["dry_run"]),
        (Severity::Warning, &json!(true))
    );
    assert_eq!(
        g.targets.lambda.value(FUNCTION),
        Some(Previous::ReservedConcurrency { value: Some(5) })
    );
}

#[tokio::test]
async fn a_refused_publish_leaves_the_crossing_to_the_next_run() {
    let g = guard(
        may(0.6, 0.4),
        config(json!({"currency": "USD", "monthly": 10}), &[]),
    );
    let mut seen = 0;
    g.events.fail_next(1);
    let err = handle(&g, &schedule(), NOW).await.unwrap_err();
    assert_eq!(err.kind(), "CostGuard.Incomplete");
    assert!(
        err.to_string()
            .contains("budget monthly: publishing cost.threshold"),
        "{err}"
    );
    assert!(
        g.state
            .json("cost-guard/state/monthly/2026-05.json")
            .is_none(),
        "not recorded as announced"
    );

    let report = handle(&g, &schedule(), datetime!(2026-05-14 10:05 UTC))
        .await
        .unwrap();
    assert_eq!(report["budgets"][0]["announcement"], "announced");
    assert_eq!(new_events(&g, &mut seen).len(), 1);
}

#[tokio::test]
async fn on_the_first_the_daily_budget_judges_yesterday() {
    let costs = FakeCosts::usd(&[(date!(2026 - 05 - 31), true, &[("AWS Lambda", 2.5)])]);
    let g = guard(costs, config(budgets(), &[]));
    let mut seen = 0;
    let report = handle(&g, &schedule(), datetime!(2026-06-01 02:00 UTC))
        .await
        .unwrap();
    assert_eq!(report["month"], "2026-06");
    assert_eq!(report["spend"]["month_to_date"], 0.0);
    let events = new_events(&g, &mut seen);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].subject.as_str(), &events[0].data["period"]),
        ("cost-budget:daily", &json!("2026-05-31"))
    );
}

#[tokio::test]
async fn another_currency_fails_the_run_without_announcing() {
    let mut costs = may(0.6, 0.4);
    costs.days[0].services[0].unit = "EUR".into();
    let g = guard(costs, config(budgets(), &[]));
    let mut seen = 0;
    let err = handle(&g, &schedule(), NOW).await.unwrap_err();
    assert_eq!(err.kind(), "CostGuard.CurrencyMismatch");
    assert!(new_events(&g, &mut seen).is_empty());
}

#[tokio::test]
async fn the_forecast_over_budget_is_a_warning() {
    let mut costs = may(0.4, 0.1);
    costs.forecast = Some(6.0);
    let g = guard(
        costs,
        config(json!({"currency": "USD", "monthly": 10}), &[]),
    );
    let mut seen = 0;
    let report = handle(&g, &schedule(), NOW).await.unwrap();
    assert_eq!(report["forecast"]["month_end"], 11.2);
    let events = new_events(&g, &mut seen);
    let forecast = events
        .iter()
        .find(|e| e.subject == "cost-budget:forecast")
        .expect("forecast alert");
    assert_eq!(
        (forecast.severity, forecast.data["threshold"].as_u64()),
        (Severity::Warning, Some(100))
    );
}

#[tokio::test]
async fn the_50_percent_crossing_is_published_and_only_then_recorded() {
    // 13 x 0.4 + 0 = 5.2 of 10: 52 %, an info crossing.
    let g = guard(
        may(0.4, 0.0),
        config(json!({"currency": "USD", "monthly": 10}), &[]),
    );
    let mut seen = 0;
    g.events.fail_next(1);
    handle(&g, &schedule(), NOW).await.unwrap_err();
    assert!(new_events(&g, &mut seen).is_empty());
    assert_eq!(g.state.json("cost-guard/state/monthly/2026-05.json"), None);

    let report = handle(&g, &schedule(), datetime!(2026-05-14 10:05 UTC))
        .await
        .unwrap();
    let events = new_events(&g, &mut seen);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].severity, Severity::Info);
    let alert: CostThreshold = events[0].payload().unwrap();
    assert_eq!((alert.threshold, alert.percent), (50, 52.0));
    assert_eq!(report["budgets"][0]["announcement"], "announced");
    let state = g
        .state
        .json("cost-guard/state/monthly/2026-05.json")
        .unwrap();
    assert_eq!(
        (&state["level"], &state["event_id"]),
        (&json!(50), &json!(events[0].id))
    );
}

#[tokio::test]
async fn a_monthly_alert_names_the_budget_period_figures_and_forecast() {
    let mut costs = may(0.6, 0.4);
    costs.forecast = Some(4.0);
    let g = guard(costs, config(budgets(), &[]));
    let mut seen = 0;
    handle(&g, &schedule(), NOW).await.unwrap();
    let events = new_events(&g, &mut seen);
    let monthly: CostThreshold = events[0].payload().unwrap();
    assert_eq!(
        monthly,
        CostThreshold {
            budget: "monthly".into(),
            budget_kind: cost::BudgetKind::Monthly,
            service: None,
            period: "2026-05".into(),
            period_kind: PeriodKind::Month,
            time_zone: "UTC".into(),
            period_start: "2026-05-01T00:00:00Z".into(),
            period_end: "2026-06-01T00:00:00Z".into(),
            threshold: 80,
            percent: 82.0,
            spent: 8.2,
            limit: 10.0,
            currency: "USD".into(),
            forecast: Some(11.8),
            month_to_date: 8.2,
            top_services: vec![
                ServiceSpend {
                    service: "AWS Lambda".into(),
                    amount: 4.3
                },
                ServiceSpend {
                    service: "AWS App Runner".into(),
                    amount: 3.9
                },
            ],
            estimated: true,
            utc_measure: None,
        }
    );
    let app_runner: CostThreshold = events[1].payload().unwrap();
    assert_eq!(
        (app_runner.budget_kind, app_runner.service.as_deref()),
        (cost::BudgetKind::Service, Some("AWS App Runner"))
    );
}

#[tokio::test]
async fn in_shanghai_the_daily_budget_follows_the_business_day_and_says_what_cost_explorer_measured(
) {
    // 2026-11-30T20:00Z is 1 December, 04:00, in Shanghai: today is the 1st there, and the
    // day to judge in full is 30 November.
    let costs = FakeCosts::usd(&[
        (date!(2026 - 11 - 29), false, &[("AWS Lambda", 0.1)]),
        (date!(2026 - 11 - 30), true, &[("AWS Lambda", 0.29)]),
    ]);
    let g = guard(
        costs,
        config(
            json!({"currency": "USD", "monthly": 10, "daily": 0.33, "thresholds": [80, 100]}),
            &[("SUITE_TIMEZONE", "Asia/Shanghai")],
        ),
    );
    let mut seen = 0;
    let report = handle(&g, &schedule(), datetime!(2026-11-30 20:00 UTC))
        .await
        .unwrap();
    assert_eq!(
        (report["month"].as_str(), report["time_zone"].as_str()),
        (Some("2026-12"), Some("Asia/Shanghai"))
    );
    assert_eq!(
        report["spend"]["month_to_date"], 0.0,
        "December has no Cost Explorer day yet"
    );
    let events = new_events(&g, &mut seen);
    assert_eq!(events.len(), 1, "{events:#?}");
    let daily: CostThreshold = events[0].payload().unwrap();
    assert_eq!(
        (daily.period.as_str(), daily.period_kind),
        ("2026-11-30", PeriodKind::Day)
    );
    assert_eq!(
        (daily.spent, daily.limit, daily.threshold),
        (0.29, 0.33, 80)
    );
    assert_eq!(daily.percent, 87.8788);
    assert_eq!(
        (daily.period_start.as_str(), daily.period_end.as_str()),
        ("2026-11-30T00:00:00+08:00", "2026-12-01T00:00:00+08:00")
    );
    assert!(daily.estimated);
    let measured = daily.utc_measure.expect("Cost Explorer's UTC day is named");
    assert_eq!(
        (
            measured.start.as_str(),
            measured.end.as_str(),
            measured.offset_minutes
        ),
        ("2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z", 480)
    );

    // Eight hours earlier it was still 30 November in Shanghai: that day is today, and the
    // run announced nothing (its crossing was announced above, under the same id).
    let earlier = handle(&g, &schedule(), datetime!(2026-11-30 12:00 UTC))
        .await
        .unwrap();
    assert_eq!(earlier["month"], "2026-11");
    assert_eq!(earlier["budgets"][2]["period"], "2026-11-30");
    assert_eq!(earlier["budgets"][2]["announcement"], "already-announced");
}

#[tokio::test]
async fn in_a_dst_zone_the_month_and_its_measure_follow_the_offset_in_force() {
    // New York, 1 November 2026 01:30 local (05:30Z, summer time until 06:00Z): the month is
    // November there; Cost Explorer's November starts 4 hours later (EDT, UTC-4).
    let costs = FakeCosts::usd(&[(date!(2026 - 10 - 31), false, &[("AWS Lambda", 9.0)])]);
    let g = guard(
        costs,
        config(
            json!({"currency": "USD", "monthly": 10, "daily": 5}),
            &[("SUITE_TIMEZONE", "America/New_York")],
        ),
    );
    let mut seen = 0;
    let report = handle(&g, &schedule(), datetime!(2026-11-01 05:30 UTC))
        .await
        .unwrap();
    assert_eq!(report["month"], "2026-11");
    let events = new_events(&g, &mut seen);
    let daily: CostThreshold = events[0].payload().unwrap();
    assert_eq!(daily.period, "2026-10-31");
    assert_eq!(
        (daily.period_start.as_str(), daily.period_end.as_str()),
        ("2026-10-31T00:00:00-04:00", "2026-11-01T00:00:00-04:00")
    );
    assert_eq!(daily.utc_measure.unwrap().offset_minutes, -240);
    // 1 November has 25 hours; from 2 November the measure is 5 hours off (EST).
    let c = crate::spend::Calendar::at(datetime!(2026-11-02 12:00 UTC), &g.config.common.time_zone);
    let day = date!(2026 - 11 - 01);
    assert_eq!(
        c.utc_measure(day, day.next_day().unwrap())
            .unwrap()
            .offset_minutes,
        -240
    );
    let day = date!(2026 - 11 - 02);
    assert_eq!(
        c.utc_measure(day, day.next_day().unwrap())
            .unwrap()
            .offset_minutes,
        -300
    );
}
