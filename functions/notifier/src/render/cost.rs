//! `cost.threshold` and `cost.action`: which budget, which period, how much of how much.

use shared::events::contracts::cost::{
    BudgetKind, CostAction, CostThreshold, Previous, ResourceKind,
};

use super::{fact, Fact};
use crate::language::Language;

/// `1234.50 USD`.
fn money(amount: f64, currency: &str) -> String {
    format!("{amount:.2} {currency}")
}

/// Whole percent reached, rounded down: 87.9 % of a budget has not reached 88 %.
fn percent(p: f64) -> String {
    format!("{} %", p.max(0.0).floor() as u64)
}

/// `0.29 of 0.33 USD (87 %)` / `已用 0.29 / 0.33 USD（87 %）`.
fn spent_of_limit(spent: f64, limit: f64, currency: &str, pct: f64, language: Language) -> String {
    match language {
        Language::En => format!("{spent:.2} of {limit:.2} {currency} ({})", percent(pct)),
        Language::Zh => format!(
            "已用 {spent:.2} / {limit:.2} {currency}（{}）",
            percent(pct)
        ),
    }
}

fn budget_name(t: &CostThreshold, language: Language) -> String {
    match (t.budget_kind, language) {
        (BudgetKind::Daily, Language::En) => "Daily budget".into(),
        (BudgetKind::Daily, Language::Zh) => "每日预算".into(),
        (BudgetKind::Monthly, Language::En) => "Monthly budget".into(),
        (BudgetKind::Monthly, Language::Zh) => "每月预算".into(),
        (BudgetKind::Service, Language::En) => {
            format!("{} budget", t.service.as_deref().unwrap_or(&t.budget))
        }
        (BudgetKind::Service, Language::Zh) => {
            format!("{} 预算", t.service.as_deref().unwrap_or(&t.budget))
        }
        (BudgetKind::Other, Language::En) => "Other services budget".into(),
        (BudgetKind::Other, Language::Zh) => "其他服务预算".into(),
        (BudgetKind::Forecast, Language::En) => "Month-end forecast".into(),
        (BudgetKind::Forecast, Language::Zh) => "月末费用预测".into(),
    }
}

/// Title (without the severity tag) and facts of a threshold alert.
pub fn threshold(t: &CostThreshold, language: Language) -> (String, Vec<Fact>) {
    let colon = language.pick((": ", "："));
    let title = format!(
        "{} {}{colon}{}",
        budget_name(t, language),
        t.period,
        spent_of_limit(t.spent, t.limit, &t.currency, t.percent, language)
    );
    let mut facts = vec![fact(
        language,
        ("Threshold reached", "已达阈值"),
        format!("{} %", t.threshold),
    )];
    match (t.budget_kind, t.forecast) {
        (BudgetKind::Forecast, _) => {}
        (_, Some(forecast)) => facts.push(fact(
            language,
            ("Month-end forecast", "月末预测"),
            money(forecast, &t.currency),
        )),
        (_, None) => {}
    }
    facts.push(fact(
        language,
        ("Month to date", "本月累计"),
        money(t.month_to_date, &t.currency),
    ));
    if !t.top_services.is_empty() {
        let top: Vec<String> = t
            .top_services
            .iter()
            .map(|s| format!("{} {:.2}", s.service, s.amount))
            .collect();
        facts.push(fact(
            language,
            ("Top services", "费用最高的服务"),
            top.join(", "),
        ));
    }
    facts.push(fact(
        language,
        ("Period", "周期"),
        format!("{} ({})", t.period, t.time_zone),
    ));
    if let Some(m) = &t.utc_measure {
        let hours = f64::from(m.offset_minutes) / 60.0;
        let shift = match language {
            Language::En if m.offset_minutes >= 0 => format!("{hours} h after the local day"),
            Language::En => format!("{} h before the local day", -hours),
            Language::Zh if m.offset_minutes >= 0 => format!("比本地日晚 {hours} 小时"),
            Language::Zh => format!("比本地日早 {} 小时", -hours),
        };
        let text = match language {
            Language::En => format!(
                "Cost Explorer counts UTC days: {} to {} ({shift})",
                m.start, m.end
            ),
            Language::Zh => format!("费用数据按 UTC 日统计：{} 至 {}（{shift}）", m.start, m.end),
        };
        facts.push(fact(language, ("Measured", "统计口径"), text));
    }
    if t.estimated {
        facts.push(fact(
            language,
            ("Note", "说明"),
            language
                .pick((
                    "recent days are estimates Cost Explorer may still revise",
                    "最近几天的费用为估算，可能仍会修订",
                ))
                .to_string(),
        ));
    }
    (title, facts)
}

fn resource_kind(kind: ResourceKind, language: Language) -> &'static str {
    language.pick(match kind {
        ResourceKind::LambdaFunction => ("Lambda function", "Lambda 函数"),
        ResourceKind::EcsService => ("ECS service", "ECS 服务"),
        ResourceKind::AppRunnerService => ("App Runner service", "App Runner 服务"),
    })
}

fn previous_setting(previous: &Previous, language: Language) -> String {
    match (previous, language) {
        (Previous::ReservedConcurrency { value: Some(n) }, Language::En) => {
            format!("reserved concurrency {n}")
        }
        (Previous::ReservedConcurrency { value: Some(n) }, Language::Zh) => {
            format!("预留并发 {n}")
        }
        (Previous::ReservedConcurrency { value: None }, Language::En) => {
            "no reserved concurrency".into()
        }
        (Previous::ReservedConcurrency { value: None }, Language::Zh) => "未设置预留并发".into(),
        (Previous::DesiredCount { value }, Language::En) => format!("{value} desired tasks"),
        (Previous::DesiredCount { value }, Language::Zh) => format!("期望任务数 {value}"),
        (Previous::Running, Language::En) => "running".into(),
        (Previous::Running, Language::Zh) => "运行中".into(),
    }
}

/// Title (without the severity tag) and facts of a pause or restore.
pub fn action(a: &CostAction, language: Language) -> (String, Vec<Fact>) {
    let kind = resource_kind(a.resource_kind, language);
    let name = &a.resource_name;
    let restore = a.action == "restore";
    let title = match (restore, a.dry_run, language) {
        (true, _, Language::En) => format!("Restored {kind} {name}"),
        (true, _, Language::Zh) => format!("已恢复{kind} {name}"),
        (false, true, Language::En) => format!("Would pause {kind} {name} (dry run)"),
        (false, true, Language::Zh) => format!("演练：将暂停{kind} {name}"),
        (false, false, Language::En) => format!("Paused {kind} {name}"),
        (false, false, Language::Zh) => format!("已暂停{kind} {name}"),
    };
    let mut facts = Vec::new();
    if let Some(reason) = &a.reason {
        facts.push(fact(
            language,
            ("Monthly spend", "本月费用"),
            format!(
                "{} {}",
                a.period,
                spent_of_limit(
                    reason.monthly_spend,
                    reason.monthly_budget,
                    &reason.currency,
                    reason.percent,
                    language
                )
            ),
        ));
        facts.push(fact(
            language,
            ("Pauses start at", "暂停阈值"),
            format!("{} %", reason.action_level),
        ));
    } else {
        facts.push(fact(language, ("Period", "周期"), a.period.clone()));
    }
    if let Some(previous) = &a.previous {
        let label = if restore {
            ("Put back", "已恢复为")
        } else {
            ("Before the pause", "暂停前")
        };
        facts.push(fact(language, label, previous_setting(previous, language)));
    }
    facts.push(fact(language, ("Resource", "资源"), a.resource.clone()));
    (title, facts)
}

#[cfg(test)]
mod tests {
    use shared::events::contracts::cost::{ActionReason, PeriodKind, ServiceSpend, UtcMeasure};

    use super::*;
    use crate::render::fact_lines;

    fn daily() -> CostThreshold {
        CostThreshold {
            budget: "daily".into(),
            budget_kind: BudgetKind::Daily,
            service: None,
            period: "2026-11-30".into(),
            period_kind: PeriodKind::Day,
            time_zone: "Asia/Shanghai".into(),
            period_start: "2026-11-30T00:00:00+08:00".into(),
            period_end: "2026-12-01T00:00:00+08:00".into(),
            threshold: 80,
            percent: 87.8788,
            spent: 0.29,
            limit: 0.33,
            currency: "USD".into(),
            forecast: Some(9.5),
            month_to_date: 8.1,
            top_services: vec![
                ServiceSpend {
                    service: "AWS Lambda".into(),
                    amount: 5.0,
                },
                ServiceSpend {
                    service: "Amazon S3".into(),
                    amount: 1.25,
                },
            ],
            estimated: true,
            utc_measure: Some(UtcMeasure {
                start: "2026-11-30T00:00:00Z".into(),
                end: "2026-12-01T00:00:00Z".into(),
                offset_minutes: 480,
            }),
        }
    }

    #[test]
    fn a_daily_alert_names_budget_period_figures_forecast_and_the_utc_window() {
        let (title, facts) = threshold(&daily(), Language::En);
        assert_eq!(title, "Daily budget 2026-11-30: 0.29 of 0.33 USD (87 %)");
        assert_eq!(
            fact_lines(&facts),
            vec![
                "Threshold reached: 80 %",
                "Month-end forecast: 9.50 USD",
                "Month to date: 8.10 USD",
                "Top services: AWS Lambda 5.00, Amazon S3 1.25",
                "Period: 2026-11-30 (Asia/Shanghai)",
                "Measured: Cost Explorer counts UTC days: 2026-11-30T00:00:00Z to 2026-12-01T00:00:00Z (8 h after the local day)",
                "Note: recent days are estimates Cost Explorer may still revise",
            ]
        );
        let (title, facts) = threshold(&daily(), Language::Zh);
        assert_eq!(title, "每日预算 2026-11-30：已用 0.29 / 0.33 USD（87 %）");
        assert_eq!(fact_lines(&facts)[1], "月末预测: 9.50 USD");
    }

    #[test]
    fn monthly_service_and_forecast_budgets_are_named() {
        let mut t = daily();
        t.budget_kind = BudgetKind::Monthly;
        t.period = "2026-11".into();
        t.spent = 812.5;
        t.limit = 1000.0;
        t.percent = 81.25;
        t.currency = "CNY".into();
        t.forecast = None;
        t.utc_measure = None;
        t.estimated = false;
        let (title, facts) = threshold(&t, Language::En);
        assert_eq!(
            title,
            "Monthly budget 2026-11: 812.50 of 1000.00 CNY (81 %)"
        );
        assert!(!fact_lines(&facts)
            .iter()
            .any(|l| l.starts_with("Month-end forecast")));
        t.budget_kind = BudgetKind::Service;
        t.service = Some("AWS App Runner".into());
        assert_eq!(
            threshold(&t, Language::Zh).0,
            "AWS App Runner 预算 2026-11：已用 812.50 / 1000.00 CNY（81 %）"
        );
        t.budget_kind = BudgetKind::Forecast;
        t.spent = 1100.0;
        t.percent = 110.0;
        assert_eq!(
            threshold(&t, Language::En).0,
            "Month-end forecast 2026-11: 1100.00 of 1000.00 CNY (110 %)"
        );
    }

    fn pause() -> CostAction {
        CostAction {
            action: "set-reserved-concurrency-to-zero".into(),
            dry_run: false,
            resource: "arn:aws-cn:lambda:cn-northwest-1:123456789012:function:media-suite-prod-ai-processor".into(),
            resource_kind: ResourceKind::LambdaFunction,
            resource_name: "media-suite-prod-ai-processor".into(),
            previous: Some(Previous::ReservedConcurrency { value: None }),
            period: "2026-11".into(),
            reason: Some(ActionReason {
                monthly_spend: 1040.0,
                monthly_budget: 1000.0,
                percent: 104.0,
                action_level: 100,
                currency: "CNY".into(),
            }),
            undoes: None,
        }
    }

    #[test]
    fn pauses_dry_runs_and_restores_say_what_happened_to_which_resource() {
        let (title, facts) = action(&pause(), Language::En);
        assert_eq!(
            title,
            "Paused Lambda function media-suite-prod-ai-processor"
        );
        assert_eq!(
            fact_lines(&facts)[..3],
            [
                "Monthly spend: 2026-11 1040.00 of 1000.00 CNY (104 %)",
                "Pauses start at: 100 %",
                "Before the pause: no reserved concurrency",
            ]
        );
        let mut dry = pause();
        dry.dry_run = true;
        assert_eq!(
            action(&dry, Language::Zh).0,
            "演练：将暂停Lambda 函数 media-suite-prod-ai-processor"
        );
        let restore = CostAction {
            action: "restore".into(),
            dry_run: false,
            resource_kind: ResourceKind::EcsService,
            resource_name: "transcoder".into(),
            previous: Some(Previous::DesiredCount { value: 2 }),
            reason: None,
            undoes: Some("scale-desired-count-to-zero".into()),
            ..pause()
        };
        let (title, facts) = action(&restore, Language::En);
        assert_eq!(title, "Restored ECS service transcoder");
        assert_eq!(
            fact_lines(&facts)[..2],
            ["Period: 2026-11", "Put back: 2 desired tasks"]
        );
    }
}
