//! Calendar arithmetic and UTC output: days ↔ civil dates, and ISO text for date properties.

// ----- output -----

/// UTC milliseconds → `YYYY-MM-DDTHH:MM:SS` (UTC, no zone suffix, sub-seconds dropped), the form
/// Mixpanel expects for date properties.
pub fn format_iso_utc(ms: i64) -> String {
    let mut out = Vec::with_capacity(19);
    write_iso_utc(ms, &mut out);
    // ok: write_iso_utc writes only ASCII digits and separators.
    String::from_utf8(out).unwrap_or_default()
}

/// Append `YYYY-MM-DDTHH:MM:SS` (UTC) for `ms` to `out` without allocating beyond `out`.
pub fn write_iso_utc(ms: i64, out: &mut Vec<u8>) {
    let secs = ms.div_euclid(MS_PER_SEC);
    let days = secs.div_euclid(SECS_PER_DAY);
    let secs_of_day = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        push_digits(out, year as u32, 4);
    } else {
        // Outside 4-digit years: a signed year, still readable.
        out.extend_from_slice(year.to_string().as_bytes());
    }
    out.push(b'-');
    push_digits(out, month, 2);
    out.push(b'-');
    push_digits(out, day, 2);
    out.push(b'T');
    push_digits(out, (secs_of_day / 3600) as u32, 2);
    out.push(b':');
    push_digits(out, (secs_of_day / 60 % 60) as u32, 2);
    out.push(b':');
    push_digits(out, (secs_of_day % 60) as u32, 2);
}

/// UTC milliseconds → `2024-03-05 13:07:00 UTC` (with `.123` when there are milliseconds), for
/// showing parsed samples to a person.
pub fn format_utc_for_display(ms: i64) -> String {
    let mut out = Vec::with_capacity(28);
    write_iso_utc(ms, &mut out);
    if let Some(t) = out.iter_mut().find(|b| **b == b'T') {
        *t = b' ';
    }
    let millis = ms.rem_euclid(MS_PER_SEC) as u32;
    if millis != 0 {
        out.push(b'.');
        push_digits(&mut out, millis, 3);
    }
    out.extend_from_slice(b" UTC");
    // ok: only ASCII was written.
    String::from_utf8(out).unwrap_or_default()
}

pub(super) fn push_digits(out: &mut Vec<u8>, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        out.push(b'0' + (value / divisor % 10) as u8);
        divisor /= 10;
    }
}

// ----- calendar arithmetic -----

pub(super) const MS_PER_SEC: i64 = 1000;
pub(super) const SECS_PER_DAY: i64 = 86_400;
/// Days from 1899-12-30 (Excel's day 0) to 1970-01-01.
pub(super) const EXCEL_DAYS_BEFORE_EPOCH: i64 = 25_569;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(super) fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub(super) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// ----- parsing -----

/// A parsed date-time before zone resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Fields {
    pub(super) year: i32,
    pub(super) month: u32,
    pub(super) day: u32,
    pub(super) hour: u32,
    pub(super) minute: u32,
    pub(super) second: u32,
    pub(super) milli: u32,
    /// Seconds east of UTC when the value carries an offset.
    pub(super) offset_secs: Option<i32>,
}

impl Fields {
    pub(super) fn date_is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }

    pub(super) fn seconds_of_day(&self) -> i64 {
        self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64
    }
}
