//! Sniffing: from the head of a file (at most [`HEAD_BYTES`](super::head::HEAD_BYTES) of decompressed bytes) guess the
//! format, encoding, delimiter, header row and column names.

use std::path::Path;

use super::decode::{bom_len, decode_head, encoding_from_bom, guess_text_encoding};
use super::head::{
    HEAD_BYTES, HEAD_ROWS, HEADER_ROW_NOTE, NO_HEADER_NOTE, empty, guess_header, looks_like_value,
    preamble_rows, timezone_hint, unique_column_names,
};
use super::input::{GZIP_MAGIC, ZIP_MAGIC, check_path, open_stream, read_head, read_magic};
use super::{Compression, Format, Sniff, SourceError, SourceOptions, csv_reader, json_reader};

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
            "{HEADER_ROW_NOTE}{}: the {skip} row(s) above it (a title, notes or blank rows) are skipped. Choose another header row if that is wrong.",
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
                    "{NO_HEADER_NOTE}the first row holds values (such as '{}'), so columns are \
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

#[cfg(test)]
mod tests {
    use super::super::head::*;
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
