//! Dates written with month names, as people and many tools write them:
//! `Jan 12, 2024 3:04 PM`, `January 12th, 2024`, `12 Jan 2024 15:04`, `12-Jan-2024`,
//! `Tue, 05 Mar 2024 14:07:00 +0000` (RFC 2822), `10/Oct/2000:13:55:36 -0700` (web server logs),
//! `Tue Mar 05 2024 14:07:00 GMT+0100 (Central European Standard Time)` (JavaScript),
//! `12. Januar 2024 um 15:04`, `5 mars 2024 à 14:07`,
//! `5 de marzo de 2024`, `5 maart 2024 om 14:07`.
//!
//! The month and weekday names come from the glibc locale data of the `pure-rust-locales` crate
//! for the languages Mixport reads headers in (English, German, French, Spanish, Italian,
//! Portuguese, Dutch), folded the way column names are (case and accents ignored: `März`,
//! `marz`, `MAR.` are one name). A month is matched by its full name, its abbreviation, or any
//! prefix of at least three letters that names only one month across those languages (`Sept`,
//! `févr`, `Dezemb`); a prefix shared by two months (`jui` for juin and juillet) is no month.
//!
//! The day may carry an English, French, Spanish or Portuguese ordinal (`12th`, `1er`, `1º`).
//! A two-digit year pivots like the slash dates (`24` → 2024, `85` → 1985). After the date comes
//! an optional time in the same forms as the other formats (`15:04`, `3:04 PM`, `15:04:05.123`,
//! `+01:00`, `UTC`), optionally after a comma or a word such as `at`, `um`, `à`, `a las`, `om`.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use pure_rust_locales::{de_DE, en_GB, en_US, es_ES, fr_FR, it_IT, nl_NL, pt_BR, pt_PT};

use super::civil::Fields;
// Folded as column names are (`März` → `marz`, `févr.` → `fevr`).
use super::parse::parse_clock_and_zone;
use crate::mapping::synonyms::fold;

/// Month and weekday names of one locale: (MON, ABMON, DAY, ABDAY).
type LocaleNames = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

/// The locales whose names are read.
const LOCALES: [LocaleNames; 9] = [
    (
        en_US::LC_TIME::MON,
        en_US::LC_TIME::ABMON,
        en_US::LC_TIME::DAY,
        en_US::LC_TIME::ABDAY,
    ),
    (
        en_GB::LC_TIME::MON,
        en_GB::LC_TIME::ABMON,
        en_GB::LC_TIME::DAY,
        en_GB::LC_TIME::ABDAY,
    ),
    (
        de_DE::LC_TIME::MON,
        de_DE::LC_TIME::ABMON,
        de_DE::LC_TIME::DAY,
        de_DE::LC_TIME::ABDAY,
    ),
    (
        fr_FR::LC_TIME::MON,
        fr_FR::LC_TIME::ABMON,
        fr_FR::LC_TIME::DAY,
        fr_FR::LC_TIME::ABDAY,
    ),
    (
        es_ES::LC_TIME::MON,
        es_ES::LC_TIME::ABMON,
        es_ES::LC_TIME::DAY,
        es_ES::LC_TIME::ABDAY,
    ),
    (
        it_IT::LC_TIME::MON,
        it_IT::LC_TIME::ABMON,
        it_IT::LC_TIME::DAY,
        it_IT::LC_TIME::ABDAY,
    ),
    (
        pt_PT::LC_TIME::MON,
        pt_PT::LC_TIME::ABMON,
        pt_PT::LC_TIME::DAY,
        pt_PT::LC_TIME::ABDAY,
    ),
    (
        pt_BR::LC_TIME::MON,
        pt_BR::LC_TIME::ABMON,
        pt_BR::LC_TIME::DAY,
        pt_BR::LC_TIME::ABDAY,
    ),
    (
        nl_NL::LC_TIME::MON,
        nl_NL::LC_TIME::ABMON,
        nl_NL::LC_TIME::DAY,
        nl_NL::LC_TIME::ABDAY,
    ),
];

/// Words between a date and its time (`Jan 12, 2024 at 3:04 PM`, `12. Januar 2024 um 15:04`).
const TIME_CONNECTORS: [&str; 10] = [
    "at", "um", "a", "a las", "a la", "as", "om", "alle", "ore", "kl",
];

/// Shortest month prefix that is read as a month.
const MIN_PREFIX: usize = 3;

/// Folded month and weekday names.
struct Names {
    /// Full names and abbreviations → month 1..=12 (0: two months share the name).
    exact: HashMap<String, u32>,
    /// Prefixes of full names (≥ [`MIN_PREFIX`] letters) → month (0: shared by two months).
    prefixes: HashMap<String, u32>,
    /// Weekday names, abbreviations and prefixes of full names.
    weekdays: HashSet<String>,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = Names {
            exact: HashMap::new(),
            prefixes: HashMap::new(),
            weekdays: HashSet::new(),
        };
        let insert = |map: &mut HashMap<String, u32>, key: String, month: u32| {
            map.entry(key)
                .and_modify(|m| {
                    if *m != month {
                        *m = 0;
                    }
                })
                .or_insert(month);
        };
        for (months, short_months, days, short_days) in LOCALES {
            for (index, name) in months.iter().enumerate() {
                let month = index as u32 + 1;
                let folded = fold(name);
                let letters: Vec<char> = folded.chars().collect();
                for len in MIN_PREFIX..letters.len() {
                    insert(&mut names.prefixes, letters[..len].iter().collect(), month);
                }
                insert(&mut names.exact, folded, month);
            }
            for (index, name) in short_months.iter().enumerate() {
                insert(&mut names.exact, fold(name), index as u32 + 1);
            }
            for name in days.iter() {
                let folded = fold(name);
                let letters: Vec<char> = folded.chars().collect();
                for len in MIN_PREFIX..letters.len() {
                    names.weekdays.insert(letters[..len].iter().collect());
                }
                names.weekdays.insert(folded);
            }
            for name in short_days.iter() {
                names.weekdays.insert(fold(name));
            }
        }
        names.weekdays.remove("");
        names
    })
}

/// The month a word names, if it names exactly one.
fn month_of(word: &str) -> Option<u32> {
    let folded = fold(word);
    if folded.len() < 3 {
        // Two-letter words are never months (`de`, `am`); every language's abbreviations have
        // three letters or more.
        return None;
    }
    let names = names();
    let month = names
        .exact
        .get(&folded)
        .or_else(|| names.prefixes.get(&folded))
        .copied()?;
    (month != 0).then_some(month)
}

fn is_weekday(word: &str) -> bool {
    let folded = fold(word);
    !folded.is_empty() && names().weekdays.contains(&folded)
}

/// A cursor over the value's text.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Skip spaces and the given punctuation.
    fn skip(&mut self, punctuation: &[char]) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() || punctuation.contains(&c) {
                self.at += c.len_utf8();
            } else {
                break;
            }
        }
    }

    /// A word of letters (any script), with a trailing `.` skipped.
    fn word(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|(_, c)| !c.is_alphabetic())
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return None;
        }
        self.at += len;
        if self.peek() == Some('.') {
            self.at += 1;
        }
        Some(&rest[..len])
    }

    /// 1..=`max` ASCII digits; `None` (cursor unmoved) when there is none or more follow.
    fn number(&mut self, max: usize) -> Option<(u32, usize)> {
        let rest = self.rest().as_bytes();
        let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || len > max {
            return None;
        }
        let value = rest[..len]
            .iter()
            .fold(0u32, |v, b| v * 10 + (b - b'0') as u32);
        self.at += len;
        Some((value, len))
    }

    /// An ordinal suffix after a day number: `st`, `nd`, `rd`, `th`, `er`, `e`, `º`, `ª`, `°`.
    fn skip_ordinal(&mut self) {
        let rest = self.rest();
        for suffix in ["st", "nd", "rd", "th", "er", "e", "º", "ª", "°"] {
            if let (Some(head), Some(after)) = (rest.get(..suffix.len()), rest.get(suffix.len()..))
                && head.eq_ignore_ascii_case(suffix)
                && !after.chars().next().is_some_and(char::is_alphabetic)
            {
                self.at += suffix.len();
                return;
            }
        }
    }

    /// The word `de` (`5 de marzo de 2024`), when it is the next word.
    fn skip_de(&mut self) {
        let rest = self.rest();
        if rest
            .get(..2)
            .is_some_and(|de| de.eq_ignore_ascii_case("de"))
            && rest[2..].starts_with(char::is_whitespace)
        {
            self.at += 2;
        }
    }
}

/// Read a date written with a month name (see the module docs) into local fields, with the
/// time and offset when the value has them. `None` when it is no such date.
pub(super) fn parse_named(text: &str) -> Option<Fields> {
    let first = text.chars().next()?;
    if !first.is_alphanumeric() {
        return None;
    }
    // A JavaScript date ends with the zone's name in parentheses.
    let text = match text.rfind(" (") {
        Some(open) if text.ends_with(')') => text[..open].trim_end(),
        _ => text,
    };
    parse_date_then_time(text, 0).or_else(|| {
        // A leading weekday (`Tue, 05 Mar 2024`, `Dienstag, 5. März 2024`); tried second
        // because some weekday abbreviations are also month prefixes (`mar`).
        let mut cursor = Cursor { text, at: 0 };
        let word = cursor.word()?;
        if !is_weekday(word) {
            return None;
        }
        cursor.skip(&[',']);
        parse_date_then_time(text, cursor.at)
    })
}

fn parse_date_then_time(text: &str, at: usize) -> Option<Fields> {
    let mut cursor = Cursor { text, at };
    let (day, month) = if cursor.peek()?.is_ascii_digit() {
        // Day first: `12 Jan 2024`, `12. Januar 2024`, `12-Jan-2024`, `5 de marzo de 2024`.
        let (day, _) = cursor.number(2)?;
        cursor.skip_ordinal();
        cursor.skip(&['.', '-', '/']);
        cursor.skip_de();
        cursor.skip(&[]);
        let month = month_of(cursor.word()?)?;
        cursor.skip(&['-', '/', ',']);
        cursor.skip_de();
        cursor.skip(&[]);
        (day, month)
    } else {
        // Month first: `Jan 12, 2024`, `January 12th 2024`, `Mar-05-2024`.
        let month = month_of(cursor.word()?)?;
        cursor.skip(&['-', '/']);
        let (day, _) = cursor.number(2)?;
        cursor.skip_ordinal();
        cursor.skip(&[',', '-', '/']);
        (day, month)
    };
    let (year, digits) = cursor.number(4)?;
    let year = match digits {
        4 => year as i32,
        2 if year >= 69 => 1900 + year as i32,
        2 => 2000 + year as i32,
        _ => return None,
    };
    let mut fields = Fields {
        year,
        month,
        day,
        ..Fields::default()
    };
    if !fields.date_is_valid() {
        return None;
    }
    let rest = cursor.rest();
    if rest.trim().is_empty() {
        return Some(fields);
    }
    // The time: after spaces, a comma, a connector word, or `:` (web server logs).
    let mut time = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == ':');
    if time.len() == rest.len() && !rest.starts_with(char::is_whitespace) {
        // Something other than a separator right after the year (`2024x`).
        return None;
    }
    let folded_start = time
        .char_indices()
        .find(|(_, c)| c.is_ascii_digit())
        .map_or(time.len(), |(i, _)| i);
    if folded_start > 0 {
        let words = fold_words(&time[..folded_start]);
        if !TIME_CONNECTORS.contains(&words.as_str()) {
            return None;
        }
        time = &time[folded_start..];
    }
    let mut clock = String::with_capacity(time.len() + 1);
    clock.push(' ');
    clock.push_str(time.trim_end());
    parse_clock_and_zone(clock.as_bytes(), 0, &mut fields)?;
    Some(fields)
}

/// The words of `text`, folded and joined by one space (`À ` → `a`, `a las ` → `a las`).
fn fold_words(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(fold)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (year, month, day, hour, minute, second, offset seconds).
    type Ymd = (i32, u32, u32, u32, u32, u32, Option<i32>);

    fn read(text: &str) -> Option<Ymd> {
        parse_named(text).map(|f| {
            (
                f.year,
                f.month,
                f.day,
                f.hour,
                f.minute,
                f.second,
                f.offset_secs,
            )
        })
    }

    #[test]
    fn english_dates_as_people_and_tools_write_them() {
        let cases: [(&str, Ymd); 12] = [
            ("Jan 12, 2024 3:04 PM", (2024, 1, 12, 15, 4, 0, None)),
            ("January 12, 2024", (2024, 1, 12, 0, 0, 0, None)),
            (
                "January 12th, 2024 at 9:30 am",
                (2024, 1, 12, 9, 30, 0, None),
            ),
            ("12 Jan 2024 15:04", (2024, 1, 12, 15, 4, 0, None)),
            ("12-Jan-2024", (2024, 1, 12, 0, 0, 0, None)),
            ("12-JAN-24", (2024, 1, 12, 0, 0, 0, None)),
            ("Sept 3, 1999", (1999, 9, 3, 0, 0, 0, None)),
            (
                "Tue, 05 Mar 2024 14:07:00 +0000",
                (2024, 3, 5, 14, 7, 0, Some(0)),
            ),
            (
                "10/Oct/2000:13:55:36 -0700",
                (2000, 10, 10, 13, 55, 36, Some(-7 * 3600)),
            ),
            (
                "Tue Mar 05 2024 14:07:00 GMT+0100 (Central European Standard Time)",
                (2024, 3, 5, 14, 7, 0, Some(3600)),
            ),
            ("Thursday, February 29, 2024", (2024, 2, 29, 0, 0, 0, None)),
            ("1st May 2023 00:00 UTC", (2023, 5, 1, 0, 0, 0, Some(0))),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn dates_in_the_other_languages() {
        let cases: [(&str, Ymd); 11] = [
            ("12. Januar 2024", (2024, 1, 12, 0, 0, 0, None)),
            ("12. Januar 2024 um 15:04", (2024, 1, 12, 15, 4, 0, None)),
            ("Dienstag, 5. März 2024 14:07", (2024, 3, 5, 14, 7, 0, None)),
            ("5. Mär. 2024", (2024, 3, 5, 0, 0, 0, None)),
            ("1er mars 2024 à 14:07", (2024, 3, 1, 14, 7, 0, None)),
            ("12 févr. 2024", (2024, 2, 12, 0, 0, 0, None)),
            (
                "5 de marzo de 2024 a las 14:07",
                (2024, 3, 5, 14, 7, 0, None),
            ),
            ("5 dic 2024", (2024, 12, 5, 0, 0, 0, None)),
            ("3 settembre 2024 alle 10:00", (2024, 9, 3, 10, 0, 0, None)),
            (
                "5 de outubro de 2024 às 08:15",
                (2024, 10, 5, 8, 15, 0, None),
            ),
            ("5 maart 2024 om 14:07", (2024, 3, 5, 14, 7, 0, None)),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn every_language_reads_every_month() {
        for (months, short_months, _, _) in LOCALES {
            for (index, name) in months.iter().chain(short_months.iter()).enumerate() {
                let month = index as u32 % 12 + 1;
                let text = format!("7 {name} 2024");
                assert_eq!(read(&text), Some((2024, month, 7, 0, 0, 0, None)), "{text}");
            }
        }
    }

    #[test]
    fn what_is_not_a_date_with_a_month_name() {
        for text in [
            "",
            "Jan Smith",
            "March 2024",
            "Mai 5",
            "31 Feb 2024",
            "Jan 12, 2024x",
            "12 Jan 2024 tomorrow",
            "12 Jan 2024 25:00",
            "jui 5 2024",
            "Purchase",
            "de 5 2024",
            "0¡",
            "1¡ Jan 2024",
            "5ª",
            "Mar 5, 12345",
            "🙂 Jan 12, 2024",
            "0 ࠀ",
            "5 deࠀ",
        ] {
            assert_eq!(read(text), None, "{text:?}");
        }
    }
}
