//! Time: RFC 3339 UTC on the wire, a [`Clock`] passed into domain code (so tests choose the
//! time), and the business time zone that decides where a "day" starts for rollups, digests
//! and daily budgets.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// Where domain code reads "now". Production uses [`SystemClock`]; tests use the testkit's
/// `ManualClock`.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

/// The system time, for code outside the domain (adapters' log lines, markers).
pub fn now_utc() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `2026-11-25T12:00:00Z` style, always UTC.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `2026-11-25T12:00:00.123Z`: UTC with milliseconds, for log lines.
pub fn rfc3339_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses RFC 3339; a timestamp without zone (as the local AWS writes in S3 events) is read as UTC.
pub fn parse_rfc3339_lenient(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok()
}

/// The IANA time zone in which the platform's days begin (`SUITE_TIMEZONE`), with its rules
/// (DST included) from the time zone database bundled into the binary: Lambda's
/// `provided.al2023` image has no `/usr/share/zoneinfo` to rely on.
#[derive(Clone, Debug)]
pub struct BusinessTimeZone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl PartialEq for BusinessTimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Default for BusinessTimeZone {
    fn default() -> Self {
        Self::utc()
    }
}

impl BusinessTimeZone {
    /// UTC, the default when `SUITE_TIMEZONE` is unset.
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            zone: jiff::tz::TimeZone::UTC,
        }
    }

    /// From an IANA name such as `Asia/Shanghai`; an unknown name is an error that says so.
    pub fn parse(name: &str) -> Result<Self, String> {
        let zone = jiff::tz::TimeZone::get(name)
            .map_err(|_| format!("{name:?} is not an IANA time zone name (e.g. Asia/Shanghai)"))?;
        Ok(Self {
            name: name.to_string(),
            zone,
        })
    }

    /// The IANA name as configured (`Asia/Shanghai`, `UTC`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True for `UTC` and `Etc/UTC`, where business days are UTC days.
    pub fn is_utc(&self) -> bool {
        self.name == "UTC" || self.name == "Etc/UTC"
    }

    /// The business day an instant falls on.
    pub fn local_date(&self, t: OffsetDateTime) -> Date {
        let offset = self.offset_at(t);
        t.to_offset(offset).date()
    }

    /// The UTC offset in force at an instant.
    pub fn offset_at(&self, t: OffsetDateTime) -> time::UtcOffset {
        let ts =
            jiff::Timestamp::from_second(t.unix_timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let seconds = self.zone.to_offset(ts).seconds();
        time::UtcOffset::from_whole_seconds(seconds).unwrap_or(time::UtcOffset::UTC)
    }

    /// The offsets in force from `from` until `until`: the one at `from`, then each change
    /// (the instant it takes effect and the new offset), from the zone's transition table.
    pub fn offsets_between(
        &self,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Iterator<Item = (OffsetDateTime, time::UtcOffset)> + '_ {
        let start = jiff::Timestamp::from_second(from.unix_timestamp())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let end = until.unix_timestamp();
        let offset = |o: jiff::tz::Offset| {
            time::UtcOffset::from_whole_seconds(o.seconds()).unwrap_or(time::UtcOffset::UTC)
        };
        std::iter::once((from, self.offset_at(from))).chain(
            self.zone
                .following(start)
                .take_while(move |t| t.timestamp().as_second() < end)
                .filter_map(move |t| {
                    let at = OffsetDateTime::from_unix_timestamp(t.timestamp().as_second()).ok()?;
                    Some((at, offset(t.offset())))
                }),
        )
    }

    /// The instant a business day starts (local midnight; where DST skips midnight, the first
    /// local time that exists).
    pub fn day_start(&self, day: Date) -> OffsetDateTime {
        let civil = jiff::civil::date(
            day.year() as i16,
            u8::from(day.month()) as i8,
            day.day() as i8,
        );
        let start = civil
            .to_zoned_datetime(self.zone.clone())
            .map(|z| {
                z.start_of_day()
                    .map(|s| s.timestamp())
                    .unwrap_or(z.timestamp())
            })
            .map(|ts| ts.as_second())
            .unwrap_or_else(|_| day.midnight().assume_utc().unix_timestamp());
        OffsetDateTime::from_unix_timestamp(start).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `[start, next start)` of a business day: 24 hours, or 23/25 on DST change days.
    pub fn day_bounds(&self, day: Date) -> (OffsetDateTime, OffsetDateTime) {
        let next = day.next_day().unwrap_or(day);
        (self.day_start(day), self.day_start(next))
    }
}

impl std::str::FromStr for BusinessTimeZone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn zoneless_times_are_read_as_utc() {
        let t = parse_rfc3339_lenient("2026-11-25T10:11:12.000").unwrap();
        assert_eq!(rfc3339(t), "2026-11-25T10:11:12Z");
        assert!(parse_rfc3339_lenient("yesterday").is_none());
    }

    #[test]
    fn a_shanghai_day_starts_at_16_utc_the_day_before() {
        let tz = BusinessTimeZone::parse("Asia/Shanghai").unwrap();
        assert_eq!(
            tz.day_start(date!(2026 - 11 - 30)),
            datetime!(2026-11-29 16:00 UTC)
        );
        assert_eq!(
            tz.local_date(datetime!(2026-11-29 15:59 UTC)),
            date!(2026 - 11 - 29)
        );
        assert_eq!(
            tz.local_date(datetime!(2026-11-29 16:00 UTC)),
            date!(2026 - 11 - 30)
        );
    }

    #[test]
    fn dst_days_are_23_and_25_hours_long() {
        let tz = BusinessTimeZone::parse("America/New_York").unwrap();
        let (s, e) = tz.day_bounds(date!(2026 - 03 - 08));
        assert_eq!((e - s).whole_hours(), 23);
        let (s, e) = tz.day_bounds(date!(2026 - 11 - 01));
        assert_eq!((e - s).whole_hours(), 25);
        assert_eq!(s, datetime!(2026-11-01 04:00 UTC));
    }

    #[test]
    fn unknown_zones_are_refused_by_name() {
        let err = BusinessTimeZone::parse("Mars/Olympus").unwrap_err();
        assert!(err.contains("Mars/Olympus"), "{err}");
        assert!(BusinessTimeZone::utc().is_utc());
    }
}
