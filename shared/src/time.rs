//! RFC 3339 UTC timestamps, the only time format on the wire.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn now_utc() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `2026-11-25T12:00:00Z` style, always UTC.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses RFC 3339; a timestamp without zone (as the local AWS writes in S3 events) is read as UTC.
pub fn parse_rfc3339_lenient(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoneless_times_are_read_as_utc() {
        let t = parse_rfc3339_lenient("2026-11-25T10:11:12.000").unwrap();
        assert_eq!(rfc3339(t), "2026-11-25T10:11:12Z");
        assert!(parse_rfc3339_lenient("yesterday").is_none());
    }
}
