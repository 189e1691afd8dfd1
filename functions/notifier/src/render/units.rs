//! Durations and instants in the units a person reads: `2 h 5 min`, `2026-12-01 20:00 Asia/Shanghai`.

use shared::time::{parse_rfc3339_lenient, BusinessTimeZone};

use crate::language::Language;

/// A duration in its two largest units, rounded down: `45 s`, `12 min`, `2 h 5 min`,
/// `3 d 4 h` (`45 秒`, `12 分钟`, `2 小时 5 分钟`, `3 天 4 小时`).
pub fn human_duration(ms: f64, language: Language) -> String {
    let seconds = (ms.max(0.0) / 1000.0).floor() as u64;
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400);
    let unit = |en: &'static str, zh: &'static str| language.pick((en, zh));
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big} {big_unit}")
        } else {
            format!("{big} {big_unit} {small} {small_unit}")
        }
    };
    if ms < 1000.0 {
        language.pick(("under 1 s", "不到 1 秒")).to_string()
    } else if seconds < 60 {
        format!("{seconds} {}", unit("s", "秒"))
    } else if minutes < 60 {
        format!("{minutes} {}", unit("min", "分钟"))
    } else if hours < 24 {
        two(hours, unit("h", "小时"), minutes % 60, unit("min", "分钟"))
    } else {
        two(days, unit("d", "天"), hours % 24, unit("h", "小时"))
    }
}

/// An RFC 3339 instant as local minutes in `zone`, named: `2026-12-01 20:00 Asia/Shanghai`.
/// Text that is not an instant is returned as it is (the caller shows it as untrusted text).
pub fn local_minute(rfc3339: &str, zone: &BusinessTimeZone) -> String {
    let Some(t) = parse_rfc3339_lenient(rfc3339) else {
        return rfc3339.to_string();
    };
    let local = t.to_offset(zone.offset_at(t));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} {}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        zone.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_two_largest_units() {
        let cases: &[(f64, &str, &str)] = &[
            (400.0, "under 1 s", "不到 1 秒"),
            (45_900.0, "45 s", "45 秒"),
            (12.0 * 60_000.0 + 59_000.0, "12 min", "12 分钟"),
            (7_500_000.0, "2 h 5 min", "2 小时 5 分钟"),
            (3.0 * 3_600_000.0, "3 h", "3 小时"),
            (
                (3.0 * 86_400.0 + 4.0 * 3600.0 + 59.0 * 60.0) * 1000.0,
                "3 d 4 h",
                "3 天 4 小时",
            ),
        ];
        for (ms, en, zh) in cases {
            assert_eq!(human_duration(*ms, Language::En), *en);
            assert_eq!(human_duration(*ms, Language::Zh), *zh);
        }
    }

    #[test]
    fn instants_are_shown_in_the_business_time_zone_with_its_name() {
        let shanghai = BusinessTimeZone::parse("Asia/Shanghai").unwrap();
        assert_eq!(
            local_minute("2026-11-30T16:30:00Z", &shanghai),
            "2026-12-01 00:30 Asia/Shanghai"
        );
        assert_eq!(
            local_minute("2026-11-30T16:30:59Z", &BusinessTimeZone::utc()),
            "2026-11-30 16:30 UTC"
        );
        // Summer time where the zone has it.
        let berlin = BusinessTimeZone::parse("Europe/Berlin").unwrap();
        assert_eq!(
            local_minute("2026-07-01T12:00:00Z", &berlin),
            "2026-07-01 14:00 Europe/Berlin"
        );
        assert_eq!(local_minute("soon", &shanghai), "soon");
    }
}
