//! Cost Explorer: daily unblended cost grouped by service, and the month-end forecast.

use aws_config::SdkConfig;
use aws_sdk_costexplorer::operation::get_cost_forecast::GetCostForecastError;
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType, Metric,
};
use aws_sdk_costexplorer::Client;
use shared::aws::classify;
use shared::partition::Partition;
use time::Date;

use crate::ports::{
    Amount, CostQuery, CostSource, CostSourceError, DayCosts, ForecastQuery, ServiceCost,
};
use crate::spend::{day_string, parse_day};

const UNBLENDED_COST: &str = "UnblendedCost";
/// A month of daily costs grouped by service fits one page unless an account uses hundreds
/// of services; this bound only stops a runaway loop (each page is a billed request).
const MAX_PAGES: u32 = 10;

/// Cost Explorer client configuration: the partition's Cost Explorer region (`us-east-1`,
/// `cn-northwest-1`), whatever region the function runs in. `AWS_ENDPOINT_URL` still applies
/// (it is part of `sdk`).
pub fn cost_explorer_config(
    sdk: &SdkConfig,
    partition: Partition,
) -> aws_sdk_costexplorer::config::Builder {
    aws_sdk_costexplorer::config::Builder::from(sdk)
        .region(aws_config::Region::new(partition.cost_explorer_region()))
}

#[derive(Clone)]
pub struct CostExplorerSource {
    client: Client,
}

impl CostExplorerSource {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn interval(start: Date, end: Date) -> Result<DateInterval, String> {
    DateInterval::builder()
        .start(day_string(start))
        .end(day_string(end))
        .build()
        .map_err(|e| e.to_string())
}

fn parse_amount(text: Option<&str>) -> Result<f64, String> {
    let text = text.unwrap_or("0");
    text.parse::<f64>()
        .ok()
        .filter(|a| a.is_finite())
        .ok_or_else(|| format!("amount {text:?} is not a number"))
}

impl CostSource for CostExplorerSource {
    async fn daily_costs_by_service(
        &self,
        start: Date,
        end: Date,
    ) -> Result<CostQuery, CostSourceError> {
        let mut requests = 0;
        let failed = |requests, reason: String| CostSourceError { reason, requests };
        let period = interval(start, end).map_err(|e| failed(0, e))?;
        let mut days: Vec<DayCosts> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            if requests == MAX_PAGES {
                return Err(failed(
                    requests,
                    format!("GetCostAndUsage still paginating after {MAX_PAGES} pages"),
                ));
            }
            requests += 1;
            let output = self
                .client
                .get_cost_and_usage()
                .time_period(period.clone())
                .granularity(Granularity::Daily)
                .metrics(UNBLENDED_COST)
                .group_by(
                    GroupDefinition::builder()
                        .r#type(GroupDefinitionType::Dimension)
                        .key("SERVICE")
                        .build(),
                )
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| failed(requests, classify("GetCostAndUsage", e).detail))?;
            for result in output.results_by_time() {
                let start_text = result.time_period().map(|p| p.start()).unwrap_or("");
                let date = parse_day(start_text).ok_or_else(|| {
                    failed(
                        requests,
                        format!("result for unreadable day {start_text:?}"),
                    )
                })?;
                let mut services = Vec::new();
                for group in result.groups() {
                    let service = group.keys().first().cloned().unwrap_or_default();
                    let Some(metric) = group.metrics().and_then(|m| m.get(UNBLENDED_COST)) else {
                        continue;
                    };
                    let amount = parse_amount(metric.amount())
                        .map_err(|e| failed(requests, format!("{service} on {start_text}: {e}")))?;
                    services.push(ServiceCost {
                        service,
                        amount,
                        unit: metric.unit().unwrap_or_default().to_string(),
                    });
                }
                // A day's groups may continue on the next page.
                match days.iter_mut().find(|d| d.date == date) {
                    Some(day) => {
                        day.estimated |= result.estimated();
                        day.services.extend(services);
                    }
                    None => days.push(DayCosts {
                        date,
                        estimated: result.estimated(),
                        services,
                    }),
                }
            }
            match output.next_page_token() {
                Some(next) if !next.is_empty() => {
                    tracing::info!(page = requests, "GetCostAndUsage returned another page");
                    token = Some(next.to_string());
                }
                _ => break,
            }
        }
        Ok(CostQuery { days, requests })
    }

    async fn forecast(&self, start: Date, end: Date) -> ForecastQuery {
        let period = match interval(start, end) {
            Ok(p) => p,
            Err(e) => {
                return ForecastQuery {
                    forecast: Err(e),
                    requests: 0,
                }
            }
        };
        let result = self
            .client
            .get_cost_forecast()
            .time_period(period)
            .metric(Metric::UnblendedCost)
            .granularity(Granularity::Monthly)
            .send()
            .await;
        let forecast = match result {
            Ok(output) => match output.total() {
                Some(total) => parse_amount(total.amount()).map(|value| Amount {
                    value,
                    unit: total.unit().unwrap_or_default().to_string(),
                }),
                None => Err("GetCostForecast returned no total".to_string()),
            },
            Err(e) => {
                let too_early = matches!(
                    e.as_service_error(),
                    Some(GetCostForecastError::DataUnavailableException(_))
                );
                let detail = classify("GetCostForecast", e).detail;
                Err(if too_early {
                    format!("not enough cost history to forecast yet ({detail})")
                } else {
                    detail
                })
            }
        };
        ForecastQuery {
            forecast,
            requests: 1,
        }
    }
}
