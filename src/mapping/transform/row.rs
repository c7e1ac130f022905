//! One entry point for both kinds of import: [`RowTransformer`] is the event transform or the
//! profile transform, chosen by the mapping's [`ImportKind`], so the check and the import call
//! one `transform` whatever the file holds.

use crate::mapping::{ImportKind, Mapping, MappingError, ProfileOperation};
use crate::source::Record;
use crate::validate::{Issue, IssueKind};

use super::profile::ProfileTransformer;
use super::{TransformOptions, Transformed, Transformer, shorten};

/// The transform for a mapping of either kind.
#[derive(Debug)]
pub enum RowTransformer {
    /// Events (`/import`).
    Events(Transformer),
    /// User profiles (`/engage`).
    Profiles(ProfileTransformer),
}

impl RowTransformer {
    /// Resolve `mapping` against `columns` with the transform of its kind.
    pub fn new(
        mapping: &Mapping,
        columns: &[String],
        options: TransformOptions,
    ) -> Result<Self, MappingError> {
        Ok(match mapping.kind {
            ImportKind::Events => Self::Events(Transformer::new(mapping, columns, options)?),
            ImportKind::Profiles => {
                Self::Profiles(ProfileTransformer::new(mapping, columns, options)?)
            }
        })
    }

    /// What each row becomes.
    pub fn kind(&self) -> ImportKind {
        match self {
            Self::Events(_) => ImportKind::Events,
            Self::Profiles(_) => ImportKind::Profiles,
        }
    }

    /// Turn one record into what is sent for it, and its issues.
    pub fn transform(&mut self, record: &Record, out: &mut Transformed) {
        match self {
            Self::Events(t) => t.transform(record, out),
            Self::Profiles(t) => t.transform(record, out),
        }
    }

    /// Mapping-wide warnings (row 0).
    pub fn mapping_issues(&self) -> &[Issue] {
        match self {
            Self::Events(t) => t.mapping_issues(),
            Self::Profiles(t) => t.mapping_issues(),
        }
    }

    /// The file's columns.
    pub fn columns(&self) -> &[String] {
        match self {
            Self::Events(t) => t.columns(),
            Self::Profiles(t) => t.columns(),
        }
    }

    /// How a repeated [`Transformed::key`] is reported for this kind of import.
    pub fn repeated_key(&self) -> RepeatedKey {
        match self {
            Self::Events(_) => RepeatedKey::InsertId,
            Self::Profiles(t) => RepeatedKey::UserId(t.operation()),
        }
    }
}

/// What a row whose [`Transformed::key`] appeared on an earlier row means: a duplicate insert
/// id (Mixpanel keeps one of the events), or a duplicate user ID (Mixpanel applies the profile
/// updates in file order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatedKey {
    /// Events: the `$insert_id`.
    InsertId,
    /// User profiles: the `$distinct_id`, written with this operation.
    UserId(ProfileOperation),
}

impl RepeatedKey {
    /// The warning for row `row`, whose key `key` appeared earlier in the file.
    pub fn issue(self, row: u64, key: &str) -> Issue {
        match self {
            Self::InsertId => Issue {
                kind: IssueKind::DuplicateInsertId,
                field: "properties.$insert_id".to_owned(),
                column: None,
                row,
                message: format!(
                    "row {row}: insert ID '{key}' appeared earlier in the file; Mixpanel keeps only one event per (event, user, time, insert ID)."
                ),
            },
            Self::UserId(operation) => {
                let outcome = match operation {
                    ProfileOperation::Set => {
                        "so this later row's values win where both rows have one"
                    }
                    ProfileOperation::SetOnce => {
                        "and with \"only fill empty values\" the earlier row's values stay"
                    }
                };
                Issue {
                    kind: IssueKind::DuplicateUserId,
                    field: "$distinct_id".to_owned(),
                    column: None,
                    row,
                    message: format!(
                        "row {row}: user ID '{}' appeared on an earlier row. Mixpanel applies profile updates in file order, {outcome}.",
                        shorten(key)
                    ),
                }
            }
        }
    }
}
