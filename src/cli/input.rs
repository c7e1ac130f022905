//! Reading the file and the mapping for a command, with the session's rules.

use std::path::Path;

use crate::mapping::{ImportKind, Mapping, MappingError};
use crate::session::{Blocker, OpenedFile, review};

/// Sniff `file` and read its head (the session's [`crate::session::open`]). The error is one
/// line naming the file, the problem and what to do.
pub fn read_head(file: &Path, args: &super::SourceArgs) -> Result<OpenedFile, String> {
    let options = args.to_options()?;
    crate::session::open(file, &options).map_err(|e| e.to_string())
}

/// The mapping to use: the template given, or the suggestion; with what the head proves
/// settled (the day/month order) and every blocking question refused with the mapping file's
/// words. The error is one line for stderr.
///
/// `kind` (`--profiles` / `--events`) makes the suggestion a mapping of that kind; with a
/// mapping file, it must agree with the file's `kind`.
pub fn resolve_mapping(
    file: &Path,
    template: Option<&Path>,
    kind: Option<ImportKind>,
    opened: &OpenedFile,
) -> Result<Mapping, String> {
    let mut mapping = match template {
        Some(path) => Mapping::load(path).map_err(|e| e.to_string())?,
        None => crate::session::prepare::suggest(opened).mapping,
    };
    match (kind, template) {
        (Some(kind), Some(path)) if kind != mapping.kind => {
            return Err(format!(
                "{}: the mapping is for {}, but --{} asks for {}: pass a mapping for {} (`mixport suggest FILE --{} -o mapping.json`), or leave out --{}",
                path.display(),
                mapping.kind.noun(),
                flag(kind),
                kind.noun(),
                kind.noun(),
                flag(kind),
                flag(kind)
            ));
        }
        (Some(kind), None) => crate::session::prepare::set_kind(&mut mapping, kind, opened),
        _ => {}
    }
    if let Some(blocker) = review(&mut mapping, opened).into_iter().next() {
        let error = match blocker {
            Blocker::DayOrder { column, example } => {
                MappingError::AmbiguousDayOrder { column, example }
            }
            Blocker::Mapping(e) => e,
        };
        let hint = if template.is_none() {
            format!(
                " (No mapping was given: run `mixport suggest {} -o mapping.json`, edit it, and pass --mapping mapping.json.)",
                file.display()
            )
        } else {
            String::new()
        };
        if mapping.kind == ImportKind::Profiles
            && matches!(error, MappingError::AmbiguousDayOrder { .. })
        {
            return Err(format!(
                "{}: {error} Choose the order: set \"profile\": {{\"created\": {{\"day_order\": \"day_first\"}}}} or \"month_first\" in the mapping (pass it with --mapping).{hint}",
                file.display()
            ));
        }
        return Err(format!(
            "{}{hint}",
            super::words::mapping_error(file, &error)
        ));
    }
    Ok(mapping)
}

/// The command-line flag of a kind.
fn flag(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Events => "events",
        ImportKind::Profiles => "profiles",
    }
}
