//! Streaming delimited text (CSV, TSV, semicolon, pipe) into [`Record`]s.

use std::io::{Cursor, Read};

use super::csv_guard::{CsvGuard, Marker};
use super::input::InputContext;
use super::{Cell, Record, RecordReader, SourceError};

/// Buffer size of the CSV parser.
const CSV_BUFFER_BYTES: usize = 256 * 1024;

/// The `csv` builder shared by sniffing and streaming: no header handling (we do our own),
/// flexible field counts (ragged rows are reported, not fatal), standard double quotes.
pub(crate) fn csv_builder(delimiter: u8) -> csv::ReaderBuilder {
    let mut builder = csv::ReaderBuilder::new();
    builder
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(CSV_BUFFER_BYTES);
    builder
}

/// Set `cell` to the text of `field`, reusing the cell's `String` when it already holds one.
/// Bytes that are not valid UTF-8 make the cell [`Cell::InvalidUtf8`].
#[inline]
pub(crate) fn set_text_cell(cell: &mut Cell, field: &[u8]) {
    match std::str::from_utf8(field) {
        Ok(text) => {
            if let Cell::Text(existing) = cell {
                existing.clear();
                existing.push_str(text);
            } else {
                *cell = Cell::Text(text.to_owned());
            }
        }
        Err(_) => *cell = Cell::InvalidUtf8(String::from_utf8_lossy(field).into_owned()),
    }
}

/// The name given to a cell beyond the header in a long ragged row (0-based `index`).
pub(crate) fn extra_column_name(index: usize) -> String {
    format!("column_{}", index + 1)
}

/// Streams records of a delimited text file (already decoded to UTF-8 except for bad bytes).
pub(crate) struct CsvRecordReader {
    reader: csv::Reader<Box<dyn Read + Send>>,
    fields: csv::ByteRecord,
    column_count: usize,
    /// Row number of the next record.
    next_row: u64,
    /// The `csv` crate reports the start of a record that follows a CRLF one byte early (at the
    /// `\n`); this is the correction, 1 for CRLF files once the first record has been read.
    offset_correction: u64,
    crlf: bool,
    context: InputContext,
}

impl CsvRecordReader {
    /// Start reading `text` (UTF-8 bytes after any BOM). The first `skip_rows` records (a
    /// title, notes) are skipped; then, when `has_header`, the header record is skipped too (the
    /// sniffed column names are used). Rows keep their numbers in the file: data after a header
    /// on row 1 starts at row 2.
    pub(crate) fn new(
        text: Box<dyn Read + Send>,
        delimiter: u8,
        skip_rows: usize,
        has_header: bool,
        column_count: usize,
        context: InputContext,
    ) -> Result<Self, SourceError> {
        // Look at the start of the text to learn the line terminator, then put it back.
        let mut start = Vec::with_capacity(64 * 1024);
        let mut text = text;
        (&mut text)
            .take(64 * 1024)
            .read_to_end(&mut start)
            .map_err(|e| context.io_error(e, 0))?;
        let crlf = memchr::memchr(b'\n', &start).is_some_and(|i| i > 0 && start[i - 1] == b'\r');
        let text: Box<dyn Read + Send> =
            Box::new(CsvGuard::new(Cursor::new(start).chain(text), delimiter));
        let mut reader = csv_builder(delimiter).from_reader(text);
        let mut fields = csv::ByteRecord::new();
        let mut next_row = 1;
        let mut offset_correction = 0;
        for _ in 0..skip_rows + usize::from(has_header) {
            if !reader
                .read_byte_record(&mut fields)
                .map_err(|e| csv_error(&context, e, next_row - 1))?
            {
                break;
            }
            next_row += 1;
            offset_correction = u64::from(crlf);
        }
        Ok(CsvRecordReader {
            reader,
            fields,
            column_count,
            next_row,
            offset_correction,
            crlf,
            context,
        })
    }
}

fn csv_error(context: &InputContext, error: csv::Error, last_row: u64) -> SourceError {
    let position = error.position().cloned();
    match error.into_kind() {
        csv::ErrorKind::Io(e) => context.io_error(e, last_row),
        other => SourceError::Syntax {
            path: context.path.clone(),
            row: last_row + 1,
            byte_offset: position.map_or(0, |p| p.byte()),
            message: format!("{other:?}. Check the file's quoting and delimiter."),
        },
    }
}

impl RecordReader for CsvRecordReader {
    fn read_into(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        match self.reader.read_byte_record(&mut self.fields) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => return Err(csv_error(&self.context, e, self.next_row.saturating_sub(1))),
        }
        record.row = self.next_row;
        self.next_row += 1;
        record.byte_offset =
            self.fields.position().map_or(0, |p| p.byte()) + self.offset_correction;
        self.offset_correction = u64::from(self.crlf);
        record.error = None;
        record.extra.clear();
        if self.fields.len() == 1
            && let Some(marker) = self.fields.get(0).and_then(Marker::decode)
        {
            // A row too large to keep, or an unclosed quote: the row is invalid, reading goes on.
            record.ragged = None;
            record.cells.clear();
            record.cells.resize(self.column_count, Cell::Missing);
            record.error = Some(marker.message());
            return Ok(true);
        }
        if memchr::memchr(0, self.fields.as_slice()).is_some() {
            // A NUL byte is binary data, not text: only this row is refused.
            record.ragged = None;
            record.cells.clear();
            record.cells.resize(self.column_count, Cell::Missing);
            record.error = Some(
                "this row holds a NUL byte (binary data), which no event may contain".to_owned(),
            );
            return Ok(true);
        }
        let field_count = self.fields.len();
        record.ragged = (field_count != self.column_count).then_some(field_count);
        record.cells.resize(self.column_count, Cell::Missing);
        for (index, field) in self.fields.iter().enumerate() {
            if let Some(cell) = record.cells.get_mut(index) {
                set_text_cell(cell, field);
            } else {
                let mut cell = Cell::Missing;
                set_text_cell(&mut cell, field);
                record.extra.push((extra_column_name(index), cell));
            }
        }
        for cell in record.cells.iter_mut().skip(field_count) {
            *cell = Cell::Missing;
        }
        Ok(true)
    }

    fn bytes_read(&self) -> u64 {
        self.context.progress.bytes_read()
    }
}
