//! The rest of the event: included columns (typed), extra JSON keys, constants, and the
//! per-event limits.

use crate::mapping::typing::{
    DecimalSeparator, PropertyType, write_json_string, write_number_with, write_typed,
};
use crate::source::{Cell, Record};
use crate::validate::{self, Issue, IssueKind, JsonShape};

use super::cells::{check_long_string, push_invalid_utf8, push_long_name, shorten, type_name};
use super::resolve::property_key;
use super::{Transformed, Transformer};

impl Transformer {
    /// Write every included column. Returns the number of properties written.
    pub(super) fn write_columns(&mut self, record: &Record, out: &mut Transformed) -> usize {
        let row = record.row;
        let mut count = 0;
        for spec in &self.properties {
            let Some(cell) = record.cells.get(spec.index) else {
                continue;
            };
            let target = Target {
                key: &spec.key,
                name: &spec.name,
                column: &spec.column,
                kind: spec.kind,
                decimal: spec.decimal,
                currency_key: spec.currency_key.as_deref(),
            };
            let written = write_cell(&target, row, cell, out);
            if written > 0 {
                count += written;
                if spec.name_too_long {
                    push_long_name(out, row, &spec.name, Some(&spec.column));
                }
            }
        }
        count
    }

    /// Write the record's extra keys (JSON keys beyond the sniffed columns), as they are.
    /// Returns the number of properties written.
    pub(super) fn write_extras(&mut self, record: &Record, out: &mut Transformed) -> usize {
        let row = record.row;
        let mut count = 0;
        for (name, cell) in &record.extra {
            if self.property_names.contains(name) {
                continue;
            }
            if validate::is_reserved_name(name) {
                out.issues.push(Issue {
                    kind: IssueKind::ReservedName,
                    field: format!("properties.{name}"),
                    column: Some(name.clone()),
                    row,
                    message: format!(
                        "row {row}: key '{name}' is a name Mixpanel reserves (it can hide or drop events); it is not sent."
                    ),
                });
                continue;
            }
            let target = Target {
                key: &property_key(name),
                name,
                column: name,
                kind: PropertyType::Text,
                decimal: DecimalSeparator::Point,
                currency_key: None,
            };
            let written = write_cell(&target, row, cell, out);
            if written > 0 {
                count += written;
                if name.chars().count() > validate::MAX_STRING_CHARS {
                    push_long_name(out, row, name, Some(name));
                }
            }
        }
        count
    }

    /// Write the constant properties and close the event. Returns the number written.
    pub(super) fn write_constants(&self, out: &mut Transformed) -> usize {
        out.json.extend_from_slice(&self.constants_json);
        out.json.extend_from_slice(b"}}");
        self.constants_count
    }
}

/// Where one cell goes: its pre-escaped key, property name, source column and type.
struct Target<'a> {
    /// `,"name":`.
    key: &'a [u8],
    name: &'a str,
    column: &'a str,
    kind: PropertyType,
    decimal: DecimalSeparator,
    /// `,"currency":` when a number's currency is sent as its own property.
    currency_key: Option<&'a [u8]>,
}

/// Write one cell as a property (empty cells, `null`s and missing cells are left out). Returns
/// how many properties were written (2 when a number's currency is sent beside it).
fn write_cell(target: &Target<'_>, row: u64, cell: &Cell, out: &mut Transformed) -> usize {
    match cell {
        Cell::Missing => 0,
        Cell::Text(s) if s.is_empty() => 0,
        Cell::Text(s) => {
            out.json.extend_from_slice(target.key);
            1 + write_text_cell(target, row, s, out)
        }
        Cell::InvalidUtf8(_) => {
            let field = format!("properties.{}", target.name);
            push_invalid_utf8(out, row, &field, target.column);
            0
        }
        Cell::Json(value) if value.is_null() => 0,
        // A JSON number or boolean keeps its type unless the user gave the column another
        // one (Text, the default for JSON files, means "as the JSON has it"): then it is
        // converted like text (an epoch number typed Date becomes a date).
        Cell::Json(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)))
            if !matches!(
                (target.kind, value),
                (PropertyType::Text, _) | (PropertyType::Number, serde_json::Value::Number(_))
            ) =>
        {
            out.json.extend_from_slice(target.key);
            1 + write_text_cell(target, row, &value.to_string(), out)
        }
        Cell::Json(value) => {
            out.json.extend_from_slice(target.key);
            write_json_value(out, row, target.name, Some(target.column), value);
            1
        }
    }
}

/// Write a non-empty text cell typed as its column says; a value that does not fit the type is
/// sent as text with a warning. Returns how many extra properties were written (a currency).
fn write_text_cell(spec: &Target<'_>, row: u64, s: &str, out: &mut Transformed) -> usize {
    match spec.kind {
        PropertyType::Text => {
            write_json_string(s, &mut out.json);
            if s.len() > validate::MAX_STRING_CHARS {
                check_long_string(out, row, spec.name, Some(spec.column), s);
            }
            return 0;
        }
        PropertyType::Number => {
            if let Some(currency) = write_number_with(s, spec.decimal, &mut out.json) {
                return match (currency, spec.currency_key) {
                    (Some(code), Some(key)) => {
                        out.json.extend_from_slice(key);
                        write_json_string(code, &mut out.json);
                        1
                    }
                    _ => 0,
                };
            }
        }
        _ => {
            if write_typed(s, spec.kind, &mut out.json).is_ok() {
                return 0;
            }
        }
    }
    write_json_string(s, &mut out.json);
    out.issues.push(Issue {
        kind: IssueKind::TypeMismatch,
        field: format!("properties.{}", spec.name),
        column: Some(spec.column.to_owned()),
        row,
        message: format!(
            "row {row}: '{}' in column '{}' is not a {}; sent as text. Fix the value or change the column's type.",
            shorten(s),
            spec.column,
            type_name(spec.kind)
        ),
    });
    if s.len() > validate::MAX_STRING_CHARS {
        check_long_string(out, row, spec.name, Some(spec.column), s);
    }
    0
}

/// Write a non-string JSON value as it is, checking Mixpanel's nesting and list limits.
fn write_json_value(
    out: &mut Transformed,
    row: u64,
    name: &str,
    column: Option<&str>,
    value: &serde_json::Value,
) {
    // ok: serializing a Value into a Vec cannot fail.
    serde_json::to_writer(&mut out.json, value).expect("ok: Value to Vec never fails");
    if !matches!(
        value,
        serde_json::Value::Array(_) | serde_json::Value::Object(_)
    ) {
        return;
    }
    let shape = JsonShape::of(value);
    let field = format!("properties.{name}");
    if shape.too_deep() {
        out.issues.push(Issue {
            kind: IssueKind::NestingTooDeep,
            field: field.clone(),
            column: column.map(str::to_owned),
            row,
            message: format!(
                "row {row}: '{name}' nests objects {} levels deep; Mixpanel accepts at most {}. Flatten the value.",
                shape.depth,
                validate::MAX_NESTING_DEPTH
            ),
        });
    }
    if shape.list_too_long() {
        out.issues.push(Issue {
            kind: IssueKind::ListTooLong,
            field: field.clone(),
            column: column.map(str::to_owned),
            row,
            message: format!(
                "row {row}: '{name}' has a list of {} items; Mixpanel accepts fewer than {}. Shorten the list.",
                shape.longest_list,
                validate::MAX_LIST_ITEMS
            ),
        });
    }
    if shape.long_string {
        out.issues.push(Issue {
            kind: IssueKind::StringTruncated,
            field,
            column: column.map(str::to_owned),
            row,
            message: format!(
                "row {row}: '{name}' holds text longer than 255 characters; Mixpanel keeps the first 255."
            ),
        });
    }
}

/// The whole event against Mixpanel's per-event limits: property count and JSON size.
pub(super) fn check_event_limits(row: u64, count: usize, out: &mut Transformed) {
    if count >= validate::MAX_PROPERTIES {
        out.issues.push(Issue {
            kind: IssueKind::TooManyProperties,
            field: "properties".to_owned(),
            column: None,
            row,
            message: format!(
                "row {row}: the event has {count} properties; Mixpanel accepts at most {}. Exclude some columns in the mapping.",
                validate::MAX_PROPERTIES - 1
            ),
        });
    }
    if out.json.len() >= validate::MAX_EVENT_BYTES {
        out.issues.push(Issue {
            kind: IssueKind::EventTooLarge,
            field: "properties".to_owned(),
            column: None,
            row,
            message: format!(
                "row {row}: the event is {} bytes of JSON; Mixpanel accepts less than 1 MB. Exclude or shorten large columns.",
                out.json.len()
            ),
        });
    }
}
