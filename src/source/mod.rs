//! Reading event files: sniffing and streaming records.
//!
//! [`sniff`] looks at the head of a file and guesses its [`Format`], compression, [`TextEncoding`],
//! delimiter and header row; every guess can be overridden through [`SourceOptions`]. [`open`]
//! then streams [`Record`]s with their 1-based source row number and byte offset, in memory that
//! does not grow with the file. [`preview`] reads only the first rows, for the GUI;
//! [`raw_head`] reads the first rows as written (title rows and header included).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod csv_guard;
mod csv_reader;
mod decode;
mod head;
mod input;
mod json_reader;
mod raw_head;
mod sniff;
mod xlsx_reader;

pub use head::is_header_row_note;
pub use raw_head::{RAW_CELL_CHARS, RawHead, RawRow, raw_head};

#[cfg(test)]
mod tests;

/// The most bytes one row may have in any format (a CSV record, an NDJSON line, a JSON array
/// element, an Excel cell). A larger row is rejected as too large with its position and
/// reading goes on, so memory stays bounded whatever the file holds. Mixpanel refuses events
/// over 1 MB anyway.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// The container format of an events file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Delimited text (comma, semicolon, tab or pipe).
    Csv,
    /// One JSON array of objects (streamed, never loaded whole).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// An Excel workbook (`.xlsx`); one sheet is read.
    Xlsx,
}

/// Byte-level compression wrapped around the format, detected by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (`1f 8b`).
    Gzip,
}

/// The text encoding of a text format. Detected from a BOM or from the bytes, and always reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark (`EF BB BF`), which is skipped.
    Utf8Bom,
    /// UTF-16 little endian with a BOM (`FF FE`).
    Utf16Le,
    /// UTF-16 big endian with a BOM (`FE FF`).
    Utf16Be,
    /// Windows-1252 (Western European "ANSI"), chosen when the head is not valid UTF-8.
    Windows1252,
}

/// User overrides for what [`sniff`] guesses. `None` means "use the guess".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceOptions {
    /// Force the format.
    pub format: Option<Format>,
    /// Force the text encoding.
    pub encoding: Option<TextEncoding>,
    /// Force the delimiter byte for CSV.
    pub delimiter: Option<u8>,
    /// Force whether the first row is a header (CSV and Excel).
    pub has_header: Option<bool>,
    /// Force the header row (CSV and Excel): its 1-based row number; the rows above it (titles,
    /// notes, blank rows) are skipped.
    pub header_row: Option<usize>,
    /// The Excel sheet to read (default: the first).
    pub sheet: Option<String>,
}

/// What [`sniff`] found out about a file. Pass it to [`open`] (possibly after editing it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sniff {
    /// The file.
    pub path: PathBuf,
    /// The file's size on disk in bytes (compressed size for gzip).
    pub file_size: u64,
    /// The container format.
    pub format: Format,
    /// gzip or not.
    pub compression: Compression,
    /// Text encoding (always `Utf8` for Excel).
    pub encoding: TextEncoding,
    /// CSV delimiter (`b','` for non-CSV formats).
    pub delimiter: u8,
    /// Whether the file has a header row (CSV/Excel). JSON formats always have keys.
    pub has_header: bool,
    /// How many rows above the header (or above the first data row without a header) are
    /// skipped: titles, notes and blank rows (CSV/Excel; 0 for most files).
    #[serde(default)]
    pub skip_rows: usize,
    /// The 1-based row number of the header as a user finds it (of the first data row when
    /// there is no header): `skip_rows + 1` for CSV, the sheet's row number for Excel.
    #[serde(default = "first_row")]
    pub header_row: u64,
    /// A source time zone named in the skipped title rows ("Zeitzone: Europe/Berlin", "times in
    /// CET"), for the user to confirm.
    #[serde(default)]
    pub timezone_hint: Option<TimezoneHint>,
    /// Excel: the sheet being read.
    pub sheet: Option<String>,
    /// Excel: every sheet name in the workbook.
    pub sheets: Vec<String>,
    /// Column names, unique and non-empty (duplicates and blanks renamed, see `notes`). For JSON,
    /// the keys seen in the head of the file, in first-seen order (a Mixpanel-shaped object
    /// `{"event":..,"properties":{..}}` is flattened: `event` plus the keys of `properties`).
    pub columns: Vec<String>,
    /// Human-readable remarks about what was guessed or repaired, e.g. "header 'id' appears twice:
    /// the second is named 'id_2'" or "not valid UTF-8: read as Windows-1252".
    pub notes: Vec<String>,
}

fn first_row() -> u64 {
    1
}

/// A time zone named in a file's title rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimezoneHint {
    /// The IANA zone (`Europe/Berlin`, `UTC`).
    pub zone: String,
    /// The text that named it (`Zeitzone: Europe/Berlin`).
    pub text: String,
}

/// One cell of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// The column is absent in this record (short ragged row, missing JSON key).
    Missing,
    /// Text (every CSV/Excel cell, every JSON string). Excel numbers are given as their text.
    Text(String),
    /// A cell whose bytes were not valid UTF-8 in a UTF-8 file, decoded lossily (U+FFFD).
    /// Validation rejects the row.
    InvalidUtf8(String),
    /// A non-string JSON value (number, bool, null, array, object).
    Json(serde_json::Value),
}

/// One record of the source, in the column order of [`Sniff::columns`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// 1-based row number as a user would find it: for CSV and Excel the spreadsheet row (the
    /// header is row 1, so the first data row is 2; without a header the first data row is 1),
    /// for NDJSON the line number, for a JSON array the 1-based element index.
    pub row: u64,
    /// Byte offset of the record's start in the decoded stream (0 for Excel).
    pub byte_offset: u64,
    /// One cell per column of [`Sniff::columns`].
    pub cells: Vec<Cell>,
    /// JSON keys that are not among the sniffed columns, and cells beyond the header in a long
    /// ragged CSV row (named `column_N`), in order.
    pub extra: Vec<(String, Cell)>,
    /// Set when a CSV row had a different number of fields than the header (reported, not fatal):
    /// the number of fields the row had.
    pub ragged: Option<usize>,
    /// Set when this record could not be read (a malformed NDJSON line, a JSON array element
    /// that is not an object): what is wrong. The row is then invalid, and reading goes on.
    pub error: Option<String>,
}

/// Why a file cannot be read. Each variant names the file and, where it applies, the position.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The path does not exist.
    #[error("{path}: file not found. Check the path and try again.")]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The path is a directory.
    #[error("{path}: is a folder, not a file. Choose a CSV, JSON, NDJSON or Excel file inside it.")]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The path is not a regular file (a FIFO, a socket, a device).
    #[error(
        "{path}: is not a regular file ({what}). Save the data to a file and choose that file."
    )]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// The file has no bytes, or no data rows after the header.
    #[error("{path}: {what}. Choose a file that has at least one event row.")]
    Empty {
        /// The file.
        path: PathBuf,
        /// "the file is empty" or "the file has a header row but no data rows".
        what: String,
    },
    /// The bytes look like no supported format (binary garbage, an image, a zip that is not xlsx).
    #[error(
        "{path}: not a CSV, JSON, NDJSON or Excel file ({detail}). Export the data as CSV and try again."
    )]
    Unrecognised {
        /// The file.
        path: PathBuf,
        /// What was seen.
        detail: String,
    },
    /// A gzip stream that ends early or is corrupt.
    #[error(
        "{path}: the gzip data is truncated or corrupt {}. Download or compress the file again.", gzip_position(*row)
    )]
    BadGzip {
        /// The file.
        path: PathBuf,
        /// The last row read before the error (0 if none).
        row: u64,
    },
    /// Malformed syntax that prevents reading further (bad JSON, an unterminated CSV quote).
    #[error("{path}: row {row} (byte {byte_offset}): {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based row.
        row: u64,
        /// Byte offset in the decoded stream.
        byte_offset: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// An I/O error while reading.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Excel reader failed.
    #[error("{path}: cannot read the workbook: {message}")]
    Excel {
        /// The file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
}

/// Look at the head of `path` (at most a few hundred KB, never the whole file) and guess how to
/// read it, honouring `options` where set.
///
/// gzip is recognised by its magic bytes and the head is read decompressed; an `.xlsx` workbook
/// by its zip signature. Every guess (and every repair, such as a renamed duplicate header) is
/// reported in [`Sniff::notes`].
pub fn sniff(path: &Path, options: &SourceOptions) -> Result<Sniff, SourceError> {
    sniff::sniff(path, options)
}

/// A stream of records. Memory does not grow with the file's size.
pub trait RecordReader: Send {
    /// Read the next record into `record` (reusing its allocations). Returns `Ok(false)` at the end.
    fn read_into(&mut self, record: &mut Record) -> Result<bool, SourceError>;
    /// Bytes of the underlying file consumed so far (compressed bytes for gzip), for progress.
    fn bytes_read(&self) -> u64;
}

/// Open `sniff.path` for streaming as described by `sniff`.
///
/// Text formats are decoded to UTF-8 while streaming (UTF-16 and Windows-1252 are transcoded, a
/// UTF-8 BOM is skipped). Excel sheets are streamed row by row from the workbook's XML.
pub fn open(sniff: &Sniff) -> Result<Box<dyn RecordReader>, SourceError> {
    if sniff.format == Format::Xlsx {
        return Ok(Box::new(xlsx_reader::open(sniff)?));
    }
    let (raw, context) = input::open_stream(&sniff.path, sniff.compression)?;
    let text = decode::text_stream(raw, sniff.encoding).map_err(|e| context.io_error(e, 0))?;
    Ok(match sniff.format {
        Format::Csv => Box::new(csv_reader::CsvRecordReader::new(
            text,
            sniff.delimiter,
            sniff.skip_rows,
            sniff.has_header,
            sniff.columns.len(),
            context,
        )?),
        Format::Json | Format::Ndjson => Box::new(json_reader::JsonRecordReader::new(
            text,
            sniff.format,
            &sniff.columns,
            context,
        )),
        // ok: handled by the early return above.
        Format::Xlsx => unreachable!("xlsx is opened above"),
    })
}

/// Read at most `max_rows` records from the head of the file, for previews and suggestion.
pub fn preview(sniff: &Sniff, max_rows: usize) -> Result<Vec<Record>, SourceError> {
    let mut reader = open(sniff)?;
    let mut rows = Vec::new();
    while rows.len() < max_rows {
        let mut record = Record::default();
        if !reader.read_into(&mut record)? {
            break;
        }
        rows.push(record);
    }
    Ok(rows)
}

/// Where a gzip stream broke, in words: "before any row could be read" or "after row N".
fn gzip_position(row: u64) -> String {
    if row == 0 {
        "before any row could be read".to_owned()
    } else {
        format!("after row {row}")
    }
}
