//! The one transform: a source record → the exact JSON event the import sends, plus its issues.
//!
//! [`Transformer::transform`] is the single function both `check` and `import` call, so the dry
//! run predicts exactly what the import sends.

use crate::source::Record;
use crate::validate::{Issue, Severity};

use super::{Mapping, MappingError};

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
}

/// A mapping resolved against one file's columns: column indexes looked up, time zone and
/// formats fixed, property names pre-escaped. Build once per run, then call [`Self::transform`]
/// per record.
#[derive(Debug)]
pub struct Transformer {
    _private: (),
}

impl Transformer {
    /// Resolve `mapping` against `columns`. Fails if the mapping names unknown columns, leaves
    /// the event name or time unmapped, has an unknown zone, or leaves day/month order undecided.
    pub fn new(
        mapping: &Mapping,
        columns: &[String],
        options: TransformOptions,
    ) -> Result<Self, MappingError> {
        let _ = (mapping, columns, options);
        todo!("Transformer::new")
    }

    /// Mapping-wide warnings (row 0), e.g. a column sent under a reserved name.
    pub fn mapping_issues(&self) -> &[Issue] {
        todo!("Transformer::mapping_issues")
    }

    /// Turn one record into its event and issues, reusing `out`'s allocations.
    pub fn transform(&mut self, record: &Record, out: &mut Transformed) {
        let _ = (record, out);
        todo!("Transformer::transform")
    }
}
