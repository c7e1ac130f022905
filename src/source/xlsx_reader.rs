//! Streaming one sheet of an Excel workbook (`.xlsx`) into [`Record`]s.
//!
//! calamine 0.31's `worksheet_cells_reader` reads a sheet's XML cell by cell, so rows are
//! streamed, not loaded. Because that reader borrows the workbook, it lives on a background
//! thread that sends rows through a bounded channel; dropping the [`XlsxRecordReader`] stops the
//! thread at its next row. The workbook's shared-string table is loaded whole by calamine (it is
//! the workbook's dictionary of distinct texts).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use calamine::{DataRef, Reader, Xlsx};

use super::head::{
    HEAD_ROWS, HEADER_ROW_NOTE, NO_HEADER_NOTE, empty, guess_header, looks_like_value,
    preamble_rows, timezone_hint, unique_column_names,
};
use super::input::{CountingReader, InputProgress};
use super::{
    Cell, Compression, Format, Record, RecordReader, Sniff, SourceError, SourceOptions,
    TextEncoding, csv_reader,
};

/// Rows buffered between the reading thread and the consumer.
const CHANNEL_ROWS: usize = 256;
/// The largest shared-string table (uncompressed XML) read: calamine loads the table whole, so
/// a larger one (a giant cell, or a very large workbook) is refused before it is loaded.
pub(crate) const MAX_SHARED_STRINGS_BYTES: u64 = 128 * 1024 * 1024;

/// Why the workbook thread stopped early.
#[derive(Debug)]
enum XlsxFailure {
    /// The zip is not a workbook calamine can open.
    NotWorkbook(String),
    /// The requested sheet does not exist.
    SheetMissing { wanted: String, sheets: Vec<String> },
    /// Reading failed after the last row sent.
    Read(String),
    /// A part of the workbook is too large to load.
    TooLarge(String),
}

/// Messages from the workbook thread.
#[derive(Debug)]
enum XlsxMessage {
    /// First message: every sheet name and the one being read.
    Sheets { sheets: Vec<String>, chosen: String },
    /// One non-empty row: its 1-based sheet row number and (0-based column, text) cells.
    /// `too_large` holds the (0-based) column and size of a cell over the per-row cap (the
    /// row's cells are then dropped).
    Row {
        row: u64,
        cells: Vec<(usize, String)>,
        too_large: Option<(usize, usize)>,
    },
    /// The sheet was read to its end.
    End,
    /// Reading stopped.
    Failed(XlsxFailure),
}

fn spawn_reader(
    path: &Path,
    sheet: Option<String>,
    progress: InputProgress,
) -> Receiver<XlsxMessage> {
    let (sender, receiver) = sync_channel(CHANNEL_ROWS);
    let path = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("mixport-xlsx".to_string())
        .spawn({
            let sender = sender.clone();
            move || read_workbook(&path, sheet, progress, &sender)
        });
    if let Err(e) = spawned {
        let _ = sender.send(XlsxMessage::Failed(XlsxFailure::Read(format!(
            "cannot start the workbook reader: {e}"
        ))));
    }
    receiver
}

fn read_workbook(
    path: &Path,
    sheet: Option<String>,
    progress: InputProgress,
    sender: &SyncSender<XlsxMessage>,
) {
    let fail = |failure| {
        let _ = sender.send(XlsxMessage::Failed(failure));
    };
    if let Some(message) = oversized_shared_strings(path) {
        return fail(XlsxFailure::TooLarge(message));
    }
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => return fail(XlsxFailure::Read(e.to_string())),
    };
    let reader = BufReader::with_capacity(64 * 1024, CountingReader::new(file, progress));
    let mut workbook: Xlsx<_> = match Xlsx::new(reader) {
        Ok(workbook) => workbook,
        Err(e) => return fail(XlsxFailure::NotWorkbook(e.to_string())),
    };
    let sheets = workbook.sheet_names();
    let chosen = match sheet {
        Some(wanted) if sheets.contains(&wanted) => wanted,
        Some(wanted) => return fail(XlsxFailure::SheetMissing { wanted, sheets }),
        None => match sheets.first() {
            Some(first) => first.clone(),
            None => {
                return fail(XlsxFailure::NotWorkbook(
                    "the workbook has no sheets".to_string(),
                ));
            }
        },
    };
    if sender
        .send(XlsxMessage::Sheets {
            sheets,
            chosen: chosen.clone(),
        })
        .is_err()
    {
        return;
    }
    let mut cells_reader = match workbook.worksheet_cells_reader(&chosen) {
        Ok(cells_reader) => cells_reader,
        Err(e) => return fail(XlsxFailure::Read(e.to_string())),
    };
    let first_column = cells_reader.dimensions().start.1;
    let mut current_row: Option<u32> = None;
    let mut cells: Vec<(usize, String)> = Vec::new();
    let mut too_large: Option<(usize, usize)> = None;
    let flush = |row: Option<u32>,
                 cells: &mut Vec<(usize, String)>,
                 too_large: &mut Option<(usize, usize)>|
     -> bool {
        match row {
            Some(row) if !cells.is_empty() || too_large.is_some() => sender
                .send(XlsxMessage::Row {
                    row: u64::from(row) + 1,
                    cells: std::mem::take(cells),
                    too_large: too_large.take(),
                })
                .is_ok(),
            _ => true,
        }
    };
    loop {
        match cells_reader.next_cell() {
            Ok(Some(cell)) => {
                let (row, column) = cell.get_position();
                if current_row != Some(row) {
                    if !flush(current_row, &mut cells, &mut too_large) {
                        return;
                    }
                    current_row = Some(row);
                }
                let text = cell_text(cell.get_value());
                let column = column.saturating_sub(first_column) as usize;
                if text.len() > crate::source::MAX_RECORD_BYTES {
                    too_large.get_or_insert((column, text.len()));
                    cells.clear();
                } else if !text.is_empty() && too_large.is_none() {
                    cells.push((column, text));
                }
            }
            Ok(None) => {
                if flush(current_row, &mut cells, &mut too_large) {
                    let _ = sender.send(XlsxMessage::End);
                }
                return;
            }
            Err(e) => {
                let _ = flush(current_row, &mut cells, &mut too_large);
                return fail(XlsxFailure::Read(e.to_string()));
            }
        }
    }
}

/// A message when the workbook's shared-string table is larger than
/// [`MAX_SHARED_STRINGS_BYTES`] (read from the zip directory, before anything is loaded).
fn oversized_shared_strings(path: &Path) -> Option<String> {
    let file = File::open(path).ok()?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).ok()?;
    let name = archive
        .file_names()
        .find(|n| n.eq_ignore_ascii_case("xl/sharedStrings.xml"))?
        .to_owned();
    let size = archive.by_name(&name).ok()?.size();
    (size > MAX_SHARED_STRINGS_BYTES).then(|| {
        format!(
            "the workbook's table of texts is {:.0} MB, more than the {} MB Mixport reads from an Excel file (a giant cell, or a very large workbook). Save the sheet as CSV and use that file: CSV rows are read one at a time",
            size as f64 / 1e6,
            MAX_SHARED_STRINGS_BYTES / (1024 * 1024)
        )
    })
}

/// The text of an Excel cell: numbers as text (integers without `.0`), dates and times as ISO
/// `YYYY-MM-DDTHH:MM:SS` (a time of day alone as `HH:MM:SS`), booleans as `true`/`false`.
pub(crate) fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(datetime) if datetime.is_datetime() => {
            let (year, month, day, hour, minute, second, milli) = datetime.to_ymd_hms_milli();
            let time = if milli == 0 {
                format!("{hour:02}:{minute:02}:{second:02}")
            } else {
                format!("{hour:02}:{minute:02}:{second:02}.{milli:03}")
            };
            if datetime.as_f64() < 1.0 && datetime.as_f64() >= 0.0 {
                time
            } else {
                format!("{year:04}-{month:02}-{day:02}T{time}")
            }
        }
        DataRef::DateTime(duration) => float_text(duration.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn failure_error(path: &Path, failure: XlsxFailure) -> SourceError {
    match failure {
        XlsxFailure::NotWorkbook(message) => SourceError::Unrecognised {
            path: path.to_path_buf(),
            detail: format!("a zip archive that is not an Excel workbook: {message}"),
        },
        XlsxFailure::SheetMissing { wanted, sheets } => SourceError::Excel {
            path: path.to_path_buf(),
            message: format!(
                "there is no sheet named '{wanted}'. Choose one of: {}",
                sheets.join(", ")
            ),
        },
        XlsxFailure::TooLarge(message) => SourceError::Excel {
            path: path.to_path_buf(),
            message,
        },
        XlsxFailure::Read(message) => SourceError::Excel {
            path: path.to_path_buf(),
            message: format!("{message}. Open the file in Excel, save it again, and retry."),
        },
    }
}

fn stopped(path: &Path) -> SourceError {
    SourceError::Excel {
        path: path.to_path_buf(),
        message: "the workbook reader stopped unexpectedly. Save the sheet as CSV and retry."
            .to_string(),
    }
}

/// The first rows of a sheet as written.
pub(crate) struct XlsxHead {
    /// Every sheet name in the workbook.
    pub(crate) sheets: Vec<String>,
    /// The sheet read.
    pub(crate) chosen: String,
    /// Its first non-empty rows: the 1-based sheet row number and the cells' text (a row with a
    /// cell over the per-row cap has no cells).
    pub(crate) rows: Vec<(u64, Vec<String>)>,
    /// The sheet ended within these rows.
    pub(crate) complete: bool,
}

/// Read the first `max_rows` non-empty rows of `sheet` (default: the first sheet), stopping
/// early once the rows hold `max_bytes` of text.
pub(crate) fn head(
    path: &Path,
    sheet: Option<String>,
    max_rows: usize,
    max_bytes: usize,
) -> Result<XlsxHead, SourceError> {
    let receiver = spawn_reader(path, sheet, InputProgress::default());
    let (sheets, chosen) = match receiver.recv() {
        Ok(XlsxMessage::Sheets { sheets, chosen }) => (sheets, chosen),
        Ok(XlsxMessage::Failed(failure)) => return Err(failure_error(path, failure)),
        Ok(_) | Err(_) => return Err(stopped(path)),
    };
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    let mut bytes = 0usize;
    let mut complete = false;
    while rows.len() < max_rows && bytes < max_bytes {
        match receiver.recv() {
            Ok(XlsxMessage::Row {
                row,
                cells,
                too_large,
            }) => {
                let cells = if too_large.is_some() {
                    Vec::new()
                } else {
                    dense_row(cells)
                };
                bytes = bytes.saturating_add(cells.iter().map(String::len).sum::<usize>());
                rows.push((row, cells));
            }
            Ok(XlsxMessage::End) => {
                complete = true;
                break;
            }
            Ok(XlsxMessage::Failed(failure)) => return Err(failure_error(path, failure)),
            Ok(XlsxMessage::Sheets { .. }) => {}
            Err(_) => return Err(stopped(path)),
        }
    }
    Ok(XlsxHead {
        sheets,
        chosen,
        rows,
        complete,
    })
}

/// Sniff a workbook: its sheets, the header row and the column names of the chosen sheet.
pub(crate) fn sniff_xlsx(
    path: &Path,
    file_size: u64,
    options: &SourceOptions,
) -> Result<Sniff, SourceError> {
    let XlsxHead {
        sheets,
        chosen,
        rows: numbered,
        complete,
    } = head(path, options.sheet.clone(), HEAD_ROWS, usize::MAX)?;
    // The sheet row number of each non-empty row read (blank rows are not sent).
    let (numbers, rows): (Vec<u64>, Vec<Vec<String>>) = numbered.into_iter().unzip();
    if rows.is_empty() {
        return Err(empty(path, &format!("the sheet '{chosen}' has no rows")));
    }
    let mut notes = Vec::new();
    let skip = match options.header_row {
        // The first non-empty row at or below the chosen sheet row.
        Some(row) => numbers
            .iter()
            .position(|n| *n >= row as u64)
            .unwrap_or(rows.len() - 1),
        None => preamble_rows(&rows),
    };
    let header_row = numbers.get(skip).copied().unwrap_or(1);
    let timezone_hint = timezone_hint(&rows[..=skip]);
    if skip > 0 && options.header_row.is_none() {
        notes.push(format!(
            "{HEADER_ROW_NOTE}{header_row}: the row(s) above it (a title, notes) are skipped. Choose another header row if that is wrong."
        ));
    }
    let rows = &rows[skip..];
    let first = &rows[0];
    let has_header = options.has_header.unwrap_or_else(|| {
        let guess = guess_header(rows);
        if !guess {
            let example = first.iter().find(|cell| looks_like_value(cell)).cloned();
            notes.push(format!(
                "{NO_HEADER_NOTE}the first row holds values (such as '{}'), so columns are named \
                 column_1, column_2, …. Say that the first row is a header if that is wrong.",
                example.unwrap_or_default()
            ));
        }
        guess
    });
    let columns = if has_header {
        if rows.len() == 1 && complete {
            return Err(empty(
                path,
                &format!("the sheet '{chosen}' has a header row but no data rows"),
            ));
        }
        unique_column_names(first, &mut notes)
    } else {
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        (0..width).map(csv_reader::extra_column_name).collect()
    };
    Ok(Sniff {
        path: path.to_path_buf(),
        file_size,
        format: Format::Xlsx,
        compression: Compression::None,
        encoding: TextEncoding::Utf8,
        delimiter: b',',
        has_header,
        skip_rows: skip,
        header_row,
        timezone_hint,
        sheet: Some(chosen),
        sheets,
        columns,
        notes,
    })
}

fn dense_row(cells: Vec<(usize, String)>) -> Vec<String> {
    let width = cells
        .iter()
        .map(|(column, _)| column + 1)
        .max()
        .unwrap_or(0);
    let mut row = vec![String::new(); width];
    for (column, text) in cells {
        row[column] = text;
    }
    row
}

/// Streams the rows of one sheet.
pub(crate) struct XlsxRecordReader {
    receiver: Receiver<XlsxMessage>,
    path: PathBuf,
    column_count: usize,
    /// Rows still to skip: the preamble and the header.
    skip: usize,
    finished: bool,
    progress: InputProgress,
}

/// Open the sheet named in `sniff` (or the first) for streaming.
pub(crate) fn open(sniff: &Sniff) -> Result<XlsxRecordReader, SourceError> {
    super::input::check_path(&sniff.path)?;
    let progress = InputProgress::default();
    let receiver = spawn_reader(&sniff.path, sniff.sheet.clone(), progress.clone());
    Ok(XlsxRecordReader {
        receiver,
        path: sniff.path.clone(),
        column_count: sniff.columns.len(),
        skip: sniff.skip_rows + usize::from(sniff.has_header),
        finished: false,
        progress,
    })
}

impl RecordReader for XlsxRecordReader {
    fn read_into(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        if self.finished {
            return Ok(false);
        }
        loop {
            match self.receiver.recv() {
                Ok(XlsxMessage::Sheets { .. }) => {}
                Ok(XlsxMessage::Row {
                    row,
                    cells,
                    too_large,
                }) => {
                    if self.skip > 0 {
                        self.skip -= 1;
                        continue;
                    }
                    self.fill(record, row, cells);
                    if let Some((column, bytes)) = too_large {
                        record.ragged = None;
                        record.error = Some(format!(
                            "the cell in column {} is {:.1} MB, more than the {} MB a row may have: the row was skipped",
                            column + 1,
                            bytes as f64 / 1e6,
                            crate::source::MAX_RECORD_BYTES / (1024 * 1024)
                        ));
                    }
                    return Ok(true);
                }
                Ok(XlsxMessage::End) => {
                    self.finished = true;
                    return Ok(false);
                }
                Ok(XlsxMessage::Failed(failure)) => {
                    self.finished = true;
                    return Err(failure_error(&self.path, failure));
                }
                Err(_) => {
                    self.finished = true;
                    return Err(stopped(&self.path));
                }
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        self.progress.bytes_read()
    }
}

impl XlsxRecordReader {
    fn fill(&self, record: &mut Record, row: u64, cells: Vec<(usize, String)>) {
        record.row = row;
        record.byte_offset = 0;
        record.error = None;
        record.extra.clear();
        record.cells.resize(self.column_count, Cell::Missing);
        for cell in &mut record.cells {
            match cell {
                Cell::Text(text) => text.clear(),
                other => *other = Cell::Text(String::new()),
            }
        }
        let mut width = 0;
        for (column, text) in cells {
            width = width.max(column + 1);
            match record.cells.get_mut(column) {
                Some(cell) => *cell = Cell::Text(text),
                None => record
                    .extra
                    .push((csv_reader::extra_column_name(column), Cell::Text(text))),
            }
        }
        record.ragged = (width > self.column_count).then_some(width);
    }
}
