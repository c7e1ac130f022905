//! When: the event time, parsed in the source zone, and Mixpanel's time rules.

use crate::mapping::time::{TimeError, format_iso_utc};
use crate::source::{Cell, Record};
use crate::validate::{self, Issue, IssueKind};

use super::cells::{push_invalid_utf8, shorten};
use super::{Transformed, Transformer};

impl Transformer {
    /// Read the time into `out.time_ms` and report what Mixpanel would say about it.
    pub(super) fn read_time(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        let column = &self.time_column;
        let parsed: Result<i64, (IssueKind, String)> = match record.cells.get(self.time_index) {
            None | Some(Cell::Missing) => Err((IssueKind::MissingTime, String::new())),
            Some(Cell::Text(s)) if s.trim().is_empty() => {
                Err((IssueKind::MissingTime, String::new()))
            }
            Some(Cell::Text(s)) => self
                .time
                .parse_text(s.trim())
                .map_err(|e| time_error(e, s, column)),
            Some(Cell::InvalidUtf8(_)) => {
                push_invalid_utf8(out, row, "properties.time", column);
                return;
            }
            Some(Cell::Json(v)) if v.is_null() => Err((IssueKind::MissingTime, String::new())),
            Some(Cell::Json(v)) => self
                .time
                .parse_json(v)
                .map_err(|e| time_error(e, &v.to_string(), column)),
        };
        let ms = match parsed {
            Ok(ms) => ms,
            Err((IssueKind::MissingTime, _)) => {
                let message = format!(
                    "row {row}: the time (column '{column}') is empty. Every event needs a time: fill it in or remove the row."
                );
                out.issues
                    .push(time_issue(IssueKind::MissingTime, row, column, message));
                return;
            }
            Err((kind, message)) => {
                let message = format!("row {row}: {message}");
                out.issues.push(time_issue(kind, row, column, message));
                return;
            }
        };
        out.time_ms = ms;
        let retention_days = self.options.retention_days;
        let Some(kind) = validate::time_rule(ms, self.options.now_ms, retention_days) else {
            return;
        };
        let message = match kind {
            IssueKind::TimeTooOld => format!(
                "row {row}: the time {} (column '{column}') is before 1971-01-01, which Mixpanel refuses. Check the value and the column's time format.",
                format_iso_utc(ms)
            ),
            IssueKind::TimeInFuture => format!(
                "row {row}: the time {} (column '{column}') is more than 1 hour in the future. Check the value and the source time zone.",
                format_iso_utc(ms)
            ),
            _ => format!(
                "row {row}: the time {} is older than the project's retention window ({retention_days} days); Mixpanel will purge it.",
                format_iso_utc(ms),
            ),
        };
        out.issues.push(time_issue(kind, row, column, message));
    }
}

fn time_issue(kind: IssueKind, row: u64, column: &str, message: String) -> Issue {
    Issue {
        kind,
        field: "properties.time".to_owned(),
        column: Some(column.to_owned()),
        row,
        message,
    }
}

fn time_error(error: TimeError, value: &str, column: &str) -> (IssueKind, String) {
    match error {
        TimeError::Empty => (IssueKind::MissingTime, String::new()),
        other => (
            IssueKind::UnparsableTime,
            format!(
                "time '{}' (column '{column}') cannot be read: {other}. Use a format such as 2024-03-05T14:07:00Z, 2024-03-05 14:07:00 or epoch seconds, or choose the column's time format (and the day/month order for dates like 03/04/2024).",
                shorten(value)
            ),
        ),
    }
}
