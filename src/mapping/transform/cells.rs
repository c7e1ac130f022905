//! Reading cells as text, and the issue messages shared by every section.

use crate::mapping::typing::PropertyType;
use crate::source::Cell;
use crate::validate::{self, Issue, IssueKind};

use super::Transformed;

/// A cell read as text.
pub(super) enum CellText<'a> {
    Empty,
    Text(&'a str),
    Invalid,
}

/// Read a cell as text: strings as they are, other JSON values in their compact JSON form (in
/// `scratch`), `null` and missing cells as empty.
pub(super) fn cell_text<'a>(cell: Option<&'a Cell>, scratch: &'a mut String) -> CellText<'a> {
    match cell {
        None | Some(Cell::Missing) => CellText::Empty,
        Some(Cell::Text(s)) if s.is_empty() => CellText::Empty,
        Some(Cell::Text(s)) => CellText::Text(s),
        Some(Cell::InvalidUtf8(_)) => CellText::Invalid,
        Some(Cell::Json(serde_json::Value::Null)) => CellText::Empty,
        Some(Cell::Json(serde_json::Value::String(s))) => CellText::Text(s),
        Some(Cell::Json(v)) => {
            scratch.clear();
            use std::fmt::Write;
            let _ = write!(scratch, "{v}");
            CellText::Text(scratch)
        }
    }
}

pub(super) fn push_invalid_utf8(out: &mut Transformed, row: u64, field: &str, column: &str) {
    out.issues.push(Issue {
        kind: IssueKind::InvalidUtf8,
        field: field.to_owned(),
        column: Some(column.to_owned()),
        row,
        message: format!(
            "row {row}: column '{column}' has bytes that are not valid UTF-8. Save the file as UTF-8, or read it with its real encoding (for example Windows-1252)."
        ),
    });
}

pub(super) fn push_long_name(out: &mut Transformed, row: u64, name: &str, column: Option<&str>) {
    out.issues.push(Issue {
        kind: IssueKind::PropertyNameTooLong,
        field: format!("properties.{}", shorten(name)),
        column: column.map(str::to_owned),
        row,
        message: format!(
            "row {row}: property name '{}' is longer than 255 characters. Rename the column in the mapping.",
            shorten(name)
        ),
    });
}

pub(super) fn check_long_string(
    out: &mut Transformed,
    row: u64,
    name: &str,
    column: Option<&str>,
    s: &str,
) {
    if validate::is_truncated_string(s) {
        let chars = s.chars().count();
        out.issues.push(Issue {
            kind: IssueKind::StringTruncated,
            field: format!("properties.{name}"),
            column: column.map(str::to_owned),
            row,
            message: format!(
                "row {row}: '{}' ({chars} characters) is longer than 255 characters; Mixpanel keeps the first 255.",
                shorten(s)
            ),
        });
    }
}

pub(super) fn type_name(kind: PropertyType) -> &'static str {
    match kind {
        PropertyType::Text => "text",
        PropertyType::Number => "number",
        PropertyType::Boolean => "boolean (true/false)",
        PropertyType::Date => "date",
        PropertyType::List => "list",
    }
}

/// At most 60 characters of a value, for messages.
pub(super) fn shorten(value: &str) -> String {
    if value.chars().count() <= 60 {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(57).collect();
        s.push_str("...");
        s
    }
}

/// Format an integer into `buf` without allocating.
pub(super) fn itoa_i64(value: i64, buf: &mut [u8; 20]) -> &[u8] {
    let negative = value < 0;
    let mut n = value.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}
