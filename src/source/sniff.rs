//! Sniffing: from the head of a file (at most [`HEAD_BYTES`] of decompressed bytes) guess the
//! format, encoding, delimiter, header row and column names.

use std::collections::HashSet;
use std::path::Path;

use super::decode::{bom_len, decode_head, encoding_from_bom, guess_text_encoding};
use super::input::{GZIP_MAGIC, ZIP_MAGIC, check_path, open_stream, read_head, read_magic};
use super::{Compression, Format, Sniff, SourceError, SourceOptions, csv_reader, json_reader};

/// How much of the (decompressed) head is read for sniffing.
pub(crate) const HEAD_BYTES: usize = 256 * 1024;
/// How many rows of the head are looked at for the delimiter and the header.
pub(crate) const HEAD_ROWS: usize = 200;
/// The delimiters tried, in order of preference when they fit equally well.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// See [`super::sniff`].
pub(crate) fn sniff(path: &Path, options: &SourceOptions) -> Result<Sniff, SourceError> {
    let file_size = check_path(path)?;
    if file_size == 0 {
        return Err(empty(path, "the file is empty (0 bytes)"));
    }
    let magic = read_magic(path, 4)?;
    let compression = if magic.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else {
        Compression::None
    };
    if options.format == Some(Format::Xlsx)
        || (options.format.is_none() && magic.starts_with(&ZIP_MAGIC))
    {
        return super::xlsx_reader::sniff_xlsx(path, file_size, options);
    }

    let (mut stream, context) = open_stream(path, compression)?;
    let (head, at_eof) = read_head(&mut *stream, HEAD_BYTES, &context)?;
    drop(stream);
    if head.is_empty() {
        return Err(empty(
            path,
            "the file is empty (the gzip data holds 0 bytes)",
        ));
    }
    if compression == Compression::Gzip && head.starts_with(&ZIP_MAGIC) {
        return Err(unrecognised(
            path,
            "a zip archive inside gzip: decompress the file first".to_string(),
        ));
    }

    let mut notes = Vec::new();
    let encoding = match options.encoding.or_else(|| encoding_from_bom(&head)) {
        Some(encoding) => encoding,
        None => {
            if let Some(detail) = binary_signature(&head) {
                return Err(unrecognised(path, detail));
            }
            let guess = guess_text_encoding(&head, at_eof);
            notes.extend(guess.note);
            guess.encoding
        }
    };
    let text = decode_head(&head[bom_len(&head, encoding)..], encoding, at_eof);
    if let Some(detail) = binary_text(&text) {
        return Err(unrecognised(path, detail));
    }
    if text.trim().is_empty() && at_eof {
        return Err(empty(path, "the file holds only blank lines"));
    }
    let format = options.format.unwrap_or_else(|| guess_format(&text));
    let mut sniff = Sniff {
        path: path.to_path_buf(),
        file_size,
        format,
        compression,
        encoding,
        delimiter: b',',
        has_header: true,
        skip_rows: 0,
        header_row: 1,
        timezone_hint: None,
        sheet: None,
        sheets: Vec::new(),
        columns: Vec::new(),
        notes,
    };
    match format {
        Format::Csv => sniff_csv(&mut sniff, &text, at_eof, options)?,
        Format::Json | Format::Ndjson => json_reader::sniff_json(&mut sniff, text, at_eof)?,
        // ok: Xlsx returned above whenever the format is forced or detected.
        Format::Xlsx => unreachable!("xlsx is sniffed before reading the text head"),
    }
    Ok(sniff)
}

pub(crate) fn empty(path: &Path, what: &str) -> SourceError {
    SourceError::Empty {
        path: path.to_path_buf(),
        what: what.to_string(),
    }
}

pub(crate) fn unrecognised(path: &Path, detail: String) -> SourceError {
    SourceError::Unrecognised {
        path: path.to_path_buf(),
        detail,
    }
}

/// JSON array when the text starts with `[`, NDJSON with `{`, CSV otherwise.
pub(crate) fn guess_format(text: &str) -> Format {
    match text.trim_start().as_bytes().first() {
        Some(b'[') => Format::Json,
        Some(b'{') => Format::Ndjson,
        _ => Format::Csv,
    }
}

/// Recognise binary data in a head that has no BOM: known file signatures and NUL bytes.
pub(crate) fn binary_signature(head: &[u8]) -> Option<String> {
    let known: [(&[u8], &str); 6] = [
        (b"\x89PNG", "a PNG image"),
        (b"%PDF", "a PDF document"),
        (b"GIF8", "a GIF image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (
            b"\xD0\xCF\x11\xE0",
            "an old Excel .xls (or other Office) file: save it as .xlsx or CSV",
        ),
        (b"PK\x05\x06", "an empty zip archive"),
    ];
    if let Some((_, what)) = known.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some((*what).to_string());
    }
    let nul_count = head.iter().filter(|&&b| b == 0).count();
    // Binary by proportion: a stray NUL in a text file makes only its row invalid (the readers
    // reject it); a file with more than 1% NUL bytes is not text.
    if nul_count == 0 || nul_count * 100 <= head.len() {
        return None;
    }
    let sample = &head[..head.len().min(256)];
    let odd_nuls = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    let even_nuls = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let half = sample.len() / 2;
    if half >= 4 && (odd_nuls * 10 >= half * 9 || even_nuls * 10 >= half * 9) {
        return Some(
            "looks like UTF-16 text without a byte-order mark: save it as UTF-8 (or choose \
             UTF-16 as the encoding)"
                .to_string(),
        );
    }
    Some(format!(
        "binary data: {nul_count} NUL bytes in the first {} KB",
        head.len().div_ceil(1024)
    ))
}

/// Recognise binary data in decoded text: NUL characters or many control characters.
pub(crate) fn binary_text(text: &str) -> Option<String> {
    let mut total = 0usize;
    let mut controls = 0usize;
    let mut nuls = 0usize;
    for c in text.chars() {
        total += 1;
        if c == '\0' {
            nuls += 1;
        } else if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c') {
            controls += 1;
        }
    }
    if nuls > 0 && nuls * 100 > total {
        Some(format!("binary data: {nuls} NUL characters near the start"))
    } else if controls > 0 && controls * 50 > total {
        Some(format!(
            "binary data: {controls} control characters among the first {total}"
        ))
    } else {
        None
    }
}

/// Up to `max_rows` complete records of `text` split with `delimiter`. When the head does not
/// reach the end of the file, its last record may be cut and is dropped.
pub(crate) fn head_rows(
    text: &str,
    delimiter: u8,
    at_eof: bool,
    max_rows: usize,
) -> Vec<Vec<String>> {
    let mut reader = csv_reader::csv_builder(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    // Read one more than needed so that a cut last record can be dropped.
    while rows.len() <= max_rows {
        match reader.read_record(&mut record) {
            Ok(true) => rows.push(record.iter().map(str::to_string).collect::<Vec<_>>()),
            Ok(false) => {
                if at_eof {
                    return rows;
                }
                break;
            }
            Err(_) => break,
        }
    }
    if !at_eof || rows.len() > max_rows {
        rows.pop();
    }
    rows
}

/// Pick the delimiter that splits the head's rows into the most consistent number of fields
/// (more than one). Ties go to the more fields, then to the order `,` `;` tab `|`.
pub(crate) fn sniff_delimiter(text: &str, at_eof: bool) -> Option<u8> {
    let mut best: Option<(u8, f64, usize)> = None;
    for delimiter in DELIMITERS {
        let rows = head_rows(text, delimiter, at_eof, 100);
        if rows.is_empty() {
            continue;
        }
        let mut counts: Vec<usize> = rows.iter().map(Vec::len).collect();
        counts.sort_unstable();
        let (mut mode, mut mode_count, mut run) = (0, 0, 0);
        for (i, &count) in counts.iter().enumerate() {
            run = if i > 0 && counts[i - 1] == count {
                run + 1
            } else {
                1
            };
            if run > mode_count {
                mode = count;
                mode_count = run;
            }
        }
        if mode <= 1 {
            continue;
        }
        let consistency = mode_count as f64 / counts.len() as f64;
        let better = match best {
            None => true,
            Some((_, best_consistency, best_mode)) => {
                consistency > best_consistency + 1e-9
                    || ((consistency - best_consistency).abs() <= 1e-9 && mode > best_mode)
            }
        };
        if better {
            best = Some((delimiter, consistency, mode));
        }
    }
    best.map(|(delimiter, _, _)| delimiter)
}

/// A human name for a delimiter, for notes.
pub(crate) fn delimiter_name(delimiter: u8) -> String {
    match delimiter {
        b',' => "commas".to_string(),
        b';' => "semicolons".to_string(),
        b'\t' => "tabs".to_string(),
        b'|' => "pipes (|)".to_string(),
        other => format!("'{}'", other.escape_ascii()),
    }
}

fn sniff_csv(
    sniff: &mut Sniff,
    text: &str,
    at_eof: bool,
    options: &SourceOptions,
) -> Result<(), SourceError> {
    let delimiter = match options.delimiter {
        Some(delimiter) => delimiter,
        None => match sniff_delimiter(text, at_eof) {
            Some(delimiter) => {
                if delimiter != b',' {
                    sniff.notes.push(format!(
                        "fields are separated by {}",
                        delimiter_name(delimiter)
                    ));
                }
                delimiter
            }
            None => {
                sniff
                    .notes
                    .push("no delimiter found: the file is read as a single column".to_string());
                b','
            }
        },
    };
    sniff.delimiter = delimiter;
    let rows = head_rows(text, delimiter, at_eof, HEAD_ROWS);
    if rows.is_empty() {
        if at_eof {
            return Err(empty(&sniff.path, "the file has no rows"));
        }
        return Err(SourceError::Syntax {
            path: sniff.path.clone(),
            row: 1,
            byte_offset: 0,
            message: format!(
                "the first row is longer than {} KB: check that quotes are closed and that the \
                 delimiter is right",
                HEAD_BYTES / 1024
            ),
        });
    }
    let skip = match options.header_row {
        Some(row) => row.saturating_sub(1).min(rows.len().saturating_sub(1)),
        None => preamble_rows(&rows),
    };
    sniff.skip_rows = skip;
    sniff.header_row = skip as u64 + 1;
    sniff.timezone_hint = timezone_hint(&rows[..=skip.min(rows.len() - 1)]);
    let rows = &rows[skip..];
    let first = &rows[0];
    if skip > 0 && options.header_row.is_none() {
        sniff.notes.push(format!(
            "the header is on row {}: the {skip} row(s) above it (a title, notes or blank rows) are skipped. Choose another header row if that is wrong.",
            skip + 1
        ));
    }
    let has_header = match options.has_header {
        Some(has_header) => has_header,
        None => {
            let guess = guess_header(rows);
            if !guess {
                let example = first.iter().find(|cell| looks_like_value(cell)).cloned();
                sniff.notes.push(format!(
                    "no header row: the first row holds values (such as '{}'), so columns are \
                     named column_1, column_2, …. Say that the first row is a header if that is \
                     wrong.",
                    example.unwrap_or_default()
                ));
            }
            guess
        }
    };
    sniff.has_header = has_header;
    if has_header {
        if rows.len() == 1 && at_eof {
            return Err(empty(
                &sniff.path,
                "the file has a header row but no data rows",
            ));
        }
        sniff.columns = unique_column_names(first, &mut sniff.notes);
    } else {
        sniff.columns = (0..first.len())
            .map(csv_reader::extra_column_name)
            .collect();
    }
    Ok(())
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
    fn each_delimiter_is_sniffed() {
        for (text, expected) in [
            ("a,b,c\n1,2,3\n4,5,6\n", b','),
            ("a;b;c\n1,5;2,5;3\n4;5;6\n", b';'),
            ("a\tb\tc\n1\t2\t3\n", b'\t'),
            ("a|b|c\n1|2|3\n", b'|'),
            ("name,note\nx,\"a;b;c|d\"\ny,\"e;f\"\n", b','),
        ] {
            assert_eq!(sniff_delimiter(text, true), Some(expected), "{text:?}");
        }
        assert_eq!(sniff_delimiter("justone\nvalue\n", true), None);
    }

    #[test]
    fn head_rows_drops_a_cut_last_row() {
        let rows = head_rows("a,b\n1,2\n3,", b',', false, 10);
        assert_eq!(rows, vec![strings(&["a", "b"]), strings(&["1", "2"])]);
        let rows = head_rows("a,b\n1,2\n3,", b',', true, 10);
        assert_eq!(rows.len(), 3);
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

    #[test]
    fn duplicate_and_empty_headers_are_made_unique() {
        let mut notes = Vec::new();
        let names = unique_column_names(&strings(&["id", "id", "", " name ", "id_2"]), &mut notes);
        assert_eq!(names, strings(&["id", "id_3", "column_3", "name", "id_2"]));
        assert_eq!(notes.len(), 2);
        assert!(notes[0].contains("'id'") && notes[0].contains("id_3"));
        assert!(notes[1].contains("column_3"));
        let mut notes = Vec::new();
        assert_eq!(
            unique_column_names(&strings(&["a", "a", "a"]), &mut notes),
            strings(&["a", "a_2", "a_3"])
        );
    }

    #[test]
    fn format_from_first_character() {
        assert_eq!(guess_format("  \n[{\"a\":1}]"), Format::Json);
        assert_eq!(guess_format("{\"a\":1}\n"), Format::Ndjson);
        assert_eq!(guess_format("a,b\n"), Format::Csv);
    }

    #[test]
    fn binary_detection() {
        assert!(
            binary_signature(b"\x89PNG\r\n\x1a\n")
                .unwrap()
                .contains("PNG")
        );
        assert!(binary_signature(b"a,b\n1,\x002\n").unwrap().contains("NUL"));
        assert!(
            binary_signature(b"a\0,\0b\0\n\0")
                .unwrap()
                .contains("UTF-16")
        );
        assert!(binary_signature(b"a,b\n").is_none());
        assert!(binary_text("\x01\x02\x03abc").is_some());
        assert!(binary_text("a,b\tc\r\n").is_none());
    }
}
