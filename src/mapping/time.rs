//! Time parsing: every format real exports use, one source time zone, output in UTC milliseconds.

use serde::{Deserialize, Serialize};

/// A time format. `Auto` parses each value by whichever known format fits it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "pattern")]
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
    /// No known format fits.
    #[error("'{0}' is not a date/time this column's format can read")]
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
    pub formats: Vec<(TimeFormat, usize)>,
    /// Values that fit no format.
    pub unparsable: usize,
    /// The day/month order the data proves (a first part > 12 proves day first, a second part >
    /// 12 proves month first), or `None` when no value decides it.
    pub day_order: Option<DayOrder>,
    /// A slash/dot date whose order the data cannot settle, when there is one and `day_order` is
    /// `None`: the user must choose.
    pub ambiguous_example: Option<String>,
}

/// Look at sample values of a time column (e.g. the preview rows).
pub fn profile_time_values<'a>(values: impl IntoIterator<Item = &'a str>) -> TimeColumnProfile {
    let _ = values.into_iter();
    todo!("time::profile_time_values")
}

/// A resolved time reader: format, zone and day order fixed. Cheap to call per row.
#[derive(Debug, Clone)]
pub struct TimeParser {
    _private: (),
}

impl TimeParser {
    /// Resolve the mapping's time settings. Fails on an unknown zone or a bad pattern.
    /// `day_order` of `None` parses slash dates month-first only when the day part cannot be a
    /// month... callers settle it first with [`profile_time_values`].
    pub fn new(
        format: &TimeFormat,
        timezone: &str,
        day_order: Option<DayOrder>,
    ) -> Result<Self, super::MappingError> {
        let _ = (format, timezone, day_order);
        todo!("TimeParser::new")
    }

    /// Parse one text value to UTC milliseconds since the epoch.
    pub fn parse_text(&self, value: &str) -> Result<i64, TimeError> {
        let _ = value;
        todo!("TimeParser::parse_text")
    }

    /// Parse a JSON number (epoch by magnitude) or string.
    pub fn parse_json(&self, value: &serde_json::Value) -> Result<i64, TimeError> {
        let _ = value;
        todo!("TimeParser::parse_json")
    }
}
