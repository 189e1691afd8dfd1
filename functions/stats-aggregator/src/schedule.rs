//! EventBridge scheduled events and what each asks for.
//!
//! Contract:
//! - The kind of rollup comes from `detail.rollup` (`"hourly"` or `"daily"`) when present,
//!   otherwise from the rule's name (the last part of an ARN in `resources`), which must
//!   contain `hourly` or `daily` (case-insensitive), e.g. `rule/media-suite-dev-stats-hourly`.
//! - `detail.period` names the period explicitly (a back-fill): `YYYY-MM-DDTHH` for an hour,
//!   `YYYY-MM-DD` for a day; the kind then follows from the period when `rollup` is absent.
//! - Otherwise the period follows from the event's `time` (the scheduled time; the wall clock
//!   if the event has none): hourly rolls the previous hour plus every earlier hour that may
//!   have received late events since the previous run (`ROLLUP_LATENESS_MINUTES`); daily rolls
//!   the latest local day (business time zone) whose lateness window has closed: the day
//!   before the local date of `time − ROLLUP_LATENESS_MINUTES`.

use serde_json::Value;
use shared::time::BusinessTimeZone;
use time::{Duration, OffsetDateTime};

use crate::inbound::ScheduledEvent;
use crate::period::{hours_to_roll, Day, Hour, Period, PeriodError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollupRequest {
    Hourly { hours: Vec<Hour>, backfill: bool },
    Daily { day: Day, backfill: bool },
}

/// What an EventBridge schedule (and a hand-made back-fill) carries.
pub const SCHEDULED_DETAIL_TYPE: &str = "Scheduled Event";
pub const SCHEDULED_SOURCE: &str = "aws.events";
/// The only EventBridge envelope version there is.
pub const EVENTBRIDGE_VERSION: &str = "0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("not a scheduled event: expected detail-type \"Scheduled Event\" from source \"aws.events\", got detail-type {detail_type:?} from source {event_source:?}")]
    NotScheduled {
        detail_type: Option<String>,
        event_source: Option<String>,
    },
    #[error("EventBridge event version {0:?} is not supported (expected \"0\")")]
    UnsupportedVersion(String),
    #[error("cannot tell which rollup to run: set detail.rollup to \"hourly\" or \"daily\", or name the rule with \"hourly\" or \"daily\" (resources: {0:?})")]
    UnknownKind(Vec<String>),
    #[error("detail.rollup must be \"hourly\" or \"daily\", not {0:?}")]
    BadKind(String),
    #[error("detail.period: {0}")]
    BadPeriod(#[from] PeriodError),
    #[error("detail.rollup is {kind:?} but detail.period {period:?} is not a {expected}")]
    KindMismatch {
        kind: String,
        period: String,
        expected: &'static str,
    },
    #[error("the event time {0:?} is not an RFC 3339 timestamp")]
    BadTime(String),
    #[error("period {period} has not ended yet (it ends at {end}); roll it up after it ends")]
    NotEnded { period: String, end: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hourly,
    Daily,
}

fn kind_from_rule_name(resources: &[String]) -> Option<Kind> {
    resources.iter().find_map(|arn| {
        let name = arn.rsplit(['/', ':']).next()?.to_ascii_lowercase();
        match (name.contains("hourly"), name.contains("daily")) {
            (true, false) => Some(Kind::Hourly),
            (false, true) => Some(Kind::Daily),
            _ => None,
        }
    })
}

impl ScheduledEvent {
    /// What to roll up. `wall_clock` is used when the event has no `time`, and to refuse
    /// periods that have not ended.
    pub fn plan(
        &self,
        wall_clock: OffsetDateTime,
        lateness_minutes: u32,
        zone: &BusinessTimeZone,
    ) -> Result<RollupRequest, ScheduleError> {
        if self.detail_type.as_deref() != Some(SCHEDULED_DETAIL_TYPE)
            || self.source.as_deref() != Some(SCHEDULED_SOURCE)
        {
            return Err(ScheduleError::NotScheduled {
                detail_type: self.detail_type.as_deref().map(crate::echo::shown),
                event_source: self.source.as_deref().map(crate::echo::shown),
            });
        }
        if let Some(version) = self.version.as_deref() {
            if version != EVENTBRIDGE_VERSION {
                return Err(ScheduleError::UnsupportedVersion(crate::echo::shown(
                    version,
                )));
            }
        }
        let kind = match self.detail.get("rollup") {
            None | Some(Value::Null) => None,
            Some(Value::String(k)) if k.eq_ignore_ascii_case("hourly") => Some(Kind::Hourly),
            Some(Value::String(k)) if k.eq_ignore_ascii_case("daily") => Some(Kind::Daily),
            Some(other) => {
                return Err(ScheduleError::BadKind(match other {
                    Value::String(s) => crate::echo::shown(s),
                    v => crate::echo::shown(&v.to_string()),
                }))
            }
        };
        let period = match self.detail.get("period") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(Period::parse(p)?),
            Some(other) => {
                return Err(ScheduleError::BadPeriod(PeriodError {
                    input: crate::echo::shown(&other.to_string()),
                    reason: "it must be a string".into(),
                }))
            }
        };
        if let Some(period) = period {
            return backfill(kind, period, wall_clock, zone);
        }
        let kind = kind
            .or_else(|| kind_from_rule_name(&self.resources))
            .ok_or_else(|| {
                ScheduleError::UnknownKind(
                    self.resources
                        .iter()
                        .take(5)
                        .map(|r| crate::echo::shown(r))
                        .collect(),
                )
            })?;
        let now = match &self.time {
            None => wall_clock,
            Some(t) => shared::time::parse_rfc3339_lenient(t)
                .ok_or_else(|| ScheduleError::BadTime(crate::echo::shown(t)))?,
        };
        Ok(match kind {
            Kind::Hourly => RollupRequest::Hourly {
                hours: hours_to_roll(now, lateness_minutes),
                backfill: false,
            },
            Kind::Daily => RollupRequest::Daily {
                // The last local day D with D's end + lateness <= now.
                day: Day::local_containing(
                    now - Duration::minutes(i64::from(lateness_minutes)),
                    zone,
                )
                .previous(),
                backfill: false,
            },
        })
    }
}

fn backfill(
    kind: Option<Kind>,
    period: Period,
    wall_clock: OffsetDateTime,
    zone: &BusinessTimeZone,
) -> Result<RollupRequest, ScheduleError> {
    let (end, request) = match (kind, period) {
        (None | Some(Kind::Hourly), Period::Hour(hour)) => (
            hour.end(),
            RollupRequest::Hourly {
                hours: vec![hour],
                backfill: true,
            },
        ),
        (None | Some(Kind::Daily), Period::Day(day)) => (
            day.bounds(zone).1,
            RollupRequest::Daily {
                day,
                backfill: true,
            },
        ),
        (Some(kind), period) => {
            let (kind, expected, period) = match (kind, period) {
                (Kind::Hourly, p) => ("hourly", "YYYY-MM-DDTHH hour", p),
                (Kind::Daily, p) => ("daily", "YYYY-MM-DD day", p),
            };
            return Err(ScheduleError::KindMismatch {
                kind: kind.into(),
                period: match period {
                    Period::Hour(h) => h.to_string(),
                    Period::Day(d) => d.to_string(),
                },
                expected,
            });
        }
    };
    if end > wall_clock {
        let period = match period {
            Period::Hour(h) => h.to_string(),
            Period::Day(d) => d.to_string(),
        };
        return Err(ScheduleError::NotEnded {
            period,
            end: shared::time::rfc3339(end),
        });
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:30 UTC);
    static UTC: std::sync::LazyLock<BusinessTimeZone> =
        std::sync::LazyLock::new(BusinessTimeZone::utc);

    fn event(json: Value) -> ScheduledEvent {
        serde_json::from_value(json).unwrap()
    }

    fn scheduled(rule: &str, time: &str, detail: Value) -> ScheduledEvent {
        event(serde_json::json!({
            "version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": time, "region": "us-east-1",
            "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule}")],
            "detail": detail
        }))
    }

    #[test]
    fn the_rule_name_says_hourly_or_daily() {
        let hourly = scheduled(
            "media-suite-dev-stats-hourly",
            "2026-11-24T14:00:00Z",
            serde_json::json!({}),
        );
        assert_eq!(
            hourly.plan(NOW, 0, &UTC).unwrap(),
            RollupRequest::Hourly {
                hours: vec![Hour::parse("2026-11-24T13").unwrap()],
                backfill: false
            }
        );
        let daily = scheduled(
            "media-suite-dev-StatsDailyRule-1A2B",
            "2026-11-25T01:15:00Z",
            serde_json::json!({}),
        );
        assert_eq!(
            daily.plan(NOW, 60, &UTC).unwrap(),
            RollupRequest::Daily {
                day: Day::parse("2026-11-24").unwrap(),
                backfill: false
            }
        );
        let unnamed = scheduled("stats", "2026-11-24T14:00:00Z", serde_json::json!({}));
        assert!(matches!(
            unnamed.plan(NOW, 0, &UTC),
            Err(ScheduleError::UnknownKind(_))
        ));
    }

    #[test]
    fn detail_names_the_kind_and_back_fill_periods() {
        let e = scheduled(
            "stats",
            "2026-11-24T14:00:00Z",
            serde_json::json!({"rollup": "hourly"}),
        );
        assert!(matches!(
            e.plan(NOW, 0, &UTC),
            Ok(RollupRequest::Hourly {
                backfill: false,
                ..
            })
        ));
        let e = scheduled(
            "stats-hourly",
            "2026-11-25T00:00:00Z",
            serde_json::json!({"rollup": "daily", "period": "2026-11-20"}),
        );
        assert_eq!(
            e.plan(NOW, 0, &UTC).unwrap(),
            RollupRequest::Daily {
                day: Day::parse("2026-11-20").unwrap(),
                backfill: true
            }
        );
        let e = event(
            serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {"period": "2026-11-24T09"}}),
        );
        assert_eq!(
            e.plan(NOW, 120, &UTC).unwrap(),
            RollupRequest::Hourly {
                hours: vec![Hour::parse("2026-11-24T09").unwrap()],
                backfill: true
            }
        );
    }

    #[test]
    fn bad_requests_say_what_to_fix() {
        let e = scheduled(
            "x",
            "2026-11-24T14:00:00Z",
            serde_json::json!({"rollup": "weekly"}),
        );
        assert_eq!(
            e.plan(NOW, 0, &UTC),
            Err(ScheduleError::BadKind("weekly".into()))
        );
        let e = scheduled(
            "x",
            "2026-11-24T14:00:00Z",
            serde_json::json!({"rollup": "daily", "period": "2026-11-24T13"}),
        );
        assert!(matches!(
            e.plan(NOW, 0, &UTC),
            Err(ScheduleError::KindMismatch { .. })
        ));
        let e = scheduled(
            "x",
            "2026-11-24T14:00:00Z",
            serde_json::json!({"period": "2026-11-25"}),
        );
        assert_eq!(
            e.plan(NOW, 0, &UTC).unwrap_err().to_string(),
            "period 2026-11-25 has not ended yet (it ends at 2026-11-26T00:00:00Z); roll it up after it ends"
        );
        let e = scheduled("x-hourly", "soon", serde_json::json!({}));
        assert_eq!(
            e.plan(NOW, 0, &UTC),
            Err(ScheduleError::BadTime("soon".into()))
        );
        let e = scheduled(
            "x",
            "2026-11-24T14:00:00Z",
            serde_json::json!({"period": 7}),
        );
        assert!(matches!(
            e.plan(NOW, 0, &UTC),
            Err(ScheduleError::BadPeriod(_))
        ));
    }
}
