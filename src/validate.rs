//! Mixpanel's strict-mode rules (and our non-blocking warnings) as typed data.
//!
//! An [`Issue`] says what is wrong (its [`IssueKind`]), whether it blocks the event
//! ([`Severity`]), which Mixpanel field and source column it concerns, and on which source row.

use serde::{Deserialize, Serialize};

/// Whether an issue blocks the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Mixpanel would reject the event: it is never sent.
    Error,
    /// Sent, but the user should know (truncation, unknown country, old time, ...).
    Warning,
}

/// What is wrong. Errors first, then warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    // ----- errors: the event is not sent -----
    /// Event name empty or missing.
    EmptyEventName,
    /// User id empty or missing while a user column is mapped.
    MissingUserId,
    /// `distinct_id` is one of Mixpanel's banned values.
    BannedDistinctId,
    /// Time empty or missing.
    MissingTime,
    /// Time could not be parsed.
    UnparsableTime,
    /// Time before 1971-01-01.
    TimeTooOld,
    /// Time more than one hour in the future.
    TimeInFuture,
    /// `$insert_id` is one of the banned values.
    BannedInsertId,
    /// `$insert_id` longer than 36 bytes.
    InsertIdTooLong,
    /// `$insert_id` has characters other than `[A-Za-z0-9-]`.
    InsertIdBadCharacters,
    /// 255 properties or more.
    TooManyProperties,
    /// Serialized event of 1 MB or more.
    EventTooLarge,
    /// Objects nested deeper than 3 levels.
    NestingTooDeep,
    /// A list with 255 items or more.
    ListTooLong,
    /// A value that is not valid UTF-8.
    InvalidUtf8,
    /// A property name longer than 255 characters.
    PropertyNameTooLong,
    /// The record itself could not be read (a malformed JSON line or element).
    MalformedRecord,
    /// A CSV/Excel row with more (non-empty) cells than the header: its values cannot be
    /// attributed to columns (usually an unquoted delimiter inside a value).
    ExtraCells,
    /// A user-profile update of 1 MB or more.
    ProfileTooLarge,
    /// A user-profile list value larger than 256 KB.
    ListTooLarge,
    // ----- warnings: the event is sent -----
    /// A string longer than 255 characters (Mixpanel truncates it).
    StringTruncated,
    /// A country value that resolves to no ISO code (sent without `mp_country_code`).
    UnknownCountry,
    /// A reserved property name (`$bucket`, `bucket`, `$ignore`, `token`, ...).
    ReservedName,
    /// Time older than the project's retention window: Mixpanel will purge it.
    OlderThanRetention,
    /// The same `$insert_id` appears more than once in the file.
    DuplicateInsertId,
    /// `$identify`, `$create_alias` or `$merge`: identity events.
    IdentityEvent,
    /// A value that does not fit the column's chosen type; sent as text.
    TypeMismatch,
    /// A CSV row with fewer fields than the header (or extra empty ones).
    RaggedRow,
    /// An insert-ID value Mixpanel would refuse (over 36 bytes, or characters outside
    /// `[A-Za-z0-9-]`), sent as a stable hash of the value instead.
    InsertIdHashed,
    /// A placeholder insert ID (`null`, `undefined`, `0`, …) replaced by one derived from the row.
    InsertIdPlaceholder,
    /// The same user ID appears on more than one row of a profiles file: Mixpanel applies the
    /// updates in order, so the later row wins (`$set`), or the first value stays (`$set_once`).
    DuplicateUserId,
    /// An `$email` value that does not look like an e-mail address (sent as it is).
    InvalidEmail,
}

impl IssueKind {
    /// Errors block the event; the rest are warnings.
    pub fn severity(self) -> Severity {
        if self < IssueKind::StringTruncated {
            Severity::Error
        } else {
            Severity::Warning
        }
    }

    /// A short, plain-words title for grouping (the per-row message carries the details).
    pub fn title(self) -> &'static str {
        match self {
            IssueKind::EmptyEventName => "Event name is empty",
            IssueKind::MissingUserId => "User ID is empty",
            IssueKind::BannedDistinctId => "User ID is a placeholder value Mixpanel refuses",
            IssueKind::MissingTime => "Time is empty",
            IssueKind::UnparsableTime => "Time cannot be read",
            IssueKind::TimeTooOld => "Time is before 1971-01-01",
            IssueKind::TimeInFuture => "Time is more than 1 hour in the future",
            IssueKind::BannedInsertId => "Insert ID is a placeholder value Mixpanel refuses",
            IssueKind::InsertIdTooLong => "Insert ID is longer than 36 characters",
            IssueKind::InsertIdBadCharacters => {
                "Insert ID has characters other than letters, digits and '-'"
            }
            IssueKind::TooManyProperties => "Event has 255 or more properties",
            IssueKind::EventTooLarge => "Event is 1 MB or larger",
            IssueKind::NestingTooDeep => "Value is nested more than 3 levels deep",
            IssueKind::ListTooLong => "List has 255 or more items",
            IssueKind::InvalidUtf8 => "Text is not valid UTF-8",
            IssueKind::PropertyNameTooLong => "Property name is longer than 255 characters",
            IssueKind::MalformedRecord => "Row cannot be read",
            IssueKind::ExtraCells => "Row has more cells than the header",
            IssueKind::ProfileTooLarge => "Profile update is 1 MB or larger",
            IssueKind::ListTooLarge => "List is larger than 256 KB",
            IssueKind::StringTruncated => "Text longer than 255 characters will be truncated",
            IssueKind::UnknownCountry => "Country not recognised (sent without a country code)",
            IssueKind::ReservedName => "Reserved property name",
            IssueKind::OlderThanRetention => "Older than the project's retention window",
            IssueKind::DuplicateInsertId => "Insert ID appears more than once in the file",
            IssueKind::IdentityEvent => "Identity event ($identify, $create_alias, $merge)",
            IssueKind::TypeMismatch => "Value does not match the column type (sent as text)",
            IssueKind::RaggedRow => "Row has fewer fields than the header",
            IssueKind::InsertIdHashed => "Insert ID made valid by a stable hash",
            IssueKind::InsertIdPlaceholder => {
                "Insert ID is a placeholder: one is derived from the row instead"
            }
            IssueKind::DuplicateUserId => "User ID appears on more than one row",
            IssueKind::InvalidEmail => "E-mail address does not look valid (sent as it is)",
        }
    }
}

/// One problem with one event (or, with `row == 0`, with the mapping as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// What is wrong.
    pub kind: IssueKind,
    /// The Mixpanel field, as Mixpanel names it: `event`, `properties.time`,
    /// `properties.distinct_id`, `properties.$insert_id`, `properties.<name>`.
    pub field: String,
    /// The source column, when the value came from one.
    pub column: Option<String>,
    /// 1-based source row (see [`crate::source::Record::row`]); 0 for mapping-wide issues.
    pub row: u64,
    /// A plain-words message with the offending value and what to do.
    pub message: String,
}

impl Issue {
    /// Whether this issue blocks the event.
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }
}

/// Mixpanel's banned values for `distinct_id` and `$insert_id` (compared case-insensitively).
pub const BANNED_IDS: &[&str] = &[
    "00000000-0000-0000-0000-000000000000",
    "anon",
    "anonymous",
    "nil",
    "none",
    "null",
    "n/a",
    "na",
    "undefined",
    "unknown",
    "<nil>",
    "0",
    "-1",
    "true",
    "false",
    "[]",
    "{}",
];

/// Whether `value` is one of Mixpanel's banned id values.
pub fn is_banned_id(value: &str) -> bool {
    BANNED_IDS
        .iter()
        .any(|banned| banned.eq_ignore_ascii_case(value.trim()))
}

/// Earliest accepted event time: 1971-01-01T00:00:00Z in milliseconds.
pub const MIN_TIME_MS: i64 = 31_536_000_000;
/// How far in the future an event may be: one hour.
pub const MAX_FUTURE_MS: i64 = 3_600_000;
/// Mixpanel's per-string limit (longer strings are truncated).
pub const MAX_STRING_CHARS: usize = 255;
/// An event must have fewer properties than this.
pub const MAX_PROPERTIES: usize = 255;
/// An event's JSON must be smaller than this many bytes.
pub const MAX_EVENT_BYTES: usize = 1_000_000;
/// Lists must have fewer items than this.
pub const MAX_LIST_ITEMS: usize = 255;
/// Maximum nesting depth of objects.
pub const MAX_NESTING_DEPTH: usize = 3;
/// Maximum `$insert_id` length in bytes.
pub const MAX_INSERT_ID_BYTES: usize = 36;
/// Property names reserved by Mixpanel that a source column should not be sent as.
pub const RESERVED_NAMES: &[&str] = &["$bucket", "bucket", "$ignore", "token"];
/// Identity event names.
pub const IDENTITY_EVENTS: &[&str] = &["$identify", "$create_alias", "$merge"];

/// A user-profile update must be smaller than this many bytes of JSON.
pub const MAX_PROFILE_RECORD_BYTES: usize = 1_000_000;
/// A user-profile list value may be at most this many bytes of JSON.
pub const MAX_PROFILE_LIST_BYTES: usize = 256 * 1024;
/// Names a custom profile property must not have: the keys of an `/engage` record and its
/// operations, which Mixpanel would read as instructions rather than properties.
pub const PROFILE_RESERVED_NAMES: &[&str] = &[
    "$distinct_id",
    "$token",
    "$ip",
    "$time",
    "$ignore_time",
    "$ignore_alias",
    "$set",
    "$set_once",
    "$unset",
    "$add",
    "$union",
    "$append",
    "$remove",
    "$delete",
];

// ----- rule predicates (the transform asks these; each says what Mixpanel would do) -----

/// Check an `$insert_id` against Mixpanel's rules.
///
/// - empty or blank, or one of Mixpanel's placeholder values ([`is_banned_id`], e.g. `null`,
///   `0`, `undefined`) → [`IssueKind::BannedInsertId`] (an empty id is as useless for
///   deduplication as a placeholder);
/// - longer than 36 bytes → [`IssueKind::InsertIdTooLong`];
/// - any character outside `[A-Za-z0-9-]` (including spaces around it) →
///   [`IssueKind::InsertIdBadCharacters`].
pub fn check_insert_id(value: &str) -> Result<(), IssueKind> {
    if value.trim().is_empty() || is_banned_id(value) {
        return Err(IssueKind::BannedInsertId);
    }
    if value.len() > MAX_INSERT_ID_BYTES {
        return Err(IssueKind::InsertIdTooLong);
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(IssueKind::InsertIdBadCharacters);
    }
    Ok(())
}

/// Whether `name` is a property name Mixpanel reserves (compared without case).
pub fn is_reserved_name(name: &str) -> bool {
    RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// The time rule for an event at `time_ms` (UTC milliseconds): before 1971 or more than an hour
/// after `now_ms` is an error, older than `retention_days` a warning, else `None`.
pub fn time_rule(time_ms: i64, now_ms: i64, retention_days: u32) -> Option<IssueKind> {
    if time_ms < MIN_TIME_MS {
        Some(IssueKind::TimeTooOld)
    } else if time_ms > now_ms.saturating_add(MAX_FUTURE_MS) {
        Some(IssueKind::TimeInFuture)
    } else if time_ms < now_ms.saturating_sub(i64::from(retention_days) * 86_400_000) {
        Some(IssueKind::OlderThanRetention)
    } else {
        None
    }
}

/// Whether a string is longer than Mixpanel keeps (it truncates at 255 characters).
#[inline]
pub fn is_truncated_string(s: &str) -> bool {
    s.len() > MAX_STRING_CHARS && s.chars().count() > MAX_STRING_CHARS
}

/// What a nested JSON value looks like against Mixpanel's limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonShape {
    /// Object nesting depth (a top-level object property = 1).
    pub depth: usize,
    /// The longest list anywhere in the value.
    pub longest_list: usize,
    /// Whether any string is longer than Mixpanel keeps.
    pub long_string: bool,
}

impl JsonShape {
    /// Measure `value` (a property's value).
    pub fn of(value: &serde_json::Value) -> Self {
        Self::at(value, 1)
    }

    fn at(value: &serde_json::Value, level: usize) -> Self {
        let mut shape = JsonShape::default();
        let mut merge = |s: JsonShape| {
            shape.depth = shape.depth.max(s.depth);
            shape.longest_list = shape.longest_list.max(s.longest_list);
            shape.long_string |= s.long_string;
        };
        match value {
            serde_json::Value::Object(map) => {
                merge(JsonShape {
                    depth: level,
                    ..JsonShape::default()
                });
                for v in map.values() {
                    merge(Self::at(v, level + 1));
                }
            }
            serde_json::Value::Array(items) => {
                merge(JsonShape {
                    longest_list: items.len(),
                    ..JsonShape::default()
                });
                for v in items {
                    merge(Self::at(v, level));
                }
            }
            serde_json::Value::String(s) => merge(JsonShape {
                long_string: is_truncated_string(s),
                ..JsonShape::default()
            }),
            _ => {}
        }
        shape
    }

    /// Deeper than Mixpanel accepts.
    pub fn too_deep(&self) -> bool {
        self.depth > MAX_NESTING_DEPTH
    }

    /// Has a list Mixpanel refuses.
    pub fn list_too_long(&self) -> bool {
        self.longest_list >= MAX_LIST_ITEMS
    }
}
