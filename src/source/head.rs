//! What the first rows of a file say, shared by sniffing and the readers that sniff their own
//! formats (JSON, Excel): how much of the head is read, whether the first row is a header or a
//! preamble, a time zone named in a title, and unique column names.
//!
//! Sniffing calls the readers, and the readers use these helpers: keeping them here (not in
//! `sniff`) leaves no import cycle between `sniff` and the readers.

use std::collections::HashSet;
use std::path::Path;

use super::{SourceError, csv_reader};

/// How much of the (decompressed) head is read for sniffing.
pub(crate) const HEAD_BYTES: usize = 256 * 1024;
/// How many rows of the head are looked at for the delimiter and the header.
pub(crate) const HEAD_ROWS: usize = 200;

/// How the note that names a header row below titles starts (followed by the row number).
pub(crate) const HEADER_ROW_NOTE: &str = "the header is on row ";
/// How the note that says a file has no header row starts.
pub(crate) const NO_HEADER_NOTE: &str = "no header row: ";

/// Whether a [`Sniff::notes`](super::Sniff::notes) entry is about the header row (where it is,
/// or that there is none): a shell that shows the header row itself leaves these out.
pub fn is_header_row_note(note: &str) -> bool {
    note.starts_with(HEADER_ROW_NOTE) || note.starts_with(NO_HEADER_NOTE)
}

/// The error of a file without data rows.
pub(crate) fn empty(path: &Path, what: &str) -> SourceError {
    SourceError::Empty {
        path: path.to_path_buf(),
        what: what.to_string(),
    }
}

/// Non-empty cells of a row.
fn filled(row: &[String]) -> usize {
    row.iter().filter(|cell| !cell.trim().is_empty()).count()
}

/// How many rows above the header are a preamble: titles, notes, blank rows. A preamble row is
/// blank, or has one long text, or fills at most a third of the table's width; the header
/// after it is a row of short, distinct labels that fills most of the width. 0 when the first
/// row is the header (or data), or when the head does not show that shape.
pub(crate) fn preamble_rows(rows: &[Vec<String>]) -> usize {
    let mut counts: Vec<usize> = rows.iter().map(|r| filled(r)).filter(|n| *n > 0).collect();
    counts.sort_unstable();
    // The table's width: the most common number of filled cells.
    let mut width = 0;
    let mut best_run = 0;
    let mut run = 0;
    for (i, &count) in counts.iter().enumerate() {
        run = if i > 0 && counts[i - 1] == count {
            run + 1
        } else {
            1
        };
        if run > best_run || (run == best_run && count > width) {
            best_run = run;
            width = count;
        }
    }
    if width < 2 {
        return 0;
    }
    for (index, row) in rows.iter().enumerate().take(30) {
        let n = filled(row);
        if n * 10 >= width * 7 {
            return if is_label_row(row) { index } else { 0 };
        }
        if n > 1 && n * 3 > width {
            return 0;
        }
    }
    0
}

/// Short, distinct labels, none of which looks like a data value.
fn is_label_row(row: &[String]) -> bool {
    let labels: Vec<&str> = row
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    let distinct: HashSet<&str> = labels.iter().copied().collect();
    distinct.len() == labels.len()
        && labels
            .iter()
            .all(|l| l.chars().count() <= 60 && !looks_like_value(l))
}

/// A time zone named in the preamble rows or the header (`Zeitzone: Europe/Berlin`, `(UTC)`,
/// `times in CET`): the first one found, with the cell that named it.
pub(crate) fn timezone_hint(rows: &[Vec<String>]) -> Option<super::TimezoneHint> {
    rows.iter().flatten().find_map(|cell| {
        timezone_in_text(cell).map(|zone| super::TimezoneHint {
            zone,
            text: cell.trim().chars().take(120).collect(),
        })
    })
}

/// Zone abbreviations people write in report titles, and the IANA zone each stands for.
const ZONE_ABBREVIATIONS: &[(&str, &str)] = &[
    ("UTC", "UTC"),
    ("GMT", "UTC"),
    ("CET", "Europe/Berlin"),
    ("CEST", "Europe/Berlin"),
    ("MEZ", "Europe/Berlin"),
    ("MESZ", "Europe/Berlin"),
    ("WET", "Europe/Lisbon"),
    ("WEST", "Europe/Lisbon"),
    ("EET", "Europe/Athens"),
    ("EEST", "Europe/Athens"),
    ("BST", "Europe/London"),
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("CST", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("MST", "America/Denver"),
    ("MDT", "America/Denver"),
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("JST", "Asia/Tokyo"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
];

/// The IANA zone a text names: an IANA name (`Europe/Berlin`, any case) or a common
/// abbreviation written in capitals (`UTC`, `CET`, `PST`).
pub(crate) fn timezone_in_text(text: &str) -> Option<String> {
    let tokens = text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '(' | ')' | '[' | ']' | ',' | ';' | ':' | '"' | '\'' | '='
            )
    });
    for token in tokens {
        let token = token.trim_matches(|c: char| matches!(c, '.' | '-' | '—'));
        if token.len() < 3 {
            continue;
        }
        if token.contains('/') {
            if let Some(tz) = chrono_tz::TZ_VARIANTS
                .iter()
                .find(|tz| tz.name().eq_ignore_ascii_case(token))
            {
                return Some(tz.name().to_owned());
            }
            continue;
        }
        if let Some((_, zone)) = ZONE_ABBREVIATIONS.iter().find(|(abbr, _)| *abbr == token) {
            return Some((*zone).to_owned());
        }
    }
    None
}

/// Guess whether the first of `rows` is a header: it is, unless one of its cells looks like a
/// data value (a number, a date or time, an email address, a UUID, or a long text). When unsure,
/// the answer is yes.
pub(crate) fn guess_header(rows: &[Vec<String>]) -> bool {
    match rows.first() {
        Some(first) => !first.iter().any(|cell| looks_like_value(cell)),
        None => true,
    }
}

/// Whether a cell looks like data rather than a column name.
pub(crate) fn looks_like_value(cell: &str) -> bool {
    let cell = cell.trim();
    !cell.is_empty()
        && (is_number(cell)
            || is_date_or_time(cell)
            || is_uuid(cell)
            || (cell.contains('@') && cell.contains('.') && !cell.contains(' '))
            || cell.chars().count() > 100)
}

fn is_number(cell: &str) -> bool {
    let digits = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut seen_exp = false;
    let mut previous = ' ';
    for c in digits.chars() {
        match c {
            '0'..='9' => seen_digit = true,
            '.' if !seen_dot && !seen_exp => seen_dot = true,
            'e' | 'E' if seen_digit && !seen_exp => seen_exp = true,
            '-' | '+' if matches!(previous, 'e' | 'E') => {}
            _ => return false,
        }
        previous = c;
    }
    seen_digit && !matches!(previous, 'e' | 'E' | '-' | '+')
}

fn is_date_or_time(cell: &str) -> bool {
    let bytes = cell.as_bytes();
    let lead = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(&separator) = bytes.get(lead) else {
        return false;
    };
    let rest = &bytes[lead + 1..];
    let next = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if lead == 0 || next == 0 {
        return false;
    }
    match separator {
        b':' => lead <= 2 && next == 2,
        b'-' | b'/' | b'.' if lead == 4 => next <= 2,
        b'-' | b'/' | b'.' if lead <= 2 => {
            next <= 2
                && rest.get(next) == Some(&separator)
                && rest.get(next + 1).is_some_and(u8::is_ascii_digit)
        }
        _ => false,
    }
}

fn is_uuid(cell: &str) -> bool {
    cell.len() == 36
        && cell.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Make header names unique and non-empty: blanks become `column_N` (N = 1-based position),
/// repeats get `_2`, `_3`, …. Each change is explained in `notes`.
pub(crate) fn unique_column_names(raw: &[String], notes: &mut Vec<String>) -> Vec<String> {
    let originals: HashSet<&str> = raw.iter().map(|name| name.trim()).collect();
    let mut used: HashSet<String> = HashSet::with_capacity(raw.len());
    let mut names = Vec::with_capacity(raw.len());
    for (index, name) in raw.iter().enumerate() {
        let name = name.trim();
        let unique = if name.is_empty() {
            let mut candidate = csv_reader::extra_column_name(index);
            let mut suffix = 2;
            while used.contains(&candidate) || originals.contains(candidate.as_str()) {
                candidate = format!("{}_{suffix}", csv_reader::extra_column_name(index));
                suffix += 1;
            }
            notes.push(format!(
                "column {} has no header name: it is named '{candidate}'",
                index + 1
            ));
            candidate
        } else if used.contains(name) {
            let mut suffix = 2;
            let mut candidate = format!("{name}_{suffix}");
            while used.contains(&candidate) || originals.contains(candidate.as_str()) {
                suffix += 1;
                candidate = format!("{name}_{suffix}");
            }
            notes.push(format!(
                "header '{name}' appears more than once: column {} is named '{candidate}'",
                index + 1
            ));
            candidate
        } else {
            name.to_string()
        };
        used.insert(unique.clone());
        names.push(unique);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn header_heuristic() {
        assert!(guess_header(&[
            strings(&["user", "time"]),
            strings(&["u1", "2024-01-01"])
        ]));
        assert!(!guess_header(&[
            strings(&["u1", "2024-01-01"]),
            strings(&["u2", "2024-01-02"])
        ]));
        assert!(!guess_header(&[strings(&["42", "x"])]));
        assert!(!guess_header(&[strings(&["a@b.com", "x"])]));
        assert!(!guess_header(&[strings(&["x", "12:30"])]));
        assert!(!guess_header(&[strings(&["x", "31.12.2024"])]));
        assert!(!guess_header(&[strings(&[
            "x",
            "123e4567-e89b-12d3-a456-426614174000"
        ])]));
        // Unsure (all text everywhere): header.
        assert!(guess_header(&[
            strings(&["alice", "bob"]),
            strings(&["carol", "dave"])
        ]));
        assert!(is_number("-1.5e3") && !is_number("e") && !is_number("1e") && !is_number("abc"));
    }
}
