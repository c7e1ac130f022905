//! The run history: one JSON record per import run, in `<data dir>/history`, and each run's own
//! folder (`<data dir>/runs/<id>`) for its rejected rows.
//!
//! Records are written atomically when a run starts and when it ends, so the history survives a
//! crash and names every run's file, project, label, date and outcome.

use std::path::{Path, PathBuf};

use super::run::{RunEnd, RunRecord};

/// The history folder's name inside the data folder.
pub const HISTORY_DIR_NAME: &str = "history";
/// The run folders' parent inside the data folder.
pub const RUNS_DIR_NAME: &str = "runs";
/// The most records [`list`] reads (newest first).
pub const MAX_LISTED: usize = 500;

fn record_path(runs_dir: &Path, id: &str) -> PathBuf {
    runs_dir.join(HISTORY_DIR_NAME).join(format!("{id}.json"))
}

/// The folder of one run (its rejected rows).
pub fn run_dir(runs_dir: &Path, id: &str) -> PathBuf {
    runs_dir.join(RUNS_DIR_NAME).join(id)
}

/// Write (or rewrite) a run's record.
pub fn save(runs_dir: &Path, record: &RunRecord) -> Result<(), crate::config::ConfigError> {
    crate::config::write_json_atomically(&record_path(runs_dir, &record.id), record)
}

/// Past runs, newest first (at most [`MAX_LISTED`]; damaged records are left out).
pub fn list(runs_dir: &Path) -> Vec<RunRecord> {
    let Ok(entries) = std::fs::read_dir(runs_dir.join(HISTORY_DIR_NAME)) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    // Ids start with the start time, so names sort by date.
    paths.sort();
    paths.reverse();
    paths
        .into_iter()
        .take(MAX_LISTED)
        .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
        .collect()
}

/// Runs that stopped before their end and can be resumed, newest first.
pub fn resumable(runs_dir: &Path) -> Vec<RunRecord> {
    let mut seen = std::collections::HashSet::new();
    list(runs_dir)
        .into_iter()
        // The newest record of one import (journal) decides.
        .filter(|r| seen.insert(r.journal_id.clone()))
        .filter(|r| r.can_resume(runs_dir))
        .collect()
}

/// The connection named `name` was saved again (a new secret, say): runs it refused may now be
/// resumed.
pub fn connection_saved(runs_dir: &Path, name: &str) {
    for mut record in list(runs_dir) {
        if matches!(record.end, RunEnd::Refused { .. })
            && record.connection.as_deref() == Some(name)
            && !record.connection_changed
        {
            record.connection_changed = true;
            let _ = save(runs_dir, &record);
        }
    }
}

/// The user declined to resume `record`: its journal goes, the record stays in the history.
pub fn discard(runs_dir: &Path, record: &RunRecord) {
    if let Some(journal) = record.journal_id.as_deref() {
        let _ = std::fs::remove_file(runs_dir.join("journals").join(format!("{journal}.journal")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::run::{RunCounts, RunKind};

    fn record(id: &str, end: RunEnd) -> RunRecord {
        RunRecord {
            id: id.to_owned(),
            kind: RunKind::Events,
            file: PathBuf::from("/data/events.csv"),
            options: Default::default(),
            mapping: Default::default(),
            connection: Some("Prod".to_owned()),
            connection_identity: "Prod|us|1".to_owned(),
            project_id: Some("1".to_owned()),
            region: "us".to_owned(),
            label: Some("events 2026-11-26".to_owned()),
            started_at: "2026-11-26T10:00:00Z".to_owned(),
            finished_at: String::new(),
            end,
            counts: RunCounts::default(),
            resumed: false,
            connection_changed: false,
            rejected_file: None,
            report_file: None,
            journal_id: Some("j1".to_owned()),
        }
    }

    #[test]
    fn refused_runs_resume_only_after_the_connection_is_saved_again() {
        let dir = tempfile::tempdir().unwrap();
        let journals = dir.path().join("journals");
        std::fs::create_dir_all(&journals).unwrap();
        std::fs::write(journals.join("j1.journal"), "{}\n").unwrap();
        let refused = record(
            "20261126T100000Z-a",
            RunEnd::Refused {
                status: 401,
                service_account: true,
                project_id: Some("1".to_owned()),
                message: "Invalid credentials".to_owned(),
            },
        );
        save(dir.path(), &refused).unwrap();
        assert!(resumable(dir.path()).is_empty());
        connection_saved(dir.path(), "Other");
        assert!(resumable(dir.path()).is_empty());
        connection_saved(dir.path(), "Prod");
        let offered = resumable(dir.path());
        assert_eq!(offered.len(), 1);
        assert!(offered[0].connection_changed);
        discard(dir.path(), &offered[0]);
        assert!(resumable(dir.path()).is_empty());
        assert_eq!(list(dir.path()).len(), 1, "the history keeps the run");
    }

    #[test]
    fn the_newest_record_of_an_import_decides_and_a_finished_one_settles_it() {
        let dir = tempfile::tempdir().unwrap();
        let journals = dir.path().join("journals");
        std::fs::create_dir_all(&journals).unwrap();
        std::fs::write(journals.join("j1.journal"), "{}\n").unwrap();
        save(dir.path(), &record("20261126T100000Z-a", RunEnd::Cancelled)).unwrap();
        assert_eq!(resumable(dir.path()).len(), 1);
        let crashed = record("20261126T110000Z-b", RunEnd::Interrupted);
        save(dir.path(), &crashed).unwrap();
        let offered = resumable(dir.path());
        assert_eq!(offered.len(), 1);
        assert_eq!(offered[0].id, crashed.id);
        // The resumed run finished: the engine marked the journal complete.
        std::fs::write(journals.join("j1.journal"), "{}\na 2-9\ndone\n").unwrap();
        let done = record("20261126T120000Z-c", RunEnd::Finished);
        save(dir.path(), &done).unwrap();
        assert!(resumable(dir.path()).is_empty());
        let ids: Vec<String> = list(dir.path()).into_iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            vec![
                "20261126T120000Z-c",
                "20261126T110000Z-b",
                "20261126T100000Z-a"
            ]
        );
    }
}
