//! What a column's name and values say about each field, with the evidence in plain words.

use std::collections::{HashMap, HashSet};

use crate::mapping::country::resolve_country;
use crate::mapping::synonyms;
use crate::mapping::time::{TimeColumnProfile, TimeFormat, TimeParser, profile_time_values};
use crate::source::{Cell, Record};

use super::{Field, is_uuid_like};

/// Facts about one column's sample values.
pub(super) struct ColumnStats {
    /// Non-empty values.
    pub(super) non_empty: usize,
    /// Rows of the sample (empty cells included).
    pub(super) rows: usize,
    pub(super) distinct: usize,
    /// Non-empty values that are not placeholders (`null`, `undefined`, `0`, …).
    pub(super) real_ids: usize,
    /// Distinct values among those.
    pub(super) distinct_real_ids: usize,
    pub(super) uuid_like: usize,
    /// Values that look like identifiers: no spaces, 1–64 characters, with a digit, or an
    /// e-mail address, or a UUID.
    pub(super) id_shaped: usize,
    /// Short texts with a letter (≤ 40 characters): names of things.
    pub(super) short_words: usize,
    pub(super) countries_resolved: usize,
    pub(super) ips: usize,
    pub(super) numbers: usize,
    pub(super) time_profile: TimeColumnProfile,
    pub(super) time_parsed: usize,
    pub(super) non_epoch_times: usize,
    /// The values, trimmed, in sample order.
    pub(super) values: Vec<String>,
    /// The most frequent values (up to 3), for evidence text.
    pub(super) top: Vec<String>,
}

impl ColumnStats {
    fn frac(&self, k: usize) -> f32 {
        if self.non_empty == 0 {
            0.0
        } else {
            k as f32 / self.non_empty as f32
        }
    }

    /// Blank cells of the sample.
    pub(super) fn blanks(&self) -> usize {
        self.rows.saturating_sub(self.non_empty)
    }
}

/// A cell as trimmed text; `None` when empty.
pub(super) fn text_of(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Text(s) | Cell::InvalidUtf8(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Cell::Json(serde_json::Value::Null) | Cell::Missing => None,
        Cell::Json(serde_json::Value::String(s)) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Cell::Json(v) => Some(v.to_string()),
    }
}

pub(super) fn column_stats(index: usize, sample: &[Record]) -> ColumnStats {
    let values: Vec<String> = sample
        .iter()
        .filter_map(|r| r.cells.get(index).and_then(text_of))
        .collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in &values {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let mut top: Vec<(&str, usize)> = counts.iter().map(|(v, n)| (*v, *n)).collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let real: Vec<&String> = values
        .iter()
        .filter(|v| !crate::validate::is_banned_id(v))
        .collect();
    let distinct_real_ids = real.iter().collect::<HashSet<_>>().len();
    let time_profile = profile_time_values(values.iter().map(String::as_str));
    let time_parsed = values
        .len()
        .saturating_sub(time_profile.unparsable)
        .saturating_sub(numbers_before_1971(&values));
    let non_epoch_times = time_profile
        .formats
        .iter()
        .filter(|(f, _)| !matches!(f, TimeFormat::Epoch | TimeFormat::ExcelSerial))
        .map(|(_, n)| *n)
        .sum();
    ColumnStats {
        non_empty: values.len(),
        rows: sample.len(),
        distinct: counts.len(),
        real_ids: real.len(),
        distinct_real_ids,
        uuid_like: values.iter().filter(|v| is_uuid_like(v)).count(),
        id_shaped: values.iter().filter(|v| is_id_shaped(v)).count(),
        short_words: values
            .iter()
            .filter(|v| v.chars().count() <= 40 && v.chars().any(char::is_alphabetic))
            .count(),
        countries_resolved: values
            .iter()
            .filter(|v| resolve_country(v).is_some())
            .count(),
        ips: values
            .iter()
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
            .count(),
        numbers: values
            .iter()
            .filter(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
            .count(),
        time_profile,
        time_parsed,
        non_epoch_times,
        top: top.iter().take(3).map(|(v, _)| (*v).to_owned()).collect(),
        values,
    }
}

/// How many of `values` are plain numbers that read as times before 1971 (amounts such as
/// `129.90` or `0.00` read as seconds since 1970): Mixpanel refuses such times, so they are not
/// evidence of a time column (`lifetime_value` contains the word `time`, but holds money).
fn numbers_before_1971(values: &[String]) -> usize {
    let Ok(parser) = TimeParser::new(&TimeFormat::Auto, "UTC", None) else {
        return 0;
    };
    values
        .iter()
        .filter(|v| v.parse::<f64>().is_ok())
        .filter(|v| {
            parser
                .parse_text(v)
                .is_ok_and(|ms| ms < crate::validate::MIN_TIME_MS)
        })
        .count()
}

/// An identifier: no spaces, 1–64 characters, and a digit, an `@`, or a UUID shape.
fn is_id_shaped(value: &str) -> bool {
    let len = value.chars().count();
    (1..=64).contains(&len)
        && !value.contains(char::is_whitespace)
        && (value.bytes().any(|b| b.is_ascii_digit()) || value.contains('@'))
}

/// Words in a column name that say it identifies a device, browser or session, not a user and
/// not an event: such a column is never an insert ID.
const DEVICE_WORDS: &[&str] = &[
    "anonymous",
    "device",
    "pseudo",
    "cookie",
    "visitor",
    "session",
    "browser",
    "amplitudeid",
];

/// Whether a column's name says it identifies a user or a device (so it is never an insert ID).
pub(super) fn names_a_person_or_device(name: &str) -> bool {
    let folded = synonyms::fold(name);
    synonyms::fields_named(name).contains(&"user")
        || synonyms::fields_named(name).contains(&"email")
        || DEVICE_WORDS.iter().any(|w| folded.contains(w))
        || folded.contains("userid")
        || folded == "distinctid"
}

/// How well a column name means a field, 0 to 1, with the reason.
pub(super) fn name_score(field: Field, name: &str) -> Option<(f32, String)> {
    let key = field.key();
    let folded = synonyms::fold(name);
    if folded.is_empty() {
        return None;
    }
    if let Some(found) = synonyms::exact_match(key, name) {
        let mut score = 0.95 - 0.02 * found.rank.min(10) as f32;
        // An e-mail address identifies a person, but an ID column says so better.
        if field == Field::User && synonyms::exact_match("email", name).is_some() {
            score = 0.6;
        }
        let languages = synonyms::languages_naming(key, name);
        let language = if languages.iter().any(|l| l.code == "en") {
            String::new()
        } else {
            let names: Vec<&str> = languages.iter().map(|l| l.name).collect();
            format!(" ({})", names.join(", "))
        };
        return Some((
            score,
            format!("column name '{name}' means {}{language}", field.words()),
        ));
    }
    let mut best = 0.0f64;
    for synonym in synonyms::names(key) {
        best = best.max(strsim::jaro_winkler(&folded, synonym));
    }
    if best >= 0.92 && folded.len() >= 4 {
        return Some((
            (best as f32) * 0.7,
            format!(
                "column name '{name}' is close to a name for {}",
                field.words()
            ),
        ));
    }
    synonyms::contained_word(key, name).map(|word| {
        (
            0.5,
            format!(
                "column name '{name}' contains '{word}', a name for {}",
                field.words()
            ),
        )
    })
}

fn percent(f: f32) -> String {
    format!("{:.0}%", f * 100.0)
}

fn examples(stats: &ColumnStats) -> String {
    stats
        .top
        .iter()
        .map(|v| format!("'{}'", shorten(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn shorten(value: &str) -> String {
    if value.chars().count() <= 24 {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(23).collect();
        s.push('…');
        s
    }
}

/// Whether the values look like event names: short texts, few distinct, each repeated.
fn looks_like_event_names(stats: &ColumnStats) -> bool {
    let n = stats.non_empty;
    n >= 6
        && stats.distinct >= 1
        && stats.distinct * 3 <= n
        && stats.frac(stats.short_words) >= 0.9
        && stats.frac(stats.countries_resolved) < 0.5
        && stats.frac(stats.time_parsed) < 0.5
        && stats.frac(stats.uuid_like) < 0.1
        && stats.frac(stats.numbers) < 0.1
        && !stats.values.iter().all(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "true" | "false" | "yes" | "no"
            )
        })
}

/// Whether the values look like user IDs: identifiers, many distinct, some repeated.
fn looks_like_user_ids(stats: &ColumnStats) -> bool {
    let n = stats.non_empty;
    n >= 6
        && stats.frac(stats.id_shaped) >= 0.9
        && stats.distinct >= 3
        && stats.distinct < n
        && stats.frac(stats.time_parsed) < 0.5
        && stats.frac(stats.ips) < 0.5
}

/// Adjust a name score by what the values say. `None` rules the column out for the field.
pub(super) fn value_check(
    field: Field,
    stats: &ColumnStats,
    score: f32,
    reason: String,
) -> Option<(f32, String)> {
    let n = stats.non_empty;
    if n == 0 {
        // No values to judge by: trust the name a little less.
        return Some((score * 0.8, format!("{reason} (no sample values)")));
    }
    match field {
        Field::Event => {
            if stats.frac(stats.uuid_like) > 0.5
                || (n >= 20 && stats.frac(stats.distinct) > 0.5)
                || (stats.frac(stats.time_parsed) > 0.8 && stats.non_epoch_times > 0)
            {
                return None;
            }
            let bonus = if looks_like_event_names(stats) {
                0.03
            } else {
                0.0
            };
            Some((
                score + bonus,
                format!(
                    "{reason}; {} distinct names such as {}",
                    stats.distinct,
                    examples(stats)
                ),
            ))
        }
        Field::InsertId => {
            // Unique among real values, and real values in (nearly) every row.
            if n < 2 || stats.distinct_real_ids < stats.real_ids || stats.real_ids * 10 < n * 9 {
                return None;
            }
            let evidence = if stats.frac(stats.uuid_like) > 0.9 {
                "values are unique UUIDs"
            } else {
                "values are unique in the sample"
            };
            Some((score.max(0.9), format!("{reason}; {evidence}")))
        }
        Field::Time => {
            let parsed = stats.frac(stats.time_parsed);
            if parsed < 0.8 {
                return None;
            }
            Some((
                score * (0.8 + 0.2 * parsed),
                format!("{reason}; {} of values read as times", percent(parsed)),
            ))
        }
        Field::Country => {
            let resolved = stats.frac(stats.countries_resolved);
            if resolved < 0.5 {
                return None;
            }
            Some((
                score * (0.7 + 0.3 * resolved),
                format!(
                    "{reason}; {} of values are country names or codes",
                    percent(resolved)
                ),
            ))
        }
        Field::Ip => {
            if stats.frac(stats.ips) < 0.8 {
                return None;
            }
            Some((score, format!("{reason}; values are IP addresses")))
        }
        Field::User => {
            if stats.frac(stats.uuid_like) > 0.9 && stats.distinct == n && n >= 20 {
                // Unique per row: an event id rather than a user.
                return Some((score * 0.6, format!("{reason}; but every value is unique")));
            }
            if stats.frac(stats.time_parsed) > 0.9 && stats.non_epoch_times > 0 {
                return None;
            }
            if looks_like_user_ids(stats) {
                return Some((
                    score + 0.02,
                    format!(
                        "{reason}; {} distinct IDs, repeated across rows",
                        stats.distinct
                    ),
                ));
            }
            Some((score, reason))
        }
        Field::City | Field::Region => Some((score, reason)),
    }
}

/// A field recognised by its values alone (no name match): weaker guesses, never an insert ID
/// (a wrong insert ID silently drops events).
pub(super) fn value_only(field: Field, name: &str, stats: &ColumnStats) -> Option<(f32, String)> {
    let n = stats.non_empty;
    if n < 5 {
        return None;
    }
    match field {
        Field::Time
            if stats.frac(stats.time_parsed) > 0.95 && stats.frac(stats.non_epoch_times) > 0.5 =>
        {
            Some((
                0.45,
                format!(
                    "{} of values read as dates and times",
                    percent(stats.frac(stats.time_parsed))
                ),
            ))
        }
        Field::Country
            if stats.frac(stats.countries_resolved) > 0.8
                && stats.distinct > 1
                && stats.frac(stats.numbers) < 0.5 =>
        {
            Some((
                0.45,
                format!(
                    "{} of values are country names or codes (such as {})",
                    percent(stats.frac(stats.countries_resolved)),
                    examples(stats)
                ),
            ))
        }
        Field::Ip if stats.frac(stats.ips) > 0.95 => {
            Some((0.5, "values are IP addresses".to_owned()))
        }
        Field::Event if looks_like_event_names(stats) => Some((
            0.4,
            format!(
                "{} distinct short names repeated across rows, such as {}",
                stats.distinct,
                examples(stats)
            ),
        )),
        Field::User if looks_like_user_ids(stats) && !names_a_person_or_device_only(name) => {
            Some((
                0.35,
                format!(
                    "{} distinct ID-like values, repeated across rows",
                    stats.distinct
                ),
            ))
        }
        _ => None,
    }
}

/// Device and session columns are not users even when their values look like user IDs.
fn names_a_person_or_device_only(name: &str) -> bool {
    let folded = synonyms::fold(name);
    DEVICE_WORDS.iter().any(|w| folded.contains(w))
}
