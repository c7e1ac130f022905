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
//! - A date written with a month name in English, German, French, Spanish, Italian, Portuguese
//!   or Dutch (`Jan 12, 2024 3:04 PM`, `12. Januar 2024 um 15:04`, `Tue, 05 Mar 2024 14:07:00
//!   +0000`): see the `named` module.
//!
//! Values with an offset or `Z` ignore the zone. Local times are resolved in the zone: a time that
//! occurs twice (clocks moved back) takes the earlier instant; a time that does not exist (clocks
//! moved forward) is [`TimeError::NonexistentLocalTime`].

mod civil;
mod named;
mod parse;
mod profile;
mod zone;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use civil::{
    civil_from_days, days_from_civil, format_iso_utc, format_utc_for_display, write_iso_utc,
};
pub use parse::{AUTO_EXCEL_END, AUTO_EXCEL_MIN, TimeParser, is_iso_date_time};
pub use profile::{TimeColumnProfile, profile_time_values};
pub use zone::{is_known_time_zone, time_zone_names};

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
    /// Dates with month names (`Jan 12, 2024 3:04 PM`, `12 Jan 2024`, `5. März 2024 14:07`), in
    /// English, German, French, Spanish, Italian, Portuguese or Dutch.
    MonthName,
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
            TimeFormat::MonthName => "dates with month names (Jan 12, 2024)",
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
