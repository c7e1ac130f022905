//! The session: the core API both shells call for one file.
//!
//! A session starts when a file is opened ([`file::open`]) and belongs to that file only.
//! [`prepare`] gives the mapping it starts with (remembered, template or suggestion) and
//! [`prepare::review`] lists what still blocks: a day/month question, a mapping error. Then
//! [`check`] runs the dry run (keeping only what a review screen needs in memory),
//! [`export_rejected`] writes the rejected rows where the user asks, and [`run::import`] runs
//! the import (also resuming one) and returns a [`run::RunRecord`] whose [`run::RunEnd`] says how
//! it ended. [`verify`] compares a run with Mixpanel's export and says how to correct it.
//! Runs are kept in [`history`]; saved connections and their secrets are in
//! [`connection`]; the mapping used with each file is remembered in [`memory`].
//!
//! Nothing here words anything for a particular shell: errors and outcomes are typed, and the
//! app and the command line each say them in their own terms.

pub mod connection;
pub mod file;
pub mod history;
pub mod memory;
pub mod prepare;
pub mod run;
pub mod verify;

use std::path::Path;

use crate::mapping::Mapping;
use crate::pipeline::check::{CheckOptions, CheckReport, run_check};
use crate::pipeline::{PipelineError, Progress, RunControl};

pub use file::{OpenedFile, cell_text, open};
pub use prepare::{Blocker, MappingOrigin, Prepared, initial_mapping, review};

/// Why a session step could not run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Questions are open or the mapping cannot be used: answer or fix them first.
    #[error("the mapping is not ready: {}", describe_blockers(.0))]
    Blocked(Vec<Blocker>),
    /// The file, the mapping or an output failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// No client could be made for the connection.
    #[error(transparent)]
    Connection(#[from] connection::ConnectionError),
    /// An output path would overwrite a file of the run (the input itself, say).
    #[error(transparent)]
    Output(#[from] crate::output::OutputPathError),
}

fn describe_blockers(blockers: &[Blocker]) -> String {
    blockers
        .iter()
        .map(|b| match b {
            Blocker::DayOrder { column, example } => format!(
                "the day/month order of column '{column}' (dates such as '{example}') is not chosen"
            ),
            Blocker::Mapping(e) => e.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Refuse while anything blocks: the mapping must have been reviewed and every question
/// answered.
fn ensure_ready(file: &OpenedFile, mapping: &Mapping) -> Result<(), SessionError> {
    let mut reviewed = mapping.clone();
    let blockers = review(&mut reviewed, file);
    if blockers.is_empty() {
        Ok(())
    } else {
        Err(SessionError::Blocked(blockers))
    }
}

/// The dry run of every row of `file` with `mapping`: counts, grouped issues, and the first
/// rejected rows with their values (in memory, bounded). Writes no file. Refuses while a
/// [`Blocker`] is open.
pub fn check(
    file: &OpenedFile,
    mapping: &Mapping,
    control: &RunControl,
    progress: &mut dyn FnMut(&Progress),
) -> Result<CheckReport, SessionError> {
    ensure_ready(file, mapping)?;
    Ok(run_check(
        &file.sniff,
        mapping,
        &CheckOptions::default(),
        control,
        progress,
    )?)
}

/// Write every row the check rejects to `to` (the original columns plus `_row`, `_field`,
/// `_reason`, `_origin`), reading the file again. Refuses a path that is the file itself (after
/// links); the file appears only once complete. Returns how many rows were written.
pub fn export_rejected(
    file: &OpenedFile,
    mapping: &Mapping,
    to: &Path,
    control: &RunControl,
    progress: &mut dyn FnMut(&Progress),
) -> Result<u64, SessionError> {
    guard_export(file.path(), to)?;
    ensure_ready(file, mapping)?;
    let options = CheckOptions {
        failed_out: Some(to.to_path_buf()),
        keep_rejected: 0,
        ..CheckOptions::default()
    };
    let report = run_check(&file.sniff, mapping, &options, control, progress)?;
    Ok(report.rejected_written)
}

/// Refuse an export path that is the `input` file (after links).
pub fn guard_export(input: &Path, to: &Path) -> Result<(), SessionError> {
    use crate::output::{RunFile, check_output_paths};
    check_output_paths(
        &[RunFile::new("the file being imported", input)],
        &[RunFile::new("the export", to)],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceOptions;

    #[test]
    fn the_check_refuses_while_a_question_is_open_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dates.csv");
        std::fs::write(
            &path,
            "event,user,timestamp\nBuy,u1,03/04/2024 10:00\nBuy,u2,05/06/2024 11:00\nBuy,,05/06/2024 11:00\n",
        )
        .unwrap();
        let file = open(&path, &SourceOptions::default()).unwrap();
        let mut mapping = initial_mapping(&file, None, None).mapping;
        let err = check(&file, &mapping, &RunControl::new(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, SessionError::Blocked(_)), "{err}");
        mapping.time.day_order = Some(crate::mapping::DayOrder::MonthFirst);
        let report = check(&file, &mapping, &RunControl::new(), &mut |_| {}).unwrap();
        assert_eq!((report.valid, report.invalid), (2, 1));
        assert_eq!(report.rejected_sample.len(), 1);
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "the check wrote a file");

        let out = dir.path().join("rejected.csv");
        let written =
            export_rejected(&file, &mapping, &out, &RunControl::new(), &mut |_| {}).unwrap();
        assert_eq!(written, 1);
        let back = crate::pipeline::rejected::read_rejected(&out, 10).unwrap();
        assert_eq!(back[0].row, 4);
        let before = std::fs::read(&path).unwrap();
        let err =
            export_rejected(&file, &mapping, &path, &RunControl::new(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, SessionError::Output(_)), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
