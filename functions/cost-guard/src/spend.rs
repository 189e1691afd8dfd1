//! Spend of the month to date from the daily costs Cost Explorer returned.

use std::collections::BTreeMap;

use serde::Serialize;
use shared::events::contracts::cost::{ServiceSpend, UtcMeasure};
use shared::time::BusinessTimeZone;
use time::{Date, Duration, Month, OffsetDateTime};

use crate::budgets::round;
use crate::ports::DayCosts;

/// The dates a run looks at. Days are business days in the suite's time zone
/// (`SUITE_TIMEZONE`); Cost Explorer labels its daily figures with UTC dates, and a business
/// day is measured by the UTC day of the same date (the one that overlaps it most for any
/// offset within 12 hours), which [`Calendar::utc_measure`] names when the two differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// The business day of the run.
    pub today: Date,
    pub month_start: Date,
    pub next_month_start: Date,
    /// The UTC date of the run: Cost Explorer's "today".
    pub utc_today: Date,
    pub zone: BusinessTimeZone,
}

impl Calendar {
    /// The calendar of a run at `now` in `zone`.
    pub fn at(now: OffsetDateTime, zone: &BusinessTimeZone) -> Self {
        let mut calendar = Self::for_day(zone.local_date(now));
        calendar.utc_today = now.to_offset(time::UtcOffset::UTC).date();
        calendar.zone = zone.clone();
        calendar
    }

    /// The calendar of business day `today` in UTC.
    pub fn for_day(today: Date) -> Self {
        let month_start = today.replace_day(1).unwrap_or(today);
        let next_month_start = if today.month() == Month::December {
            Date::from_calendar_date(today.year() + 1, Month::January, 1)
        } else {
            Date::from_calendar_date(today.year(), today.month().next(), 1)
        }
        .unwrap_or(today);
        Self {
            today,
            month_start,
            next_month_start,
            utc_today: today,
            zone: BusinessTimeZone::utc(),
        }
    }

    pub fn yesterday(&self) -> Date {
        self.today - Duration::days(1)
    }

    /// The query starts at the month's first day, or yesterday when that is earlier (on the
    /// 1st), so the daily budget always sees yesterday.
    pub fn query_start(&self) -> Date {
        self.month_start.min(self.yesterday())
    }

    /// The query ends after today (the end is exclusive).
    pub fn query_end(&self) -> Date {
        self.today + Duration::days(1)
    }

    /// Where the forecast starts: today, or Cost Explorer's today when UTC is a day ahead
    /// (west of UTC in the evening), since Cost Explorer forecasts only from its own today.
    pub fn forecast_start(&self) -> Date {
        self.today.max(self.utc_today)
    }

    /// `2026-05`
    pub fn month_period(&self) -> String {
        format!(
            "{:04}-{:02}",
            self.today.year(),
            u8::from(self.today.month())
        )
    }

    /// Start and end (exclusive) of business days `[first, end)` as RFC 3339 in the business
    /// time zone's offset: `2026-11-30T00:00:00+08:00`.
    pub fn bounds(&self, first: Date, end: Date) -> (String, String) {
        let local = |t: OffsetDateTime| {
            let t = t.to_offset(self.zone.offset_at(t));
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| shared::time::rfc3339(t))
        };
        (
            local(self.zone.day_start(first)),
            local(self.zone.day_start(end)),
        )
    }

    /// The UTC window Cost Explorer measures for business days `[first, end)`, when it is not
    /// the business period itself.
    pub fn utc_measure(&self, first: Date, end: Date) -> Option<UtcMeasure> {
        let utc_start = first.midnight().assume_utc();
        let utc_end = end.midnight().assume_utc();
        let business_start = self.zone.day_start(first);
        if utc_start == business_start && utc_end == self.zone.day_start(end) {
            return None;
        }
        Some(UtcMeasure {
            start: shared::time::rfc3339(utc_start),
            end: shared::time::rfc3339(utc_end),
            offset_minutes: (utc_start - business_start).whole_minutes() as i32,
        })
    }
}

/// `2026-05-14`
pub fn day_string(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

pub fn parse_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySpend {
    pub date: String,
    pub amount: f64,
    /// Cost Explorer may still change this day's amount (today always, yesterday often).
    pub estimated: bool,
}

/// The spend the budgets are compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spend {
    pub currency: String,
    pub month_to_date: f64,
    /// Month-to-date spend before the forecast's first day: the part the forecast adds to.
    #[serde(skip)]
    pub before_forecast: f64,
    /// Month to date, highest first.
    pub by_service: Vec<ServiceSpend>,
    /// Every day returned, including yesterday from the previous month on the 1st.
    pub days: Vec<DaySpend>,
    /// Days of this month whose data is final.
    pub complete_days: Vec<String>,
    /// Days of this month (up to today) whose data may still change or is not there yet.
    pub estimated_days: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Cost Explorer reported {service} on {date} in {found}, the budgets are in {expected}")]
pub struct CurrencyMismatch {
    pub service: String,
    pub date: String,
    pub found: String,
    pub expected: String,
}

impl Spend {
    pub fn from_days(
        days: &[DayCosts],
        currency: &str,
        calendar: &Calendar,
    ) -> Result<Self, CurrencyMismatch> {
        let mut by_service: BTreeMap<String, f64> = BTreeMap::new();
        let mut per_day: BTreeMap<Date, (f64, bool)> = BTreeMap::new();
        for day in days {
            let entry = per_day.entry(day.date).or_insert((0.0, false));
            entry.1 |= day.estimated;
            for cost in &day.services {
                // Cost Explorer reports zero-cost lines without a meaningful unit at times.
                if cost.unit != currency && cost.amount != 0.0 {
                    return Err(CurrencyMismatch {
                        service: cost.service.clone(),
                        date: day_string(day.date),
                        found: cost.unit.clone(),
                        expected: currency.to_string(),
                    });
                }
                entry.0 += cost.amount;
                if day.date >= calendar.month_start && day.date <= calendar.today {
                    *by_service.entry(cost.service.clone()).or_default() += cost.amount;
                }
            }
        }
        let in_month = |d: &Date| *d >= calendar.month_start && *d <= calendar.today;
        let month_to_date: f64 = per_day
            .iter()
            .filter(|(d, _)| in_month(d))
            .map(|(_, (a, _))| a)
            .sum();
        let before_forecast: f64 = per_day
            .iter()
            .filter(|(d, _)| in_month(d) && **d < calendar.forecast_start())
            .map(|(_, (a, _))| a)
            .sum();
        let mut complete_days = Vec::new();
        let mut estimated_days = Vec::new();
        let mut date = calendar.month_start;
        while date <= calendar.today {
            let complete = date < calendar.today
                && per_day.get(&date).is_some_and(|(_, estimated)| !estimated);
            if complete {
                complete_days.push(day_string(date));
            } else {
                estimated_days.push(day_string(date));
            }
            date += Duration::days(1);
        }
        let mut by_service: Vec<ServiceSpend> = by_service
            .into_iter()
            .map(|(service, amount)| ServiceSpend {
                service,
                amount: round(amount, 6),
            })
            .collect();
        by_service.sort_by(|a, b| b.amount.total_cmp(&a.amount));
        Ok(Self {
            currency: currency.to_string(),
            month_to_date: round(month_to_date, 6),
            before_forecast: round(before_forecast, 6),
            by_service,
            days: per_day
                .into_iter()
                .map(|(date, (amount, estimated))| DaySpend {
                    date: day_string(date),
                    amount: round(amount, 6),
                    estimated,
                })
                .collect(),
            complete_days,
            estimated_days,
        })
    }

    pub fn on(&self, date: Date) -> Option<f64> {
        self.day(date).map(|d| d.amount)
    }

    pub fn day(&self, date: Date) -> Option<&DaySpend> {
        let wanted = day_string(date);
        self.days.iter().find(|d| d.date == wanted)
    }

    pub fn of_service(&self, service: &str) -> f64 {
        self.by_service
            .iter()
            .find(|s| s.service == service)
            .map_or(0.0, |s| s.amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ServiceCost;
    use time::macros::date;

    fn day(date: Date, estimated: bool, costs: &[(&str, f64)]) -> DayCosts {
        DayCosts {
            date,
            estimated,
            services: costs
                .iter()
                .map(|(s, a)| ServiceCost {
                    service: s.to_string(),
                    amount: *a,
                    unit: "USD".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn calendar_on_the_first_reaches_back_to_yesterday() {
        let c = Calendar::for_day(date!(2026 - 12 - 01));
        assert_eq!(c.query_start(), date!(2026 - 11 - 30));
        assert_eq!(c.query_end(), date!(2026 - 12 - 02));
        assert_eq!(c.next_month_start, date!(2027 - 01 - 01));
        assert_eq!(c.month_period(), "2026-12");
    }

    fn zone(name: &str) -> BusinessTimeZone {
        BusinessTimeZone::parse(name).unwrap()
    }

    #[test]
    fn in_shanghai_the_business_day_starts_eight_hours_before_cost_explorers() {
        // 2026-11-30T20:00Z is already 1 December, 04:00, in Shanghai.
        let c = Calendar::at(
            time::macros::datetime!(2026-11-30 20:00 UTC),
            &zone("Asia/Shanghai"),
        );
        assert_eq!(
            (c.today, c.utc_today),
            (date!(2026 - 12 - 01), date!(2026 - 11 - 30))
        );
        assert_eq!(c.month_period(), "2026-12");
        assert_eq!(c.yesterday(), date!(2026 - 11 - 30));
        assert_eq!(c.forecast_start(), date!(2026 - 12 - 01));
        let day = date!(2026 - 11 - 30);
        assert_eq!(
            c.bounds(day, day + Duration::days(1)),
            (
                "2026-11-30T00:00:00+08:00".to_string(),
                "2026-12-01T00:00:00+08:00".to_string()
            )
        );
        let measure = c.utc_measure(day, day + Duration::days(1)).unwrap();
        assert_eq!(
            (
                measure.start.as_str(),
                measure.end.as_str(),
                measure.offset_minutes
            ),
            ("2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z", 480)
        );
        // One minute before midnight in Shanghai it is still the 30th there.
        let before = Calendar::at(
            time::macros::datetime!(2026-11-30 15:59 UTC),
            &zone("Asia/Shanghai"),
        );
        assert_eq!(
            (before.today, before.month_period().as_str()),
            (date!(2026 - 11 - 30), "2026-11")
        );
    }

    #[test]
    fn west_of_utc_in_the_evening_the_forecast_starts_at_cost_explorers_today() {
        let c = Calendar::at(
            time::macros::datetime!(2026-12-01 02:00 UTC),
            &zone("America/New_York"),
        );
        assert_eq!(
            (c.today, c.utc_today),
            (date!(2026 - 11 - 30), date!(2026 - 12 - 01))
        );
        assert_eq!(c.month_period(), "2026-11");
        assert_eq!(c.forecast_start(), date!(2026 - 12 - 01));
    }

    #[test]
    fn across_a_dst_change_the_day_is_23_hours_and_the_offset_moves() {
        // Europe/Berlin leaves summer time on 2026-10-25: that day has 25 hours, and the
        // spring day 2026-03-29 has 23.
        let c = Calendar::at(
            time::macros::datetime!(2026-10-25 12:00 UTC),
            &zone("Europe/Berlin"),
        );
        let autumn = date!(2026 - 10 - 25);
        assert_eq!(
            c.bounds(autumn, autumn + Duration::days(1)),
            (
                "2026-10-25T00:00:00+02:00".to_string(),
                "2026-10-26T00:00:00+01:00".to_string()
            )
        );
        assert_eq!(
            c.utc_measure(autumn, autumn + Duration::days(1))
                .unwrap()
                .offset_minutes,
            120
        );
        let spring = date!(2026 - 03 - 29);
        let (start, end) = c.zone.day_bounds(spring);
        assert_eq!((end - start).whole_hours(), 23);
        assert_eq!(
            c.utc_measure(spring, spring + Duration::days(1))
                .unwrap()
                .offset_minutes,
            60
        );
        let utc = Calendar::at(
            time::macros::datetime!(2026-10-25 12:00 UTC),
            &BusinessTimeZone::utc(),
        );
        assert_eq!(utc.utc_measure(autumn, autumn + Duration::days(1)), None);
    }

    #[test]
    fn month_to_date_excludes_last_month_and_marks_incomplete_days() {
        let c = Calendar::for_day(date!(2026 - 05 - 03));
        let days = [
            day(date!(2026 - 04 - 30), false, &[("AWS Lambda", 9.0)]),
            day(
                date!(2026 - 05 - 01),
                false,
                &[("AWS Lambda", 1.0), ("Amazon S3", 0.5)],
            ),
            day(date!(2026 - 05 - 02), true, &[("AWS Lambda", 1.0)]),
            day(date!(2026 - 05 - 03), true, &[("Amazon S3", 0.25)]),
        ];
        let s = Spend::from_days(&days, "USD", &c).unwrap();
        assert_eq!(s.month_to_date, 2.75);
        assert_eq!(s.before_forecast, 2.5);
        assert_eq!(s.by_service[0].service, "AWS Lambda");
        assert_eq!(s.of_service("Amazon S3"), 0.75);
        assert_eq!(s.complete_days, vec!["2026-05-01"]);
        assert_eq!(s.estimated_days, vec!["2026-05-02", "2026-05-03"]);
        assert_eq!(s.on(date!(2026 - 04 - 30)), Some(9.0));
    }

    #[test]
    fn another_unit_is_an_error() {
        let c = Calendar::for_day(date!(2026 - 05 - 03));
        let mut d = day(date!(2026 - 05 - 01), false, &[("AWS Lambda", 1.0)]);
        d.services[0].unit = "CNY".into();
        let err = Spend::from_days(&[d], "USD", &c).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cost Explorer reported AWS Lambda on 2026-05-01 in CNY, the budgets are in USD"
        );
    }
}
