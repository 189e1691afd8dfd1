//! Property tests: any input to the parsers and the policy code gives `Ok` or a typed error,
//! never a panic, and what is accepted keeps the documented invariants.

use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput;
use aws_sdk_costexplorer::operation::get_cost_forecast::GetCostForecastOutput;
use aws_sdk_costexplorer::types::{DateInterval, Group, MetricValue, ResultByTime};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use cost_guard::adapters::CostExplorerSource;
use cost_guard::budgets::{percent_of, severity_for, slug, Budgets};
use cost_guard::config::Config;
use cost_guard::ports::{CostSource, DayCosts, ServiceCost};
use cost_guard::resources::Resource;
use cost_guard::spend::{parse_day, Calendar, Spend};
use cost_guard::Invocation;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use shared::config::Env;
use shared::partition::Partition;
use time::{Date, Duration};

/// Arbitrary JSON: scalars (with control characters, `../` and non-ASCII in strings), arrays
/// and objects, nested, with the keys the parser looks at among the arbitrary ones.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("action".to_string()),
        Just("detail-type".to_string()),
        Just("source".to_string()),
        Just("version".to_string()),
        "\\PC{0,12}",
    ];
    let string = prop_oneof![
        Just("report".to_string()),
        Just("dry-run".to_string()),
        Just("restore".to_string()),
        Just("Scheduled Event".to_string()),
        Just("aws.events".to_string()),
        Just("0".to_string()),
        "(\\PC|[\\x00-\\x1f]|\\.\\./){0,24}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        string.prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn accepted_shape(event: &Value) -> bool {
    let Some(object) = event.as_object() else {
        return false;
    };
    match (object.get("detail-type"), object.get("action")) {
        (Some(detail_type), None) => {
            detail_type == "Scheduled Event"
                && object.get("source") == Some(&json!("aws.events"))
                && object.get("version").is_none_or(|v| v == "0")
        }
        (None, Some(action)) => ["report", "dry-run", "restore"]
            .iter()
            .any(|known| action == known),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_json_event_is_an_invocation_or_a_short_typed_refusal(event in any_json()) {
        match Invocation::parse(&event) {
            Ok(_) => prop_assert!(accepted_shape(&event), "accepted {event}"),
            Err(e) => {
                prop_assert!(!accepted_shape(&event), "refused {event}: {e}");
                let message = e.to_string();
                prop_assert!(message.len() < 600, "{} bytes", message.len());
                prop_assert!(!message.chars().any(char::is_control), "{message:?}");
            }
        }
    }

    #[test]
    fn any_bytes_are_refused_by_json_or_by_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(event) = serde_json::from_slice::<Value>(&bytes) {
            prop_assert_eq!(Invocation::parse(&event).is_ok(), accepted_shape(&event));
        }
    }

    #[test]
    fn any_action_string_other_than_the_three_is_refused(action in "\\PC{0,40}|(\\PC|[\\x00-\\x1f]){0,40}") {
        let parsed = Invocation::parse(&json!({ "action": action }));
        let known = ["report", "dry-run", "restore"].contains(&action.as_str());
        prop_assert_eq!(parsed.is_ok(), known);
    }

    #[test]
    fn any_budgets_text_is_budgets_or_listed_problems(text in "\\PC{0,200}") {
        match Budgets::parse(&text) {
            Ok(b) => prop_assert!(b.monthly > 0.0),
            Err(problems) => prop_assert!(!problems.is_empty()),
        }
    }

    #[test]
    fn any_budget_numbers_validate_or_name_every_problem(
        monthly in any::<f64>(),
        daily in proptest::option::of(any::<f64>()),
        thresholds in prop::collection::vec(any::<u32>(), 0..6),
        forecast in any::<u32>(),
        service in (any::<f64>(), "\\PC{0,20}"),
    ) {
        // JSON has no NaN or infinity: those become null, which the parser refuses as a type.
        let doc = json!({
            "currency": "USD", "monthly": monthly, "daily": daily, "thresholds": thresholds,
            "forecast_threshold": forecast, "services": { service.1.clone(): service.0 },
        });
        match Budgets::parse(&doc.to_string()) {
            Ok(b) => {
                prop_assert!(b.monthly.is_finite() && b.monthly > 0.0);
                prop_assert!(b.daily.is_none_or(|d| d.is_finite() && d > 0.0));
                prop_assert!(!b.thresholds.is_empty());
                prop_assert!(b.thresholds.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(b.thresholds.iter().all(|t| (1..=1000).contains(t)));
                prop_assert!((1..=1000).contains(&b.forecast_threshold));
                prop_assert!(b.services.values().all(|a| a.is_finite() && *a > 0.0));
            }
            Err(problems) => prop_assert!(!problems.is_empty()),
        }
    }

    #[test]
    fn levels_are_thresholds_and_rise_with_spend(
        thresholds in prop::collection::vec(1u32..=1000, 1..6),
        spend in any::<f64>(),
        more in 0.0f64..1e6,
        budget in 1e-6f64..1e9,
    ) {
        let b = Budgets::parse(&json!({"currency": "USD", "monthly": budget, "thresholds": thresholds}).to_string())
            .expect("valid budgets");
        let percent = percent_of(spend, budget);
        let level = b.level_for(percent);
        prop_assert!(level.is_none_or(|l| b.thresholds.contains(&l)));
        if let Some(l) = level {
            prop_assert!(percent >= f64::from(l));
            let _ = severity_for(l);
        }
        if spend.is_finite() {
            let higher = b.level_for(percent_of(spend + more, budget));
            prop_assert!(higher >= level, "{higher:?} < {level:?}");
        }
    }

    #[test]
    fn any_daily_costs_give_spend_or_a_currency_mismatch(
        today_offset in 0i64..3650,
        days in prop::collection::vec(
            (-40i64..40, any::<bool>(), prop::collection::vec(
                ("\\PC{0,12}", -1e9f64..1e9, prop_oneof![Just("USD"), Just("CNY"), Just("")]),
                0..4,
            )),
            0..12,
        ),
    ) {
        let today = Date::from_calendar_date(2020, time::Month::January, 1).unwrap()
            + Duration::days(today_offset);
        let calendar = Calendar::for_day(today);
        let days: Vec<DayCosts> = days
            .into_iter()
            .map(|(offset, estimated, services)| DayCosts {
                date: today + Duration::days(offset),
                estimated,
                services: services
                    .into_iter()
                    .map(|(service, amount, unit)| ServiceCost { service, amount, unit: unit.to_string() })
                    .collect(),
            })
            .collect();
        match Spend::from_days(&days, "USD", &calendar) {
            Ok(spend) => {
                prop_assert!(spend.month_to_date.is_finite());
                let month_days = (today - calendar.month_start).whole_days() + 1;
                prop_assert_eq!(
                    (spend.complete_days.len() + spend.estimated_days.len()) as i64,
                    month_days
                );
                prop_assert!(!spend.complete_days.contains(&cost_guard::spend::day_string(today)));
            }
            Err(mismatch) => prop_assert_ne!(mismatch.found, "USD"),
        }
    }

    #[test]
    fn any_day_text_parses_or_is_none(text in "\\PC{0,16}|[0-9]{4}-[0-9]{2}-[0-9]{2}") {
        if let Some(d) = parse_day(&text) {
            prop_assert_eq!(cost_guard::spend::day_string(d), text);
        }
    }

    #[test]
    fn any_allow_list_entry_is_a_resource_or_a_reason(
        text in "\\PC{0,60}|arn:(aws|aws-cn|x):(lambda|ecs|apprunner|s3):[a-z0-9*-]{0,12}:[0-9*]{0,12}:(function|service)[:/](\\PC|/|:|\\.\\./|\\*){0,30}",
    ) {
        match Resource::parse(&text) {
            Ok(r) => {
                prop_assert_eq!(&r.arn, &text);
                prop_assert!(!r.name.is_empty() && !r.name.contains('/') && !r.name.contains(':'));
                prop_assert!(!text.contains(['*', '?']), "a wildcard was accepted: {text}");
            }
            Err(e) => prop_assert!(e.0.contains("allow-list entry")),
        }
    }

    #[test]
    fn slugs_are_key_safe(text in "\\PC{0,40}|(\\.\\./|[\\x00-\\x1f]|%2F|/){0,10}") {
        let s = slug(&text);
        prop_assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains(".."));
    }

    #[test]
    fn any_configuration_values_are_a_config_or_one_error_listing_problems(
        mode in "\\PC{0,12}|off|dry-run|enforce",
        level in "\\PC{0,8}|[0-9]{1,12}",
        top in "\\PC{0,8}|[0-9]{1,24}",
        allow in "\\PC{0,80}",
    ) {
        let vars = vec![
            ("RESULTS_BUCKET", "results"),
            ("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:suite-events"),
            ("COST_BUDGETS", r#"{"currency":"USD","monthly":10}"#),
            ("COST_GUARD_MODE", mode.as_str()),
            ("COST_GUARD_ACTION_LEVEL", level.as_str()),
            ("COST_GUARD_TOP_SERVICES", top.as_str()),
            ("COST_GUARD_ALLOW_LIST", allow.as_str()),
            ("NOTIFIER_FUNCTION_NAME", "notifier"),
        ];
        match Config::from_env(Env::from_vars(vars), Partition::Aws) {
            Ok(c) => prop_assert!(c.action_level > 0),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever Cost Explorer answers (arbitrary amounts, units, day texts), the adapter gives
    /// costs or a typed error; the SDK answers come from `aws-smithy-mocks` because moto cannot
    /// be made to return malformed amounts or days.
    #[test]
    fn any_cost_explorer_answer_is_costs_or_a_typed_error_via_sdk_mock(
        day in "\\PC{0,12}|2026-05-[0-3][0-9]",
        amount in "\\PC{0,12}|-?[0-9]{1,20}(\\.[0-9]{0,12})?|NaN|inf|1e400",
        unit in "\\PC{0,5}",
        forecast_amount in "\\PC{0,12}|[0-9]{1,6}\\.[0-9]{2}",
    ) {
        let (day_c, amount_c, unit_c) = (day.clone(), amount.clone(), unit.clone());
        let usage = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage).then_output(move || {
            GetCostAndUsageOutput::builder()
                .results_by_time(
                    ResultByTime::builder()
                        .time_period(DateInterval::builder().start(&day_c).end("2026-06-01").build().unwrap())
                        .groups(
                            Group::builder()
                                .keys("AWS Lambda")
                                .metrics("UnblendedCost", MetricValue::builder().amount(&amount_c).unit(&unit_c).build())
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let forecast_c = forecast_amount.clone();
        let forecast = mock!(aws_sdk_costexplorer::Client::get_cost_forecast).then_output(move || {
            GetCostForecastOutput::builder()
                .total(MetricValue::builder().amount(&forecast_c).unit("USD").build())
                .build()
        });
        let source = CostExplorerSource::new(mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&usage, &forecast]));
        let start = Date::from_calendar_date(2026, time::Month::May, 1).unwrap();
        let end = Date::from_calendar_date(2026, time::Month::June, 1).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (costs, forecast) = runtime.block_on(async {
            (source.daily_costs_by_service(start, end).await, source.forecast(start, end).await)
        });
        match costs {
            Ok(query) => {
                prop_assert_eq!(query.requests, 1);
                prop_assert!(query.days.iter().flat_map(|d| &d.services).all(|s| s.amount.is_finite()));
                prop_assert!(parse_day(&day).is_some());
            }
            Err(e) => {
                prop_assert_eq!(e.requests, 1);
                prop_assert!(!e.reason.is_empty());
            }
        }
        prop_assert_eq!(forecast.requests, 1);
        if let Ok(a) = forecast.forecast {
            prop_assert!(a.value.is_finite());
        }
    }
}
