//! Parsing one value: the known formats read by hand from the bytes, explicit chrono patterns,
//! and the resolution of local fields in the source zone.

use std::fmt;

use chrono::NaiveTime;
use chrono::format::{Item, Parsed, StrftimeItems};

use super::civil::{
    EXCEL_DAYS_BEFORE_EPOCH, Fields, MS_PER_SEC, SECS_PER_DAY, civil_from_days, days_from_civil,
    format_utc_for_display,
};
use super::named::parse_named;
use super::zone::{Zone, resolve_zone, zone_offset};
use super::{DayOrder, TimeError, TimeFormat};

/// The format, resolved for parsing.
#[derive(Clone)]
pub(super) enum Resolved {
    Auto,
    Iso,
    Epoch,
    DayMonth(DayOrder),
    Excel,
    MonthName,
    Pattern(Vec<Item<'static>>),
}

/// A resolved time reader: format, zone and day order fixed. Cheap to call per row.
///
/// `Send + Sync`: one parser may be shared by worker threads.
#[derive(Clone)]
pub struct TimeParser {
    format: TimeFormat,
    resolved: Resolved,
    zone: Zone,
    day_order: Option<DayOrder>,
}

impl fmt::Debug for TimeParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeParser")
            .field("format", &self.format)
            .field("zone", &self.zone.name())
            .field("day_order", &self.day_order)
            .finish()
    }
}

impl TimeParser {
    /// Resolve the mapping's time settings. Fails on an unknown zone or a bad pattern.
    ///
    /// `timezone` is an IANA name (matched exactly, else ignoring case); an empty name is UTC.
    /// `day_order` applies to slash and dot dates under [`TimeFormat::Auto`]; with `None` such a
    /// date parses only when the value itself settles the order (a part above 12, or equal parts),
    /// else it is [`TimeError::Unparsable`] saying day and month are ambiguous (callers settle the
    /// order first with [`profile_time_values`]). The explicit formats `MonthDayYear`,
    /// `DayMonthYear` and `DayMonthYearDots` fix the order themselves.
    pub fn new(
        format: &TimeFormat,
        timezone: &str,
        day_order: Option<DayOrder>,
    ) -> Result<Self, crate::mapping::MappingError> {
        let zone = resolve_zone(timezone)
            .ok_or_else(|| crate::mapping::MappingError::UnknownTimeZone(timezone.to_owned()))?;
        let resolved = match format {
            TimeFormat::Auto => Resolved::Auto,
            TimeFormat::Iso8601 | TimeFormat::DateTime => Resolved::Iso,
            TimeFormat::Epoch => Resolved::Epoch,
            TimeFormat::MonthDayYear => Resolved::DayMonth(DayOrder::MonthFirst),
            TimeFormat::DayMonthYear | TimeFormat::DayMonthYearDots => {
                Resolved::DayMonth(DayOrder::DayFirst)
            }
            TimeFormat::ExcelSerial => Resolved::Excel,
            TimeFormat::MonthName => Resolved::MonthName,
            TimeFormat::Pattern(pattern) => {
                let bad = |message: String| crate::mapping::MappingError::BadTimePattern {
                    pattern: pattern.clone(),
                    message,
                };
                if pattern.trim().is_empty() {
                    return Err(bad("the pattern is empty".to_owned()));
                }
                let items = StrftimeItems::new(pattern)
                    .parse_to_owned()
                    .map_err(|e| bad(e.to_string()))?;
                if !items
                    .iter()
                    .any(|item| matches!(item, Item::Numeric(..) | Item::Fixed(..)))
                {
                    return Err(bad(
                        "it has no date or time fields (such as %Y, %m, %d, %H)".to_owned(),
                    ));
                }
                Resolved::Pattern(items)
            }
        };
        Ok(Self {
            format: format.clone(),
            resolved,
            zone,
            day_order,
        })
    }

    /// The format this parser reads.
    pub fn format(&self) -> &TimeFormat {
        &self.format
    }

    /// The IANA name of the zone used for values without an offset (`UTC` for UTC aliases).
    pub fn timezone_name(&self) -> &'static str {
        self.zone.name()
    }

    /// Parse one text value to UTC milliseconds since the epoch.
    pub fn parse_text(&self, value: &str) -> Result<i64, TimeError> {
        let text = value.trim();
        if text.is_empty() {
            return Err(TimeError::Empty);
        }
        let bytes = text.as_bytes();
        match &self.resolved {
            Resolved::Auto => match detect(bytes) {
                Some(Detected::Iso { fields, .. }) => self.resolve(&fields, text),
                Some(Detected::Number(number)) => self.auto_number(&number, text),
                Some(Detected::DayMonth {
                    first,
                    second,
                    fields,
                    ..
                }) => {
                    let order = match self.day_order {
                        Some(order) => order,
                        None => {
                            order_from_value(first, second).ok_or_else(|| ambiguous_error(text))?
                        }
                    };
                    self.day_month(first, second, fields, order, text)
                }
                Some(Detected::Named(fields)) => self.resolve(&fields, text),
                None => Err(self.unparsable(text)),
            },
            Resolved::Iso => match parse_iso(bytes) {
                Some((fields, _)) => self.resolve(&fields, text),
                None => Err(self.unparsable(text)),
            },
            Resolved::Epoch => match parse_decimal(bytes) {
                Some(number) => epoch_ms(&number).ok_or_else(|| self.unparsable(text)),
                None => Err(self.unparsable(text)),
            },
            Resolved::Excel => match parse_decimal(bytes) {
                Some(number) => self.excel(&number, text),
                None => Err(self.unparsable(text)),
            },
            Resolved::DayMonth(order) => match parse_day_month(bytes) {
                Some((first, second, _, fields)) => {
                    self.day_month(first, second, fields, *order, text)
                }
                None => Err(self.unparsable(text)),
            },
            Resolved::MonthName => match parse_named(text) {
                Some(fields) => self.resolve(&fields, text),
                None => Err(self.unparsable(text)),
            },
            Resolved::Pattern(items) => self.pattern(items, text),
        }
    }

    /// Parse a JSON number (epoch by magnitude) or string.
    ///
    /// Numbers follow the column's format when it is numeric (`Auto` applies its number rule,
    /// `ExcelSerial` reads a serial, a `Pattern` reads the number's text); under the other formats
    /// a number is epoch time by magnitude. `null` is [`TimeError::Empty`].
    pub fn parse_json(&self, value: &serde_json::Value) -> Result<i64, TimeError> {
        use serde_json::Value;
        match value {
            Value::Null => Err(TimeError::Empty),
            Value::String(text) => self.parse_text(text),
            Value::Number(number) => {
                let decimal = number
                    .as_i64()
                    .map(Decimal::from_i64)
                    .or_else(|| number.as_u64().map(Decimal::from_u64));
                // Integers take the allocation-free path; on an error (and for floats and
                // patterns) the number's text is parsed, which also words the error.
                let fast = match (&self.resolved, decimal) {
                    (Resolved::Pattern(_), _) | (_, None) => None,
                    (Resolved::Auto, Some(decimal)) => self.auto_number(&decimal, "").ok(),
                    (Resolved::Excel, Some(decimal)) => self.excel(&decimal, "").ok(),
                    (_, Some(decimal)) => epoch_ms(&decimal),
                };
                match fast {
                    Some(ms) => Ok(ms),
                    None => self.parse_text(&number.to_string()),
                }
            }
            other => Err(self.unparsable(&other.to_string())),
        }
    }

    /// Parse a value and show it in UTC for a preview (`2024-03-05 13:07:00 UTC`), or the reason
    /// it cannot be read.
    pub fn preview_utc(&self, value: &str) -> Result<String, TimeError> {
        self.parse_text(value).map(format_utc_for_display)
    }

    fn unparsable(&self, text: &str) -> TimeError {
        TimeError::Unparsable(match &self.resolved {
            Resolved::Auto => format!(
                "'{}' is not a date/time in a known format (ISO 8601, YYYY-MM-DD HH:MM:SS, \
                 MM/DD/YYYY, DD.MM.YYYY, dates with month names such as Jan 12, 2024, epoch seconds or \
                 milliseconds, Excel serial)",
                shorten(text)
            ),
            _ => format!(
                "'{}' is not a date/time in this column's format ({})",
                shorten(text),
                self.format.label()
            ),
        })
    }

    /// A number under `Auto`: compact date, Excel serial or epoch (see the module docs).
    fn auto_number(&self, number: &Decimal, text: &str) -> Result<i64, TimeError> {
        match auto_number_kind(number) {
            AutoNumber::Compact(fields) => self.resolve(&fields, text),
            AutoNumber::Excel => self.excel(number, text),
            AutoNumber::Epoch => epoch_ms(number).ok_or_else(|| self.unparsable(text)),
        }
    }

    fn excel(&self, number: &Decimal, text: &str) -> Result<i64, TimeError> {
        let fields = excel_fields(number).ok_or_else(|| self.unparsable(text))?;
        self.resolve(&fields, text)
    }

    fn day_month(
        &self,
        first: u32,
        second: u32,
        mut fields: Fields,
        order: DayOrder,
        text: &str,
    ) -> Result<i64, TimeError> {
        let (month, day) = match order {
            DayOrder::MonthFirst => (first, second),
            DayOrder::DayFirst => (second, first),
        };
        fields.month = month;
        fields.day = day;
        if !fields.date_is_valid() {
            let layout = match order {
                DayOrder::MonthFirst => "month first (MM/DD/YYYY)",
                DayOrder::DayFirst => "day first (DD/MM/YYYY)",
            };
            return Err(TimeError::Unparsable(format!(
                "'{}' is not a valid date with {layout}",
                shorten(text)
            )));
        }
        self.resolve(&fields, text)
    }

    fn pattern(&self, items: &[Item<'static>], text: &str) -> Result<i64, TimeError> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, text, items.iter())
            .map_err(|_| self.unparsable(text))?;
        if parsed.timestamp().is_some() {
            let utc = parsed
                .to_naive_datetime_with_offset(0)
                .map_err(|_| self.unparsable(text))?;
            return Ok(utc.and_utc().timestamp_millis());
        }
        if parsed.offset().is_some() {
            let datetime = parsed.to_datetime().map_err(|_| self.unparsable(text))?;
            return Ok(datetime.timestamp_millis());
        }
        let date = parsed.to_naive_date().map_err(|_| self.unparsable(text))?;
        let time = match parsed.to_naive_time() {
            Ok(time) => time,
            Err(e) if e.kind() == chrono::format::ParseErrorKind::NotEnough => NaiveTime::MIN,
            Err(_) => return Err(self.unparsable(text)),
        };
        use chrono::{Datelike, Timelike};
        let fields = Fields {
            year: date.year(),
            month: date.month(),
            day: date.day(),
            hour: time.hour(),
            minute: time.minute(),
            second: time.second().min(59),
            milli: time.nanosecond().min(999_999_999) / 1_000_000,
            offset_secs: None,
        };
        self.resolve(&fields, text)
    }

    /// Local or offset fields → UTC milliseconds.
    fn resolve(&self, fields: &Fields, text: &str) -> Result<i64, TimeError> {
        let days = days_from_civil(fields.year as i64, fields.month, fields.day);
        let local_secs = days * SECS_PER_DAY + fields.seconds_of_day();
        let offset_secs = match (fields.offset_secs, &self.zone) {
            (Some(offset), _) => offset as i64,
            (None, Zone::Utc) => 0,
            (None, Zone::Tz { tz, day_offsets }) => zone_offset(*tz, day_offsets, days, fields)
                .ok_or_else(|| TimeError::NonexistentLocalTime {
                    value: text.to_owned(),
                    zone: tz.name().to_owned(),
                })? as i64,
        };
        Ok((local_secs - offset_secs) * MS_PER_SEC + fields.milli as i64)
    }
}

/// `None` when the value is ambiguous: both parts ≤ 12 and different.
pub(super) fn order_from_value(first: u32, second: u32) -> Option<DayOrder> {
    if first > 12 {
        Some(DayOrder::DayFirst)
    } else if second > 12 || first == second {
        Some(DayOrder::MonthFirst)
    } else {
        None
    }
}

/// At most 60 characters of a value, for messages.
pub(super) fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(60) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..cut])),
    }
}

pub(super) fn ambiguous_error(text: &str) -> TimeError {
    TimeError::Unparsable(format!(
        "'{}': day and month are ambiguous (either could come first); choose the day/month \
         order for this column",
        shorten(text)
    ))
}

/// Whether `text` is an ISO 8601 date or date-time (`2024-03-05`, `2024/03/05 14:07`,
/// `2024-03-05T14:07:00Z`): used to infer Date-typed columns.
pub fn is_iso_date_time(text: &str) -> bool {
    let bytes = text.trim().as_bytes();
    bytes.len() >= 8
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && matches!(bytes[4], b'-' | b'/')
        && parse_iso(bytes).is_some()
}

/// What a value looks like, parsed (the zone and the day/month order not applied yet).
pub(super) enum Detected {
    /// `YYYY-MM-DD…`, `YYYY/MM/DD…` or compact `YYYYMMDDTHHMMSS…`; `with_t` when a `T` separates
    /// date and time.
    Iso { fields: Fields, with_t: bool },
    /// A bare number.
    Number(Decimal),
    /// `A/B/YYYY` (or `-`, `.`) with optional time; `fields` lacks month and day.
    DayMonth {
        first: u32,
        second: u32,
        sep: u8,
        fields: Fields,
    },
    /// A date written with a month name (`Jan 12, 2024 3:04 PM`, `12. Januar 2024`).
    Named(Fields),
}

pub(super) fn detect(bytes: &[u8]) -> Option<Detected> {
    let first = *bytes.first()?;
    if bytes.len() >= 8 && bytes[..4].iter().all(u8::is_ascii_digit) {
        if matches!(bytes[4], b'-' | b'/') {
            return parse_iso(bytes).map(|(fields, with_t)| Detected::Iso { fields, with_t });
        }
        if bytes.len() > 8
            && bytes[..8].iter().all(u8::is_ascii_digit)
            && matches!(bytes[8], b'T' | b't')
        {
            return parse_iso(bytes).map(|(fields, with_t)| Detected::Iso { fields, with_t });
        }
    }
    if (first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.'))
        && let Some(number) = parse_decimal(bytes)
    {
        return Some(Detected::Number(number));
    }
    if let Some((first, second, sep, fields)) = parse_day_month(bytes) {
        return Some(Detected::DayMonth {
            first,
            second,
            sep,
            fields,
        });
    }
    parse_named(std::str::from_utf8(bytes).ok()?).map(Detected::Named)
}

/// How `Auto` reads a bare number.
pub(super) enum AutoNumber {
    /// `YYYYMMDD` forming a date in 1900..=2100.
    Compact(Fields),
    /// An Excel serial day number.
    Excel,
    /// Epoch time by magnitude.
    Epoch,
}

/// Smallest number `Auto` reads as an Excel serial (1954-10-03).
pub const AUTO_EXCEL_MIN: u64 = 20_000;
/// Numbers from here on are epoch time again under `Auto` (Excel serial 200000 is in 2447).
pub const AUTO_EXCEL_END: u64 = 200_000;

pub(super) fn auto_number_kind(number: &Decimal) -> AutoNumber {
    if !number.negative
        && number.frac_digits == 0
        && (19_000_101..=21_001_231).contains(&number.int)
    {
        let fields = Fields {
            year: (number.int / 10_000) as i32,
            month: (number.int / 100 % 100) as u32,
            day: (number.int % 100) as u32,
            ..Fields::default()
        };
        if fields.date_is_valid() {
            return AutoNumber::Compact(fields);
        }
    }
    if !number.negative && (AUTO_EXCEL_MIN..AUTO_EXCEL_END).contains(&number.int) {
        AutoNumber::Excel
    } else {
        AutoNumber::Epoch
    }
}

/// A decimal number as text: sign, integer part and up to 9 fraction digits (more are truncated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decimal {
    pub(super) negative: bool,
    pub(super) int: u64,
    pub(super) frac: u64,
    pub(super) frac_digits: u32,
}

impl Decimal {
    fn from_u64(value: u64) -> Self {
        Decimal {
            negative: false,
            int: value,
            frac: 0,
            frac_digits: 0,
        }
    }

    fn from_i64(value: i64) -> Self {
        Decimal {
            negative: value < 0,
            int: value.unsigned_abs(),
            frac: 0,
            frac_digits: 0,
        }
    }

    /// The fraction scaled to `digits` decimal digits (truncated).
    fn frac_scaled(&self, digits: u32) -> u64 {
        if self.frac_digits >= digits {
            self.frac / 10u64.pow(self.frac_digits - digits)
        } else {
            self.frac * 10u64.pow(digits - self.frac_digits)
        }
    }
}

/// `[+-]digits[.digits]`, or with an exponent (`1.7e9`, read through f64).
pub(super) fn parse_decimal(bytes: &[u8]) -> Option<Decimal> {
    let mut i = 0;
    let negative = match bytes.first()? {
        b'-' => {
            i += 1;
            true
        }
        b'+' => {
            i += 1;
            false
        }
        _ => false,
    };
    let int_start = i;
    let mut int: u64 = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        int = int.checked_mul(10)?.checked_add((bytes[i] - b'0') as u64)?;
        i += 1;
    }
    let int_digits = i - int_start;
    let (mut frac, mut frac_digits, mut all_frac_digits) = (0u64, 0u32, 0usize);
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            if frac_digits < 9 {
                frac = frac * 10 + (bytes[i] - b'0') as u64;
                frac_digits += 1;
            }
            all_frac_digits += 1;
            i += 1;
        }
    }
    if int_digits == 0 && all_frac_digits == 0 {
        return None;
    }
    if i == bytes.len() {
        return Some(Decimal {
            negative,
            int,
            frac,
            frac_digits,
        });
    }
    if matches!(bytes[i], b'e' | b'E') {
        let text = std::str::from_utf8(bytes).ok()?;
        let value: f64 = text.parse().ok()?;
        let magnitude = value.abs();
        if !magnitude.is_finite() || magnitude >= 9.0e18 {
            return None;
        }
        let int = magnitude.trunc() as u64;
        let frac = ((magnitude.fract() * 1e9).round() as u64).min(999_999_999);
        return Some(Decimal {
            negative: value < 0.0,
            int,
            frac,
            frac_digits: 9,
        });
    }
    None
}

/// Epoch time by magnitude of the integer part: `< 1e11` seconds, `< 1e14` milliseconds,
/// `< 1e17` microseconds, else nanoseconds. Fractions below a millisecond are truncated.
pub(super) fn epoch_ms(number: &Decimal) -> Option<i64> {
    let ms: u64 = if number.int < 100_000_000_000 {
        number.int * 1000 + number.frac_scaled(3)
    } else if number.int < 100_000_000_000_000 {
        number.int
    } else if number.int < 100_000_000_000_000_000 {
        number.int / 1000
    } else {
        number.int / 1_000_000
    };
    let ms = i64::try_from(ms).ok()?;
    Some(if number.negative { -ms } else { ms })
}

/// An Excel serial (days since 1899-12-30; the fraction is the time of day, rounded to the
/// nearest second because exported fractions are rounded) → local fields.
pub(super) fn excel_fields(number: &Decimal) -> Option<Fields> {
    if number.negative || number.int > 3_000_000 {
        return None;
    }
    let scale = 10u64.pow(number.frac_digits);
    let mut secs_of_day = (number.frac * 86_400 * 2 + scale) / (2 * scale);
    let mut days = number.int as i64 - EXCEL_DAYS_BEFORE_EPOCH;
    if secs_of_day >= 86_400 {
        secs_of_day -= 86_400;
        days += 1;
    }
    let (year, month, day) = civil_from_days(days);
    Some(Fields {
        year: year as i32,
        month,
        day,
        hour: (secs_of_day / 3600) as u32,
        minute: (secs_of_day / 60 % 60) as u32,
        second: (secs_of_day % 60) as u32,
        milli: 0,
        offset_secs: None,
    })
}

/// Read 1..=max digits at `*i`; `None` when there is none.
pub(super) fn digits(bytes: &[u8], i: &mut usize, max: usize) -> Option<u32> {
    let start = *i;
    let mut value = 0u32;
    while *i < bytes.len() && *i - start < max && bytes[*i].is_ascii_digit() {
        value = value * 10 + (bytes[*i] - b'0') as u32;
        *i += 1;
    }
    (*i > start).then_some(value)
}

/// Exactly `n` digits at `*i`.
pub(super) fn exact_digits(bytes: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    let start = *i;
    let value = digits(bytes, i, n)?;
    (*i - start == n).then_some(value)
}

/// ISO 8601 / `YYYY-MM-DD HH:MM:SS` / compact `YYYYMMDD[THHMMSS]`. Returns the fields and
/// whether a `T` separated date and time.
pub(super) fn parse_iso(bytes: &[u8]) -> Option<(Fields, bool)> {
    let mut i = 0;
    let year = exact_digits(bytes, &mut i, 4)?;
    let (month, day);
    if i < bytes.len() && matches!(bytes[i], b'-' | b'/') {
        let sep = bytes[i];
        i += 1;
        month = digits(bytes, &mut i, 2)?;
        if bytes.get(i) != Some(&sep) {
            return None;
        }
        i += 1;
        day = digits(bytes, &mut i, 2)?;
    } else {
        month = exact_digits(bytes, &mut i, 2)?;
        day = exact_digits(bytes, &mut i, 2)?;
    }
    let mut fields = Fields {
        year: year as i32,
        month,
        day,
        ..Fields::default()
    };
    if !fields.date_is_valid() {
        return None;
    }
    let with_t = matches!(bytes.get(i), Some(b'T' | b't'));
    parse_clock_and_zone(bytes, i, &mut fields)?;
    Some((fields, with_t))
}

/// `A/B/YYYY`, `A-B-YYYY`, `A.B.YYYY` (1–2 digit parts, 2- or 4-digit year) and an optional time.
/// Returns (first part, second part, separator, fields without month and day).
pub(super) fn parse_day_month(bytes: &[u8]) -> Option<(u32, u32, u8, Fields)> {
    let mut i = 0;
    let first = digits(bytes, &mut i, 2)?;
    let sep = *bytes.get(i)?;
    if !matches!(sep, b'/' | b'-' | b'.') {
        return None;
    }
    i += 1;
    let second = digits(bytes, &mut i, 2)?;
    if bytes.get(i) != Some(&sep) {
        return None;
    }
    i += 1;
    let year_start = i;
    let year = digits(bytes, &mut i, 4)?;
    let year = match i - year_start {
        4 => year as i32,
        // Two-digit years pivot like POSIX strptime: 69–99 → 1900s, 00–68 → 2000s.
        2 if year >= 69 => 1900 + year as i32,
        2 => 2000 + year as i32,
        _ => return None,
    };
    if first == 0 || second == 0 || (first > 12 && second > 12) {
        return None;
    }
    let mut fields = Fields {
        year,
        ..Fields::default()
    };
    parse_clock_and_zone(bytes, i, &mut fields)?;
    Some((first, second, sep, fields))
}

/// After a date at `i`: nothing, or a separator (`T`, spaces, `, `) and `H[H]:MM[:SS[.f…]]` (or
/// compact `HHMM[SS]`), optional AM/PM, optional zone (`Z`, `UTC`, `GMT`, `±HH[:MM]`, `±HHMM`).
pub(super) fn parse_clock_and_zone(bytes: &[u8], mut i: usize, fields: &mut Fields) -> Option<()> {
    if i == bytes.len() {
        return Some(());
    }
    match bytes[i] {
        b'T' | b't' => i += 1,
        b' ' | b',' => {
            while i < bytes.len() && matches!(bytes[i], b' ' | b',') {
                i += 1;
            }
        }
        _ => return None,
    }
    let hour_start = i;
    let mut hour = digits(bytes, &mut i, 2)?;
    let minute;
    let mut second = 0;
    let mut milli = 0;
    if bytes.get(i) == Some(&b':') {
        i += 1;
        minute = exact_digits(bytes, &mut i, 2)?;
        if bytes.get(i) == Some(&b':') {
            i += 1;
            second = exact_digits(bytes, &mut i, 2)?;
        }
    } else if i - hour_start == 2 {
        // Compact `HHMM[SS]`.
        minute = exact_digits(bytes, &mut i, 2)?;
        if bytes.get(i).is_some_and(u8::is_ascii_digit) {
            second = exact_digits(bytes, &mut i, 2)?;
        }
    } else {
        return None;
    }
    if matches!(bytes.get(i), Some(b'.' | b',')) && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
    {
        i += 1;
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            if i - start < 3 {
                milli = milli * 10 + (bytes[i] - b'0') as u32;
            }
            i += 1;
        }
        for _ in (i - start)..3 {
            milli *= 10;
        }
    }
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    // AM/PM (also `a.m.` / `p.m.`).
    if let Some(&c) = bytes.get(i) {
        let pm = matches!(c, b'p' | b'P');
        if matches!(c, b'a' | b'A' | b'p' | b'P') {
            let rest = &bytes[i + 1..];
            let len = if rest.first().is_some_and(|b| b.eq_ignore_ascii_case(&b'm')) {
                2
            } else if rest.len() >= 3
                && rest[0] == b'.'
                && rest[1].eq_ignore_ascii_case(&b'm')
                && rest[2] == b'.'
            {
                4
            } else {
                0
            };
            if len > 0 {
                if !(1..=12).contains(&hour) {
                    return None;
                }
                hour = match (hour, pm) {
                    (12, false) => 0,
                    (12, true) => 12,
                    (h, true) => h + 12,
                    (h, false) => h,
                };
                i += len;
                while bytes.get(i) == Some(&b' ') {
                    i += 1;
                }
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    fields.hour = hour;
    fields.minute = minute;
    fields.second = second;
    fields.milli = milli;
    if i < bytes.len() {
        fields.offset_secs = Some(parse_zone_suffix(&bytes[i..])?);
    }
    Some(())
}

/// `Z`, `UTC`, `GMT` (optionally followed by an offset), or `±HH`, `±HH:MM`, `±HHMM`.
pub(super) fn parse_zone_suffix(bytes: &[u8]) -> Option<i32> {
    let mut rest = bytes;
    if rest.len() == 1 && rest[0].eq_ignore_ascii_case(&b'z') {
        return Some(0);
    }
    if rest.len() >= 3
        && (rest[..3].eq_ignore_ascii_case(b"UTC") || rest[..3].eq_ignore_ascii_case(b"GMT"))
    {
        rest = &rest[3..];
        if rest.is_empty() {
            return Some(0);
        }
    }
    let sign = match rest.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut i = 1;
    let hours = exact_digits(rest, &mut i, 2)?;
    let mut minutes = 0;
    if i < rest.len() {
        if rest[i] == b':' {
            i += 1;
        }
        minutes = exact_digits(rest, &mut i, 2)?;
    }
    if i != rest.len() || hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60) as i32)
}
