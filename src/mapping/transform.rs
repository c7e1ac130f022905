//! The one transform: a source record → the exact JSON event the import sends, plus its issues.
//!
//! [`Transformer::transform`] is the single function both `check` and `import` call, so the dry
//! run predicts exactly what the import sends.
//!
//! # The event line
//!
//! `{"event":E,"properties":{"time":MS,"distinct_id":U,"$insert_id":I, ...}}` followed, when
//! mapped, by `$user_id`, `$device_id`, `mp_country_code`, `$city`, `$region`, `ip`, then every
//! included column under its property name (typed), the record's extra JSON keys (as they are),
//! and the constant properties. Empty cells (and JSON `null`s) are omitted, never sent as `""`.
//! The line is written straight into a reused buffer: no `serde_json::Value` per row.
//!
//! # Day/month order
//!
//! [`Transformer::new`] does not look at data. With `time.format` = `auto` and
//! `time.day_order` = `None`, slash dates whose order the value itself proves (a part > 12) are
//! read, and a slash date that could be either is an `unparsable_time` row error naming the
//! `day_order` setting: the parser never guesses. Callers settle the order from a head sample
//! first with [`settle_day_order`], which fills `day_order` when the data proves it and refuses
//! ([`MappingError::AmbiguousDayOrder`]) when the sample has slash dates that cannot be told
//! apart. The CLI and the app both do this before building a transformer.

use std::collections::{HashMap, HashSet};

use crate::source::{Cell, Record};
use crate::validate::{self, Issue, IssueKind, Severity};

use super::country::{is_alpha2, resolve_country};
use super::time::{TimeError, TimeFormat, TimeParser, profile_time_values};
use super::typing::PropertyType;
use super::{InsertIdSource, Mapping, MappingError, RequiredField, ValueSource};

/// Settings of a transform that do not belong in the mapping template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformOptions {
    /// "Now" in UTC milliseconds: the future-time rule is relative to it.
    pub now_ms: i64,
    /// The project's retention window in days; older events get a warning (default 5 years).
    pub retention_days: u32,
}

impl TransformOptions {
    /// Options with the current clock and the default 5-year retention.
    pub fn now() -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            now_ms,
            retention_days: 5 * 365,
        }
    }
}

/// One transformed record: the event's JSON line and what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transformed {
    /// The source row (copied from the record).
    pub row: u64,
    /// The event as one line of JSON (`{"event":..,"properties":{..}}`, no trailing newline),
    /// exactly as the import sends it. Meaningful only when [`Transformed::is_valid`].
    pub json: Vec<u8>,
    /// The event name.
    pub event: String,
    /// The `distinct_id` sent (may be empty when allowed).
    pub distinct_id: String,
    /// The event time in UTC milliseconds (0 when the time is invalid).
    pub time_ms: i64,
    /// The `$insert_id` sent.
    pub insert_id: String,
    /// Errors and warnings for this row.
    pub issues: Vec<Issue>,
}

impl Transformed {
    /// Whether the event passes every blocking rule and would be sent.
    pub fn is_valid(&self) -> bool {
        !self.issues.iter().any(|i| i.severity() == Severity::Error)
    }

    /// Whether the row has at least one warning.
    pub fn has_warnings(&self) -> bool {
        self.issues
            .iter()
            .any(|i| i.severity() == Severity::Warning)
    }
}

/// Fill `mapping.time.day_order` from sample records when the data proves it.
///
/// Does nothing when the order is already chosen, the format is not `auto`, or no time column is
/// mapped (or it is not among `columns`: [`Transformer::new`] reports that). Fails with
/// [`MappingError::AmbiguousDayOrder`] when the sample holds slash or dot dates whose order
/// cannot be told apart. When the sample has no such dates at all, `day_order` stays `None`.
pub fn settle_day_order(
    mapping: &mut Mapping,
    columns: &[String],
    sample: &[Record],
) -> Result<(), MappingError> {
    if mapping.time.day_order.is_some() || mapping.time.format != TimeFormat::Auto {
        return Ok(());
    }
    let Some(column) = mapping.time.column.clone() else {
        return Ok(());
    };
    let Some(index) = columns.iter().position(|c| *c == column) else {
        return Ok(());
    };
    let values = sample.iter().filter_map(|r| match r.cells.get(index) {
        Some(Cell::Text(s)) => Some(s.as_str()),
        _ => None,
    });
    let profile = profile_time_values(values);
    if let Some(order) = profile.day_order {
        mapping.time.day_order = Some(order);
        return Ok(());
    }
    if let Some(example) = profile.ambiguous_example {
        return Err(MappingError::AmbiguousDayOrder { column, example });
    }
    Ok(())
}

/// Where the event name comes from, resolved.
#[derive(Debug)]
enum EventFrom {
    Column(usize),
    Constant(String),
}

/// One included column, resolved.
#[derive(Debug)]
struct PropertySpec {
    /// Index into the record's cells.
    index: usize,
    /// The source column name.
    column: String,
    /// The property name.
    name: String,
    /// `,"name":` pre-escaped.
    key: Vec<u8>,
    /// How to type text cells.
    kind: PropertyType,
    /// The name is longer than Mixpanel allows.
    name_too_long: bool,
}

/// The most distinct country values whose resolution is cached.
const COUNTRY_CACHE_MAX: usize = 10_000;

/// The cached result of resolving one country value.
#[derive(Debug, Clone, Copy)]
enum CountryLookup {
    /// Send this code.
    Code(&'static str),
    /// The mapping's override says: send no country.
    Skip,
    /// Unknown: warn and send no country.
    Unknown,
}

/// The resolved country column.
#[derive(Debug)]
struct CountrySpec {
    index: usize,
    column: String,
    /// Overrides, with their codes upper-cased ("" = send nothing).
    overrides: HashMap<String, String>,
    cache: HashMap<String, CountryLookup>,
}

/// Names the transformer writes itself: a column sent under one of these would duplicate a key.
pub(crate) const FIELD_NAMES: &[&str] = &[
    "time",
    "distinct_id",
    "$insert_id",
    "$user_id",
    "$device_id",
    "mp_country_code",
    "$city",
    "$region",
    "ip",
];

/// A mapping resolved against one file's columns: column indexes looked up, time zone and
/// formats fixed, property names pre-escaped. Build once per run, then call [`Self::transform`]
/// per record.
#[derive(Debug)]
pub struct Transformer {
    columns: Vec<String>,
    options: TransformOptions,
    event: EventFrom,
    distinct_id: Option<usize>,
    user_id: Option<usize>,
    device_id: Option<usize>,
    allow_missing_user: bool,
    time_index: usize,
    time_column: String,
    time: TimeParser,
    /// `None` = generate.
    insert_id: Option<usize>,
    country: Option<CountrySpec>,
    city: Option<usize>,
    region: Option<usize>,
    ip: Option<usize>,
    properties: Vec<PropertySpec>,
    /// Every property name sent from columns and constants (to skip duplicate extras).
    property_names: HashSet<String>,
    /// `,"k":v` for every constant, pre-serialized.
    constants_json: Vec<u8>,
    constants_count: usize,
    mapping_issues: Vec<Issue>,
    /// Scratch text for non-string JSON cells.
    scratch: String,
}

fn find_column(columns: &[String], field: &str, column: &str) -> Result<usize, MappingError> {
    columns
        .iter()
        .position(|c| c == column)
        .ok_or_else(|| MappingError::UnknownColumn {
            field: field.to_owned(),
            column: column.to_owned(),
        })
}

fn find_optional(
    columns: &[String],
    field: &str,
    column: &Option<String>,
) -> Result<Option<usize>, MappingError> {
    match column {
        Some(c) if !c.is_empty() => find_column(columns, field, c).map(Some),
        _ => Ok(None),
    }
}

/// `,"name":` with the name JSON-escaped.
fn property_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 4);
    key.push(b',');
    leaf_api::write_json_string(&mut key, name);
    key.push(b':');
    key
}

fn mapping_warning(
    kind: IssueKind,
    field: String,
    column: Option<String>,
    message: String,
) -> Issue {
    Issue {
        kind,
        field,
        column,
        row: 0,
        message,
    }
}

impl Transformer {
    /// Resolve `mapping` against `columns`. Fails if the mapping names unknown columns, leaves
    /// the event name, the time or (unless `allow_missing_user`) the user unmapped, has an
    /// unknown zone or pattern, or a country override that is not an alpha-2 code.
    ///
    /// Day/month order: see the module docs; settle it first with [`settle_day_order`].
    pub fn new(
        mapping: &Mapping,
        columns: &[String],
        options: TransformOptions,
    ) -> Result<Self, MappingError> {
        let event = match &mapping.event {
            Some(ValueSource::Column(c)) => EventFrom::Column(find_column(columns, "event", c)?),
            Some(ValueSource::Constant(name)) if !name.trim().is_empty() => {
                EventFrom::Constant(name.clone())
            }
            _ => {
                return Err(MappingError::Unmapped {
                    field: RequiredField::Event,
                });
            }
        };
        let distinct_id = find_optional(columns, "distinct_id", &mapping.distinct_id)?;
        let user_id = find_optional(columns, "$user_id", &mapping.user_id)?;
        let device_id = find_optional(columns, "$device_id", &mapping.device_id)?;
        if distinct_id.is_none()
            && user_id.is_none()
            && device_id.is_none()
            && !mapping.allow_missing_user
        {
            return Err(MappingError::Unmapped {
                field: RequiredField::User,
            });
        }
        let Some(time_column) = mapping.time.column.clone().filter(|c| !c.is_empty()) else {
            return Err(MappingError::Unmapped {
                field: RequiredField::Time,
            });
        };
        let time_index = find_column(columns, "time", &time_column)?;
        let time = TimeParser::new(
            &mapping.time.format,
            &mapping.time.timezone,
            mapping.time.day_order,
        )?;
        let insert_id = match &mapping.insert_id {
            InsertIdSource::Column(c) => Some(find_column(columns, "$insert_id", c)?),
            InsertIdSource::Generate => None,
        };
        let country = match &mapping.country {
            Some(cm) if !cm.column.is_empty() => {
                let index = find_column(columns, "mp_country_code", &cm.column)?;
                let mut overrides = HashMap::new();
                for (value, code) in &cm.overrides {
                    let code = code.trim().to_ascii_uppercase();
                    if !code.is_empty() && !is_alpha2(&code) {
                        return Err(MappingError::BadCountryOverride {
                            value: value.clone(),
                            code,
                        });
                    }
                    overrides.insert(value.clone(), code);
                }
                Some(CountrySpec {
                    index,
                    column: cm.column.clone(),
                    overrides,
                    cache: HashMap::new(),
                })
            }
            _ => None,
        };
        let city = find_optional(columns, "$city", &mapping.city)?;
        let region = find_optional(columns, "$region", &mapping.region)?;
        let ip = find_optional(columns, "ip", &mapping.ip)?;

        let mut mapping_issues = Vec::new();
        let mut property_names: HashSet<String> =
            FIELD_NAMES.iter().map(|s| (*s).to_owned()).collect();
        let mut properties = Vec::new();
        for cm in mapping.columns.iter().filter(|c| c.include) {
            let index = find_column(columns, "a property", &cm.column)?;
            let name = cm.property_name().to_owned();
            let field = format!("properties.{name}");
            if validate::RESERVED_NAMES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&name))
            {
                mapping_issues.push(mapping_warning(
                    IssueKind::ReservedName,
                    field,
                    Some(cm.column.clone()),
                    format!(
                        "column '{}' would be sent as '{name}', a name Mixpanel reserves (it can hide or drop events); it is not sent. Rename it in the mapping to send it.",
                        cm.column
                    ),
                ));
                continue;
            }
            if !property_names.insert(name.clone()) {
                mapping_issues.push(mapping_warning(
                    IssueKind::ReservedName,
                    field,
                    Some(cm.column.clone()),
                    format!(
                        "column '{}' would be sent as '{name}', a name already used by a Mixpanel field or another column; it is not sent. Rename it in the mapping to send it.",
                        cm.column
                    ),
                ));
                continue;
            }
            properties.push(PropertySpec {
                index,
                column: cm.column.clone(),
                key: property_key(&name),
                name_too_long: name.chars().count() > validate::MAX_STRING_CHARS,
                name,
                kind: cm.kind,
            });
        }
        let mut constants_json = Vec::new();
        let mut constants_count = 0;
        for (name, value) in &mapping.constants {
            let field = format!("properties.{name}");
            if validate::RESERVED_NAMES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name))
                || !property_names.insert(name.clone())
            {
                mapping_issues.push(mapping_warning(
                    IssueKind::ReservedName,
                    field,
                    None,
                    format!(
                        "the constant property '{name}' uses a reserved name or one already sent from a column; it is not sent. Rename it."
                    ),
                ));
                continue;
            }
            constants_json.extend_from_slice(&property_key(name));
            match value {
                serde_json::Value::String(s) => leaf_api::write_json_string(&mut constants_json, s),
                other => {
                    // ok: serializing a Value into a Vec cannot fail.
                    serde_json::to_writer(&mut constants_json, other)
                        .expect("ok: Value to Vec never fails");
                }
            }
            constants_count += 1;
        }

        Ok(Self {
            columns: columns.to_vec(),
            options,
            event,
            distinct_id,
            user_id,
            device_id,
            allow_missing_user: mapping.allow_missing_user,
            time_index,
            time_column,
            time,
            insert_id,
            country,
            city,
            region,
            ip,
            properties,
            property_names,
            constants_json,
            constants_count,
            mapping_issues,
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

    /// Turn one record into its event and issues, reusing `out`'s allocations.
    pub fn transform(&mut self, record: &Record, out: &mut Transformed) {
        out.row = record.row;
        out.json.clear();
        out.event.clear();
        out.distinct_id.clear();
        out.insert_id.clear();
        out.time_ms = 0;
        out.issues.clear();
        let row = record.row;

        if let Some(error) = &record.error {
            out.issues.push(Issue {
                kind: IssueKind::MalformedRecord,
                field: "event".to_owned(),
                column: None,
                row,
                message: format!("row {row} cannot be read: {error}. Fix the row in the file."),
            });
            return;
        }
        if let Some(fields) = record.ragged {
            out.issues.push(Issue {
                kind: IssueKind::RaggedRow,
                field: "properties".to_owned(),
                column: None,
                row,
                message: format!(
                    "row {row} has {fields} fields but the header has {}; missing cells are left out and extra cells are sent as column_N.",
                    self.columns.len()
                ),
            });
        }

        // ----- event -----
        match &self.event {
            EventFrom::Constant(name) => out.event.push_str(name),
            EventFrom::Column(index) => {
                let index = *index;
                let mut invalid = false;
                match cell_text(record.cells.get(index), &mut self.scratch) {
                    CellText::Text(s) => out.event.push_str(s.trim()),
                    CellText::Invalid => {
                        push_invalid_utf8(out, row, "event", &self.columns[index]);
                        invalid = true;
                    }
                    CellText::Empty => {}
                }
                if out.event.is_empty() && !invalid {
                    out.issues.push(Issue {
                        kind: IssueKind::EmptyEventName,
                        field: "event".to_owned(),
                        column: Some(self.columns[index].clone()),
                        row,
                        message: format!(
                            "row {row}: the event name (column '{}') is empty. Fill it in, or map the event name to a constant.",
                            self.columns[index]
                        ),
                    });
                }
            }
        }
        if validate::IDENTITY_EVENTS.contains(&out.event.as_str()) {
            out.issues.push(Issue {
                kind: IssueKind::IdentityEvent,
                field: "event".to_owned(),
                column: self.event_column(),
                row,
                message: format!(
                    "row {row}: '{}' is an identity event; projects on simplified ID merge reject it. Leave it out unless your project uses original ID merge.",
                    out.event
                ),
            });
        }

        // ----- user -----
        let mut user_text = UserIds::default();
        if let Some(index) = self.distinct_id {
            user_text.invalid = self.read_user_id(record, index, "properties.distinct_id", out);
        }
        if let Some(index) = self.user_id {
            user_text.user_id = self.read_id_into(record, index, "properties.$user_id", out);
        }
        if let Some(index) = self.device_id {
            user_text.device_id = self.read_id_into(record, index, "properties.$device_id", out);
        }
        let any_user_column =
            self.distinct_id.is_some() || self.user_id.is_some() || self.device_id.is_some();
        if any_user_column
            && !self.allow_missing_user
            && out.distinct_id.is_empty()
            && user_text.user_id.is_none()
            && user_text.device_id.is_none()
            && !user_text.invalid
        {
            let column = self
                .distinct_id
                .or(self.user_id)
                .or(self.device_id)
                .map(|i| self.columns[i].clone());
            out.issues.push(Issue {
                kind: IssueKind::MissingUserId,
                field: "properties.distinct_id".to_owned(),
                column: column.clone(),
                row,
                message: format!(
                    "row {row}: the user ID (column '{}') is empty. Fill it in, or allow events without a user in the mapping.",
                    column.unwrap_or_default()
                ),
            });
        }

        // ----- time -----
        self.read_time(record, out);

        // ----- insert id -----
        match self.insert_id {
            Some(index) => match cell_text(record.cells.get(index), &mut self.scratch) {
                CellText::Text(s) => {
                    let s = s.trim();
                    out.insert_id.push_str(s);
                    if let Err(kind) = check_insert_id(s) {
                        let column = self.columns[index].clone();
                        let what = match kind {
                            IssueKind::BannedInsertId => "is a placeholder value Mixpanel refuses",
                            IssueKind::InsertIdTooLong => "is longer than 36 characters",
                            _ => "has characters other than letters, digits and '-'",
                        };
                        out.issues.push(Issue {
                            kind,
                            field: "properties.$insert_id".to_owned(),
                            column: Some(column.clone()),
                            row,
                            message: format!(
                                "row {row}: insert ID '{}' (column '{column}') {what}. Fix the value, or let Mixport generate insert IDs.",
                                shorten(s)
                            ),
                        });
                    }
                }
                CellText::Invalid => {
                    push_invalid_utf8(out, row, "properties.$insert_id", &self.columns[index]);
                }
                CellText::Empty => {
                    self.derive_insert_id(record, out);
                }
            },
            None => self.derive_insert_id(record, out),
        }

        // ----- write the event -----
        let mut count = 0usize;
        let json = &mut out.json;
        json.extend_from_slice(b"{\"event\":");
        leaf_api::write_json_string(json, &out.event);
        json.extend_from_slice(b",\"properties\":{\"time\":");
        json.extend_from_slice(itoa_i64(out.time_ms, &mut [0u8; 20]));
        count += 1;
        if self.distinct_id.is_some() || !any_user_column {
            json.extend_from_slice(b",\"distinct_id\":");
            leaf_api::write_json_string(json, &out.distinct_id);
            count += 1;
        }
        json.extend_from_slice(b",\"$insert_id\":");
        leaf_api::write_json_string(json, &out.insert_id);
        count += 1;
        if let Some(v) = &user_text.user_id {
            json.extend_from_slice(b",\"$user_id\":");
            leaf_api::write_json_string(json, v);
            count += 1;
        }
        if let Some(v) = &user_text.device_id {
            json.extend_from_slice(b",\"$device_id\":");
            leaf_api::write_json_string(json, v);
            count += 1;
        }
        if self.country.is_some() {
            count += self.write_country(record, out);
        }
        for (index, key, field) in [
            (self.city, &b",\"$city\":"[..], "properties.$city"),
            (self.region, &b",\"$region\":"[..], "properties.$region"),
            (self.ip, &b",\"ip\":"[..], "properties.ip"),
        ] {
            let Some(index) = index else { continue };
            match cell_text(record.cells.get(index), &mut self.scratch) {
                CellText::Text(s) => {
                    let s = s.trim();
                    if !s.is_empty() {
                        out.json.extend_from_slice(key);
                        leaf_api::write_json_string(&mut out.json, s);
                        count += 1;
                    }
                }
                CellText::Invalid => {
                    push_invalid_utf8(out, row, field, &self.columns[index]);
                }
                CellText::Empty => {}
            }
        }

        // ----- columns -----
        for spec in &self.properties {
            let Some(cell) = record.cells.get(spec.index) else {
                continue;
            };
            match cell {
                Cell::Missing => continue,
                Cell::Text(s) => {
                    if s.is_empty() {
                        continue;
                    }
                    out.json.extend_from_slice(&spec.key);
                    if spec.kind == PropertyType::Text {
                        leaf_api::write_json_string(&mut out.json, s);
                        if s.len() > validate::MAX_STRING_CHARS {
                            check_long_string(out, row, &spec.name, Some(&spec.column), s);
                        }
                    } else {
                        match leaf_api::write_typed(&mut out.json, spec.kind, s) {
                            Ok(()) => {}
                            Err(_) => {
                                leaf_api::write_json_string(&mut out.json, s);
                                out.issues.push(Issue {
                                    kind: IssueKind::TypeMismatch,
                                    field: format!("properties.{}", spec.name),
                                    column: Some(spec.column.clone()),
                                    row,
                                    message: format!(
                                        "row {row}: '{}' in column '{}' is not a {}; sent as text. Fix the value or change the column's type.",
                                        shorten(s),
                                        spec.column,
                                        type_name(spec.kind)
                                    ),
                                });
                                if s.len() > validate::MAX_STRING_CHARS {
                                    check_long_string(out, row, &spec.name, Some(&spec.column), s);
                                }
                            }
                        }
                    }
                }
                Cell::InvalidUtf8(_) => {
                    push_invalid_utf8(out, row, &format!("properties.{}", spec.name), &spec.column);
                    continue;
                }
                Cell::Json(value) => {
                    if value.is_null() {
                        continue;
                    }
                    out.json.extend_from_slice(&spec.key);
                    write_json_value(out, row, &spec.name, Some(&spec.column), value);
                }
            }
            count += 1;
            if spec.name_too_long {
                push_long_name(out, row, &spec.name, Some(&spec.column));
            }
        }

        // ----- extra keys -----
        for (name, cell) in &record.extra {
            if self.property_names.contains(name) {
                continue;
            }
            if validate::RESERVED_NAMES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name))
            {
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
            match cell {
                Cell::Missing => continue,
                Cell::Text(s) => {
                    if s.is_empty() {
                        continue;
                    }
                    out.json.extend_from_slice(&property_key(name));
                    leaf_api::write_json_string(&mut out.json, s);
                    if s.len() > validate::MAX_STRING_CHARS {
                        check_long_string(out, row, name, Some(name), s);
                    }
                }
                Cell::InvalidUtf8(_) => {
                    push_invalid_utf8(out, row, &format!("properties.{name}"), name);
                    continue;
                }
                Cell::Json(value) => {
                    if value.is_null() {
                        continue;
                    }
                    out.json.extend_from_slice(&property_key(name));
                    write_json_value(out, row, name, Some(name), value);
                }
            }
            count += 1;
            if name.chars().count() > validate::MAX_STRING_CHARS {
                push_long_name(out, row, name, Some(name));
            }
        }

        // ----- constants -----
        out.json.extend_from_slice(&self.constants_json);
        count += self.constants_count;
        out.json.extend_from_slice(b"}}");

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

    fn event_column(&self) -> Option<String> {
        match &self.event {
            EventFrom::Column(i) => Some(self.columns[*i].clone()),
            EventFrom::Constant(_) => None,
        }
    }

    /// Read the `distinct_id` column into `out.distinct_id`. Returns whether the cell was unusable.
    fn read_user_id(
        &mut self,
        record: &Record,
        index: usize,
        field: &str,
        out: &mut Transformed,
    ) -> bool {
        let row = record.row;
        match cell_text(record.cells.get(index), &mut self.scratch) {
            CellText::Text(s) => {
                let s = s.trim();
                if validate::is_banned_id(s) {
                    out.issues
                        .push(banned_id_issue(row, field, &self.columns[index], s));
                    out.distinct_id.push_str(s);
                    return true;
                }
                out.distinct_id.push_str(s);
                false
            }
            CellText::Invalid => {
                push_invalid_utf8(out, row, field, &self.columns[index]);
                true
            }
            CellText::Empty => false,
        }
    }

    /// Read a `$user_id` / `$device_id` column. `Some` when non-empty.
    fn read_id_into(
        &mut self,
        record: &Record,
        index: usize,
        field: &str,
        out: &mut Transformed,
    ) -> Option<String> {
        let row = record.row;
        match cell_text(record.cells.get(index), &mut self.scratch) {
            CellText::Text(s) => {
                let s = s.trim();
                if s.is_empty() {
                    return None;
                }
                if validate::is_banned_id(s) {
                    out.issues
                        .push(banned_id_issue(row, field, &self.columns[index], s));
                }
                Some(s.to_owned())
            }
            CellText::Invalid => {
                push_invalid_utf8(out, row, field, &self.columns[index]);
                None
            }
            CellText::Empty => None,
        }
    }

    fn read_time(&mut self, record: &Record, out: &mut Transformed) {
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
        match parsed {
            Err((kind, message)) => {
                let message = if kind == IssueKind::MissingTime {
                    format!(
                        "row {row}: the time (column '{column}') is empty. Every event needs a time: fill it in or remove the row."
                    )
                } else {
                    format!("row {row}: {message}")
                };
                out.issues.push(Issue {
                    kind,
                    field: "properties.time".to_owned(),
                    column: Some(column.clone()),
                    row,
                    message,
                });
            }
            Ok(ms) => {
                out.time_ms = ms;
                let now = self.options.now_ms;
                let (kind, message) = if ms < validate::MIN_TIME_MS {
                    (
                        IssueKind::TimeTooOld,
                        format!(
                            "row {row}: the time {} (column '{column}') is before 1971-01-01, which Mixpanel refuses. Check the value and the column's time format.",
                            leaf_api::format_iso_utc(ms)
                        ),
                    )
                } else if ms > now + validate::MAX_FUTURE_MS {
                    (
                        IssueKind::TimeInFuture,
                        format!(
                            "row {row}: the time {} (column '{column}') is more than 1 hour in the future. Check the value and the source time zone.",
                            leaf_api::format_iso_utc(ms)
                        ),
                    )
                } else if ms < now - i64::from(self.options.retention_days) * 86_400_000 {
                    (
                        IssueKind::OlderThanRetention,
                        format!(
                            "row {row}: the time {} is older than the project's retention window ({} days); Mixpanel will purge it.",
                            leaf_api::format_iso_utc(ms),
                            self.options.retention_days
                        ),
                    )
                } else {
                    return;
                };
                out.issues.push(Issue {
                    kind,
                    field: "properties.time".to_owned(),
                    column: Some(column.clone()),
                    row,
                    message,
                });
            }
        }
    }

    fn derive_insert_id(&mut self, record: &Record, out: &mut Transformed) {
        let fingerprint = leaf_api::row_fingerprint(record);
        let id = leaf_api::derive_insert_id(&out.event, &out.distinct_id, out.time_ms, fingerprint);
        out.insert_id.push_str(&id);
    }

    /// Write `mp_country_code` when the country resolves; returns the number of properties written.
    fn write_country(&mut self, record: &Record, out: &mut Transformed) -> usize {
        let row = record.row;
        let Some(spec) = self.country.as_mut() else {
            return 0;
        };
        let text = match cell_text(record.cells.get(spec.index), &mut self.scratch) {
            CellText::Text(s) => s.trim(),
            CellText::Invalid => {
                push_invalid_utf8(out, row, "properties.mp_country_code", &spec.column);
                return 0;
            }
            CellText::Empty => return 0,
        };
        if text.is_empty() {
            return 0;
        }
        let lookup = match spec.cache.get(text) {
            Some(l) => *l,
            None => {
                let lookup = match spec.overrides.get(text) {
                    Some(code) if code.is_empty() => CountryLookup::Skip,
                    Some(code) => match resolve_country(code) {
                        Some(c) => CountryLookup::Code(c),
                        None => CountryLookup::Unknown,
                    },
                    None => match resolve_country(text) {
                        Some(c) => CountryLookup::Code(c),
                        None => CountryLookup::Unknown,
                    },
                };
                if spec.cache.len() < COUNTRY_CACHE_MAX {
                    spec.cache.insert(text.to_owned(), lookup);
                }
                lookup
            }
        };
        match lookup {
            CountryLookup::Code(code) => {
                out.json.extend_from_slice(b",\"mp_country_code\":\"");
                out.json.extend_from_slice(code.as_bytes());
                out.json.push(b'"');
                1
            }
            CountryLookup::Skip => 0,
            CountryLookup::Unknown => {
                out.issues.push(Issue {
                    kind: IssueKind::UnknownCountry,
                    field: "properties.mp_country_code".to_owned(),
                    column: Some(spec.column.clone()),
                    row,
                    message: format!(
                        "row {row}: country '{}' (column '{}') is not a country Mixport knows; the event is sent without a country. Add an override for this value in the mapping.",
                        shorten(text),
                        spec.column
                    ),
                });
                0
            }
        }
    }
}

#[derive(Default)]
struct UserIds {
    invalid: bool,
    user_id: Option<String>,
    device_id: Option<String>,
}

/// A cell read as text.
enum CellText<'a> {
    Empty,
    Text(&'a str),
    Invalid,
}

/// Read a cell as text: strings as they are, other JSON values in their compact JSON form (in
/// `scratch`), `null` and missing cells as empty.
fn cell_text<'a>(cell: Option<&'a Cell>, scratch: &'a mut String) -> CellText<'a> {
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

fn banned_id_issue(row: u64, field: &str, column: &str, value: &str) -> Issue {
    Issue {
        kind: IssueKind::BannedDistinctId,
        field: field.to_owned(),
        column: Some(column.to_owned()),
        row,
        message: format!(
            "row {row}: user ID '{value}' (column '{column}') is a placeholder Mixpanel refuses. Use the real user ID, or leave the cell empty and allow events without a user."
        ),
    }
}

fn push_invalid_utf8(out: &mut Transformed, row: u64, field: &str, column: &str) {
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

fn push_long_name(out: &mut Transformed, row: u64, name: &str, column: Option<&str>) {
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

fn check_long_string(out: &mut Transformed, row: u64, name: &str, column: Option<&str>, s: &str) {
    let chars = s.chars().count();
    if chars > validate::MAX_STRING_CHARS {
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
    let shape = json_shape(value, 1);
    let field = format!("properties.{name}");
    if shape.depth > validate::MAX_NESTING_DEPTH {
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
    if shape.longest_list >= validate::MAX_LIST_ITEMS {
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

struct JsonShape {
    depth: usize,
    longest_list: usize,
    long_string: bool,
}

/// Object nesting depth (an object property = 1), the longest list, and whether any string is
/// longer than Mixpanel keeps.
fn json_shape(value: &serde_json::Value, level: usize) -> JsonShape {
    let mut shape = JsonShape {
        depth: 0,
        longest_list: 0,
        long_string: false,
    };
    let merge = |s: JsonShape, shape: &mut JsonShape| {
        shape.depth = shape.depth.max(s.depth);
        shape.longest_list = shape.longest_list.max(s.longest_list);
        shape.long_string |= s.long_string;
    };
    match value {
        serde_json::Value::Object(map) => {
            shape.depth = level;
            for v in map.values() {
                let s = json_shape(v, level + 1);
                merge(s, &mut shape);
            }
        }
        serde_json::Value::Array(items) => {
            shape.longest_list = items.len();
            for v in items {
                let s = json_shape(v, level);
                merge(s, &mut shape);
            }
        }
        serde_json::Value::String(s) => {
            shape.long_string = s.len() > validate::MAX_STRING_CHARS
                && s.chars().count() > validate::MAX_STRING_CHARS;
        }
        _ => {}
    }
    shape
}

/// The insert-id rule as an issue kind.
fn check_insert_id(value: &str) -> Result<(), IssueKind> {
    leaf_api::check_insert_id(value)
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

fn type_name(kind: PropertyType) -> &'static str {
    match kind {
        PropertyType::Text => "text",
        PropertyType::Number => "number",
        PropertyType::Boolean => "boolean (true/false)",
        PropertyType::Date => "date",
        PropertyType::List => "list",
    }
}

/// At most 60 characters of a value, for messages.
fn shorten(value: &str) -> String {
    if value.chars().count() <= 60 {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(57).collect();
        s.push_str("...");
        s
    }
}

/// Format an integer into `buf` without allocating.
fn itoa_i64(value: i64, buf: &mut [u8; 20]) -> &[u8] {
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

/// The leaf helpers (typing, insert ids, time formatting) behind the signatures this module
/// uses, so a change in theirs is fixed in one place.
pub(crate) mod leaf_api {
    use crate::mapping::typing::PropertyType;

    /// Append `s` as a JSON string literal.
    #[inline]
    pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
        crate::mapping::typing::write_json_string(s, out);
    }

    /// Append `text` typed as `kind`; on a mismatch nothing is written.
    #[inline]
    pub fn write_typed(
        out: &mut Vec<u8>,
        kind: PropertyType,
        text: &str,
    ) -> Result<(), crate::mapping::typing::TypeMismatch> {
        crate::mapping::typing::write_typed(text, kind, out)
    }

    pub use crate::mapping::insert_id::{check_insert_id, derive_insert_id, row_fingerprint};
    pub use crate::mapping::time::format_iso_utc;

    pub use crate::mapping::typing::infer_type;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{ColumnMapping, CountryMapping};

    /// 2025-06-01T00:00:00Z.
    const NOW_MS: i64 = 1_748_736_000_000;

    fn options() -> TransformOptions {
        TransformOptions {
            now_ms: NOW_MS,
            retention_days: 5 * 365,
        }
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn text_record(row: u64, cells: &[&str]) -> Record {
        Record {
            row,
            cells: cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Cell::Text(String::new())
                    } else {
                        Cell::Text((*c).to_owned())
                    }
                })
                .collect(),
            ..Record::default()
        }
    }

    /// event, user, time, id, country, plan, price columns.
    fn base_mapping() -> (Mapping, Vec<String>) {
        let columns = cols(&["event", "user", "time", "id", "country", "plan", "price"]);
        let mapping = Mapping {
            event: Some(ValueSource::Column("event".into())),
            distinct_id: Some("user".into()),
            time: crate::mapping::TimeMapping {
                column: Some("time".into()),
                ..Default::default()
            },
            insert_id: InsertIdSource::Column("id".into()),
            country: Some(CountryMapping {
                column: "country".into(),
                overrides: [("Atlantis".to_owned(), "GR".to_owned())].into(),
            }),
            columns: vec![
                ColumnMapping {
                    column: "plan".into(),
                    ..Default::default()
                },
                ColumnMapping {
                    column: "price".into(),
                    kind: PropertyType::Number,
                    ..Default::default()
                },
            ],
            constants: [(
                "mixport_import".to_owned(),
                serde_json::Value::String("test".into()),
            )]
            .into(),
            ..Mapping::default()
        };
        (mapping, columns)
    }

    fn run(mapping: &Mapping, columns: &[String], record: &Record) -> Transformed {
        let mut t = Transformer::new(mapping, columns, options()).unwrap();
        let mut out = Transformed::default();
        t.transform(record, &mut out);
        out
    }

    fn kinds(out: &Transformed) -> Vec<IssueKind> {
        out.issues.iter().map(|i| i.kind).collect()
    }

    fn good() -> [&'static str; 7] {
        [
            "Purchase",
            "u1",
            "2024-03-05T14:07:00Z",
            "abc-123",
            "Germany",
            "pro",
            "39.77",
        ]
    }

    fn with(index: usize, value: &'static str) -> Record {
        let mut cells = good();
        cells[index] = value;
        text_record(5, &cells)
    }

    #[test]
    fn writes_the_exact_event_json() {
        let (mapping, columns) = base_mapping();
        let out = run(&mapping, &columns, &text_record(2, &good()));
        assert!(out.issues.is_empty(), "{:?}", out.issues);
        assert_eq!(
            String::from_utf8(out.json.clone()).unwrap(),
            r#"{"event":"Purchase","properties":{"time":1709647620000,"distinct_id":"u1","$insert_id":"abc-123","mp_country_code":"DE","plan":"pro","price":39.77,"mixport_import":"test"}}"#
        );
        let parsed: serde_json::Value = serde_json::from_slice(&out.json).unwrap();
        assert_eq!(parsed["properties"]["price"], serde_json::json!(39.77));
        assert_eq!(out.time_ms, 1_709_647_620_000);
        assert_eq!(out.row, 2);
        assert!(out.is_valid());
    }

    #[test]
    fn empty_cells_are_omitted_and_text_is_escaped() {
        let (mapping, columns) = base_mapping();
        let out = run(&mapping, &columns, &{
            let mut r = with(5, "");
            r.cells[0] = Cell::Text("Say \"hi\"\n".into());
            r.cells[4] = Cell::Missing;
            r
        });
        let json = String::from_utf8(out.json).unwrap();
        assert!(!json.contains("\"plan\""), "{json}");
        assert!(!json.contains("mp_country_code"), "{json}");
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["event"], "Say \"hi\"");
    }

    #[test]
    fn empty_event_name_is_an_error() {
        let (mapping, columns) = base_mapping();
        let out = run(&mapping, &columns, &with(0, "  "));
        assert_eq!(kinds(&out), vec![IssueKind::EmptyEventName]);
        assert_eq!(out.issues[0].field, "event");
        assert_eq!(out.issues[0].column.as_deref(), Some("event"));
        assert_eq!(out.issues[0].row, 5);
        assert!(!out.is_valid());
    }

    #[test]
    fn empty_user_is_an_error_unless_allowed() {
        let (mut mapping, columns) = base_mapping();
        let out = run(&mapping, &columns, &with(1, ""));
        assert_eq!(kinds(&out), vec![IssueKind::MissingUserId]);
        assert_eq!(out.issues[0].field, "properties.distinct_id");
        mapping.allow_missing_user = true;
        let out = run(&mapping, &columns, &with(1, ""));
        assert!(out.is_valid());
        assert!(
            String::from_utf8(out.json)
                .unwrap()
                .contains(r#""distinct_id":"""#)
        );
    }

    #[test]
    fn banned_user_ids_are_errors() {
        let (mapping, columns) = base_mapping();
        for v in [
            "null",
            "Anonymous",
            "0",
            "00000000-0000-0000-0000-000000000000",
        ] {
            let out = run(&mapping, &columns, &with(1, v));
            assert_eq!(kinds(&out), vec![IssueKind::BannedDistinctId], "{v}");
            assert!(out.issues[0].message.contains(v));
        }
    }

    #[test]
    fn time_rules() {
        let (mapping, columns) = base_mapping();
        let cases = [
            ("", IssueKind::MissingTime),
            ("not a date", IssueKind::UnparsableTime),
            ("1970-06-01T00:00:00Z", IssueKind::TimeTooOld),
            ("2025-06-01T02:00:00Z", IssueKind::TimeInFuture),
            ("2019-01-01T00:00:00Z", IssueKind::OlderThanRetention),
        ];
        for (value, kind) in cases {
            let out = run(&mapping, &columns, &with(2, value));
            assert_eq!(kinds(&out), vec![kind], "{value}");
            assert_eq!(out.issues[0].field, "properties.time");
            assert_eq!(out.issues[0].column.as_deref(), Some("time"));
        }
        // 30 minutes ahead is fine.
        let out = run(&mapping, &columns, &with(2, "2025-06-01T00:30:00Z"));
        assert!(out.issues.is_empty(), "{:?}", out.issues);
        // Retention is a warning: still valid.
        assert!(run(&mapping, &columns, &with(2, "2019-01-01T00:00:00Z")).is_valid());
    }

    #[test]
    fn insert_id_rules() {
        let (mapping, columns) = base_mapping();
        for (value, kind) in [
            ("null", IssueKind::BannedInsertId),
            (
                "a234567890123456789012345678901234567",
                IssueKind::InsertIdTooLong,
            ),
            ("abc_123", IssueKind::InsertIdBadCharacters),
        ] {
            let out = run(&mapping, &columns, &with(3, value));
            assert_eq!(kinds(&out), vec![kind], "{value}");
            assert_eq!(out.issues[0].field, "properties.$insert_id");
        }
        // An empty id cell falls back to a derived id.
        let out = run(&mapping, &columns, &with(3, ""));
        assert!(out.is_valid());
        assert!(!out.insert_id.is_empty());
        assert!(out.insert_id.len() <= 36);
        assert!(
            out.insert_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        );
    }

    #[test]
    fn derived_insert_ids_are_deterministic_and_differ_by_content() {
        let (mut mapping, columns) = base_mapping();
        mapping.insert_id = InsertIdSource::Generate;
        let a = run(&mapping, &columns, &text_record(2, &good()));
        let b = run(&mapping, &columns, &text_record(2, &good()));
        assert_eq!(a.json, b.json);
        assert_eq!(a.insert_id, b.insert_id);
        let c = run(&mapping, &columns, &with(5, "basic"));
        assert_ne!(a.insert_id, c.insert_id);
    }

    #[test]
    fn unknown_country_warns_and_overrides_apply() {
        let (mapping, columns) = base_mapping();
        let out = run(&mapping, &columns, &with(4, "Narnia"));
        assert_eq!(kinds(&out), vec![IssueKind::UnknownCountry]);
        assert!(out.is_valid());
        assert!(
            !String::from_utf8(out.json)
                .unwrap()
                .contains("mp_country_code")
        );
        let out = run(&mapping, &columns, &with(4, "Atlantis"));
        assert!(out.issues.is_empty());
        assert!(
            String::from_utf8(out.json)
                .unwrap()
                .contains(r#""mp_country_code":"GR""#)
        );
        let out = run(&mapping, &columns, &with(4, "usa"));
        assert!(
            String::from_utf8(out.json)
                .unwrap()
                .contains(r#""mp_country_code":"US""#)
        );
    }

    #[test]
    fn type_mismatch_is_sent_as_text_with_a_warning() {
        let (mapping, columns) = base_mapping();
        let out = run(&mapping, &columns, &with(6, "free"));
        assert_eq!(kinds(&out), vec![IssueKind::TypeMismatch]);
        assert!(out.is_valid());
        assert!(
            String::from_utf8(out.json)
                .unwrap()
                .contains(r#""price":"free""#)
        );
    }

    #[test]
    fn long_strings_warn() {
        let (mapping, columns) = base_mapping();
        let long: &'static str = Box::leak("é".repeat(256).into_boxed_str());
        let out = run(&mapping, &columns, &with(5, long));
        assert_eq!(kinds(&out), vec![IssueKind::StringTruncated]);
        let exactly: &'static str = Box::leak("é".repeat(255).into_boxed_str());
        assert!(run(&mapping, &columns, &with(5, exactly)).issues.is_empty());
    }

    #[test]
    fn identity_events_warn() {
        let (mapping, columns) = base_mapping();
        let out = run(&mapping, &columns, &with(0, "$identify"));
        assert_eq!(kinds(&out), vec![IssueKind::IdentityEvent]);
        assert!(out.is_valid());
    }

    #[test]
    fn invalid_utf8_cells_are_errors() {
        let (mapping, columns) = base_mapping();
        let mut record = text_record(3, &good());
        record.cells[5] = Cell::InvalidUtf8("pr\u{FFFD}".into());
        let out = run(&mapping, &columns, &record);
        assert_eq!(kinds(&out), vec![IssueKind::InvalidUtf8]);
        assert_eq!(out.issues[0].field, "properties.plan");
        let mut record = text_record(3, &good());
        record.cells[0] = Cell::InvalidUtf8("\u{FFFD}".into());
        let out = run(&mapping, &columns, &record);
        assert_eq!(kinds(&out), vec![IssueKind::InvalidUtf8]);
        assert_eq!(out.issues[0].field, "event");
    }

    #[test]
    fn malformed_record_is_one_error() {
        let (mapping, columns) = base_mapping();
        let record = Record {
            row: 9,
            error: Some("expected value at column 3".into()),
            ..Record::default()
        };
        let out = run(&mapping, &columns, &record);
        assert_eq!(kinds(&out), vec![IssueKind::MalformedRecord]);
        assert!(out.issues[0].message.contains("expected value"));
    }

    #[test]
    fn ragged_rows_warn() {
        let (mapping, columns) = base_mapping();
        let mut record = text_record(3, &good());
        record.ragged = Some(8);
        record
            .extra
            .push(("column_8".into(), Cell::Text("x".into())));
        let out = run(&mapping, &columns, &record);
        assert_eq!(kinds(&out), vec![IssueKind::RaggedRow]);
        assert!(
            String::from_utf8(out.json)
                .unwrap()
                .contains(r#""column_8":"x""#)
        );
    }

    #[test]
    fn json_values_are_sent_as_they_are_and_limits_apply() {
        let (mut mapping, mut columns) = base_mapping();
        columns.push("meta".into());
        mapping.columns.push(ColumnMapping {
            column: "meta".into(),
            ..Default::default()
        });
        let mut record = text_record(4, &good());
        record
            .cells
            .push(Cell::Json(serde_json::json!({"a": [1, 2], "b": true})));
        let out = run(&mapping, &columns, &record);
        assert!(out.issues.is_empty());
        assert!(
            String::from_utf8(out.json.clone())
                .unwrap()
                .contains(r#""meta":{"a":[1,2],"b":true}"#)
        );
        record.cells[7] = Cell::Json(serde_json::json!({"a": {"b": {"c": {"d": 1}}}}));
        assert_eq!(
            kinds(&run(&mapping, &columns, &record)),
            vec![IssueKind::NestingTooDeep]
        );
        record.cells[7] = Cell::Json(serde_json::json!({"a": {"b": {"c": 1}}}));
        assert!(run(&mapping, &columns, &record).issues.is_empty());
        record.cells[7] = Cell::Json(serde_json::Value::Array(vec![1.into(); 255]));
        assert_eq!(
            kinds(&run(&mapping, &columns, &record)),
            vec![IssueKind::ListTooLong]
        );
        record.cells[7] = Cell::Json(serde_json::Value::Array(vec![1.into(); 254]));
        assert!(run(&mapping, &columns, &record).issues.is_empty());
    }

    #[test]
    fn too_many_properties_and_too_large() {
        let (mut mapping, mut columns) = base_mapping();
        let mut record = text_record(4, &good());
        // 7 fixed properties already; add columns up to 255.
        for i in 0..248 {
            let name = format!("c{i}");
            columns.push(name.clone());
            mapping.columns.push(ColumnMapping {
                column: name,
                ..Default::default()
            });
            record.cells.push(Cell::Text("v".into()));
        }
        let out = run(&mapping, &columns, &record);
        assert_eq!(kinds(&out), vec![IssueKind::TooManyProperties]);
        record.cells[8] = Cell::Text(String::new());
        assert!(run(&mapping, &columns, &record).issues.is_empty());

        let (mapping, columns) = base_mapping();
        let big: &'static str = Box::leak("x".repeat(1_000_000).into_boxed_str());
        let out = run(&mapping, &columns, &with(5, big));
        assert!(kinds(&out).contains(&IssueKind::EventTooLarge));
        assert!(!out.is_valid());
    }

    #[test]
    fn long_property_names_are_errors() {
        let (mut mapping, columns) = base_mapping();
        mapping.columns[0].rename = Some("n".repeat(256));
        let out = run(&mapping, &columns, &text_record(2, &good()));
        assert_eq!(kinds(&out), vec![IssueKind::PropertyNameTooLong]);
    }

    #[test]
    fn reserved_and_duplicate_names_are_mapping_warnings_and_not_sent() {
        let (mut mapping, columns) = base_mapping();
        mapping.columns[0].rename = Some("$bucket".into());
        mapping.columns[1].rename = Some("time".into());
        let t = Transformer::new(&mapping, &columns, options()).unwrap();
        let issues = t.mapping_issues();
        assert_eq!(issues.len(), 2);
        assert!(
            issues
                .iter()
                .all(|i| i.kind == IssueKind::ReservedName && i.row == 0)
        );
        let out = run(&mapping, &columns, &text_record(2, &good()));
        let json = String::from_utf8(out.json).unwrap();
        assert!(!json.contains("bucket"));
        assert_eq!(json.matches("\"time\"").count(), 1);
    }

    #[test]
    fn mapping_errors() {
        let (mut mapping, columns) = base_mapping();
        mapping.distinct_id = Some("customer".into());
        assert_eq!(
            Transformer::new(&mapping, &columns, options()).unwrap_err(),
            MappingError::UnknownColumn {
                field: "distinct_id".into(),
                column: "customer".into()
            }
        );
        let (mut mapping, columns) = base_mapping();
        mapping.event = None;
        assert!(matches!(
            Transformer::new(&mapping, &columns, options()),
            Err(MappingError::Unmapped { .. })
        ));
        let (mut mapping, columns) = base_mapping();
        mapping.time.column = None;
        assert!(matches!(
            Transformer::new(&mapping, &columns, options()),
            Err(MappingError::Unmapped { .. })
        ));
        let (mut mapping, columns) = base_mapping();
        mapping.distinct_id = None;
        assert!(matches!(
            Transformer::new(&mapping, &columns, options()),
            Err(MappingError::Unmapped { .. })
        ));
        let (mut mapping, columns) = base_mapping();
        mapping
            .country
            .as_mut()
            .unwrap()
            .overrides
            .insert("X".into(), "ZZZ".into());
        assert!(matches!(
            Transformer::new(&mapping, &columns, options()),
            Err(MappingError::BadCountryOverride { .. })
        ));
        let (mut mapping, columns) = base_mapping();
        mapping.time.timezone = "Mars/Olympus".into();
        assert!(Transformer::new(&mapping, &columns, options()).is_err());
    }

    #[test]
    fn constant_event_and_user_id_columns() {
        let (mut mapping, columns) = base_mapping();
        mapping.event = Some(ValueSource::Constant("Signup".into()));
        mapping.distinct_id = None;
        mapping.user_id = Some("user".into());
        let out = run(&mapping, &columns, &text_record(2, &good()));
        assert!(out.issues.is_empty(), "{:?}", out.issues);
        let json = String::from_utf8(out.json).unwrap();
        assert!(json.starts_with(r#"{"event":"Signup","#));
        assert!(json.contains(r#""$user_id":"u1""#));
        assert!(!json.contains("distinct_id"));
    }

    #[test]
    fn settle_day_order_from_sample() {
        let (mut mapping, columns) = base_mapping();
        let sample = vec![with(2, "03/04/2024 10:00"), with(2, "03/25/2024 10:00")];
        settle_day_order(&mut mapping, &columns, &sample).unwrap();
        assert_eq!(mapping.time.day_order, Some(DayOrderAlias::MonthFirst));
        let (mut mapping, columns) = base_mapping();
        let sample = vec![with(2, "03/04/2024 10:00")];
        assert!(matches!(
            settle_day_order(&mut mapping, &columns, &sample),
            Err(MappingError::AmbiguousDayOrder { .. })
        ));
        let (mut mapping, columns) = base_mapping();
        let sample = vec![with(2, "2024-03-04T10:00:00Z")];
        settle_day_order(&mut mapping, &columns, &sample).unwrap();
        assert_eq!(mapping.time.day_order, None);
    }

    use crate::mapping::DayOrder as DayOrderAlias;

    /// Regression (found by the proptest below): a record with no cells at all, on row 0.
    #[test]
    fn record_without_cells_is_invalid_not_a_panic() {
        let (mut mapping, columns) = base_mapping();
        mapping.insert_id = InsertIdSource::Generate;
        let record = Record {
            row: 0,
            ..Record::default()
        };
        let mut t = Transformer::new(&mapping, &columns, options()).unwrap();
        let mut out = Transformed::default();
        t.transform(&record, &mut out);
        assert!(!out.is_valid());
    }

    proptest::proptest! {
        // Failures are not persisted to a file; shrunk cases become unit tests like the one above.
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]
        #[test]
        fn arbitrary_cells_never_panic(
            cells in proptest::collection::vec(".{0,40}", 0..10),
            invalid in proptest::option::of(0usize..8),
            row in 0u64..1_000_000,
        ) {
            let (mut mapping, columns) = base_mapping();
            mapping.insert_id = InsertIdSource::Generate;
            let mut record = Record {
                row,
                cells: cells.into_iter().map(Cell::Text).collect(),
                ..Record::default()
            };
            if let Some(i) = invalid
                && let Some(cell) = record.cells.get_mut(i)
            {
                *cell = Cell::InvalidUtf8("x\u{FFFD}".into());
            }
            let mut t = Transformer::new(&mapping, &columns, options()).unwrap();
            let mut out = Transformed::default();
            t.transform(&record, &mut out);
            if out.is_valid() {
                let parsed: serde_json::Value = serde_json::from_slice(&out.json).unwrap();
                proptest::prop_assert!(parsed["properties"]["time"].is_i64());
            }
        }
    }
}
