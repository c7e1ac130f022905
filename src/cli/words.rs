//! How the command line words the engine's typed errors: the engine says what is wrong, the
//! command line adds what to do with its own means (a mapping file, flags).

use std::path::Path;

use crate::mapping::{MappingError, RequiredField};

/// What to do about a mapping error, in terms of the mapping file and the commands.
pub fn mapping_advice(error: &MappingError) -> &'static str {
    match error {
        MappingError::UnknownColumn { .. } => {
            "Pick another column in the mapping file, or write a new one with `mixport suggest FILE -o mapping.json`."
        }
        MappingError::Unmapped {
            field: RequiredField::Event,
        } => {
            "Set \"event\" to a column ({\"from\": \"column\", \"value\": \"action\"}) or a constant name ({\"from\": \"constant\", \"value\": \"Purchase\"})."
        }
        MappingError::Unmapped {
            field: RequiredField::User,
        } => {
            "Set \"distinct_id\" to the column with the user's id, or set \"allow_missing_user\": true to send events tied to no user."
        }
        MappingError::Unmapped {
            field: RequiredField::Time,
        } => "Set \"time\": {\"column\": \"...\"} to the column holding when each event happened.",
        MappingError::Unmapped {
            field: RequiredField::ProfileUser,
        } => {
            "Set \"distinct_id\" to the column with each person's ID: Mixport never creates a profile without it."
        }
        MappingError::UnknownTimeZone(_) => "Fix \"time\": {\"timezone\": ...} in the mapping.",
        MappingError::BadTimePattern { .. } => {
            "Fix \"time\": {\"format\": {\"kind\": \"pattern\", ...}} in the mapping (chrono strftime syntax)."
        }
        MappingError::AmbiguousDayOrder { .. } => {
            "Choose the order: set \"time\": {\"day_order\": \"day_first\"} or \"month_first\" in the mapping (pass it with --mapping)."
        }
        MappingError::BadCountryOverride { .. } => {
            "Fix \"country\": {\"overrides\": ...} in the mapping."
        }
        MappingError::Template { .. } => {
            "Write a mapping with `mixport suggest FILE -o mapping.json` and edit it."
        }
    }
}

/// A mapping error as one line for stderr: the file, what is wrong, what to do.
pub fn mapping_error(file: &Path, error: &MappingError) -> String {
    format!("{}: {error} {}", file.display(), mapping_advice(error))
}
