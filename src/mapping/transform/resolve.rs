//! Resolving a mapping against one file's columns, once per run: column indexes looked up,
//! time zone and formats fixed, property names pre-escaped, constants pre-serialized.

use std::collections::{HashMap, HashSet};

use crate::mapping::country::is_alpha2;
use crate::mapping::time::TimeParser;
use crate::mapping::typing::{DecimalSeparator, PropertyType, write_json_string};
use crate::mapping::{
    CountryMapping, InsertIdSource, Mapping, MappingError, RequiredField, ValueSource,
};
use crate::validate::{self, Issue, IssueKind};

use super::{FIELD_NAMES, TransformOptions, Transformer};

/// Where the event name comes from, resolved.
#[derive(Debug)]
pub(super) enum EventFrom {
    Column(usize),
    Constant(String),
}

/// One included column, resolved.
#[derive(Debug)]
pub(super) struct PropertySpec {
    /// Index into the record's cells.
    pub(super) index: usize,
    /// The source column name.
    pub(super) column: String,
    /// The property name.
    pub(super) name: String,
    /// `,"name":` pre-escaped.
    pub(super) key: Vec<u8>,
    /// How to type text cells.
    pub(super) kind: PropertyType,
    /// The decimal separator of a number column.
    pub(super) decimal: DecimalSeparator,
    /// `,"currency_property":` pre-escaped, when the currency of numbers is sent.
    pub(super) currency_key: Option<Vec<u8>>,
    /// The name is longer than Mixpanel allows.
    pub(super) name_too_long: bool,
}

/// The most distinct country values whose resolution is cached.
pub(super) const COUNTRY_CACHE_MAX: usize = 10_000;

/// The cached result of resolving one country value.
#[derive(Debug, Clone, Copy)]
pub(super) enum CountryLookup {
    /// Send this code.
    Code(&'static str),
    /// The mapping's override says: send no country.
    Skip,
    /// Unknown: warn and send no country.
    Unknown,
}

/// The resolved country column.
#[derive(Debug)]
pub(super) struct CountrySpec {
    pub(super) index: usize,
    pub(super) column: String,
    /// Overrides, with their codes upper-cased ("" = send nothing).
    pub(super) overrides: HashMap<String, String>,
    pub(super) cache: HashMap<String, CountryLookup>,
}

pub(super) fn find_column(
    columns: &[String],
    field: &str,
    column: &str,
) -> Result<usize, MappingError> {
    columns
        .iter()
        .position(|c| c == column)
        .ok_or_else(|| MappingError::UnknownColumn {
            field: field.to_owned(),
            column: column.to_owned(),
        })
}

pub(super) fn find_optional(
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
pub(super) fn property_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 4);
    key.push(b',');
    write_json_string(name, &mut key);
    key.push(b':');
    key
}

pub(super) fn mapping_warning(
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
                Some(CountrySpec::resolve(cm, columns, "mp_country_code")?)
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
            if validate::is_reserved_name(&name) {
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
            let currency = cm
                .currency_property
                .as_deref()
                .filter(|p| cm.kind == PropertyType::Number && !p.is_empty());
            let currency_key = match currency {
                Some(p)
                    if validate::is_reserved_name(p) || !property_names.insert(p.to_owned()) =>
                {
                    mapping_issues.push(mapping_warning(
                        IssueKind::ReservedName,
                        format!("properties.{p}"),
                        Some(cm.column.clone()),
                        format!(
                            "the currency of column '{}' would be sent as '{p}', a reserved name or one already used; it is not sent. Choose another name.",
                            cm.column
                        ),
                    ));
                    None
                }
                Some(p) => Some(property_key(p)),
                None => None,
            };
            properties.push(PropertySpec {
                index,
                column: cm.column.clone(),
                key: property_key(&name),
                name_too_long: name.chars().count() > validate::MAX_STRING_CHARS,
                name,
                kind: cm.kind,
                decimal: cm.decimal,
                currency_key,
            });
        }
        let mut constants_json = Vec::new();
        let mut constants_count = 0;
        for (name, value) in &mapping.constants {
            let field = format!("properties.{name}");
            if validate::is_reserved_name(name) || !property_names.insert(name.clone()) {
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
                serde_json::Value::String(s) => write_json_string(s, &mut constants_json),
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
            insert_id_generation: mapping.insert_id_generation,
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
}

impl CountrySpec {
    /// Resolve a country mapping against the file's columns: the column's index and the
    /// overrides with their codes upper-cased (`""` = send no country). `field` names what the
    /// column is sent as, for the error when it is missing.
    pub(super) fn resolve(
        mapping: &CountryMapping,
        columns: &[String],
        field: &str,
    ) -> Result<Self, MappingError> {
        let index = find_column(columns, field, &mapping.column)?;
        let mut overrides = HashMap::new();
        for (value, code) in &mapping.overrides {
            let code = code.trim().to_ascii_uppercase();
            if !code.is_empty() && !is_alpha2(&code) {
                return Err(MappingError::BadCountryOverride {
                    value: value.clone(),
                    code,
                });
            }
            overrides.insert(value.clone(), code);
        }
        Ok(CountrySpec {
            index,
            column: mapping.column.clone(),
            overrides,
            cache: HashMap::new(),
        })
    }

    /// What to send for the (trimmed, non-empty) country text: the override, else the
    /// resolved code, cached for the first [`COUNTRY_CACHE_MAX`] distinct values.
    pub(super) fn lookup(&mut self, text: &str) -> CountryLookup {
        if let Some(lookup) = self.cache.get(text) {
            return *lookup;
        }
        let resolved = |value: &str| match crate::mapping::country::resolve_country(value) {
            Some(code) => CountryLookup::Code(code),
            None => CountryLookup::Unknown,
        };
        let lookup = match self.overrides.get(text) {
            Some(code) if code.is_empty() => CountryLookup::Skip,
            Some(code) => resolved(code),
            None => resolved(text),
        };
        if self.cache.len() < COUNTRY_CACHE_MAX {
            self.cache.insert(text.to_owned(), lookup);
        }
        lookup
    }
}
