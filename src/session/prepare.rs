//! Preparing a mapping for a file: where it starts from, what the data settles, and what is
//! still open.
//!
//! [`initial_mapping`] picks the mapping a session starts with: the one remembered for this very
//! file, else a saved template made for the same columns, else the suggestion. [`review`] then
//! fills in what the file's head proves (the day/month order), keeps the property columns in
//! step with the fields, and lists every [`Blocker`] left: questions only the user can answer
//! and mapping errors. The check and the import refuse to start while any is open, in both
//! shells, so a blocking question cannot be skipped.

use std::path::Path;

use crate::mapping::suggest::{self, FieldGuess};
use crate::mapping::transform::row::RowTransformer;
use crate::mapping::transform::{TransformOptions, settle_day_order};
use crate::mapping::{IMPORT_LABEL_PROPERTY, ImportKind, Mapping, MappingError};

use crate::source::{SourceError, SourceOptions};

use super::file::OpenedFile;
use super::memory::{self, Remembered};

/// Where a session's first mapping came from.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingOrigin {
    /// The suggestion from the column names and the head's values.
    Suggested,
    /// A saved template made for a file with the same columns.
    Template {
        /// The template's name.
        name: String,
    },
    /// The mapping last used with this same file, restored.
    Remembered {
        /// When it was saved (RFC 3339).
        saved_at: String,
    },
    /// A mapping file given by the user (command line).
    Given,
}

/// The mapping a session starts with.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The mapping, with its property columns in step with the file.
    pub mapping: Mapping,
    /// Where it came from.
    pub origin: MappingOrigin,
    /// The suggestion's guess for each field (also when another mapping was used, so a shell
    /// can show how sure the suggestion was).
    pub guesses: Vec<FieldGuess>,
    /// The whole suggestion: the export schema recognised, blank countries, how number columns
    /// are written, a time zone named by the title, and notes for the user.
    pub suggestion: suggest::Suggestion,
}

/// Something that stops the check and the import until it is dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// Dates in the time column read either way (03/04/2024): the user must say whether the
    /// day or the month comes first.
    DayOrder {
        /// The time column.
        column: String,
        /// A value that could be either.
        example: String,
    },
    /// The mapping cannot be used with this file (a required field unmapped, a column that does
    /// not exist, an unknown time zone, ...).
    Mapping(MappingError),
}

/// The suggestion for `file`: the import label named after the file, JSON values kept as
/// JSON, and the time zone its title rows name. It proposes user profiles when the file holds
/// one row per person and no event times (see [`crate::mapping::suggest::profiles`]).
pub fn suggest(file: &OpenedFile) -> suggest::Suggestion {
    suggest::suggest_for_source(&file.sniff, &file.head)
}

/// The mapping a session starts with: the `remembered` one when it was made for this file's
/// columns, else the first template in `templates_dir` made for the same columns, else the
/// suggestion. An import label is always offered.
pub fn initial_mapping(
    file: &OpenedFile,
    remembered: Option<Remembered>,
    templates_dir: Option<&Path>,
) -> Prepared {
    let suggestion = suggest(file);
    let columns = file.columns();
    let template = || {
        templates_dir
            .and_then(|dir| crate::config::find_template_for_headers(dir, columns).ok())
            .flatten()
    };
    let (mut mapping, origin) = match remembered.filter(|r| r.mapping.matches_headers(columns)) {
        Some(r) => (
            r.mapping,
            MappingOrigin::Remembered {
                saved_at: r.saved_at,
            },
        ),
        None => match template() {
            Some(t) => (t.mapping, MappingOrigin::Template { name: t.name }),
            None => (suggestion.mapping.clone(), MappingOrigin::Suggested),
        },
    };
    mapping.headers = columns.to_vec();
    // Events carry an import label; on user profiles it would be overwritten by every import.
    if mapping.kind == ImportKind::Events && !mapping.constants.contains_key(IMPORT_LABEL_PROPERTY)
    {
        mapping.constants.insert(
            IMPORT_LABEL_PROPERTY.to_owned(),
            serde_json::Value::String(suggestion.import_label.clone()),
        );
    }
    suggest::sync_property_columns(&mut mapping, columns, &file.head);
    Prepared {
        mapping,
        origin,
        guesses: suggestion.fields.clone(),
        suggestion,
    }
}

/// Make `mapping` a mapping of `kind` for `file`: switching to user profiles fills the profile
/// fields the suggestion finds (a field already chosen keeps its column) and drops the import
/// label; switching to events offers the import label again. The property columns follow.
pub fn set_kind(mapping: &mut Mapping, kind: ImportKind, file: &OpenedFile) {
    if mapping.kind == kind {
        return;
    }
    let suggestion = suggest(file);
    match kind {
        ImportKind::Profiles => suggest::profiles::use_profiles(
            mapping,
            &suggestion.profiles,
            file.columns(),
            &file.head,
        ),
        ImportKind::Events => suggest::profiles::use_events(
            mapping,
            &suggestion.import_label,
            file.columns(),
            &file.head,
        ),
    }
}

/// Open `path` the way the user last chose to read it: with `options` when any is set (and
/// remember them for the next time), else with the reading settings remembered for this file
/// in `memory_dir` (a header row picked, a delimiter), falling back to the guesses when the
/// file no longer reads that way. Failing to remember is not an error: the file is open.
pub fn open_as_last_read(
    path: &Path,
    options: &SourceOptions,
    memory_dir: &Path,
) -> Result<OpenedFile, SourceError> {
    if *options == SourceOptions::default()
        && let Some(last) = memory::load_reading(memory_dir, path)
        && let Ok(file) = super::file::open(path, &last)
    {
        return Ok(file);
    }
    let file = super::file::open(path, options)?;
    if *options != SourceOptions::default() {
        let _ = memory::save_reading(memory_dir, path, options);
    }
    Ok(file)
}

/// The remembered mapping for `file` from the memory folder, if any (read errors count as none).
pub fn remembered_for(memory_dir: &Path, file: &OpenedFile) -> Option<Remembered> {
    memory::load(memory_dir, file.path(), file.columns())
}

/// Bring `mapping` in step with `file` and list what blocks the check and the import.
///
/// Fills `time.day_order` when the head's dates prove it, keeps the property columns equal to
/// the columns no field uses, then validates. Returns nothing when the check may run.
pub fn review(mapping: &mut Mapping, file: &OpenedFile) -> Vec<Blocker> {
    suggest::sync_property_columns(mapping, file.columns(), &file.head);
    let mut blockers = Vec::new();
    match settle_day_order(mapping, file.columns(), &file.head) {
        Ok(()) => {}
        Err(MappingError::AmbiguousDayOrder { column, example }) => {
            blockers.push(Blocker::DayOrder { column, example });
        }
        Err(other) => blockers.push(Blocker::Mapping(other)),
    }
    if let Err(e) = RowTransformer::new(mapping, file.columns(), TransformOptions::now()) {
        blockers.push(Blocker::Mapping(e));
    }
    blockers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::DayOrder;

    fn open(dir: &Path, name: &str, text: &str) -> OpenedFile {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        super::super::file::open(&path, &SourceOptions::default()).unwrap()
    }

    #[test]
    fn all_ambiguous_dates_block_until_the_order_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(
            dir.path(),
            "a.csv",
            "event,user,timestamp\nBuy,u1,03/04/2024 10:00\nBuy,u2,05/06/2024 11:00\n",
        );
        let mut prepared = initial_mapping(&file, None, None);
        assert_eq!(prepared.origin, MappingOrigin::Suggested);
        let blockers = review(&mut prepared.mapping, &file);
        assert!(
            matches!(&blockers[..], [Blocker::DayOrder { column, .. }] if column == "timestamp"),
            "{blockers:?}"
        );
        prepared.mapping.time.day_order = Some(DayOrder::DayFirst);
        assert!(review(&mut prepared.mapping, &file).is_empty());
    }

    #[test]
    fn dates_that_prove_the_order_settle_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(
            dir.path(),
            "b.csv",
            "event,user,timestamp\nBuy,u1,03/04/2024 10:00\nBuy,u2,25/06/2024 11:00\n",
        );
        let mut mapping = initial_mapping(&file, None, None).mapping;
        mapping.time.day_order = None;
        assert!(review(&mut mapping, &file).is_empty());
        assert_eq!(mapping.time.day_order, Some(DayOrder::DayFirst));
    }

    #[test]
    fn an_unmapped_field_is_a_blocker_and_the_columns_follow() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(
            dir.path(),
            "c.csv",
            "event,user,time\nBuy,u1,2024-03-05T10:00:00Z\n",
        );
        let mut mapping = initial_mapping(&file, None, None).mapping;
        assert!(review(&mut mapping, &file).is_empty());
        mapping.time.column = None;
        let blockers = review(&mut mapping, &file);
        assert!(
            matches!(
                &blockers[..],
                [Blocker::Mapping(MappingError::Unmapped { .. })]
            ),
            "{blockers:?}"
        );
        assert!(mapping.columns.iter().any(|c| c.column == "time"));
    }

    #[test]
    fn a_header_row_chosen_once_is_used_when_the_file_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "Report,\nevent,user\nBuy,u1\nSell,u2\n").unwrap();
        let memory = dir.path().join("memory");
        let guessed = open_as_last_read(&path, &SourceOptions::default(), &memory).unwrap();
        assert_eq!(guessed.columns(), ["event", "user"]);
        let picked = SourceOptions {
            header_row: Some(3),
            ..SourceOptions::default()
        };
        let file = open_as_last_read(&path, &picked, &memory).unwrap();
        assert_eq!(file.columns(), ["Buy", "u1"]);
        // Opened again as new (no settings given): read as last time.
        let again = open_as_last_read(&path, &SourceOptions::default(), &memory).unwrap();
        assert_eq!(again.columns(), ["Buy", "u1"]);
        assert_eq!(again.options, picked);
        // A file that no longer reads that way falls back to the guesses.
        std::fs::write(&path, "event,user\nBuy,u1\n").unwrap();
        let changed = open_as_last_read(&path, &SourceOptions::default(), &memory).unwrap();
        assert_eq!(changed.columns(), ["event", "user"]);
    }

    #[test]
    fn a_remembered_mapping_wins_over_a_template_and_the_suggestion() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(
            dir.path(),
            "d.csv",
            "event,user,time\nBuy,u1,2024-03-05T10:00:00Z\n",
        );
        let templates = dir.path().join("templates");
        let mut template = initial_mapping(&file, None, None).mapping;
        template.time.timezone = "Asia/Tokyo".to_owned();
        crate::config::save_template(&templates, "Shop", &template).unwrap();
        let prepared = initial_mapping(&file, None, Some(&templates));
        assert_eq!(
            prepared.origin,
            MappingOrigin::Template {
                name: "Shop".to_owned()
            }
        );
        assert_eq!(prepared.mapping.time.timezone, "Asia/Tokyo");

        let mut mine = prepared.mapping.clone();
        mine.time.timezone = "Europe/Berlin".to_owned();
        let remembered = Remembered {
            saved_at: "2026-11-26T10:00:00Z".to_owned(),
            mapping: mine,
        };
        let prepared = initial_mapping(&file, Some(remembered), Some(&templates));
        assert!(matches!(prepared.origin, MappingOrigin::Remembered { .. }));
        assert_eq!(prepared.mapping.time.timezone, "Europe/Berlin");
    }
}
