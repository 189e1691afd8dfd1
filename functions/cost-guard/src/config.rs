//! Configuration read once at init; every problem is reported together.

use std::fmt;
use std::str::FromStr;

use shared::config::{Common, ConfigError, Env};
use shared::partition::{Partition, Service};

use crate::budgets::Budgets;
use crate::resources::{Resource, ResourceKind};

/// What the guard does when spend reaches the action level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// No actions, not even reported would-be actions.
    Off,
    /// Would-be actions are announced and recorded, nothing is changed.
    DryRun,
    /// Actions are applied.
    Enforce,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::DryRun => "dry-run",
            Mode::Enforce => "enforce",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Mode::Off),
            "dry-run" => Ok(Mode::DryRun),
            "enforce" => Ok(Mode::Enforce),
            other => Err(format!(
                "unknown mode {other:?} (expected off, dry-run or enforce)"
            )),
        }
    }
}

pub const DEFAULT_ACTION_LEVEL: u32 = 120;
pub const DEFAULT_TOP_SERVICES: usize = 5;

#[derive(Debug, Clone)]
pub struct Config {
    /// The variables every function shares: results bucket (state and action records under
    /// `cost-guard/`), claim lease, business time zone (where a daily budget's day starts),
    /// metrics namespace.
    pub common: Common,
    pub partition: Partition,
    /// Required here: the guard exists to publish.
    pub events_topic_arn: String,
    pub budgets: Budgets,
    pub mode: Mode,
    pub allow_list: Vec<Resource>,
    /// Percent of the monthly budget at which actions start.
    pub action_level: u32,
    /// How many services the report and alerts list by spend.
    pub top_services: usize,
}

impl Config {
    /// Reads the configuration for `partition` (the partition of the function's own region).
    ///
    /// Rejected at init: budgets in another currency than the partition bills in, allow-listed
    /// App Runner services where App Runner does not exist, ARNs of another partition, and the
    /// guard's own function (`AWS_LAMBDA_FUNCTION_NAME`) or the notifier
    /// (`NOTIFIER_FUNCTION_NAME`) in the allow-list: pausing either would silence the alerts
    /// about the pause, so such a list is a deployment mistake, not something to skip quietly.
    pub fn from_env(mut env: Env, partition: Partition) -> Result<Self, ConfigError> {
        let common = Common::read(&mut env, crate::SOURCE);
        let events_topic_arn = common.require_events_topic(&mut env);
        let budgets_json = env.required("COST_BUDGETS");
        let mode = env.parse_or("COST_GUARD_MODE", Mode::DryRun);
        let action_level: u32 = env.parse_or("COST_GUARD_ACTION_LEVEL", DEFAULT_ACTION_LEVEL);
        let top_services: usize = env.parse_or("COST_GUARD_TOP_SERVICES", DEFAULT_TOP_SERVICES);
        let own_function = env.optional("AWS_LAMBDA_FUNCTION_NAME");
        let notifier_function = env.optional("NOTIFIER_FUNCTION_NAME");
        let allow_list_arns = env.list_or("COST_GUARD_ALLOW_LIST", &[]);

        if action_level == 0 {
            env.problem("COST_GUARD_ACTION_LEVEL must be a percentage above 0");
        }
        let budgets = if budgets_json.is_empty() {
            None
        } else {
            match Budgets::parse(&budgets_json) {
                Ok(b) => Some(b),
                Err(problems) => {
                    problems.into_iter().for_each(|p| env.problem(p));
                    None
                }
            }
        };
        if let Some(b) = &budgets {
            if b.currency != partition.billing_currency() {
                env.problem(format!(
                    "COST_BUDGETS currency {} does not match {}, the currency Cost Explorer reports in partition {partition}; \
                     set the budgets in {}",
                    b.currency,
                    partition.billing_currency(),
                    partition.billing_currency()
                ));
            }
        }

        let mut allow_list = Vec::new();
        for arn in &allow_list_arns {
            let resource = match Resource::parse(arn) {
                Ok(r) => r,
                Err(e) => {
                    env.problem(format!("COST_GUARD_ALLOW_LIST: {e}"));
                    continue;
                }
            };
            if resource.partition != partition.id() {
                env.problem(format!(
                    "COST_GUARD_ALLOW_LIST: {arn} is in partition {}, this function runs in {partition}",
                    resource.partition
                ));
            }
            if resource.kind == ResourceKind::AppRunnerService {
                if let Err(e) = partition.require(
                    Service::AppRunner,
                    "remove App Runner services from COST_GUARD_ALLOW_LIST",
                ) {
                    env.problem(format!("COST_GUARD_ALLOW_LIST: {arn}: {e}"));
                }
            }
            if resource.kind == ResourceKind::LambdaFunction {
                for (variable, protected) in [
                    ("AWS_LAMBDA_FUNCTION_NAME", &own_function),
                    ("NOTIFIER_FUNCTION_NAME", &notifier_function),
                ] {
                    if protected.as_deref() == Some(resource.name.as_str()) {
                        env.problem(format!(
                            "COST_GUARD_ALLOW_LIST: {arn} is the function named by {variable}; \
                             the guard never pauses itself or the notifier, remove it from the list"
                        ));
                    }
                }
            }
            allow_list.push(resource);
        }
        let acts_on_lambda = allow_list
            .iter()
            .any(|r| r.kind == ResourceKind::LambdaFunction);
        if acts_on_lambda && mode != Mode::Off && notifier_function.is_none() {
            env.problem(
                "NOTIFIER_FUNCTION_NAME must be set when COST_GUARD_ALLOW_LIST names Lambda functions, \
                 so the guard can refuse to pause the notifier",
            );
        }

        let budgets = budgets.unwrap_or_else(|| Budgets {
            currency: String::new(),
            monthly: 0.0,
            daily: None,
            thresholds: Vec::new(),
            forecast_threshold: 0,
            services: Default::default(),
            other: None,
        });
        env.finish(Config {
            common,
            partition,
            events_topic_arn,
            budgets,
            mode,
            allow_list,
            action_level,
            top_services,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGETS: &str = r#"{"currency":"USD","monthly":10}"#;

    fn env(extra: &[(&str, &str)]) -> Env {
        let mut vars = vec![
            ("RESULTS_BUCKET", "results"),
            ("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:suite-events"),
            ("COST_BUDGETS", BUDGETS),
        ];
        vars.extend_from_slice(extra);
        Env::from_vars(vars)
    }

    #[test]
    fn defaults() {
        let c = Config::from_env(env(&[]), Partition::Aws).unwrap();
        assert_eq!(c.mode, Mode::DryRun);
        assert_eq!(c.action_level, 120);
        assert!(c.allow_list.is_empty());
        assert_eq!(c.budgets.monthly, 10.0);
    }

    #[test]
    fn usd_budgets_in_china_are_rejected() {
        let err = Config::from_env(env(&[]), Partition::AwsCn).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(
            err.problems[0].contains("currency USD does not match CNY"),
            "{err}"
        );
    }

    #[test]
    fn all_allow_list_problems_at_once() {
        let err = Config::from_env(
            env(&[
                ("COST_GUARD_MODE", "enforce"),
                ("AWS_LAMBDA_FUNCTION_NAME", "cost-guard"),
                (
                    "COST_GUARD_ALLOW_LIST",
                    "arn:aws-cn:lambda:cn-northwest-1:1:function:cost-guard,\
                     arn:aws-cn:apprunner:cn-northwest-1:1:service/site/abc,\
                     arn:aws:lambda:us-east-1:1:function:other,not-an-arn",
                ),
                ("COST_BUDGETS", r#"{"currency":"CNY","monthly":70}"#),
            ]),
            Partition::AwsCn,
        )
        .unwrap_err();
        let all = err.to_string();
        assert!(
            all.contains("is the function named by AWS_LAMBDA_FUNCTION_NAME"),
            "{all}"
        );
        assert!(
            all.contains("App Runner does not exist in partition aws-cn"),
            "{all}"
        );
        assert!(
            all.contains("is in partition aws, this function runs in aws-cn"),
            "{all}"
        );
        assert!(all.contains("not-an-arn"), "{all}");
        assert!(all.contains("NOTIFIER_FUNCTION_NAME must be set"), "{all}");
        assert_eq!(err.problems.len(), 5, "{all}");
    }

    #[test]
    fn a_wildcard_in_the_allow_list_is_a_config_error_naming_it() {
        let err = Config::from_env(
            env(&[
                ("NOTIFIER_FUNCTION_NAME", "notifier"),
                (
                    "COST_GUARD_ALLOW_LIST",
                    "arn:aws:lambda:us-east-1:123456789012:function:media-*,\
                     arn:aws:ecs:*:123456789012:service/web/api",
                ),
            ]),
            Partition::Aws,
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(
            err.problems[0].starts_with("COST_GUARD_ALLOW_LIST: allow-list entry \"arn:aws:lambda:us-east-1:123456789012:function:media-*\": wildcards (* or ?) are not allowed, found in the resource \"function:media-*\""),
            "{err}"
        );
        assert!(
            err.problems[1].contains("found in the region \"*\""),
            "{err}"
        );
    }

    #[test]
    fn the_business_time_zone_is_read_and_checked() {
        let c =
            Config::from_env(env(&[("SUITE_TIMEZONE", "Asia/Shanghai")]), Partition::Aws).unwrap();
        assert_eq!(c.common.time_zone.name(), "Asia/Shanghai");
        let err = Config::from_env(env(&[("SUITE_TIMEZONE", "Mars/Olympus")]), Partition::Aws)
            .unwrap_err();
        assert!(err.to_string().contains("SUITE_TIMEZONE"), "{err}");
    }

    #[test]
    fn the_notifier_is_never_allow_listed() {
        let err = Config::from_env(
            env(&[
                ("NOTIFIER_FUNCTION_NAME", "notifier"),
                (
                    "COST_GUARD_ALLOW_LIST",
                    "arn:aws:lambda:us-east-1:1:function:notifier",
                ),
            ]),
            Partition::Aws,
        )
        .unwrap_err();
        assert!(err.to_string().contains("NOTIFIER_FUNCTION_NAME"), "{err}");
    }
}
