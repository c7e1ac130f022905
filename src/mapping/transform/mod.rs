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
//!
//! # Layout
//!
//! [`Transformer::new`] (in `resolve`) checks the mapping against the file's columns once; then
//! [`Transformer::transform`] runs one writer per section of the event, each in its own file:
//! `identity` (event name, user ids, insert id and the head of the JSON line), `event_time`,
//! `geo` (country, city, region, IP) and `properties` (columns, extra keys, constants, limits).
//! Whether a value breaks a Mixpanel rule is asked of [`crate::validate`]'s predicates.

mod cells;
mod event_time;
mod geo;
mod identity;
pub mod profile;
mod properties;
mod resolve;
pub mod row;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

use crate::source::{Cell, Record};
use crate::validate::{Issue, IssueKind, Severity};

use super::time::{TimeFormat, TimeParser, profile_time_values};
use super::{ImportKind, Mapping, MappingError};

// The profile transform (`profile`) shares the cell reading, messages and resolution helpers.
use cells::{
    CellText, cell_text, check_long_string, push_invalid_utf8, push_long_name, shorten, type_name,
};
use resolve::{
    CountryLookup, CountrySpec, EventFrom, PropertySpec, find_column, find_optional,
    mapping_warning, property_key,
};

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

/// One transformed record: the event's JSON line (or a profile's update records) and what is
/// wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transformed {
    /// Whether this is an event or a user profile update.
    pub kind: ImportKind,
    /// The source row (copied from the record).
    pub row: u64,
    /// The event as one line of JSON (`{"event":..,"properties":{..}}`, no trailing newline),
    /// exactly as the import sends it. Meaningful only when [`Transformed::is_valid`].
    pub json: Vec<u8>,
    /// The event name.
    pub event: String,
    /// The `distinct_id` sent (may be empty when allowed); a profile's `$distinct_id`.
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

    /// The key that matches Mixpanel's `failed_records` to this row and finds repeats in a
    /// file: the `$insert_id` of an event, the `$distinct_id` of a profile.
    pub fn key(&self) -> &str {
        match self.kind {
            ImportKind::Events => &self.insert_id,
            ImportKind::Profiles => &self.distinct_id,
        }
    }
}

/// Fill `mapping.time.day_order` (for user profiles: `mapping.profile.created.day_order`) from
/// sample records when the data proves it.
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
    let time = mapping.row_time_mut();
    if time.day_order.is_some() || time.format != TimeFormat::Auto {
        return Ok(());
    }
    let Some(column) = time.column.clone() else {
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
        time.day_order = Some(order);
        return Ok(());
    }
    if let Some(example) = profile.ambiguous_example {
        return Err(MappingError::AmbiguousDayOrder { column, example });
    }
    Ok(())
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
    /// The mapping's insert-id generation (0: ids as they always were).
    insert_id_generation: u32,
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

impl Transformer {
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
        if self.check_record_shape(record, out) {
            return;
        }
        self.read_event(record, out);
        let users = self.read_users(record, out);
        self.read_time(record, out);
        self.read_insert_id(record, out);
        let mut count = self.write_head(out, &users);
        count += self.write_geo(record, out);
        count += self.write_columns(record, out);
        count += self.write_extras(record, out);
        count += self.write_constants(out);
        properties::check_event_limits(record.row, count, out);
    }

    /// Issues of the record as a whole. Returns `true` when the record cannot be an event at all.
    fn check_record_shape(&self, record: &Record, out: &mut Transformed) -> bool {
        let row = record.row;
        if let Some(error) = &record.error {
            out.issues.push(Issue {
                kind: IssueKind::MalformedRecord,
                field: "event".to_owned(),
                column: None,
                row,
                message: format!("row {row} cannot be read: {error}. Fix the row in the file."),
            });
            return true;
        }
        if let Some(fields) = record.ragged {
            let header = self.columns.len();
            if fields > header {
                let surplus: Vec<String> = record
                    .extra
                    .iter()
                    .filter(|(name, _)| name.starts_with("column_"))
                    .filter_map(|(_, cell)| match cell {
                        Cell::Text(s) | Cell::InvalidUtf8(s) if !s.trim().is_empty() => {
                            Some(format!("'{}'", cells::shorten(s)))
                        }
                        _ => None,
                    })
                    .collect();
                if !surplus.is_empty() {
                    let shown = surplus
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ");
                    out.issues.push(Issue {
                        kind: IssueKind::ExtraCells,
                        field: "properties".to_owned(),
                        column: None,
                        row,
                        message: format!(
                            "row {row} has {fields} cells but the header has {header} columns: the extra values {shown} cannot be attributed to a column (usually a delimiter inside a value that is not quoted). Quote that value or fix the row."
                        ),
                    });
                }
            } else {
                out.issues.push(Issue {
                    kind: IssueKind::RaggedRow,
                    field: "properties".to_owned(),
                    column: None,
                    row,
                    message: format!(
                        "row {row} has {fields} fields but the header has {header}; the missing cells are left out."
                    ),
                });
            }
        }
        false
    }
}
