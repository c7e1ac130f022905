//! Profiling a time column's sample values: which formats, and whether day/month is settled.

use super::parse::{AutoNumber, Detected, auto_number_kind, detect};
use super::{DayOrder, TimeFormat};

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
    let mut dot_dates = 0usize;
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
            Some(Detected::Named(_)) => bump(TimeFormat::MonthName),
            Some(Detected::DayMonth {
                first, second, sep, ..
            }) => {
                if sep == b'.' {
                    dot_dates += 1;
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
        // Only dot dates and nothing proves otherwise: dots are written day first.
        std::cmp::Ordering::Equal if day_first == 0 && dot_dates > 0 && slash_dates == 0 => {
            (Some(DayOrder::DayFirst), None)
        }
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
