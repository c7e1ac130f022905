//! The mapping: how the columns of a file become Mixpanel events, or user profiles.
//!
//! A mapping's [`ImportKind`] says which: events (the default, so templates saved before
//! profiles existed still load) go to `/import` through [`transform::Transformer`]; user
//! profiles go to `/engage` through [`transform::profile::ProfileTransformer`], which reads the
//! same user, country, city and region fields and the same columns, plus [`ProfileMapping`].
//!
//! A [`Mapping`] is plain serde data, saved and loaded as a JSON template. It is resolved against
//! a file's columns into a [`transform::Transformer`], which turns each [`crate::source::Record`]
//! into the exact JSON line that the import will send, plus the [`crate::validate::Issue`]s that
//! Mixpanel's strict mode (and our warnings) would raise. The dry-run check and the live import
//! both call that one function.

pub mod country;
pub mod insert_id;
pub mod numbers;
pub mod suggest;
pub mod synonyms;
pub mod template;
pub mod time;
pub mod transform;
pub mod typing;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use time::{DayOrder, TimeFormat};
pub use typing::{DecimalSeparator, PropertyType};

/// The current template format version, written into every saved mapping.
pub const MAPPING_VERSION: u32 = 1;

/// Where a Mixpanel field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "snake_case",
    tag = "from",
    content = "value",
    deny_unknown_fields
)]
pub enum ValueSource {
    /// The named column of the file.
    Column(String),
    /// The same text for every event.
    Constant(String),
}

/// How `$insert_id` is obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "snake_case",
    tag = "from",
    content = "value",
    deny_unknown_fields
)]
pub enum InsertIdSource {
    /// Taken from a column; values must be ≤ 36 bytes of `[A-Za-z0-9-]`, else the row is invalid.
    Column(String),
    /// Derived deterministically from a hash of event, distinct_id, time and the row's content.
    Generate,
}

/// How the event time is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeMapping {
    /// The column holding the time. `None` is a mapping error (every event needs a time).
    pub column: Option<String>,
    /// The format; [`TimeFormat::Auto`] parses each value by the known format that fits it.
    pub format: TimeFormat,
    /// IANA zone of timestamps that carry no offset (default `UTC`). DST is handled by the tz db.
    pub timezone: String,
    /// Order of day and month in slash/dot dates. `None` = settle from the data; when the data
    /// cannot tell, the mapping is incomplete and the user must choose.
    pub day_order: Option<DayOrder>,
}

impl Default for TimeMapping {
    fn default() -> Self {
        Self {
            column: None,
            format: TimeFormat::Auto,
            timezone: "UTC".to_owned(),
            day_order: None,
        }
    }
}

/// The country column and its per-value fixes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CountryMapping {
    /// The column with country names or codes.
    pub column: String,
    /// Exact source value → ISO 3166-1 alpha-2 code (upper case), or "" to send no country for
    /// that value. Consulted before automatic resolution.
    pub overrides: BTreeMap<String, String>,
}

/// One source column that is not a Mixpanel field: sent as a property unless excluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnMapping {
    /// The column's name in the file.
    pub column: String,
    /// Whether the column is sent as a property.
    pub include: bool,
    /// The property name to send (default: the column name).
    pub rename: Option<String>,
    /// How to type the text.
    #[serde(rename = "type")]
    pub kind: PropertyType,
    /// For numbers: the decimal separator the column's values use (`1.234,56` is `comma`).
    #[serde(skip_serializing_if = "DecimalSeparator::is_point")]
    pub decimal: DecimalSeparator,
    /// For numbers: send the currency sign or code found next to a value (`12,50 €` → `EUR`)
    /// as this property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_property: Option<String>,
}

impl Default for ColumnMapping {
    fn default() -> Self {
        Self {
            column: String::new(),
            include: true,
            rename: None,
            kind: PropertyType::Text,
            decimal: DecimalSeparator::Point,
            currency_property: None,
        }
    }
}

impl ColumnMapping {
    /// The property name this column is sent under.
    pub fn property_name(&self) -> &str {
        self.rename.as_deref().unwrap_or(&self.column)
    }
}

/// What one row of the file becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// An event (`/import`): the default.
    #[default]
    Events,
    /// A user profile update (`/engage`).
    Profiles,
}

impl ImportKind {
    /// What one row is, in words for people, plural (`events`, `user profiles`).
    pub fn noun(self) -> &'static str {
        match self {
            ImportKind::Events => "events",
            ImportKind::Profiles => "user profiles",
        }
    }
}

/// How profile properties are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ProfileOperation {
    /// `$set`: the file's values overwrite the profile's.
    #[default]
    #[serde(rename = "$set", alias = "set")]
    Set,
    /// `$set_once`: only fill properties the profile does not have yet.
    #[serde(rename = "$set_once", alias = "set_once")]
    SetOnce,
}

impl ProfileOperation {
    /// Mixpanel's name for it (`$set`, `$set_once`).
    pub fn key(self) -> &'static str {
        match self {
            ProfileOperation::Set => "$set",
            ProfileOperation::SetOnce => "$set_once",
        }
    }
}

/// The parts of a mapping that only user profiles have. The profile's ID is
/// [`Mapping::distinct_id`] (required), its `$country_code`, `$city` and `$region` come from
/// [`Mapping::country`], [`Mapping::city`] and [`Mapping::region`], and every other column is a
/// custom property as for events ([`Mapping::columns`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileMapping {
    /// `$set` (default) or `$set_once`.
    pub operation: ProfileOperation,
    /// Clear (`$unset`) the mapped properties whose cell is empty; otherwise empty cells are
    /// left out and the profile keeps its value.
    pub unset_empty: bool,
    /// Column → `$email`.
    pub email: Option<String>,
    /// Column → `$name`.
    pub name: Option<String>,
    /// Column → `$first_name`.
    pub first_name: Option<String>,
    /// Column → `$last_name`.
    pub last_name: Option<String>,
    /// Column → `$phone`.
    pub phone: Option<String>,
    /// Column → `$avatar` (an image URL).
    pub avatar: Option<String>,
    /// `$created`: the column, its time format and zone, read like an event time and sent as
    /// `YYYY-MM-DDTHH:MM:SS` (UTC). Optional.
    pub created: TimeMapping,
}

impl ProfileMapping {
    fn is_default(&self) -> bool {
        *self == ProfileMapping::default()
    }

    /// The sentence that says what an import of `count` profiles will do, for the
    /// confirmation: "N user profiles will be created or updated; existing values of the
    /// mapped properties are overwritten." (kept, for `$set_once`; and what clearing does).
    pub fn confirmation(&self, count: u64) -> String {
        let noun = if count == 1 {
            "user profile"
        } else {
            "user profiles"
        };
        let effect = match self.operation {
            ProfileOperation::Set => "existing values of the mapped properties are overwritten",
            ProfileOperation::SetOnce => {
                "existing values of the mapped properties are kept (only empty ones are filled)"
            }
        };
        let clear = if self.unset_empty {
            " Properties whose cell is empty in the file are cleared."
        } else {
            ""
        };
        format!("{count} {noun} will be created or updated; {effect}.{clear}")
    }
}

/// A complete mapping from a file's columns to Mixpanel events (or user profiles). Saved as a
/// JSON template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// Template format version ([`MAPPING_VERSION`]).
    pub version: u32,
    /// Events (default) or user profiles.
    pub kind: ImportKind,
    /// The file's column names when the template was made; used to re-apply a template
    /// automatically to files with the same headers.
    pub headers: Vec<String>,
    /// The event name.
    pub event: Option<ValueSource>,
    /// The column with the user's id, sent as `distinct_id` (a profile's `$distinct_id`).
    pub distinct_id: Option<String>,
    /// Simplified ID merge: a column sent as `$user_id`.
    pub user_id: Option<String>,
    /// Simplified ID merge: a column sent as `$device_id`.
    pub device_id: Option<String>,
    /// Accept events whose user column is empty (sent with `distinct_id: ""`, tied to no user).
    /// Off by default: an empty user id is an invalid row.
    pub allow_missing_user: bool,
    /// The event time.
    pub time: TimeMapping,
    /// The insert id.
    pub insert_id: InsertIdSource,
    /// Country column → `mp_country_code` (a profile's `$country_code`).
    pub country: Option<CountryMapping>,
    /// City column → `$city`.
    pub city: Option<String>,
    /// Region column → `$region`.
    pub region: Option<String>,
    /// IP column → `ip` (used by Mixpanel for geolocation). Without it, `ip=0` is sent.
    pub ip: Option<String>,
    /// Every other column, in file order.
    pub columns: Vec<ColumnMapping>,
    /// Constant properties added to every event (e.g. the import label).
    pub constants: BTreeMap<String, serde_json::Value>,
    /// User profiles only: reserved profile properties and the operation.
    #[serde(skip_serializing_if = "ProfileMapping::is_default")]
    pub profile: ProfileMapping,
    /// The insert-id generation: 0 for a first import. A corrected re-import uses a new one,
    /// salted into every insert id, so its events are not dropped as duplicates of deleted ones
    /// (see [`insert_id`]). Left out of the template while 0, so older templates and their
    /// resume journals stay the same.
    #[serde(skip_serializing_if = "is_zero")]
    pub insert_id_generation: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            version: MAPPING_VERSION,
            headers: Vec::new(),
            event: None,
            distinct_id: None,
            user_id: None,
            device_id: None,
            allow_missing_user: false,
            time: TimeMapping::default(),
            insert_id: InsertIdSource::Generate,
            country: None,
            city: None,
            region: None,
            ip: None,
            columns: Vec::new(),
            constants: BTreeMap::new(),
            insert_id_generation: 0,
            kind: ImportKind::Events,
            profile: ProfileMapping::default(),
        }
    }
}

/// The name of the import-label property offered by default, so one run's events can be found.
pub const IMPORT_LABEL_PROPERTY: &str = "mixport_import";

/// A field every event needs, which the mapping must fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredField {
    /// The event name: a column or one name for every event.
    Event,
    /// The user ID (`distinct_id`), unless events tied to no user are allowed.
    User,
    /// The event time.
    Time,
    /// The user ID (`$distinct_id`) of each user profile: Mixport never creates a profile
    /// without it.
    ProfileUser,
}

impl RequiredField {
    /// The field in plain words ("the event name").
    pub fn describe(self) -> &'static str {
        match self {
            RequiredField::Event => "the event name",
            RequiredField::User => "the user ID",
            RequiredField::Time => "the event time",
            RequiredField::ProfileUser => "the user ID of each profile",
        }
    }
}

/// Why a mapping cannot be used with a file. Raised before any row is read.
///
/// The messages say what is wrong in plain words; what to do depends on the shell (a mapping
/// file for the command line, a control in the app), so each shell adds its own advice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A mapped column is not among the file's columns.
    #[error("the mapping uses column '{column}' for {field}, but the file has no such column.")]
    UnknownColumn {
        /// The Mixpanel field or property being mapped.
        field: String,
        /// The missing column.
        column: String,
    },
    /// A required field is not mapped.
    #[error("no column is mapped to {}.", .field.describe())]
    Unmapped {
        /// The field.
        field: RequiredField,
    },
    /// The time zone is not an IANA name.
    #[error("'{0}' is not a known IANA time zone (e.g. UTC, Europe/Berlin, America/New_York).")]
    UnknownTimeZone(String),
    /// The explicit time pattern is unusable.
    #[error("time pattern '{pattern}' is not valid: {message}")]
    BadTimePattern {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// The time column has dates whose day/month order the data cannot settle.
    #[error(
        "column '{column}' has dates such as '{example}' where day and month cannot be told apart: the day/month order must be chosen."
    )]
    AmbiguousDayOrder {
        /// The time column.
        column: String,
        /// A value that could be either.
        example: String,
    },
    /// A country override is not a two-letter code.
    #[error(
        "the country override for '{value}' is '{code}', which is not an ISO 3166-1 alpha-2 code (e.g. US, DE)."
    )]
    BadCountryOverride {
        /// The source value.
        value: String,
        /// The bad code.
        code: String,
    },
    /// The template file could not be read or parsed.
    #[error("mapping file {path}: {message}")]
    Template {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl Mapping {
    /// The time this kind of import reads from the file: the event time, or a user profile's
    /// `$created` (sign-up date).
    pub fn row_time(&self) -> &TimeMapping {
        match self.kind {
            ImportKind::Events => &self.time,
            ImportKind::Profiles => &self.profile.created,
        }
    }

    /// [`Self::row_time`], to change it.
    pub fn row_time_mut(&mut self) -> &mut TimeMapping {
        match self.kind {
            ImportKind::Events => &mut self.time,
            ImportKind::Profiles => &mut self.profile.created,
        }
    }

    /// Load a mapping template from a JSON file, strictly: unknown keys, unknown values and
    /// unsupported versions are refused with the key's path and a "did you mean" (see
    /// [`template::parse`]).
    pub fn load(path: &std::path::Path) -> Result<Self, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|e| MappingError::Template {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        template::parse(&text).map_err(|e| MappingError::Template {
            path: path.display().to_string(),
            message: format!("not a valid mapping: {e}"),
        })
    }

    /// Save this mapping as a pretty JSON template.
    pub fn save(&self, path: &std::path::Path) -> Result<(), MappingError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| MappingError::Template {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        crate::output::write_atomically(path, (text + "\n").as_bytes()).map_err(|e| {
            MappingError::Template {
                path: path.display().to_string(),
                message: e.to_string(),
            }
        })
    }

    /// Whether this template was made for a file with exactly these headers.
    pub fn matches_headers(&self, headers: &[String]) -> bool {
        !self.headers.is_empty() && self.headers == headers
    }

    /// A stable hash of the mapping's content (for the resume journal key).
    pub fn content_hash(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes))
    }
}
