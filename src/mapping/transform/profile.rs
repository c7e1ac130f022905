//! The profile transform: a source record → the exact `/engage` records of one user profile,
//! plus its issues.
//!
//! [`ProfileTransformer::transform`] is the one function both `check` and `import` call for a
//! profile import (as [`super::Transformer::transform`] is for events), so the dry run predicts
//! exactly what the import sends and what Mixpanel accepts.
//!
//! # The records
//!
//! `{"$distinct_id":ID,"$set":{"$email":..,"$name":..,"$first_name":..,"$last_name":..,
//! "$phone":..,"$avatar":..,"$created":"YYYY-MM-DDTHH:MM:SS","$country_code":"DE","$city":..,
//! "$region":.., <custom properties>, <extra JSON keys>, <constants>}}` (`$set_once` instead of
//! `$set` when chosen). With [`crate::mapping::ProfileMapping::unset_empty`], a second line
//! `{"$distinct_id":ID,"$unset":[..]}` names the mapped properties whose cell is empty (the file
//! says they have no value); otherwise empty cells are left out and the profile keeps its
//! value. When there is nothing to set but something to clear, only the `$unset` line is
//! written. Mixpanel takes one operation per record, in order; the client adds the project's
//! `$token` to each record when sending.
//!
//! # Rules (shared API doc §10)
//!
//! Errors (the row is not sent): an empty or unreadable ID (a profile is never created
//! without the user's ID column), a placeholder ID (`anonymous`, `null`, `0`, ... as for
//! events), a `$created` that cannot be read, text that is not UTF-8, a property name over 255
//! characters, a list value over 256 KB, a record of 1 MB or more, a row that cannot be read.
//! Warnings (sent): text over 255 characters (Mixpanel keeps 255), an unknown country (sent
//! without `$country_code`), a value that does not fit its column's type (sent as text), an
//! `$email` without `@`, a short or long row. Duplicate IDs are found by the check, which sees
//! the whole file.

use std::collections::HashSet;

use crate::mapping::time::{TimeParser, write_iso_utc};
use crate::mapping::typing::PropertyType;
use crate::mapping::{
    ImportKind, Mapping, MappingError, ProfileOperation, RequiredField, TimeMapping,
};
use crate::source::{Cell, Record};
use crate::validate::{self, Issue, IssueKind};

use crate::mapping::typing::{write_json_string, write_typed};

use super::{
    CellText, CountryLookup, CountrySpec, TransformOptions, Transformed, cell_text,
    check_long_string, find_column, find_optional, mapping_warning, property_key,
    push_invalid_utf8, push_long_name, shorten, type_name,
};

/// The reserved profile properties a column can be mapped to, in the order they are written.
pub const PROFILE_FIELD_NAMES: &[&str] = &[
    "$email",
    "$name",
    "$first_name",
    "$last_name",
    "$phone",
    "$avatar",
    "$created",
    "$country_code",
    "$city",
    "$region",
];

/// One mapped text property (`$email`, `$name`, `$city`, ...), resolved.
#[derive(Debug)]
struct TextField {
    index: usize,
    column: String,
    name: &'static str,
    /// `,"$name":`.
    key: Vec<u8>,
}

/// One included custom column, resolved.
#[derive(Debug)]
struct CustomProperty {
    index: usize,
    column: String,
    name: String,
    key: Vec<u8>,
    kind: PropertyType,
    name_too_long: bool,
}

/// `$created`, resolved.
#[derive(Debug)]
struct CreatedField {
    index: usize,
    column: String,
    parser: TimeParser,
}

/// A profile mapping resolved against one file's columns. Build once per run, then call
/// [`Self::transform`] per record.
#[derive(Debug)]
pub struct ProfileTransformer {
    columns: Vec<String>,
    id_index: usize,
    operation: ProfileOperation,
    unset_empty: bool,
    texts: Vec<TextField>,
    created: Option<CreatedField>,
    country: Option<CountrySpec>,
    properties: Vec<CustomProperty>,
    /// Every property name sent from fields, columns and constants (extras with these names
    /// are not sent again).
    property_names: HashSet<String>,
    /// `,"k":v` for every constant.
    constants_json: Vec<u8>,
    mapping_issues: Vec<Issue>,
    /// `,"k":v` of the row being written.
    body: Vec<u8>,
    /// `,"name"` of each property to clear.
    unset: Vec<u8>,
    scratch: String,
}

impl ProfileTransformer {
    /// Resolve `mapping` (of kind profiles) against `columns`. Fails when the ID column is not
    /// mapped (Mixport never creates a profile without it), when a mapped column is not in the
    /// file, or on an unknown time zone, a bad time pattern or a country override that is not
    /// an alpha-2 code. `options` is accepted for symmetry with the event transform (profiles
    /// carry no event time).
    pub fn new(
        mapping: &Mapping,
        columns: &[String],
        _options: TransformOptions,
    ) -> Result<Self, MappingError> {
        let profile = &mapping.profile;
        let id_index = match mapping.distinct_id.as_deref().filter(|c| !c.is_empty()) {
            Some(column) => find_column(columns, "$distinct_id", column)?,
            None => {
                return Err(MappingError::Unmapped {
                    field: RequiredField::ProfileUser,
                });
            }
        };
        let mut texts = Vec::new();
        for (name, column) in [
            ("$email", &profile.email),
            ("$name", &profile.name),
            ("$first_name", &profile.first_name),
            ("$last_name", &profile.last_name),
            ("$phone", &profile.phone),
            ("$avatar", &profile.avatar),
            ("$city", &mapping.city),
            ("$region", &mapping.region),
        ] {
            if let Some(index) = find_optional(columns, name, column)? {
                texts.push(TextField {
                    index,
                    column: columns[index].clone(),
                    name,
                    key: property_key(name),
                });
            }
        }
        let created = resolve_created(&profile.created, columns)?;
        let country = match &mapping.country {
            Some(cm) if !cm.column.is_empty() => {
                Some(CountrySpec::resolve(cm, columns, "$country_code")?)
            }
            _ => None,
        };

        let mut mapping_issues = Vec::new();
        let mut property_names: HashSet<String> = PROFILE_FIELD_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut properties = Vec::new();
        for cm in mapping.columns.iter().filter(|c| c.include) {
            let index = find_column(columns, "a property", &cm.column)?;
            let name = cm.property_name().to_owned();
            let reserved = validate::PROFILE_RESERVED_NAMES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&name));
            let mapped_field = texts.iter().any(|t| t.name == name)
                || (name == "$created" && created.is_some())
                || (name == "$country_code" && country.is_some());
            let duplicate = properties.iter().any(|p: &CustomProperty| p.name == name);
            if reserved || mapped_field || duplicate {
                let why = if reserved {
                    "a name Mixpanel reads as part of the profile update itself"
                } else {
                    "a name already sent from a mapped field or another column"
                };
                mapping_issues.push(mapping_warning(
                    IssueKind::ReservedName,
                    name.clone(),
                    Some(cm.column.clone()),
                    format!(
                        "column '{}' would be sent as '{name}', {why}; it is not sent. Rename it in the mapping to send it.",
                        cm.column
                    ),
                ));
                continue;
            }
            property_names.insert(name.clone());
            properties.push(CustomProperty {
                index,
                column: cm.column.clone(),
                key: property_key(&name),
                name_too_long: name.chars().count() > validate::MAX_STRING_CHARS,
                name,
                kind: cm.kind,
            });
        }
        let mut constants_json = Vec::new();
        for (name, value) in &mapping.constants {
            let reserved = validate::PROFILE_RESERVED_NAMES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name));
            if reserved || !property_names.insert(name.clone()) {
                mapping_issues.push(mapping_warning(
                    IssueKind::ReservedName,
                    name.clone(),
                    None,
                    format!(
                        "the constant property '{name}' uses a reserved name or one already sent from a column; it is not sent. Rename it."
                    ),
                ));
                continue;
            }
            constants_json.extend_from_slice(&property_key(name));
            match value {
                serde_json::Value::String(s) => write_json_string(s, &mut constants_json),
                other => {
                    // ok: serializing a Value into a Vec cannot fail.
                    serde_json::to_writer(&mut constants_json, other)
                        .expect("ok: Value to Vec never fails");
                }
            }
        }
        Ok(Self {
            columns: columns.to_vec(),
            id_index,
            operation: profile.operation,
            unset_empty: profile.unset_empty,
            texts,
            created,
            country,
            properties,
            property_names,
            constants_json,
            mapping_issues,
            body: Vec::new(),
            unset: Vec::new(),
            scratch: String::new(),
        })
    }

    /// Mapping-wide warnings (row 0), e.g. a column sent under a reserved name.
    pub fn mapping_issues(&self) -> &[Issue] {
        &self.mapping_issues
    }

    /// The file's columns this transformer was built for.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The operation written (`$set` or `$set_once`).
    pub fn operation(&self) -> ProfileOperation {
        self.operation
    }

    /// Turn one record into its profile update(s) and issues, reusing `out`'s allocations.
    /// `out.distinct_id` is the profile's ID; `out.json` holds one record per line.
    pub fn transform(&mut self, record: &Record, out: &mut Transformed) {
        out.kind = ImportKind::Profiles;
        out.row = record.row;
        out.json.clear();
        out.event.clear();
        out.distinct_id.clear();
        out.insert_id.clear();
        out.time_ms = 0;
        out.issues.clear();
        self.body.clear();
        self.unset.clear();
        let row = record.row;

        if let Some(error) = &record.error {
            out.issues.push(Issue {
                kind: IssueKind::MalformedRecord,
                field: "$distinct_id".to_owned(),
                column: None,
                row,
                message: format!("row {row} cannot be read: {error}. Fix the row in the file."),
            });
            return;
        }
        if let Some(fields) = record.ragged {
            out.issues.push(Issue {
                kind: IssueKind::RaggedRow,
                field: "$set".to_owned(),
                column: None,
                row,
                message: format!(
                    "row {row} has {fields} fields but the header has {}; missing cells are left out and extra cells are sent as column_N.",
                    self.columns.len()
                ),
            });
        }
        self.read_id(record, out);
        self.write_texts(record, out);
        self.write_created(record, out);
        self.write_country(record, out);
        self.write_custom(record, out);
        self.write_extras(record, out);
        self.body.extend_from_slice(&self.constants_json);
        self.assemble(out);
    }

    fn read_id(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        let column = &self.columns[self.id_index];
        match cell_text(record.cells.get(self.id_index), &mut self.scratch) {
            CellText::Text(s) if !s.trim().is_empty() => {
                let s = s.trim();
                out.distinct_id.push_str(s);
                if validate::is_banned_id(s) {
                    out.issues.push(Issue {
                        kind: IssueKind::BannedDistinctId,
                        field: "$distinct_id".to_owned(),
                        column: Some(column.clone()),
                        row,
                        message: format!(
                            "row {row}: user ID '{}' (column '{column}') is a placeholder Mixpanel refuses. Use the person's real ID.",
                            shorten(s)
                        ),
                    });
                }
            }
            CellText::Invalid => push_invalid_utf8(out, row, "$distinct_id", column),
            _ => out.issues.push(Issue {
                kind: IssueKind::MissingUserId,
                field: "$distinct_id".to_owned(),
                column: Some(column.clone()),
                row,
                message: format!(
                    "row {row}: the user ID (column '{column}') is empty. Every profile needs its ID: fill it in or remove the row (Mixport never creates a profile without one)."
                ),
            }),
        }
    }

    /// Remember `name` for the `$unset` record when empty values are cleared.
    fn clear(&mut self, name: &str) {
        if self.unset_empty {
            self.unset.push(b',');
            write_json_string(name, &mut self.unset);
        }
    }

    fn write_texts(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        for i in 0..self.texts.len() {
            let field = &self.texts[i];
            let (name, index) = (field.name, field.index);
            match cell_text(record.cells.get(index), &mut self.scratch) {
                CellText::Text(s) if !s.trim().is_empty() => {
                    let s = s.trim();
                    let field = &self.texts[i];
                    self.body.extend_from_slice(&field.key);
                    write_json_string(s, &mut self.body);
                    if s.len() > validate::MAX_STRING_CHARS {
                        check_long_string(out, row, name, Some(&field.column), s);
                    }
                    if name == "$email" && !looks_like_email(s) {
                        out.issues.push(Issue {
                            kind: IssueKind::InvalidEmail,
                            field: name.to_owned(),
                            column: Some(field.column.clone()),
                            row,
                            message: format!(
                                "row {row}: '{}' (column '{}') does not look like an e-mail address; it is sent as it is.",
                                shorten(s),
                                field.column
                            ),
                        });
                    }
                }
                CellText::Invalid => push_invalid_utf8(out, row, name, &self.texts[i].column),
                _ => self.clear(name),
            }
        }
    }

    fn write_created(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        let Some(created) = &self.created else {
            return;
        };
        let parsed = match record.cells.get(created.index) {
            None | Some(Cell::Missing) => None,
            Some(Cell::Text(s)) if s.trim().is_empty() => None,
            Some(Cell::Text(s)) => Some(
                created
                    .parser
                    .parse_text(s.trim())
                    .map_err(|e| (e, s.clone())),
            ),
            Some(Cell::InvalidUtf8(_)) => {
                push_invalid_utf8(out, row, "$created", &created.column);
                return;
            }
            Some(Cell::Json(v)) if v.is_null() => None,
            Some(Cell::Json(v)) => {
                Some(created.parser.parse_json(v).map_err(|e| (e, v.to_string())))
            }
        };
        match parsed {
            None => self.clear("$created"),
            Some(Ok(ms)) => {
                self.body.extend_from_slice(b",\"$created\":\"");
                write_iso_utc(ms, &mut self.body);
                self.body.push(b'"');
            }
            Some(Err((error, value))) => out.issues.push(Issue {
                kind: IssueKind::UnparsableTime,
                field: "$created".to_owned(),
                column: Some(created.column.clone()),
                row,
                message: format!(
                    "row {row}: the date '{}' (column '{}') cannot be read: {error}. Fix the value, or choose the column's date format (and day/month order) in the mapping.",
                    shorten(&value),
                    created.column
                ),
            }),
        }
    }

    fn write_country(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        let Some(spec) = self.country.as_mut() else {
            return;
        };
        let text = match cell_text(record.cells.get(spec.index), &mut self.scratch) {
            CellText::Text(s) if !s.trim().is_empty() => s.trim(),
            CellText::Invalid => {
                push_invalid_utf8(out, row, "$country_code", &spec.column);
                return;
            }
            _ => {
                if self.unset_empty {
                    self.unset.extend_from_slice(b",\"$country_code\"");
                }
                return;
            }
        };
        match spec.lookup(text) {
            CountryLookup::Code(code) => {
                self.body.extend_from_slice(b",\"$country_code\":\"");
                self.body.extend_from_slice(code.as_bytes());
                self.body.push(b'"');
            }
            CountryLookup::Skip => {}
            CountryLookup::Unknown => out.issues.push(Issue {
                kind: IssueKind::UnknownCountry,
                field: "$country_code".to_owned(),
                column: Some(spec.column.clone()),
                row,
                message: format!(
                    "row {row}: country '{}' (column '{}') is not a country Mixport knows; the profile is sent without a country. Pick the country for this value in the mapping.",
                    shorten(text),
                    spec.column
                ),
            }),
        }
    }

    fn write_custom(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        for i in 0..self.properties.len() {
            let spec = &self.properties[i];
            let cell = record.cells.get(spec.index);
            let start = self.body.len();
            match cell {
                None | Some(Cell::Missing) => {
                    let name = spec.name.clone();
                    self.clear(&name);
                    continue;
                }
                Some(Cell::Json(serde_json::Value::Null)) => {
                    let name = spec.name.clone();
                    self.clear(&name);
                    continue;
                }
                Some(Cell::Text(s)) if s.is_empty() => {
                    let name = spec.name.clone();
                    self.clear(&name);
                    continue;
                }
                Some(Cell::InvalidUtf8(_)) => {
                    push_invalid_utf8(out, row, &spec.name, &spec.column);
                    continue;
                }
                Some(Cell::Text(s)) => {
                    self.body.extend_from_slice(&spec.key);
                    let value_start = self.body.len();
                    if spec.kind == PropertyType::Text {
                        write_json_string(s, &mut self.body);
                        check_long_string(out, row, &spec.name, Some(&spec.column), s);
                    } else if write_typed(s, spec.kind, &mut self.body).is_err() {
                        write_json_string(s, &mut self.body);
                        out.issues.push(Issue {
                            kind: IssueKind::TypeMismatch,
                            field: spec.name.clone(),
                            column: Some(spec.column.clone()),
                            row,
                            message: format!(
                                "row {row}: '{}' in column '{}' is not a {}; sent as text. Fix the value or change the column's type.",
                                shorten(s),
                                spec.column,
                                type_name(spec.kind)
                            ),
                        });
                        check_long_string(out, row, &spec.name, Some(&spec.column), s);
                    } else if spec.kind == PropertyType::List {
                        check_list_size(
                            out,
                            row,
                            &spec.name,
                            Some(&spec.column),
                            &self.body[value_start..],
                        );
                    }
                }
                Some(Cell::Json(value)) => {
                    self.body.extend_from_slice(&spec.key);
                    write_profile_json(
                        out,
                        row,
                        &spec.name,
                        Some(&spec.column),
                        value,
                        &mut self.body,
                    );
                }
            }
            debug_assert!(self.body.len() > start);
            if spec.name_too_long {
                push_long_name(out, row, &spec.name, Some(&spec.column));
            }
        }
    }

    fn write_extras(&mut self, record: &Record, out: &mut Transformed) {
        let row = record.row;
        for (name, cell) in &record.extra {
            if self.property_names.contains(name) {
                continue;
            }
            if validate::PROFILE_RESERVED_NAMES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name))
            {
                out.issues.push(Issue {
                    kind: IssueKind::ReservedName,
                    field: name.clone(),
                    column: Some(name.clone()),
                    row,
                    message: format!(
                        "row {row}: key '{name}' is part of Mixpanel's profile update format, not a property; it is not sent."
                    ),
                });
                continue;
            }
            match cell {
                Cell::Missing | Cell::Json(serde_json::Value::Null) => continue,
                Cell::Text(s) if s.is_empty() => continue,
                Cell::Text(s) => {
                    self.body.extend_from_slice(&property_key(name));
                    write_json_string(s, &mut self.body);
                    check_long_string(out, row, name, Some(name), s);
                }
                Cell::InvalidUtf8(_) => {
                    push_invalid_utf8(out, row, name, name);
                    continue;
                }
                Cell::Json(value) => {
                    self.body.extend_from_slice(&property_key(name));
                    write_profile_json(out, row, name, Some(name), value, &mut self.body);
                }
            }
            if name.chars().count() > validate::MAX_STRING_CHARS {
                push_long_name(out, row, name, Some(name));
            }
        }
    }

    /// Write the `$set`/`$set_once` record and, when needed, the `$unset` record into `out.json`.
    fn assemble(&mut self, out: &mut Transformed) {
        let json = &mut out.json;
        let head = |json: &mut Vec<u8>, id: &str| {
            json.extend_from_slice(b"{\"$distinct_id\":");
            write_json_string(id, json);
        };
        let has_set = !self.body.is_empty() || self.unset.is_empty();
        if has_set {
            head(json, &out.distinct_id);
            json.extend_from_slice(b",\"");
            json.extend_from_slice(self.operation.key().as_bytes());
            json.extend_from_slice(b"\":{");
            json.extend_from_slice(self.body.get(1..).unwrap_or_default());
            json.extend_from_slice(b"}}");
            check_record_size(out, 0);
        }
        if !self.unset.is_empty() {
            let start = out.json.len();
            if has_set {
                out.json.push(b'\n');
            }
            head(&mut out.json, &out.distinct_id);
            out.json.extend_from_slice(b",\"$unset\":[");
            out.json
                .extend_from_slice(self.unset.get(1..).unwrap_or_default());
            out.json.extend_from_slice(b"]}");
            check_record_size(out, start);
        }
    }
}

fn resolve_created(
    created: &TimeMapping,
    columns: &[String],
) -> Result<Option<CreatedField>, MappingError> {
    let Some(index) = find_optional(columns, "$created", &created.column)? else {
        return Ok(None);
    };
    let parser = TimeParser::new(&created.format, &created.timezone, created.day_order)?;
    Ok(Some(CreatedField {
        index,
        column: columns[index].clone(),
        parser,
    }))
}

/// Whether `text` has the shape of an e-mail address: something, `@`, a domain with a dot, no
/// spaces.
fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

/// A list value written at `value` must be at most 256 KB of JSON.
fn check_list_size(
    out: &mut Transformed,
    row: u64,
    name: &str,
    column: Option<&str>,
    value: &[u8],
) {
    if value.len() > validate::MAX_PROFILE_LIST_BYTES {
        out.issues.push(Issue {
            kind: IssueKind::ListTooLarge,
            field: name.to_owned(),
            column: column.map(str::to_owned),
            row,
            message: format!(
                "row {row}: the list '{}' is {} KB; Mixpanel accepts lists of at most 256 KB on a profile. Shorten it.",
                shorten(name),
                value.len() / 1024
            ),
        });
    }
}

/// Write a JSON cell as it is; lists must fit the size limit and long strings are truncated
/// by Mixpanel (warned).
fn write_profile_json(
    out: &mut Transformed,
    row: u64,
    name: &str,
    column: Option<&str>,
    value: &serde_json::Value,
    body: &mut Vec<u8>,
) {
    let start = body.len();
    // ok: serializing a Value into a Vec cannot fail.
    serde_json::to_writer(&mut *body, value).expect("ok: Value to Vec never fails");
    match value {
        serde_json::Value::Array(_) => check_list_size(out, row, name, column, &body[start..]),
        serde_json::Value::String(s) => check_long_string(out, row, name, column, s),
        _ => {}
    }
}

/// The record written from `start` in `out.json` must be smaller than 1 MB.
fn check_record_size(out: &mut Transformed, start: usize) {
    let size = out.json.len() - start;
    if size >= validate::MAX_PROFILE_RECORD_BYTES {
        let row = out.row;
        out.issues.push(Issue {
            kind: IssueKind::ProfileTooLarge,
            field: "$set".to_owned(),
            column: None,
            row,
            message: format!(
                "row {row}: the profile update is {size} bytes of JSON; Mixpanel accepts less than 1 MB. Exclude or shorten large columns."
            ),
        });
    }
}

#[cfg(test)]
mod tests;
