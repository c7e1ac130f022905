//! Opening a file: sniff it and read its head, once, for everything that follows.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::pipeline::rejected::cell_original_text;
use crate::source::{self, Cell, RawHead, Record, Sniff, SourceError, SourceOptions};

/// Rows read from the head of a file for the preview, the suggestion and the settled questions.
pub const HEAD_ROWS: usize = 1000;
/// The most cell text the head keeps: a file of very long rows (1 MB each, say) yields fewer
/// head rows instead of filling memory.
pub const HEAD_BYTES: usize = 16 * 1024 * 1024;

/// Rows of a file shown as written (title rows and the header included), at the least.
pub const RAW_HEAD_ROWS: usize = 20;
/// The most text read for the rows shown as written.
pub const RAW_HEAD_BYTES: usize = 64 * 1024;

/// A file that was sniffed and whose head was read: the start of a session.
#[derive(Debug, Clone)]
pub struct OpenedFile {
    /// What the sniffer found (possibly after the user's overrides).
    pub sniff: Sniff,
    /// The overrides that were asked for.
    pub options: SourceOptions,
    /// The first [`HEAD_ROWS`] records.
    pub head: Vec<Record>,
    /// How long sniffing and reading the head took, in milliseconds.
    pub load_ms: u128,
}

impl OpenedFile {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.sniff.path
    }

    /// The file's name without its folder ("events.csv").
    pub fn file_name(&self) -> String {
        file_name(&self.sniff.path)
    }

    /// The file's columns.
    pub fn columns(&self) -> &[String] {
        &self.sniff.columns
    }

    /// The text of `column` in every head row where it is not blank.
    pub fn head_values(&self, column: &str) -> Vec<String> {
        let Some(index) = self.columns().iter().position(|c| c == column) else {
            return Vec::new();
        };
        self.head
            .iter()
            .filter_map(|r| r.cells.get(index))
            .map(cell_text)
            .filter(|v| !v.trim().is_empty())
            .collect()
    }

    /// The text of one cell of a head row.
    pub fn head_cell(&self, row_index: usize, column: &str) -> Option<String> {
        let index = self.columns().iter().position(|c| c == column)?;
        self.head
            .get(row_index)
            .and_then(|r| r.cells.get(index))
            .map(cell_text)
    }
}

/// The name of a file without its folder.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Sniff `path` (with `options` overriding the guesses) and read its first [`HEAD_ROWS`] rows.
/// Reads only the head of the file. A file without a single data row is an error
/// ([`SourceError::Empty`]): there is nothing to map or import.
pub fn open(path: &Path, options: &SourceOptions) -> Result<OpenedFile, SourceError> {
    let start = Instant::now();
    let sniff = source::sniff(path, options)?;
    let head = read_head(&sniff)?;
    if head.is_empty() {
        return Err(SourceError::Empty {
            path: PathBuf::from(path),
            what: if sniff.columns.is_empty() {
                "the file is empty".to_owned()
            } else {
                "the file has column names but no data rows".to_owned()
            },
        });
    }
    Ok(OpenedFile {
        sniff,
        options: options.clone(),
        head,
        load_ms: start.elapsed().as_millis(),
    })
}

/// The first rows of `file` as written, title rows and the header included, so a user can see
/// which row holds the column names and choose another (open the file again with
/// [`SourceOptions::header_row`] set to a row's number). [`RAW_HEAD_ROWS`] rows, and always a
/// few past the header; at most about [`RAW_HEAD_BYTES`] of text. None for JSON files.
pub fn raw_head(file: &OpenedFile) -> Result<RawHead, SourceError> {
    let header = usize::try_from(file.sniff.header_row).unwrap_or(usize::MAX);
    let rows = RAW_HEAD_ROWS.max(header.saturating_add(5));
    source::raw_head(&file.sniff, rows, RAW_HEAD_BYTES)
}

/// At most [`HEAD_ROWS`] records and about [`HEAD_BYTES`] of cell text (always at least one
/// record).
fn read_head(sniff: &Sniff) -> Result<Vec<Record>, SourceError> {
    let mut reader = source::open(sniff)?;
    let mut head = Vec::new();
    let mut bytes = 0usize;
    while head.len() < HEAD_ROWS && bytes < HEAD_BYTES {
        let mut record = Record::default();
        if !reader.read_into(&mut record)? {
            break;
        }
        bytes += record
            .cells
            .iter()
            .map(|c| match c {
                Cell::Text(s) | Cell::InvalidUtf8(s) => s.len(),
                Cell::Json(v) => v.to_string().len(),
                Cell::Missing => 0,
            })
            .sum::<usize>();
        head.push(record);
    }
    Ok(head)
}

/// A cell as text: the original text, JSON values other than strings as compact JSON, and
/// nothing for a missing cell or a JSON `null`. The same text the rejected-rows file holds.
pub fn cell_text(cell: &Cell) -> String {
    let mut out = String::new();
    cell_original_text(cell, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_data_rows_is_refused_with_what_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, "").unwrap();
        let err = open(&empty, &SourceOptions::default()).unwrap_err();
        assert!(matches!(err, SourceError::Empty { .. }), "{err}");

        let header_only = dir.path().join("header.csv");
        std::fs::write(&header_only, "event,user,time\n").unwrap();
        let err = open(&header_only, &SourceOptions::default()).unwrap_err();
        assert!(matches!(err, SourceError::Empty { .. }), "{err}");

        let good = dir.path().join("good.csv");
        std::fs::write(&good, "event,user\nBuy,u1\n").unwrap();
        let file = open(&good, &SourceOptions::default()).unwrap();
        assert_eq!(file.head.len(), 1);
        assert_eq!(file.head_values("user"), vec!["u1"]);
        assert_eq!(file.file_name(), "good.csv");
    }

    #[test]
    fn a_head_of_very_long_rows_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.csv");
        let long = "x".repeat(1024 * 1024);
        let mut text = String::from("event,note\n");
        for _ in 0..40 {
            text.push_str(&format!("Buy,{long}\n"));
        }
        std::fs::write(&path, text).unwrap();
        let file = open(&path, &SourceOptions::default()).unwrap();
        assert!(file.head.len() < 20, "{} rows kept", file.head.len());
        assert!(!file.head.is_empty());
    }

    #[test]
    fn the_rows_as_written_reach_past_a_deep_header_and_a_picked_row_becomes_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep.csv");
        let mut text = String::new();
        for i in 1..=24 {
            text.push_str(&format!("note {i},\n"));
        }
        text.push_str("event,user\nBuy,u1\nSell,u2\n");
        std::fs::write(&path, text).unwrap();
        let options = SourceOptions {
            header_row: Some(25),
            ..SourceOptions::default()
        };
        let file = open(&path, &options).unwrap();
        assert_eq!(file.sniff.header_row, 25);
        let head = raw_head(&file).unwrap();
        let header = head
            .rows
            .iter()
            .find(|r| r.row == 25)
            .expect("row 25 shown");
        assert_eq!(header.cells, vec!["event", "user"]);
        assert_eq!(head.rows.last().map(|r| r.row), Some(27));

        // Picking the row below makes its values the column names.
        let picked = open(
            &path,
            &SourceOptions {
                header_row: Some(26),
                ..SourceOptions::default()
            },
        )
        .unwrap();
        assert_eq!(picked.columns(), ["Buy", "u1"]);
        assert_eq!(picked.head.len(), 1);
    }

    #[test]
    fn cells_read_as_their_original_text() {
        assert_eq!(cell_text(&Cell::Missing), "");
        assert_eq!(cell_text(&Cell::Text("a".into())), "a");
        assert_eq!(cell_text(&Cell::Json(serde_json::json!(null))), "");
        assert_eq!(cell_text(&Cell::Json(serde_json::json!("s"))), "s");
        assert_eq!(cell_text(&Cell::Json(serde_json::json!([1, 2]))), "[1,2]");
    }
}
