//! Reading the file and the mapping for a command, with the session's rules.

use std::path::Path;

use crate::mapping::{Mapping, MappingError};
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
pub fn resolve_mapping(
    file: &Path,
    template: Option<&Path>,
    opened: &OpenedFile,
) -> Result<Mapping, String> {
    let mut mapping = match template {
        Some(path) => Mapping::load(path).map_err(|e| e.to_string())?,
        None => crate::session::prepare::suggest(opened).mapping,
    };
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
        return Err(format!(
            "{}{hint}",
            super::words::mapping_error(file, &error)
        ));
    }
    Ok(mapping)
}
