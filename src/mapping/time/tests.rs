//! Tests of time parsing, zones and profiling.

use super::civil::*;
use super::parse::*;
use super::zone::*;
use super::*;
use chrono::{LocalResult, NaiveDate, TimeZone};
use chrono_tz::Tz;

fn parser(format: TimeFormat, zone: &str, order: Option<DayOrder>) -> TimeParser {
    TimeParser::new(&format, zone, order).expect("valid parser")
}

fn auto_utc() -> TimeParser {
    parser(TimeFormat::Auto, "UTC", None)
}

/// Milliseconds of a UTC date-time, through chrono (an independent oracle).
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

#[test]
fn civil_day_arithmetic_matches_chrono_over_centuries() {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let mut date = NaiveDate::from_ymd_opt(1600, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2500, 12, 31).unwrap();
    use chrono::Datelike;
    while date <= end {
        let days = (date - epoch).num_days();
        assert_eq!(
            days_from_civil(date.year() as i64, date.month(), date.day()),
            days
        );
        assert_eq!(
            civil_from_days(days),
            (date.year() as i64, date.month(), date.day())
        );
        date = date.succ_opt().unwrap();
    }
}

#[test]
fn iso_with_z_offsets_and_fractions() {
    let p = auto_utc();
    let base = utc(2024, 3, 5, 14, 7, 0);
    assert_eq!(p.parse_text("2024-03-05T14:07:00Z"), Ok(base));
    assert_eq!(p.parse_text("2024-03-05t14:07:00z"), Ok(base));
    assert_eq!(p.parse_text("  2024-03-05T14:07:00Z \t"), Ok(base));
    assert_eq!(p.parse_text("2024-03-05T14:07:00.123Z"), Ok(base + 123));
    assert_eq!(p.parse_text("2024-03-05T14:07:00.1Z"), Ok(base + 100));
    assert_eq!(
        p.parse_text("2024-03-05T14:07:00.123456789Z"),
        Ok(base + 123)
    );
    assert_eq!(p.parse_text("2024-03-05T14:07:00,5Z"), Ok(base + 500));
    assert_eq!(p.parse_text("2024-03-05T15:07:00+01:00"), Ok(base));
    assert_eq!(p.parse_text("2024-03-05T15:07:00+0100"), Ok(base));
    assert_eq!(p.parse_text("2024-03-05T15:07:00+01"), Ok(base));
    assert_eq!(p.parse_text("2024-03-05T09:37:00-04:30"), Ok(base));
    assert_eq!(p.parse_text("2024-03-05 14:07:00 UTC"), Ok(base));
    assert_eq!(p.parse_text("2024-03-05 16:07:00 GMT+02:00"), Ok(base));
    assert_eq!(p.parse_text("2024-03-05T14:07Z"), Ok(base));
    assert_eq!(p.parse_text("20240305T140700Z"), Ok(base));
    assert_eq!(p.parse_text("20240305T1507+0100"), Ok(base));
    // RFC 3339 as serde/chrono writes it.
    let rfc = chrono::DateTime::from_timestamp_millis(base + 456)
        .unwrap()
        .to_rfc3339();
    assert_eq!(p.parse_text(&rfc), Ok(base + 456));
}

#[test]
fn offsets_ignore_the_zone() {
    let berlin = parser(TimeFormat::Auto, "Europe/Berlin", None);
    assert_eq!(
        berlin.parse_text("2024-07-01T12:00:00Z"),
        Ok(utc(2024, 7, 1, 12, 0, 0))
    );
    assert_eq!(
        berlin.parse_text("2024-07-01T12:00:00-05:00"),
        Ok(utc(2024, 7, 1, 17, 0, 0))
    );
    // Without offset: Berlin summer time is UTC+2.
    assert_eq!(
        berlin.parse_text("2024-07-01 12:00:00"),
        Ok(utc(2024, 7, 1, 10, 0, 0))
    );
}

#[test]
fn date_time_and_bare_date() {
    let p = parser(TimeFormat::DateTime, "UTC", None);
    assert_eq!(
        p.parse_text("2024-03-05 14:07:09"),
        Ok(utc(2024, 3, 5, 14, 7, 9))
    );
    assert_eq!(
        p.parse_text("2024-03-05 14:07"),
        Ok(utc(2024, 3, 5, 14, 7, 0))
    );
    assert_eq!(
        p.parse_text("2024-03-05 14:07:09.25"),
        Ok(utc(2024, 3, 5, 14, 7, 9) + 250)
    );
    assert_eq!(p.parse_text("2024-03-05"), Ok(utc(2024, 3, 5, 0, 0, 0)));
    assert_eq!(
        p.parse_text("2024/03/05 9:07"),
        Ok(utc(2024, 3, 5, 9, 7, 0))
    );
    assert_eq!(p.parse_text("2024-3-5"), Ok(utc(2024, 3, 5, 0, 0, 0)));
    assert_eq!(
        p.parse_text("2024-03-05 2:07 PM"),
        Ok(utc(2024, 3, 5, 14, 7, 0))
    );
    // Explicit ISO does not read numbers or slash dates.
    assert!(p.parse_text("1709647620").is_err());
    assert!(p.parse_text("03/05/2024").is_err());
}

#[test]
fn invalid_calendar_values_are_unparsable() {
    let p = auto_utc();
    for bad in [
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-03-05T24:00:00",
        "2024-03-05T12:60:00",
        "2024-03-05T12:00:61",
        "2024-03-05T12:00:00+25:00",
        "2024-03-05T12:00:00 CET",
        "2024-03-05T",
        "2024-03-05X",
        "13/13/2024",
        "00/05/2024",
        "12/05/2024 13:00 PM",
        "12/05/2024 0:30 AM",
    ] {
        assert!(
            matches!(p.parse_text(bad), Err(TimeError::Unparsable(_))),
            "{bad} should be unparsable"
        );
    }
    assert_eq!(p.parse_text("2024-02-29"), Ok(utc(2024, 2, 29, 0, 0, 0)));
}

#[test]
fn garbage_and_empty() {
    let p = auto_utc();
    assert_eq!(p.parse_text(""), Err(TimeError::Empty));
    assert_eq!(p.parse_text("   "), Err(TimeError::Empty));
    for bad in [
        "yesterday",
        "abc",
        "-",
        ".",
        "+",
        "1.2.3",
        "12:00",
        "NaN",
        "inf",
        "1e400",
        "２０２４-03-05",
    ] {
        let err = p.parse_text(bad).unwrap_err();
        assert!(matches!(err, TimeError::Unparsable(_)), "{bad}");
        assert!(
            err.to_string().contains(bad),
            "message quotes the value: {err}"
        );
    }
    let long = "x".repeat(10_000);
    let message = p.parse_text(&long).unwrap_err().to_string();
    assert!(message.len() < 300 && message.contains("xxx…"), "{message}");
    assert!(p.parse_json(&serde_json::json!(true)).is_err());
    assert!(p.parse_json(&serde_json::json!([1])).is_err());
    assert_eq!(
        p.parse_json(&serde_json::Value::Null),
        Err(TimeError::Empty)
    );
}

#[test]
fn epoch_magnitudes_text_and_json() {
    let p = auto_utc();
    let secs = 1_709_647_620i64;
    let ms = secs * 1000;
    assert_eq!(p.parse_text("1709647620"), Ok(ms));
    assert_eq!(p.parse_text("1709647620.5"), Ok(ms + 500));
    assert_eq!(p.parse_text("1709647620.123999"), Ok(ms + 123));
    assert_eq!(p.parse_text("1709647620123"), Ok(ms + 123));
    assert_eq!(p.parse_text("1709647620123.9"), Ok(ms + 123));
    assert_eq!(p.parse_text("1709647620123456"), Ok(ms + 123));
    assert_eq!(p.parse_text("1709647620123456789"), Ok(ms + 123));
    assert_eq!(p.parse_text("1.70964762e9"), Ok(ms));
    assert_eq!(p.parse_json(&serde_json::json!(secs)), Ok(ms));
    assert_eq!(p.parse_json(&serde_json::json!(ms + 7)), Ok(ms + 7));
    assert_eq!(
        p.parse_json(&serde_json::json!(1_709_647_620.25)),
        Ok(ms + 250)
    );
    assert_eq!(p.parse_json(&serde_json::json!("1709647620")), Ok(ms));
    // Boundaries: just under 1e11 is seconds, 1e11 is milliseconds, 1e14 microseconds.
    assert_eq!(p.parse_text("99999999999"), Ok(99_999_999_999_000));
    assert_eq!(p.parse_text("100000000000"), Ok(100_000_000_000));
    assert_eq!(p.parse_text("100000000000000"), Ok(100_000_000_000));
    // Negative epoch (before 1970) still parses; validation rejects it later.
    assert_eq!(p.parse_text("-86400"), Ok(-86_400_000));
    // The zone does not apply to epoch numbers.
    let ny = parser(TimeFormat::Epoch, "America/New_York", None);
    assert_eq!(ny.parse_text("1709647620"), Ok(ms));
    assert_eq!(ny.parse_json(&serde_json::json!(ms)), Ok(ms));
    // Explicit Epoch reads Excel-range numbers as seconds.
    assert_eq!(ny.parse_text("45356"), Ok(45_356_000));
    assert!(ny.parse_text("2024-03-05").is_err());
}

#[test]
fn excel_serials() {
    let p = auto_utc();
    // 45356 = 2024-03-05 (Excel), .5 = noon.
    assert_eq!(p.parse_text("45356"), Ok(utc(2024, 3, 5, 0, 0, 0)));
    assert_eq!(p.parse_text("45356.5"), Ok(utc(2024, 3, 5, 12, 0, 0)));
    assert_eq!(p.parse_text("45356.58333"), Ok(utc(2024, 3, 5, 14, 0, 0)));
    assert_eq!(p.parse_text("45356.999999"), Ok(utc(2024, 3, 6, 0, 0, 0)));
    assert_eq!(
        p.parse_json(&serde_json::json!(45356.25)),
        Ok(utc(2024, 3, 5, 6, 0, 0))
    );
    assert_eq!(
        p.parse_json(&serde_json::json!(45356)),
        Ok(utc(2024, 3, 5, 0, 0, 0))
    );
    // Range edges of the Auto rule.
    assert_eq!(p.parse_text("20000"), Ok(utc(1954, 10, 3, 0, 0, 0)));
    assert_eq!(p.parse_text("19999"), Ok(19_999_000));
    let day_199999 = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap() + chrono::Days::new(199_999);
    assert_eq!(
        p.parse_text("199999"),
        Ok(day_199999
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis())
    );
    assert_eq!(p.parse_text("200000"), Ok(200_000_000));
    // Excel serials are local time in the zone.
    let berlin = parser(TimeFormat::ExcelSerial, "Europe/Berlin", None);
    assert_eq!(berlin.parse_text("45356.5"), Ok(utc(2024, 3, 5, 11, 0, 0)));
    // Explicit Excel reads any non-negative serial.
    assert_eq!(berlin.parse_text("1"), Ok(utc(1899, 12, 30, 23, 0, 0)));
    assert!(berlin.parse_text("-1").is_err());
}

#[test]
fn compact_dates_in_auto() {
    let p = auto_utc();
    assert_eq!(p.parse_text("20240305"), Ok(utc(2024, 3, 5, 0, 0, 0)));
    assert_eq!(
        p.parse_json(&serde_json::json!(20240305)),
        Ok(utc(2024, 3, 5, 0, 0, 0))
    );
    // Not a valid date: epoch seconds.
    assert_eq!(p.parse_text("20241305"), Ok(20_241_305_000));
}

#[test]
fn slash_dates_with_order() {
    let mdy = parser(TimeFormat::MonthDayYear, "UTC", None);
    let dmy = parser(TimeFormat::DayMonthYear, "UTC", None);
    assert_eq!(mdy.parse_text("03/05/2024"), Ok(utc(2024, 3, 5, 0, 0, 0)));
    assert_eq!(dmy.parse_text("03/05/2024"), Ok(utc(2024, 5, 3, 0, 0, 0)));
    assert_eq!(
        mdy.parse_text("3/5/2024 14:07"),
        Ok(utc(2024, 3, 5, 14, 7, 0))
    );
    assert_eq!(
        mdy.parse_text("3/5/2024 2:07:09 PM"),
        Ok(utc(2024, 3, 5, 14, 7, 9))
    );
    assert_eq!(
        mdy.parse_text("3/5/2024 12:07 am"),
        Ok(utc(2024, 3, 5, 0, 7, 0))
    );
    assert_eq!(
        mdy.parse_text("3/5/2024 12:07 p.m."),
        Ok(utc(2024, 3, 5, 12, 7, 0))
    );
    assert_eq!(
        mdy.parse_text("3/5/24 9:00 AM"),
        Ok(utc(2024, 3, 5, 9, 0, 0))
    );
    assert_eq!(mdy.parse_text("3/5/85"), Ok(utc(1985, 3, 5, 0, 0, 0)));
    assert_eq!(mdy.parse_text("03-05-2024"), Ok(utc(2024, 3, 5, 0, 0, 0)));
    assert_eq!(
        dmy.parse_text("31/12/2023 23:59:59"),
        Ok(utc(2023, 12, 31, 23, 59, 59))
    );
    let err = mdy.parse_text("13/04/2024").unwrap_err();
    assert!(err.to_string().contains("month first"), "{err}");
    assert!(dmy.parse_text("04/13/2024").is_err());
    assert!(dmy.parse_text("31/04/2024").is_err());
    assert!(dmy.parse_text("2024-03-05").is_err());
}

#[test]
fn dot_dates() {
    let dots = parser(TimeFormat::DayMonthYearDots, "UTC", None);
    assert_eq!(dots.parse_text("05.03.2024"), Ok(utc(2024, 3, 5, 0, 0, 0)));
    assert_eq!(
        dots.parse_text("5.3.2024 14:07"),
        Ok(utc(2024, 3, 5, 14, 7, 0))
    );
    assert_eq!(
        dots.parse_text("05.03.2024 14:07:09"),
        Ok(utc(2024, 3, 5, 14, 7, 9))
    );
    assert!(dots.parse_text("05.13.2024").is_err());
}

#[test]
fn auto_slash_dates_follow_the_day_order() {
    let undecided = auto_utc();
    let err = undecided.parse_text("03/05/2024").unwrap_err();
    assert!(matches!(err, TimeError::Unparsable(_)));
    assert!(
        err.to_string().contains("day and month are ambiguous"),
        "{err}"
    );
    assert!(undecided.parse_text("05.03.2024").is_err());
    // The value itself decides.
    assert_eq!(
        undecided.parse_text("13/04/2024"),
        Ok(utc(2024, 4, 13, 0, 0, 0))
    );
    assert_eq!(
        undecided.parse_text("04/13/2024"),
        Ok(utc(2024, 4, 13, 0, 0, 0))
    );
    assert_eq!(
        undecided.parse_text("04/04/2024"),
        Ok(utc(2024, 4, 4, 0, 0, 0))
    );
    assert_eq!(
        undecided.parse_text("13.04.2024 10:00"),
        Ok(utc(2024, 4, 13, 10, 0, 0))
    );

    let month_first = parser(TimeFormat::Auto, "UTC", Some(DayOrder::MonthFirst));
    assert_eq!(
        month_first.parse_text("03/05/2024"),
        Ok(utc(2024, 3, 5, 0, 0, 0))
    );
    assert!(month_first.parse_text("13/04/2024").is_err());
    let day_first = parser(TimeFormat::Auto, "UTC", Some(DayOrder::DayFirst));
    assert_eq!(
        day_first.parse_text("03/05/2024"),
        Ok(utc(2024, 5, 3, 0, 0, 0))
    );
    assert_eq!(
        day_first.parse_text("05.03.2024"),
        Ok(utc(2024, 3, 5, 0, 0, 0))
    );
    assert!(day_first.parse_text("04/13/2024").is_err());
}

#[test]
fn mixed_column_in_auto() {
    let p = parser(TimeFormat::Auto, "UTC", Some(DayOrder::MonthFirst));
    let expected = utc(2024, 3, 5, 14, 7, 0);
    for value in [
        "1709647620",
        "1709647620000",
        "2024-03-05T14:07:00Z",
        "03/05/2024 14:07",
        "2024-03-05 14:07:00",
        "45356.588194",
    ] {
        assert_eq!(p.parse_text(value), Ok(expected), "{value}");
    }
}

#[test]
fn dst_in_berlin() {
    let p = parser(TimeFormat::Auto, "Europe/Berlin", None);
    // Winter: UTC+1.
    assert_eq!(
        p.parse_text("2024-01-15 10:00"),
        Ok(utc(2024, 1, 15, 9, 0, 0))
    );
    // 2024-03-31 02:30 does not exist (02:00 → 03:00).
    let err = p.parse_text("2024-03-31 02:30").unwrap_err();
    assert_eq!(
        err,
        TimeError::NonexistentLocalTime {
            value: "2024-03-31 02:30".into(),
            zone: "Europe/Berlin".into()
        }
    );
    assert!(err.to_string().contains("clocks moved forward"));
    assert_eq!(
        p.parse_text("2024-03-31 01:59:59"),
        Ok(utc(2024, 3, 31, 0, 59, 59))
    );
    assert_eq!(
        p.parse_text("2024-03-31 03:00"),
        Ok(utc(2024, 3, 31, 1, 0, 0))
    );
    // 2024-10-27 02:30 happens twice (03:00 → 02:00): the earlier instant (still UTC+2).
    assert_eq!(
        p.parse_text("2024-10-27 02:30"),
        Ok(utc(2024, 10, 27, 0, 30, 0))
    );
    assert_eq!(
        p.parse_text("2024-10-27 03:30"),
        Ok(utc(2024, 10, 27, 2, 30, 0))
    );
    assert_eq!(
        p.parse_text("2024-10-27 01:30"),
        Ok(utc(2024, 10, 26, 23, 30, 0))
    );
    // The cached day path agrees with chrono-tz over a whole year, hour by hour, twice
    // (second pass hits the cache).
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    for _pass in 0..2 {
        for hour in (0..366 * 24).step_by(7) {
            let local = NaiveDate::from_ymd_opt(2024, 1, 1)
                .unwrap()
                .and_hms_opt(0, 17, 0)
                .unwrap()
                + chrono::Duration::hours(hour);
            let text = local.format("%Y-%m-%d %H:%M:%S").to_string();
            let expected = match tz.from_local_datetime(&local) {
                LocalResult::Single(t) => Ok(t.timestamp_millis()),
                LocalResult::Ambiguous(a, b) => Ok(a.timestamp_millis().min(b.timestamp_millis())),
                LocalResult::None => Err(()),
            };
            assert_eq!(p.parse_text(&text).map_err(|_| ()), expected, "{text}");
        }
    }
}

#[test]
fn dst_in_new_york() {
    let p = parser(TimeFormat::MonthDayYear, "America/New_York", None);
    // Winter: UTC-5; summer: UTC-4.
    assert_eq!(
        p.parse_text("01/15/2024 10:00 AM"),
        Ok(utc(2024, 1, 15, 15, 0, 0))
    );
    assert_eq!(
        p.parse_text("07/15/2024 10:00 AM"),
        Ok(utc(2024, 7, 15, 14, 0, 0))
    );
    // 2024-03-10 02:30 does not exist.
    assert!(matches!(
        p.parse_text("03/10/2024 2:30 AM"),
        Err(TimeError::NonexistentLocalTime { .. })
    ));
    // 2024-11-03 01:30 happens twice: the earlier instant is EDT (UTC-4).
    assert_eq!(
        p.parse_text("11/03/2024 1:30 AM"),
        Ok(utc(2024, 11, 3, 5, 30, 0))
    );
    assert_eq!(
        p.parse_text("11/03/2024 2:30 AM"),
        Ok(utc(2024, 11, 3, 7, 30, 0))
    );
    // Parser clones keep working (own cache).
    let clone = p.clone();
    assert_eq!(
        clone.parse_text("07/15/2024 10:00 AM"),
        Ok(utc(2024, 7, 15, 14, 0, 0))
    );
}

#[test]
fn before_1971_still_parses() {
    let p = auto_utc();
    assert_eq!(
        p.parse_text("1969-07-20T20:17:00Z"),
        Ok(utc(1969, 7, 20, 20, 17, 0))
    );
    assert_eq!(p.parse_text("1900-01-01"), Ok(utc(1900, 1, 1, 0, 0, 0)));
    let berlin = parser(TimeFormat::Auto, "Europe/Berlin", None);
    assert_eq!(
        berlin.parse_text("1950-06-01 12:00"),
        Ok(utc(1950, 6, 1, 11, 0, 0))
    );
}

#[test]
fn explicit_pattern() {
    let p = parser(TimeFormat::Pattern("%d-%b-%Y %H:%M".into()), "UTC", None);
    assert_eq!(
        p.parse_text("05-Mar-2024 14:07"),
        Ok(utc(2024, 3, 5, 14, 7, 0))
    );
    assert!(p.parse_text("2024-03-05 14:07").is_err());
    let date_only = parser(
        TimeFormat::Pattern("%Y%m%d".into()),
        "America/New_York",
        None,
    );
    assert_eq!(
        date_only.parse_text("20240305"),
        Ok(utc(2024, 3, 5, 5, 0, 0))
    );
    assert_eq!(
        date_only.parse_json(&serde_json::json!(20240305)),
        Ok(utc(2024, 3, 5, 5, 0, 0))
    );
    let with_offset = parser(
        TimeFormat::Pattern("%Y-%m-%d %H:%M %z".into()),
        "Asia/Tokyo",
        None,
    );
    assert_eq!(
        with_offset.parse_text("2024-03-05 15:07 +0100"),
        Ok(utc(2024, 3, 5, 14, 7, 0))
    );
    let stamp = parser(TimeFormat::Pattern("%s".into()), "Asia/Tokyo", None);
    assert_eq!(stamp.parse_text("1709647620"), Ok(1_709_647_620_000));
    let dst = parser(
        TimeFormat::Pattern("%Y-%m-%d %H:%M".into()),
        "Europe/Berlin",
        None,
    );
    assert!(matches!(
        dst.parse_text("2024-03-31 02:30"),
        Err(TimeError::NonexistentLocalTime { .. })
    ));
}

#[test]
fn bad_settings_are_mapping_errors() {
    use super::super::MappingError;
    assert_eq!(
        TimeParser::new(&TimeFormat::Auto, "Mars/Olympus", None).unwrap_err(),
        MappingError::UnknownTimeZone("Mars/Olympus".into())
    );
    assert!(matches!(
        TimeParser::new(&TimeFormat::Pattern("%Y-%Q".into()), "UTC", None),
        Err(MappingError::BadTimePattern { .. })
    ));
    assert!(matches!(
        TimeParser::new(&TimeFormat::Pattern("just text".into()), "UTC", None),
        Err(MappingError::BadTimePattern { .. })
    ));
    assert!(matches!(
        TimeParser::new(&TimeFormat::Pattern(" ".into()), "UTC", None),
        Err(MappingError::BadTimePattern { .. })
    ));
    // Zone names: exact, any case, UTC aliases, empty.
    assert_eq!(
        TimeParser::new(&TimeFormat::Auto, "europe/berlin", None)
            .unwrap()
            .timezone_name(),
        "Europe/Berlin"
    );
    assert_eq!(
        TimeParser::new(&TimeFormat::Auto, "", None)
            .unwrap()
            .timezone_name(),
        "UTC"
    );
    assert_eq!(
        TimeParser::new(&TimeFormat::Auto, "Etc/UTC", None)
            .unwrap()
            .timezone_name(),
        "UTC"
    );
    assert!(is_known_time_zone("Asia/Kolkata"));
    assert!(!is_known_time_zone("Asia/Atlantis"));
    let names = time_zone_names();
    assert!(names.contains(&"America/New_York"));
    assert!(names.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn profile_decides_day_first() {
    let profile = profile_time_values(["03/05/2024", "13/05/2024", "", "01/02/2024 10:00"]);
    assert_eq!(profile.day_order, Some(DayOrder::DayFirst));
    assert_eq!(profile.ambiguous_example, None);
    assert_eq!(profile.day_order_conflict, None);
    assert_eq!(profile.formats, vec![(TimeFormat::DayMonthYear, 3)]);
    assert_eq!(profile.unparsable, 0);
}

#[test]
fn profile_decides_month_first() {
    let profile = profile_time_values(["03/05/2024", "12/25/2024 4:00 PM"]);
    assert_eq!(profile.day_order, Some(DayOrder::MonthFirst));
    assert_eq!(profile.formats, vec![(TimeFormat::MonthDayYear, 2)]);
    assert_eq!(profile.ambiguous_example, None);
}

#[test]
fn profile_reports_ambiguity() {
    let profile = profile_time_values(["03/05/2024", "04/04/2024", "01.02.2024"]);
    assert_eq!(profile.day_order, None);
    assert_eq!(profile.ambiguous_example.as_deref(), Some("03/05/2024"));
    assert_eq!(
        profile.formats,
        vec![
            (TimeFormat::MonthDayYear, 2),
            (TimeFormat::DayMonthYearDots, 1)
        ]
    );
    // Only equal parts: nothing to decide and nothing ambiguous.
    let equal = profile_time_values(["04/04/2024"]);
    assert_eq!((equal.day_order, equal.ambiguous_example), (None, None));
}

#[test]
fn profile_reports_conflicts() {
    let profile = profile_time_values(["13/01/2024", "14/01/2024", "01/13/2024", "02/03/2024"]);
    assert_eq!(profile.day_order, Some(DayOrder::DayFirst));
    assert_eq!(profile.day_order_conflict.as_deref(), Some("01/13/2024"));
    assert_eq!(profile.ambiguous_example, None);
    let tie = profile_time_values(["13/01/2024", "01/13/2024"]);
    assert_eq!(tie.day_order, None);
    assert!(tie.ambiguous_example.is_some());
    assert!(tie.day_order_conflict.is_some());
}

#[test]
fn profile_counts_mixed_formats() {
    let profile = profile_time_values([
        "2024-03-05T14:07:00Z",
        "2024-03-05T15:07:00+01:00",
        "2024-03-05 14:07",
        "1709647620",
        "1709647620000",
        "45356.5",
        "20240305",
        "nonsense",
        "05.03.2024",
    ]);
    assert_eq!(
        profile.formats,
        vec![
            (TimeFormat::Iso8601, 2),
            (TimeFormat::DateTime, 2),
            (TimeFormat::Epoch, 2),
            (TimeFormat::ExcelSerial, 1),
            (TimeFormat::DayMonthYearDots, 1),
        ]
    );
    assert_eq!(profile.unparsable, 1);
    // A dot date is day first (see `dot_dates_alone_are_day_first`): nothing to ask.
    assert_eq!(profile.day_order, Some(DayOrder::DayFirst));
    assert_eq!(profile.ambiguous_example, None);
}

#[test]
fn iso_output() {
    let ms = utc(2024, 3, 5, 14, 7, 9) + 456;
    assert_eq!(format_iso_utc(ms), "2024-03-05T14:07:09");
    assert_eq!(format_iso_utc(0), "1970-01-01T00:00:00");
    assert_eq!(format_iso_utc(-1), "1969-12-31T23:59:59");
    assert_eq!(format_utc_for_display(ms), "2024-03-05 14:07:09.456 UTC");
    assert_eq!(format_utc_for_display(ms - 456), "2024-03-05 14:07:09 UTC");
    let berlin = parser(TimeFormat::Auto, "Europe/Berlin", None);
    assert_eq!(
        berlin.preview_utc("2024-03-05 15:07"),
        Ok("2024-03-05 14:07:00 UTC".to_owned())
    );
    // Round trip through chrono's formatting for many instants.
    let mut t = -2_000_000_000_000i64;
    while t < 5_000_000_000_000 {
        let expected = chrono::DateTime::from_timestamp_millis(t)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        assert_eq!(format_iso_utc(t), expected);
        assert_eq!(
            auto_utc().parse_text(&(format_iso_utc(t) + "Z")),
            Ok(t.div_euclid(1000) * 1000)
        );
        t += 7_777_777_777;
    }
}

#[test]
fn extreme_values_do_not_panic() {
    for ms in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX] {
        let text = format_iso_utc(ms);
        assert!(text.contains('T'), "{text}");
        let _ = format_utc_for_display(ms);
    }
    let p = auto_utc();
    // Nanoseconds beyond i64: still a time (year 2554), not a panic.
    assert_eq!(
        p.parse_json(&serde_json::json!(u64::MAX)),
        Ok(18_446_744_073_709)
    );
    assert_eq!(p.parse_text("18446744073709551615"), Ok(18_446_744_073_709));
    assert!(p.parse_text("18446744073709551616").is_err());
    assert!(p.parse_text("-9223372036854775808").is_ok());
    assert!(
        parser(TimeFormat::ExcelSerial, "UTC", None)
            .parse_text("2999999.999999999")
            .is_ok()
    );
    assert!(
        parser(TimeFormat::ExcelSerial, "UTC", None)
            .parse_text("3000001")
            .is_err()
    );
}

#[test]
fn parser_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TimeParser>();
}

proptest::proptest! {
    #[test]
    fn parse_text_never_panics(value in ".{0,40}") {
        for p in [auto_utc(), parser(TimeFormat::Auto, "Europe/Berlin", Some(DayOrder::DayFirst)), parser(TimeFormat::ExcelSerial, "UTC", None), parser(TimeFormat::Pattern("%d %b %Y".into()), "UTC", None)] {
            let _ = p.parse_text(&value);
        }
        let _ = profile_time_values([value.as_str()]);
    }

    #[test]
    fn date_like_strings_never_panic(value in "[0-9]{1,4}[-/. ][0-9]{1,4}[-/. T][0-9]{1,6}[ :.,APMZ+0-9-]{0,16}") {
        let _ = auto_utc().parse_text(&value);
        let _ = parser(TimeFormat::Auto, "America/New_York", Some(DayOrder::MonthFirst)).parse_text(&value);
    }

    #[test]
    fn iso_round_trips(ms in -60_000_000_000_000i64..250_000_000_000_000i64) {
        let text = format_iso_utc(ms) + "Z";
        proptest::prop_assert_eq!(auto_utc().parse_text(&text), Ok(ms.div_euclid(1000) * 1000));
    }
}

/// Dot dates are day first wherever they are written (`05.03.2024` is 5 March in Germany,
/// Austria, Switzerland, the Netherlands, …): a column of only dot dates needs no question.
#[test]
fn dot_dates_alone_are_day_first() {
    let profile = profile_time_values(["05.03.2024 14:07", "06.04.2024", "01.02.2024"]);
    assert_eq!(profile.day_order, Some(DayOrder::DayFirst));
    assert_eq!(profile.ambiguous_example, None);
    // Slash dates beside them still need the data (or the user) to decide.
    let mixed = profile_time_values(["05.03.2024", "03/05/2024"]);
    assert_eq!(mixed.day_order, None);
    assert!(mixed.ambiguous_example.is_some());
    // Evidence in the data still wins.
    let proven = profile_time_values(["05.03.2024", "03.25.2024"]);
    assert_eq!(proven.day_order, Some(DayOrder::MonthFirst));
}
