//! Time parsing: every format real exports use, one source time zone, output in UTC milliseconds.
//!
//! The common formats (ISO 8601, `YYYY-MM-DD HH:MM:SS`, slash and dot dates, epoch numbers, Excel
//! serials) are parsed by hand from the bytes, and calendar dates are turned into days with
//! integer arithmetic ([`days_from_civil`]); nothing allocates unless the value is bad. The tz
//! database (chrono-tz) is consulted only for values without an offset in a zone other than UTC,
//! and its answer is cached per local day, so a column of times in `Europe/Berlin` costs one
//! hash-free array probe per value once its days have been seen.
//!
//! # How `Auto` reads a value
//! - `YYYY-MM-DD…` or `YYYY/MM/DD…` (optionally with `T` or a space, `HH:MM[:SS[.fff]]`, AM/PM and
//!   an offset `Z`, `+01:00`, `+0100`, `+01`, `UTC`): ISO 8601 / date-time.
//! - A bare number (text or JSON number, integer or decimal):
//!   - 8 digits that form a date between 1900-01-01 and 2100-12-31 (`20240305`): a compact ISO
//!     date. As epoch seconds such a number would fall in August 1970, which Mixpanel refuses.
//!   - `20000 ≤ v < 200000`: an Excel serial day number (days since 1899-12-30, the fraction is the
//!     time of day); that range covers the years 1954–2447.
//!   - otherwise epoch time by magnitude of the integer part: `< 1e11` seconds, `< 1e14`
//!     milliseconds, `< 1e17` microseconds, else nanoseconds.
//! - `A/B/YYYY`, `A-B-YYYY` or `A.B.YYYY` (two-digit years pivot at 69: `24` → 2024, `85` → 1985)
//!   with optional time: day and month follow the parser's [`DayOrder`]; without one, the value
//!   itself must settle it (a part above 12 is the day, or both parts are equal), else the value is
//!   reported as ambiguous.
//!
//! Values with an offset or `Z` ignore the zone. Local times are resolved in the zone: a time that
//! occurs twice (clocks moved back) takes the earlier instant; a time that does not exist (clocks
//! moved forward) is [`TimeError::NonexistentLocalTime`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{LocalResult, NaiveDate, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A time format. `Auto` parses each value by whichever known format fits it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(
    rename_all = "snake_case",
    tag = "kind",
    content = "pattern",
    deny_unknown_fields
)]
pub enum TimeFormat {
    /// Each value parsed by the known format that fits it (mixed columns are normal).
    #[default]
    Auto,
    /// ISO 8601 / RFC 3339, with or without offset and fraction (`2024-03-05T14:07:00Z`).
    Iso8601,
    /// `YYYY-MM-DD HH:MM:SS` (optional fraction), or a bare `YYYY-MM-DD`.
    DateTime,
    /// Epoch seconds, milliseconds or microseconds, told apart by magnitude.
    Epoch,
    /// `MM/DD/YYYY` with optional `HH:MM[:SS]` (and optional AM/PM).
    MonthDayYear,
    /// `DD/MM/YYYY` with optional time.
    DayMonthYear,
    /// `DD.MM.YYYY` with optional time.
    DayMonthYearDots,
    /// Excel serial day numbers (days since 1899-12-30, fraction = time of day).
    ExcelSerial,
    /// An explicit chrono `strftime` pattern, e.g. `%d-%b-%Y %H:%M`.
    Pattern(String),
}

impl TimeFormat {
    /// A short human label for the format (for the app and for messages).
    pub fn label(&self) -> &str {
        match self {
            TimeFormat::Auto => "automatic",
            TimeFormat::Iso8601 => "ISO 8601 (2024-03-05T14:07:00Z)",
            TimeFormat::DateTime => "YYYY-MM-DD HH:MM:SS",
            TimeFormat::Epoch => "epoch seconds/milliseconds",
            TimeFormat::MonthDayYear => "MM/DD/YYYY",
            TimeFormat::DayMonthYear => "DD/MM/YYYY",
            TimeFormat::DayMonthYearDots => "DD.MM.YYYY",
            TimeFormat::ExcelSerial => "Excel serial day number",
            TimeFormat::Pattern(pattern) => pattern,
        }
    }
}

/// The order of day and month in slash or dot dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOrder {
    /// `03/04/2024` is March 4th.
    MonthFirst,
    /// `03/04/2024` is 3 April.
    DayFirst,
}

/// Why one value could not be read as a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Empty cell.
    #[error("time is empty")]
    Empty,
    /// No known format fits. The text is the whole message: it quotes the value and says why
    /// (including "day and month cannot be told apart" for an undecided slash/dot date).
    #[error("{0}")]
    Unparsable(String),
    /// The local time does not exist in the zone (skipped by a DST change).
    #[error("'{value}' does not exist in {zone} (clocks moved forward)")]
    NonexistentLocalTime {
        /// The value.
        value: String,
        /// The zone.
        zone: String,
    },
}

/// What the values of a time column look like: which formats, and whether day/month is settled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeColumnProfile {
    /// Formats seen with how many values each (most first). Epoch variants are reported as `Epoch`.
    /// Slash dates are reported as `DayMonthYear` when `day_order` is `DayFirst`, else as
    /// `MonthDayYear`; dot dates as `DayMonthYearDots`; compact `YYYYMMDD` numbers as `DateTime`.
    pub formats: Vec<(TimeFormat, usize)>,
    /// Values that fit no format.
    pub unparsable: usize,
    /// The day/month order the data proves (a first part > 12 proves day first, a second part >
    /// 12 proves month first), or `None` when no value decides it. With conflicting evidence,
    /// the majority (see `day_order_conflict`); a tie is `None`.
    pub day_order: Option<DayOrder>,
    /// A slash/dot date whose order the data cannot settle, when there is one and `day_order` is
    /// `None`: the user must choose.
    pub ambiguous_example: Option<String>,
    /// With conflicting evidence (some values prove day first, others month first): a value that
    /// contradicts `day_order` (or, on a tie, one of the minority side). Such values will not
    /// parse with the chosen order.
    pub day_order_conflict: Option<String>,
}

/// Look at sample values of a time column (e.g. the preview rows).
pub fn profile_time_values<'a>(values: impl IntoIterator<Item = &'a str>) -> TimeColumnProfile {
    let mut counts: Vec<(TimeFormat, usize)> = Vec::new();
    let mut bump = |format: TimeFormat| match counts.iter_mut().find(|(f, _)| *f == format) {
        Some((_, n)) => *n += 1,
        None => counts.push((format, 1)),
    };
    let mut unparsable = 0;
    let mut slash_dates = 0usize;
    let (mut day_first, mut month_first) = (0usize, 0usize);
    let (mut day_first_example, mut month_first_example) = (None, None);
    let mut ambiguous: Option<String> = None;
    for value in values {
        let text = value.trim();
        if text.is_empty() {
            continue;
        }
        match detect(text.as_bytes()) {
            None => unparsable += 1,
            Some(Detected::Iso { with_t: true, .. }) => bump(TimeFormat::Iso8601),
            Some(Detected::Iso { with_t: false, .. }) => bump(TimeFormat::DateTime),
            Some(Detected::Number(number)) => match auto_number_kind(&number) {
                AutoNumber::Compact(_) => bump(TimeFormat::DateTime),
                AutoNumber::Excel => bump(TimeFormat::ExcelSerial),
                AutoNumber::Epoch => bump(TimeFormat::Epoch),
            },
            Some(Detected::DayMonth {
                first, second, sep, ..
            }) => {
                if sep == b'.' {
                    bump(TimeFormat::DayMonthYearDots);
                } else {
                    slash_dates += 1;
                }
                if first > 12 && second <= 12 {
                    day_first += 1;
                    day_first_example.get_or_insert_with(|| text.to_owned());
                } else if second > 12 && first <= 12 {
                    month_first += 1;
                    month_first_example.get_or_insert_with(|| text.to_owned());
                } else if first != second && first <= 12 && second <= 12 {
                    ambiguous.get_or_insert_with(|| text.to_owned());
                }
            }
        }
    }
    let (day_order, conflict) = match day_first.cmp(&month_first) {
        std::cmp::Ordering::Greater => (Some(DayOrder::DayFirst), month_first_example),
        std::cmp::Ordering::Less => (Some(DayOrder::MonthFirst), day_first_example),
        std::cmp::Ordering::Equal if day_first == 0 => (None, None),
        std::cmp::Ordering::Equal => (None, month_first_example),
    };
    if slash_dates > 0 {
        let format = if day_order == Some(DayOrder::DayFirst) {
            TimeFormat::DayMonthYear
        } else {
            TimeFormat::MonthDayYear
        };
        counts.push((format, slash_dates));
    }
    // Most first; ties keep first-seen order (stable sort).
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let ambiguous_example = if day_order.is_none() {
        // On a tie, a value of the tie is the best example of why the user must choose.
        ambiguous.or_else(|| conflict.clone())
    } else {
        None
    };
    TimeColumnProfile {
        formats: counts,
        unparsable,
        day_order,
        ambiguous_example,
        day_order_conflict: conflict,
    }
}

/// Number of cached local days (a power of two) for zones with DST.
const ZONE_CACHE_DAYS: usize = 4096;
/// Marks an empty cache slot (no real local day number has these high bits).
const EMPTY_SLOT: u64 = (i32::MIN as u32 as u64) << 32;

/// The zone of values without an offset.
enum Zone {
    /// UTC (also `GMT`, `Etc/UTC`, `Z` and an empty name): no tz lookups at all.
    Utc,
    /// An IANA zone, with a direct-mapped cache of local days that have a single UTC offset.
    Tz {
        tz: Tz,
        /// Slot `day & (len - 1)` holds `(day as i32) << 32 | (offset_secs as i32 as u32)`.
        /// Atomic so the parser stays `Sync`; a slot is one 64-bit word, so reads are consistent.
        day_offsets: Box<[AtomicU64]>,
    },
}

impl Zone {
    fn new_tz(tz: Tz) -> Self {
        Zone::Tz {
            tz,
            day_offsets: (0..ZONE_CACHE_DAYS)
                .map(|_| AtomicU64::new(EMPTY_SLOT))
                .collect(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Zone::Utc => "UTC",
            Zone::Tz { tz, .. } => tz.name(),
        }
    }
}

impl Clone for Zone {
    fn clone(&self) -> Self {
        match self {
            Zone::Utc => Zone::Utc,
            Zone::Tz { tz, day_offsets } => Zone::Tz {
                tz: *tz,
                day_offsets: day_offsets
                    .iter()
                    .map(|slot| AtomicU64::new(slot.load(Ordering::Relaxed)))
                    .collect(),
            },
        }
    }
}

/// The format, resolved for parsing.
#[derive(Clone)]
enum Resolved {
    Auto,
    Iso,
    Epoch,
    DayMonth(DayOrder),
    Excel,
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
    ) -> Result<Self, super::MappingError> {
        let zone = resolve_zone(timezone)
            .ok_or_else(|| super::MappingError::UnknownTimeZone(timezone.to_owned()))?;
        let resolved = match format {
            TimeFormat::Auto => Resolved::Auto,
            TimeFormat::Iso8601 | TimeFormat::DateTime => Resolved::Iso,
            TimeFormat::Epoch => Resolved::Epoch,
            TimeFormat::MonthDayYear => Resolved::DayMonth(DayOrder::MonthFirst),
            TimeFormat::DayMonthYear | TimeFormat::DayMonthYearDots => {
                Resolved::DayMonth(DayOrder::DayFirst)
            }
            TimeFormat::ExcelSerial => Resolved::Excel,
            TimeFormat::Pattern(pattern) => {
                let bad = |message: String| super::MappingError::BadTimePattern {
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
                 MM/DD/YYYY, DD.MM.YYYY, epoch seconds or milliseconds, Excel serial)",
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
fn order_from_value(first: u32, second: u32) -> Option<DayOrder> {
    if first > 12 {
        Some(DayOrder::DayFirst)
    } else if second > 12 || first == second {
        Some(DayOrder::MonthFirst)
    } else {
        None
    }
}

/// At most 60 characters of a value, for messages.
fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(60) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..cut])),
    }
}

fn ambiguous_error(text: &str) -> TimeError {
    TimeError::Unparsable(format!(
        "'{}': day and month are ambiguous (either could come first); choose the day/month \
         order for this column",
        shorten(text)
    ))
}

/// The UTC offset (seconds east) of a local time in `tz`: cached per local day when the whole
/// day has one offset; `None` for a local time skipped by a DST change. An ambiguous local time
/// (clocks moved back) takes the earlier instant, i.e. the larger offset.
fn zone_offset(tz: Tz, day_offsets: &[AtomicU64], days: i64, fields: &Fields) -> Option<i32> {
    let slot = &day_offsets[(days as usize) & (day_offsets.len() - 1)];
    let entry = slot.load(Ordering::Relaxed);
    if (entry >> 32) as u32 as i32 as i64 == days && entry != EMPTY_SLOT {
        return Some(entry as u32 as i32);
    }
    let date = NaiveDate::from_ymd_opt(fields.year, fields.month, fields.day)?;
    let offset_at = |hour, minute, second| -> LocalResult<i32> {
        match date.and_hms_opt(hour, minute, second) {
            Some(local) => tz
                .offset_from_local_datetime(&local)
                .map(|offset| offset.fix().local_minus_utc()),
            None => LocalResult::None,
        }
    };
    // Cache the day when it starts and ends on the same single offset (no transition inside).
    if let (LocalResult::Single(start), LocalResult::Single(end)) =
        (offset_at(0, 0, 0), offset_at(23, 59, 59))
        && start == end
        && i32::try_from(days).is_ok()
    {
        slot.store(
            ((days as i32 as u32 as u64) << 32) | (start as u32 as u64),
            Ordering::Relaxed,
        );
        return Some(start);
    }
    match offset_at(fields.hour, fields.minute, fields.second) {
        LocalResult::Single(offset) => Some(offset),
        LocalResult::Ambiguous(a, b) => Some(a.max(b)),
        LocalResult::None => None,
    }
}

/// Resolve a zone name: UTC aliases, an exact IANA name, or an IANA name ignoring case.
fn resolve_zone(name: &str) -> Option<Zone> {
    let name = name.trim();
    if name.is_empty()
        || [
            "UTC",
            "Etc/UTC",
            "GMT",
            "Etc/GMT",
            "Z",
            "Zulu",
            "UCT",
            "Etc/UCT",
            "Universal",
        ]
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(name))
    {
        return Some(Zone::Utc);
    }
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(Zone::new_tz(tz));
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name))
        .map(|tz| Zone::new_tz(*tz))
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

/// Whether `name` is a time zone [`TimeParser::new`] accepts.
pub fn is_known_time_zone(name: &str) -> bool {
    resolve_zone(name).is_some()
}

/// Every IANA zone name, sorted, for a searchable picker.
pub fn time_zone_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    names.sort_unstable();
    names
}

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

fn push_digits(out: &mut Vec<u8>, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        out.push(b'0' + (value / divisor % 10) as u8);
        divisor /= 10;
    }
}

// ----- calendar arithmetic -----

const MS_PER_SEC: i64 = 1000;
const SECS_PER_DAY: i64 = 86_400;
/// Days from 1899-12-30 (Excel's day 0) to 1970-01-01.
const EXCEL_DAYS_BEFORE_EPOCH: i64 = 25_569;

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

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
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
struct Fields {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    milli: u32,
    /// Seconds east of UTC when the value carries an offset.
    offset_secs: Option<i32>,
}

impl Fields {
    fn date_is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }

    fn seconds_of_day(&self) -> i64 {
        self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64
    }
}

/// What a value looks like, parsed (the zone and the day/month order not applied yet).
enum Detected {
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
}

fn detect(bytes: &[u8]) -> Option<Detected> {
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
    parse_day_month(bytes).map(|(first, second, sep, fields)| Detected::DayMonth {
        first,
        second,
        sep,
        fields,
    })
}

/// How `Auto` reads a bare number.
enum AutoNumber {
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

fn auto_number_kind(number: &Decimal) -> AutoNumber {
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
struct Decimal {
    negative: bool,
    int: u64,
    frac: u64,
    frac_digits: u32,
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
fn parse_decimal(bytes: &[u8]) -> Option<Decimal> {
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
fn epoch_ms(number: &Decimal) -> Option<i64> {
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
fn excel_fields(number: &Decimal) -> Option<Fields> {
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
fn digits(bytes: &[u8], i: &mut usize, max: usize) -> Option<u32> {
    let start = *i;
    let mut value = 0u32;
    while *i < bytes.len() && *i - start < max && bytes[*i].is_ascii_digit() {
        value = value * 10 + (bytes[*i] - b'0') as u32;
        *i += 1;
    }
    (*i > start).then_some(value)
}

/// Exactly `n` digits at `*i`.
fn exact_digits(bytes: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    let start = *i;
    let value = digits(bytes, i, n)?;
    (*i - start == n).then_some(value)
}

/// ISO 8601 / `YYYY-MM-DD HH:MM:SS` / compact `YYYYMMDD[THHMMSS]`. Returns the fields and
/// whether a `T` separated date and time.
fn parse_iso(bytes: &[u8]) -> Option<(Fields, bool)> {
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
fn parse_day_month(bytes: &[u8]) -> Option<(u32, u32, u8, Fields)> {
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
fn parse_clock_and_zone(bytes: &[u8], mut i: usize, fields: &mut Fields) -> Option<()> {
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
fn parse_zone_suffix(bytes: &[u8]) -> Option<i32> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let day_199999 =
            NaiveDate::from_ymd_opt(1899, 12, 30).unwrap() + chrono::Days::new(199_999);
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
                    LocalResult::Ambiguous(a, b) => {
                        Ok(a.timestamp_millis().min(b.timestamp_millis()))
                    }
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
        assert_eq!(profile.ambiguous_example.as_deref(), Some("05.03.2024"));
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
}
