//! The first rows of a file exactly as they are written, title rows and header included, so a
//! user can see which row holds the column names and pick another
//! ([`SourceOptions::header_row`](super::SourceOptions::header_row)).

use super::decode::{bom_len, decode_head};
use super::input::{open_stream, read_head};
use super::sniff::head_rows;
use super::{Format, Sniff, SourceError, xlsx_reader};

/// The most characters of one cell kept in a raw row; longer text ends with `…`.
pub const RAW_CELL_CHARS: usize = 200;

/// One row of a file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRow {
    /// The row's number as [`SourceOptions::header_row`](super::SourceOptions::header_row)
    /// counts it: the record number in a delimited text file (1 for the first), the sheet's row
    /// number in an Excel workbook (blank sheet rows are not listed).
    pub row: u64,
    /// The text of its cells, each cut to [`RAW_CELL_CHARS`] characters.
    pub cells: Vec<String>,
}

/// The first rows of a file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawHead {
    /// The rows, in file order.
    pub rows: Vec<RawRow>,
    /// Reading stopped at the byte limit before `max_rows` rows or the end of the file: there
    /// are more rows than shown (a very long row may not be shown at all).
    pub cut: bool,
}

/// Read the first `max_rows` rows of a delimited text or Excel file as written (titles, blank
/// rows and the header included), reading at most about `max_bytes` of text: a file of huge
/// rows yields fewer rows, never more memory. JSON formats have no rows above their keys and
/// yield none.
pub fn raw_head(sniff: &Sniff, max_rows: usize, max_bytes: usize) -> Result<RawHead, SourceError> {
    match sniff.format {
        Format::Csv => csv_raw_head(sniff, max_rows, max_bytes),
        Format::Xlsx => {
            let head = xlsx_reader::head(&sniff.path, sniff.sheet.clone(), max_rows, max_bytes)?;
            let cut = !head.complete && head.rows.len() < max_rows;
            Ok(RawHead {
                rows: head
                    .rows
                    .into_iter()
                    .map(|(row, cells)| RawRow {
                        row,
                        cells: cells.iter().map(|c| shorten(c)).collect(),
                    })
                    .collect(),
                cut,
            })
        }
        Format::Json | Format::Ndjson => Ok(RawHead::default()),
    }
}

fn csv_raw_head(sniff: &Sniff, max_rows: usize, max_bytes: usize) -> Result<RawHead, SourceError> {
    let (mut stream, context) = open_stream(&sniff.path, sniff.compression)?;
    let (bytes, at_eof) = read_head(&mut *stream, max_bytes, &context)?;
    drop(stream);
    let text = decode_head(
        &bytes[bom_len(&bytes, sniff.encoding)..],
        sniff.encoding,
        at_eof,
    );
    let rows = head_rows(&text, sniff.delimiter, at_eof, max_rows);
    let cut = !at_eof && rows.len() < max_rows;
    Ok(RawHead {
        rows: rows
            .iter()
            .enumerate()
            .map(|(index, cells)| RawRow {
                row: index as u64 + 1,
                cells: cells.iter().map(|c| shorten(c)).collect(),
            })
            .collect(),
        cut,
    })
}

/// `text` cut to [`RAW_CELL_CHARS`] characters, with `…` when cut.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(RAW_CELL_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::source::{SourceOptions, TextEncoding, sniff};

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn texts(head: &RawHead) -> Vec<(u64, Vec<String>)> {
        head.rows.iter().map(|r| (r.row, r.cells.clone())).collect()
    }

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn title_rows_and_the_header_are_listed_as_written_numbered_like_the_header_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "t.csv",
            b"Sales March (times in CET),,\n,,\nevent,user,time\nBuy,u1,2024-03-01 10:00\nBuy,u2,2024-03-02 10:00\n",
        );
        let sniffed = sniff(&path, &SourceOptions::default()).unwrap();
        assert_eq!(sniffed.header_row, 3);
        let head = raw_head(&sniffed, 20, 64 * 1024).unwrap();
        assert!(!head.cut);
        assert_eq!(
            texts(&head),
            vec![
                (1, strings(&["Sales March (times in CET)", "", ""])),
                (2, strings(&["", "", ""])),
                (3, strings(&["event", "user", "time"])),
                (4, strings(&["Buy", "u1", "2024-03-01 10:00"])),
                (5, strings(&["Buy", "u2", "2024-03-02 10:00"])),
            ]
        );
        // The row a user picks is the row the sniffer then takes as the header.
        let picked = sniff(
            &path,
            &SourceOptions {
                header_row: Some(4),
                has_header: Some(true),
                ..SourceOptions::default()
            },
        )
        .unwrap();
        assert_eq!(picked.header_row, 4);
        assert_eq!(picked.columns, head.rows[3].cells);
        // At most max_rows rows.
        assert_eq!(raw_head(&sniffed, 2, 64 * 1024).unwrap().rows.len(), 2);
    }

    #[test]
    fn a_file_of_huge_rows_yields_few_short_rows() {
        let dir = tempfile::tempdir().unwrap();
        let long = "é".repeat(300 * 1024);
        let mut text = String::from("event,note\n");
        for _ in 0..20 {
            text.push_str(&format!("Buy,{long}\n"));
        }
        let path = write(dir.path(), "long.csv", text.as_bytes());
        let sniffed = sniff(
            &path,
            &SourceOptions {
                delimiter: Some(b','),
                ..SourceOptions::default()
            },
        )
        .unwrap();
        let head = raw_head(&sniffed, 20, 64 * 1024).unwrap();
        assert!(head.cut, "more rows than shown");
        assert_eq!(texts(&head), vec![(1, strings(&["event", "note"]))]);

        // A long cell that fits the byte limit is shortened, on a character boundary.
        let mut text = String::from("event,note\n");
        text.push_str(&format!("Buy,{}\n", "é".repeat(1000)));
        let path = write(dir.path(), "cell.csv", text.as_bytes());
        let sniffed = sniff(&path, &SourceOptions::default()).unwrap();
        let head = raw_head(&sniffed, 20, 64 * 1024).unwrap();
        let note = &head.rows[1].cells[1];
        assert_eq!(note.chars().count(), RAW_CELL_CHARS + 1);
        assert!(note.ends_with("é…"), "{note}");
    }

    #[test]
    fn odd_encodings_and_gzip_read_as_the_rows_say() {
        let dir = tempfile::tempdir().unwrap();
        let expected = vec![
            (1, strings(&["Rapport généré (UTC)", ""])),
            (2, strings(&["événement", "pays"])),
            (3, strings(&["Achat", "Côte d'Ivoire"])),
        ];
        let text = "Rapport généré (UTC);\névénement;pays\nAchat;Côte d'Ivoire\n";

        let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        let gzipped = gz.finish().unwrap();

        for (name, bytes, encoding) in [
            ("cp1252.csv", cp1252.to_vec(), TextEncoding::Windows1252),
            ("utf16.csv", utf16, TextEncoding::Utf16Le),
            ("bom.csv", bom, TextEncoding::Utf8Bom),
            ("gz.csv.gz", gzipped, TextEncoding::Utf8),
        ] {
            let path = write(dir.path(), name, &bytes);
            let sniffed = sniff(&path, &SourceOptions::default()).unwrap();
            assert_eq!(sniffed.encoding, encoding, "{name}");
            let head = raw_head(&sniffed, 20, 64 * 1024).unwrap();
            assert_eq!(texts(&head), expected, "{name}");
        }
    }

    #[test]
    fn an_excel_title_row_is_listed_with_its_sheet_row_numbers() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/real_world/title_row.xlsx");
        let sniffed = sniff(&path, &SourceOptions::default()).unwrap();
        assert_eq!(sniffed.header_row, 3);
        let head = raw_head(&sniffed, 3, 64 * 1024).unwrap();
        assert_eq!(
            texts(&head),
            vec![
                (1, strings(&["Event export — all times in CET"])),
                (
                    3,
                    strings(&["Event Name", "User ID", "Timestamp", "Country", "Revenue"])
                ),
                (
                    4,
                    strings(&["Purchase", "user-0", "2024-02-10 09:00:00", "USA", "0"])
                ),
            ]
        );
        assert!(!head.cut);
        // A tiny byte limit stops early: fewer rows, marked as cut.
        let head = raw_head(&sniffed, 20, 10).unwrap();
        assert!(head.cut && head.rows.len() < 20);
    }

    #[test]
    fn json_has_no_rows_above_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "e.ndjson", b"{\"event\":\"Buy\"}\n");
        let sniffed = sniff(&path, &SourceOptions::default()).unwrap();
        assert_eq!(
            raw_head(&sniffed, 20, 64 * 1024).unwrap(),
            RawHead::default()
        );
    }
}
