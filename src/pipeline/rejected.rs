//! `REJECTED.csv`: the rows Mixpanel would refuse (or did), ready to fix and re-import.
//!
//! The file has the original columns (the source's original cell text; non-string JSON values
//! as compact JSON) followed by `_row` (the 1-based source row), `_field` (the Mixpanel field of
//! the first problem, e.g. `properties.time`), `_reason` (every reason, joined with `"; "`) and
//! `_origin` (who refused the row: [`RejectionOrigin`]). One line per rejected row. The check
//! writes local rejections; the import uses the same writer for Mixpanel's own rejections
//! through [`RejectedWriter::write_cells`]. [`read_rejected`] reads the first rows back.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::output::AtomicFile;
use crate::source::{Cell, Record};
use crate::validate::{Issue, Severity};

use super::PipelineError;

/// The extra columns appended after the original ones.
pub const REJECTED_EXTRA_COLUMNS: [&str; 4] = ["_row", "_field", "_reason", "_origin"];

/// Who refused a row: written in the `_origin` column, so nobody has to guess from the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectionOrigin {
    /// Our check (Mixpanel's rules applied locally): the row was never sent.
    Check,
    /// Mixpanel refused the event.
    Mixpanel,
    /// The event could not be delivered after every retry: it can be sent again.
    NotDelivered,
    /// Mixpanel accepted the event but its export does not show it (a verification).
    NotFound,
}

impl RejectionOrigin {
    /// The value of the `_origin` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionOrigin::Check => "check",
            RejectionOrigin::Mixpanel => "mixpanel",
            RejectionOrigin::NotDelivered => "not_delivered",
            RejectionOrigin::NotFound => "not_found",
        }
    }

    /// Read an `_origin` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "check" => Some(RejectionOrigin::Check),
            "mixpanel" => Some(RejectionOrigin::Mixpanel),
            "not_delivered" => Some(RejectionOrigin::NotDelivered),
            "not_found" => Some(RejectionOrigin::NotFound),
            _ => None,
        }
    }
}

/// One rejected row read back from a rejected-rows file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// The source row (1-based).
    pub row: u64,
    /// The Mixpanel field at fault (`event`, `properties.time`, ...), empty when unknown.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// Who refused it.
    pub origin: RejectionOrigin,
    /// The original values, one per source column.
    pub values: Vec<String>,
}

/// Read back the first `limit` rows of a rejected-rows file. Memory is bounded by `limit`
/// whatever the file's size. A file without the `_origin` column (an older version) reads as
/// refused by the check.
pub fn read_rejected(path: &Path, limit: usize) -> Result<Vec<RejectedRow>, PipelineError> {
    let io = |source| PipelineError::Output {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let has_origin = reader
        .headers()
        .map(|h| h.iter().next_back() == Some("_origin"))
        .unwrap_or(false);
    let extra = if has_origin { 4 } else { 3 };
    let mut out = Vec::new();
    for record in reader.records().take(limit) {
        let record = record.map_err(|e| io(std::io::Error::other(e.to_string())))?;
        let n = record.len();
        if n < extra {
            continue;
        }
        let at = |i: usize| record.get(n - extra + i).unwrap_or_default();
        out.push(RejectedRow {
            row: at(0).parse().unwrap_or(0),
            field: at(1).to_owned(),
            message: at(2).to_owned(),
            origin: if has_origin {
                RejectionOrigin::parse(at(3)).unwrap_or(RejectionOrigin::Check)
            } else {
                RejectionOrigin::Check
            },
            values: record.iter().take(n - extra).map(str::to_owned).collect(),
        });
    }
    Ok(out)
}

/// Writes `REJECTED.csv` through a temporary file beside it: the file appears (or replaces an
/// older one) only when [`RejectedWriter::finish`] succeeds, so a failed run never leaves a torn
/// file and never truncates the old one.
pub struct RejectedWriter {
    path: PathBuf,
    writer: csv::Writer<BufWriter<AtomicFile>>,
    columns: usize,
    rows_written: u64,
    /// Reused cell texts.
    cells: Vec<String>,
}

impl std::fmt::Debug for RejectedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RejectedWriter")
            .field("path", &self.path)
            .field("rows_written", &self.rows_written)
            .finish()
    }
}

/// The original text of a cell as it goes into `REJECTED.csv`.
pub fn cell_original_text(cell: &Cell, out: &mut String) {
    out.clear();
    match cell {
        Cell::Missing => {}
        Cell::Text(s) | Cell::InvalidUtf8(s) => out.push_str(s),
        Cell::Json(serde_json::Value::String(s)) => out.push_str(s),
        Cell::Json(serde_json::Value::Null) => {}
        Cell::Json(v) => {
            use std::fmt::Write;
            let _ = write!(out, "{v}");
        }
    }
}

impl RejectedWriter {
    /// Start writing `path` (replaced when [`Self::finish`] succeeds) with the header: `columns`
    /// then `_row,_field,_reason`.
    pub fn create(path: &Path, columns: &[String]) -> Result<Self, PipelineError> {
        let file = AtomicFile::create(path).map_err(|source| PipelineError::Output {
            path: path.to_path_buf(),
            source,
        })?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        let header = columns
            .iter()
            .map(String::as_str)
            .chain(REJECTED_EXTRA_COLUMNS);
        writer
            .write_record(header)
            .map_err(|e| csv_error(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
            columns: columns.len(),
            rows_written: 0,
            cells: Vec::new(),
        })
    }

    /// Write one rejected row from its original cell texts (one per column; missing ones are
    /// written empty, extra ones dropped), its source row, the Mixpanel field, the reason and
    /// who refused it. This is the entry point for Mixpanel's server-side rejections.
    pub fn write_cells<S: AsRef<str>>(
        &mut self,
        row: u64,
        cells: &[S],
        field: &str,
        reason: &str,
        origin: RejectionOrigin,
    ) -> Result<(), PipelineError> {
        let row_text = row.to_string();
        let result = {
            let originals = (0..self.columns).map(|i| cells.get(i).map_or("", |c| c.as_ref()));
            self.writer.write_record(
                originals
                    .chain([row_text.as_str(), field, reason, origin.as_str()])
                    .map(str::as_bytes),
            )
        };
        result.map_err(|e| csv_error(&self.path, e))?;
        self.rows_written += 1;
        Ok(())
    }

    /// Write a record rejected locally: the first error's field in `_field`, every error's
    /// message joined with `"; "` in `_reason`. Warnings are left out.
    pub fn write_record(&mut self, record: &Record, issues: &[Issue]) -> Result<(), PipelineError> {
        let mut field = "";
        let mut reason = String::new();
        for issue in issues.iter().filter(|i| i.severity() == Severity::Error) {
            if field.is_empty() {
                field = &issue.field;
            }
            if !reason.is_empty() {
                reason.push_str("; ");
            }
            reason.push_str(&issue.message);
        }
        let mut cells = std::mem::take(&mut self.cells);
        cells.resize_with(record.cells.len().max(cells.len()), String::new);
        for (text, cell) in cells.iter_mut().zip(&record.cells) {
            cell_original_text(cell, text);
        }
        let result = self.write_cells(
            record.row,
            &cells[..record.cells.len()],
            field,
            &reason,
            RejectionOrigin::Check,
        );
        self.cells = cells;
        result
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush everything to disk and put the file in place.
    pub fn finish(self) -> Result<u64, PipelineError> {
        let io = |source| PipelineError::Output {
            path: self.path.clone(),
            source,
        };
        let buffered = self.writer.into_inner().map_err(|e| io(e.into_error()))?;
        let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
        file.commit().map_err(io)?;
        Ok(self.rows_written)
    }
}

fn csv_error(path: &Path, error: csv::Error) -> PipelineError {
    let source = match error.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    };
    PipelineError::Output {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::IssueKind;

    fn issue(kind: IssueKind, field: &str, message: &str) -> Issue {
        Issue {
            kind,
            field: field.to_owned(),
            column: None,
            row: 7,
            message: message.to_owned(),
        }
    }

    #[test]
    fn writes_original_cells_row_field_and_joined_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("REJECTED.csv");
        let columns = vec!["event".to_owned(), "n".to_owned(), "note".to_owned()];
        let mut writer = RejectedWriter::create(&path, &columns).unwrap();
        let record = Record {
            row: 7,
            cells: vec![
                Cell::Text("Buy, now".into()),
                Cell::Json(serde_json::json!([1, 2])),
                Cell::Missing,
            ],
            ..Record::default()
        };
        let issues = vec![
            issue(
                IssueKind::UnknownCountry,
                "properties.mp_country_code",
                "warn",
            ),
            issue(IssueKind::MissingTime, "properties.time", "time is empty"),
            issue(
                IssueKind::MissingUserId,
                "properties.distinct_id",
                "user is empty",
            ),
        ];
        writer.write_record(&record, &issues).unwrap();
        writer
            .write_cells(
                9,
                &["a", "b", "c"],
                "properties.time",
                "must not be in the future",
                RejectionOrigin::Mixpanel,
            )
            .unwrap();
        assert_eq!(writer.finish().unwrap(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "event,n,note,_row,_field,_reason,_origin\n\
             \"Buy, now\",\"[1,2]\",,7,properties.time,time is empty; user is empty,check\n\
             a,b,c,9,properties.time,must not be in the future,mixpanel\n"
        );
        let back = read_rejected(&path, 10).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].row, 7);
        assert_eq!(back[0].origin, RejectionOrigin::Check);
        assert_eq!(back[0].values, vec!["Buy, now", "[1,2]", ""]);
        assert_eq!(back[1].origin, RejectionOrigin::Mixpanel);
        assert_eq!(back[1].message, "must not be in the future");
        assert_eq!(read_rejected(&path, 1).unwrap().len(), 1);
    }

    #[test]
    fn unwritable_path_is_an_output_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a-file"), "x").unwrap();
        let path = dir.path().join("a-file").join("r.csv");
        let err = RejectedWriter::create(&path, &[]).unwrap_err();
        assert!(matches!(err, PipelineError::Output { .. }));
    }
}
