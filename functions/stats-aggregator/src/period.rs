//! Rollup periods and where their data lives in the results bucket: hours are UTC hours,
//! days are days of the business time zone (`SUITE_TIMEZONE`), each the UTC hours from its
//! local midnight to the next (23, 24 or 25 of them).
//!
//! Raw events: `stats/raw/YYYY/MM/DD/HH/<batch>.ndjson.zst` (UTC hour of the event time).
//! Rollups: `stats/hourly/YYYY/MM/DD/HH.json` (UTC) and `stats/daily/YYYY/MM/DD.json` (local).
//! Late markers: `stats/late/YYYY/MM/DD/HH/<batch>.ndjson.zst`, an empty object per raw object
//! written into an hour the hourly schedule no longer rolls (see `rollup::reroll_late_hours`).

use std::fmt;

use shared::time::BusinessTimeZone;
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};

pub const RAW_PREFIX: &str = "stats/raw/";
pub const HOURLY_PREFIX: &str = "stats/hourly/";
pub const DAILY_PREFIX: &str = "stats/daily/";
pub const LATE_PREFIX: &str = "stats/late/";

/// A period string that is not `YYYY-MM-DDTHH` (hour) or `YYYY-MM-DD` (day).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a period: {reason} (expected YYYY-MM-DD for a day or YYYY-MM-DDTHH for an hour, UTC)")]
pub struct PeriodError {
    pub input: String,
    pub reason: String,
}

/// A day: a UTC date for the path of an hour, a local date of the business time zone for a
/// daily rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

/// One UTC hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour {
    day: Day,
    hour: u8,
}

/// Either kind of period, as named by a back-fill request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour(Hour),
    Day(Day),
}

fn error(input: &str, reason: impl Into<String>) -> PeriodError {
    PeriodError {
        input: input.chars().take(64).collect(),
        reason: reason.into(),
    }
}

fn digits(input: &str, part: &str, what: &str) -> Result<u32, PeriodError> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(error(input, format!("{what} must be digits")));
    }
    part.parse()
        .map_err(|_| error(input, format!("{what} is out of range")))
}

impl Day {
    pub fn from_date(date: Date) -> Self {
        Day(date)
    }

    pub fn containing(t: OffsetDateTime) -> Self {
        Day(t.to_offset(UtcOffset::UTC).date())
    }

    /// The local day of `zone` that contains `t`.
    pub fn local_containing(t: OffsetDateTime, zone: &BusinessTimeZone) -> Self {
        Day(zone.local_date(t))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(input: &str) -> Result<Self, PeriodError> {
        let parts: Vec<&str> = input.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(error(input, "a day has three parts"));
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(error(input, "a day is written YYYY-MM-DD"));
        }
        let year = digits(input, y, "the year")? as i32;
        let month = Month::try_from(digits(input, m, "the month")? as u8)
            .map_err(|_| error(input, "the month must be 01 to 12"))?;
        let day = digits(input, d, "the day")? as u8;
        Date::from_calendar_date(year, month, day)
            .map(Day)
            .map_err(|e| error(input, e.to_string()))
    }

    pub fn date(self) -> Date {
        self.0
    }

    /// Midnight UTC of this date (where the UTC hours of its path start).
    fn utc_start(self) -> OffsetDateTime {
        self.0.with_time(Time::MIDNIGHT).assume_utc()
    }

    pub fn previous(self) -> Self {
        Day(self.0.previous_day().unwrap_or(self.0))
    }

    /// Where this local day of `zone` starts and the next one starts (UTC instants).
    pub fn bounds(self, zone: &BusinessTimeZone) -> (OffsetDateTime, OffsetDateTime) {
        zone.day_bounds(self.0)
    }

    /// The UTC hours that make up this local day of `zone`, in order: 24, or 23 and 25 on
    /// the days a DST change happens. A zone whose day does not start on a UTC hour
    /// (offset +05:30) has none: such zones are refused at start ([`whole_hour_zone`]).
    pub fn hours_in(self, zone: &BusinessTimeZone) -> Result<Vec<Hour>, ZoneError> {
        let (start, end) = self.bounds(zone);
        for instant in [start, end] {
            if instant.minute() != 0 || instant.second() != 0 || instant.nanosecond() != 0 {
                return Err(ZoneError {
                    zone: zone.name().to_string(),
                    offset: zone.offset_at(instant),
                    date: zone.local_date(instant),
                });
            }
        }
        let mut hours = Vec::with_capacity(25);
        let mut t = start;
        while t < end {
            hours.push(Hour::containing(t));
            t += Duration::HOUR;
        }
        Ok(hours)
    }

    fn path(self) -> String {
        format!(
            "{:04}/{:02}/{:02}",
            self.0.year(),
            self.0.month() as u8,
            self.0.day()
        )
    }

    /// `stats/daily/YYYY/MM/DD.json`
    pub fn daily_key(self) -> String {
        format!("{DAILY_PREFIX}{}.json", self.path())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month() as u8,
            self.0.day()
        )
    }
}

impl Hour {
    pub fn new(day: Day, hour: u8) -> Option<Self> {
        (hour < 24).then_some(Hour { day, hour })
    }

    pub fn containing(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        Hour {
            day: Day(t.date()),
            hour: t.hour(),
        }
    }

    /// Parses `YYYY-MM-DDTHH`.
    pub fn parse(input: &str) -> Result<Self, PeriodError> {
        let Some((day, hour)) = input.split_once('T') else {
            return Err(error(input, "an hour is written YYYY-MM-DDTHH"));
        };
        if hour.len() != 2 {
            return Err(error(input, "the hour has two digits"));
        }
        let day = Day::parse(day).map_err(|e| error(input, e.reason))?;
        let hour = digits(input, hour, "the hour")?;
        if hour > 23 {
            return Err(error(input, "the hour must be 00 to 23"));
        }
        Ok(Hour {
            day,
            hour: hour as u8,
        })
    }

    pub fn day(self) -> Day {
        self.day
    }

    pub fn start(self) -> OffsetDateTime {
        self.day.utc_start() + Duration::hours(i64::from(self.hour))
    }

    pub fn end(self) -> OffsetDateTime {
        self.start() + Duration::HOUR
    }

    fn path(self) -> String {
        format!("{}/{:02}", self.day.path(), self.hour)
    }

    /// `stats/raw/YYYY/MM/DD/HH/`: where the raw objects of this hour are.
    pub fn raw_prefix(self) -> String {
        format!("{RAW_PREFIX}{}/", self.path())
    }

    /// `stats/late/YYYY/MM/DD/HH/`: markers of raw objects that arrived after the hourly
    /// schedule stopped rolling this hour.
    pub fn late_prefix(self) -> String {
        format!("{LATE_PREFIX}{}/", self.path())
    }

    /// The hour of a key under [`LATE_PREFIX`] (`None` for anything else).
    pub fn of_late_key(key: &str) -> Option<Self> {
        let path = key.strip_prefix(LATE_PREFIX)?;
        let mut parts = path.splitn(5, '/');
        let (y, m, d, h) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        parts.next()?;
        Hour::parse(&format!("{y}-{m}-{d}T{h}")).ok()
    }

    /// `stats/hourly/YYYY/MM/DD/HH.json`
    pub fn hourly_key(self) -> String {
        format!("{HOURLY_PREFIX}{}.json", self.path())
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T{:02}", self.day, self.hour)
    }
}

impl Period {
    /// `YYYY-MM-DDTHH` is an hour, `YYYY-MM-DD` a day.
    pub fn parse(input: &str) -> Result<Self, PeriodError> {
        if input.contains('T') {
            Hour::parse(input).map(Period::Hour)
        } else {
            Day::parse(input).map(Period::Day)
        }
    }
}

/// A business time zone whose days do not start on UTC hours: a daily rollup made of hourly
/// documents could not count exactly the events of its local day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SUITE_TIMEZONE={zone} has the UTC offset {} (on {date}), not a whole number of hours; stats-aggregator builds local days from UTC hours and supports only zones whose offset is always whole hours (Asia/Shanghai, UTC, America/New_York, ...)", hours_and_minutes(*offset))]
pub struct ZoneError {
    pub zone: String,
    pub offset: UtcOffset,
    pub date: Date,
}

fn hours_and_minutes(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// Refuses a zone whose offset is not a whole number of hours at some time between 2000 and
/// 2060: the offset at the start and at each of the zone's transitions, so a half-hour summer
/// time (Australia/Lord_Howe) is found too.
pub fn whole_hour_zone(zone: &BusinessTimeZone) -> Result<(), ZoneError> {
    let first = time::macros::datetime!(2000-01-01 00:00 UTC);
    let last = time::macros::datetime!(2060-01-01 00:00 UTC);
    match zone
        .offsets_between(first, last)
        .find(|(_, offset)| offset.minutes_past_hour() != 0 || offset.seconds_past_minute() != 0)
    {
        Some((t, offset)) => Err(ZoneError {
            zone: zone.name().to_string(),
            offset,
            date: zone.local_date(t),
        }),
        None => Ok(()),
    }
}

/// The hours an hourly run at `now` rolls up: every complete hour that may have received
/// events since the previous run an hour earlier, given that events arrive up to
/// `lateness_minutes` after their hour ended. With no lateness that is just the previous hour.
pub fn hours_to_roll(now: OffsetDateTime, lateness_minutes: u32) -> Vec<Hour> {
    let oldest_end_excluded = now - Duration::HOUR - Duration::minutes(i64::from(lateness_minutes));
    let mut hours = Vec::new();
    let mut hour = Hour::containing(now - Duration::HOUR);
    // `hour` is the last complete hour (its end is at or before `now`).
    while hour.end() > oldest_end_excluded {
        hours.push(hour);
        hour = Hour::containing(hour.start() - Duration::HOUR);
    }
    hours.reverse();
    hours
}

/// Slack for clocks that disagree (the ingest's wall clock, the schedule's time).
const LATE_MARGIN: Duration = Duration::minutes(5);

/// Whether events written into `hour` at `now` can be missed by the hourly schedule: the next
/// run, at most an hour after `now`, rolls the hours whose end is later than
/// `now − lateness` ([`hours_to_roll`]); anything older needs a late marker.
pub fn past_lateness(hour: Hour, now: OffsetDateTime, lateness_minutes: u32) -> bool {
    hour.end() + Duration::minutes(i64::from(lateness_minutes)) <= now + LATE_MARGIN
}

/// The oldest end an hour may have and still be rolled again at `now`: a day before its
/// first raw objects can have expired (`retention_days` after they were written, around the
/// hour's end), so a re-roll still finds everything counted before.
pub fn reroll_horizon(now: OffsetDateTime, retention_days: u32) -> OffsetDateTime {
    now - Duration::days(i64::from(retention_days.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn keys_follow_the_bucket_layout() {
        let hour = Hour::parse("2026-11-24T07").unwrap();
        assert_eq!(hour.raw_prefix(), "stats/raw/2026/11/24/07/");
        assert_eq!(hour.hourly_key(), "stats/hourly/2026/11/24/07.json");
        assert_eq!(hour.late_prefix(), "stats/late/2026/11/24/07/");
        assert_eq!(
            Hour::of_late_key("stats/late/2026/11/24/07/ab.ndjson.zst"),
            Some(hour)
        );
        assert_eq!(Hour::of_late_key("stats/late/2026/11/24/07"), None);
        assert_eq!(
            Hour::of_late_key("stats/raw/2026/11/24/07/ab.ndjson.zst"),
            None
        );
        assert_eq!(hour.day().daily_key(), "stats/daily/2026/11/24.json");
        assert_eq!(hour.to_string(), "2026-11-24T07");
        assert_eq!(hour.start(), datetime!(2026-11-24 07:00 UTC));
        assert_eq!(
            Day::parse("2026-01-01").unwrap().previous().to_string(),
            "2025-12-31"
        );
        assert_eq!(hour.end(), datetime!(2026-11-24 08:00 UTC));
        assert_eq!(
            Day::parse("2026-03-01").unwrap().previous().to_string(),
            "2026-02-28"
        );
    }

    #[test]
    fn bad_periods_say_what_is_wrong() {
        assert_eq!(
            Hour::parse("2026-11-24T24").unwrap_err().reason,
            "the hour must be 00 to 23"
        );
        assert!(Day::parse("2026-02-30").is_err());
        assert!(Day::parse("2026-1-01").is_err());
        assert!(Period::parse("+026-11-24").is_err());
        assert_eq!(
            Period::parse("2026-11-24T13").unwrap(),
            Period::Hour(Hour::parse("2026-11-24T13").unwrap())
        );
    }

    #[test]
    fn without_lateness_only_the_previous_hour_is_rolled() {
        let hours = hours_to_roll(datetime!(2026-11-24 14:00:03 UTC), 0);
        assert_eq!(hours, vec![Hour::parse("2026-11-24T13").unwrap()]);
    }

    #[test]
    fn lateness_re_rolls_every_hour_that_may_have_changed_since_the_last_run() {
        // Events of hour 12 may arrive until 14:30; the run at 14:05 saw up to 14:05, so the
        // run at 15:05 must roll hour 12 again, as well as 13 and 14.
        let names: Vec<String> = hours_to_roll(datetime!(2026-11-24 15:05 UTC), 90)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["2026-11-24T12", "2026-11-24T13", "2026-11-24T14"]);
        // Across midnight.
        let names: Vec<String> = hours_to_roll(datetime!(2026-11-25 00:00 UTC), 60)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["2026-11-24T22", "2026-11-24T23"]);
    }

    proptest! {
        #[test]
        fn an_hour_not_past_lateness_is_rolled_by_the_next_hourly_run(
            written in 0i64..4_000_000_000, run_after in 1i64..=3600, lateness in 0u32..1440, age in 0i64..200_000,
        ) {
            // An object written at `written` into the hour of `written − age`: either it gets
            // a late marker, or a run within the next hour (at any minute) rolls its hour once
            // the hour has ended.
            let now = OffsetDateTime::from_unix_timestamp(written).unwrap();
            let hour = Hour::containing(now - Duration::seconds(age));
            let run = now + Duration::seconds(run_after);
            if !past_lateness(hour, now, lateness) && hour.end() <= Hour::containing(run).start() {
                prop_assert!(hours_to_roll(run, lateness).contains(&hour));
            }
        }

        #[test]
        fn any_input_is_a_period_or_a_typed_error(input in ".{0,24}") {
            match Period::parse(&input) {
                Ok(Period::Hour(h)) => prop_assert_eq!(h.to_string(), input),
                Ok(Period::Day(d)) => prop_assert_eq!(d.to_string(), input),
                Err(e) => prop_assert!(!e.reason.is_empty()),
            }
        }

        #[test]
        fn formatted_hours_parse_back(secs in 0i64..4_102_444_800) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let hour = Hour::containing(t);
            prop_assert_eq!(Hour::parse(&hour.to_string()).unwrap(), hour);
            prop_assert!(hour.start() <= t && t < hour.end());
        }
    }
}
