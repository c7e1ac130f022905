//! The run history: every import keeps its report and what verification needs in the data
//! folder, under `runs/`, one set of files per run id:
//!
//! - `ID.report.json`: the [`RunReport`] (what `import --report` writes too);
//! - `ID.keys`: the record of accepted events ([`crate::verify::keys`]);
//! - `ID.mapping.json`: the mapping the run used (insert-id generation included);
//! - `ID.source.json`: how the file was read (format, encoding, delimiter, columns);
//! - `ID.verify.json`: the last verification's result.
//!
//! A run id is the start time in UTC plus four random hex digits, e.g. `20261202-143005-7f3a`:
//! unique, sortable, and short enough to type (`mixport verify 20261202-1430` takes a unique
//! prefix).

use std::path::{Path, PathBuf};

use super::report::RunReport;

/// The history's folder under the data folder.
pub fn runs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("runs")
}

/// A new run id for a run starting now.
pub fn new_run_id() -> String {
    format!(
        "{}-{:04x}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        fastrand::u16(..)
    )
}

/// The files of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFiles {
    /// The run id.
    pub id: String,
    /// The history folder.
    pub dir: PathBuf,
}

impl RunFiles {
    /// The files of run `id` in the history under `data_dir`.
    pub fn new(data_dir: &Path, id: &str) -> Self {
        Self {
            id: id.to_owned(),
            dir: runs_dir(data_dir),
        }
    }

    fn file(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.id))
    }

    /// The run report.
    pub fn report(&self) -> PathBuf {
        self.file("report.json")
    }

    /// The record of accepted events.
    pub fn keys(&self) -> PathBuf {
        self.file("keys")
    }

    /// The mapping used.
    pub fn mapping(&self) -> PathBuf {
        self.file("mapping.json")
    }

    /// How the file was read.
    pub fn source(&self) -> PathBuf {
        self.file("source.json")
    }

    /// The last verification.
    pub fn verification(&self) -> PathBuf {
        self.file("verify.json")
    }
}

/// A run that cannot be found or read.
#[derive(Debug, thiserror::Error)]
pub enum RunLookupError {
    /// No run has this id (or id prefix), and no such file exists.
    #[error("no run '{0}': give a run id from the list of past runs, or the path of a run report")]
    NotFound(String),
    /// Several runs start with this prefix.
    #[error("'{prefix}' matches several runs ({}): give more of the id", .matches.join(", "))]
    Ambiguous {
        /// What was given.
        prefix: String,
        /// The ids it matches.
        matches: Vec<String>,
    },
    /// The report could not be read.
    #[error("{path}: not a readable run report: {message}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Read a run report file.
pub fn load_report(path: &Path) -> Result<RunReport, RunLookupError> {
    let unreadable = |message: String| RunLookupError::Unreadable {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))
}

/// Every run in the history, newest first. Unreadable reports are skipped.
pub fn list_runs(data_dir: &Path) -> Vec<RunReport> {
    let Ok(entries) = std::fs::read_dir(runs_dir(data_dir)) else {
        return Vec::new();
    };
    let mut runs: Vec<RunReport> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".report.json"))
        .filter_map(|e| load_report(&e.path()).ok())
        .filter(|r| !r.run_id.is_empty())
        .collect();
    runs.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    runs
}

/// Find a run by a report path, a run id, or a unique prefix of one.
pub fn find_run(data_dir: Option<&Path>, run: &str) -> Result<RunReport, RunLookupError> {
    let as_path = Path::new(run);
    if as_path.is_file() {
        return load_report(as_path);
    }
    let Some(data_dir) = data_dir else {
        return Err(RunLookupError::NotFound(run.to_owned()));
    };
    let exact = RunFiles::new(data_dir, run).report();
    if exact.is_file() {
        return load_report(&exact);
    }
    let matches: Vec<RunReport> = list_runs(data_dir)
        .into_iter()
        .filter(|r| !run.is_empty() && r.run_id.starts_with(run))
        .collect();
    match matches.len() {
        0 => Err(RunLookupError::NotFound(run.to_owned())),
        1 => Ok(matches.into_iter().next().unwrap_or_default()),
        _ => Err(RunLookupError::Ambiguous {
            prefix: run.to_owned(),
            matches: matches.into_iter().map(|r| r.run_id).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, id: &str) {
        let report = RunReport {
            run_id: id.to_owned(),
            imported: 3,
            ..RunReport::default()
        };
        report.save(&RunFiles::new(dir, id).report()).unwrap();
    }

    #[test]
    fn runs_are_listed_newest_first_and_found_by_id_prefix_or_path() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list_runs(dir.path()).is_empty());
        run(dir.path(), "20261201-100000-aaaa");
        run(dir.path(), "20261202-100000-bbbb");
        run(dir.path(), "20261202-110000-cccc");
        std::fs::write(runs_dir(dir.path()).join("junk.report.json"), "{").unwrap();
        let ids: Vec<String> = list_runs(dir.path())
            .into_iter()
            .map(|r| r.run_id)
            .collect();
        assert_eq!(
            ids,
            [
                "20261202-110000-cccc",
                "20261202-100000-bbbb",
                "20261201-100000-aaaa"
            ]
        );
        let found = find_run(Some(dir.path()), "20261201").unwrap();
        assert_eq!(found.run_id, "20261201-100000-aaaa");
        let exact = find_run(Some(dir.path()), "20261202-100000-bbbb").unwrap();
        assert_eq!(exact.run_id, "20261202-100000-bbbb");
        let err = find_run(Some(dir.path()), "20261202").unwrap_err();
        assert!(matches!(err, RunLookupError::Ambiguous { .. }), "{err}");
        assert!(err.to_string().contains("cccc"));
        let err = find_run(Some(dir.path()), "2025").unwrap_err();
        assert!(matches!(err, RunLookupError::NotFound(_)));
        let path = RunFiles::new(dir.path(), "20261202-110000-cccc").report();
        let by_path = find_run(None, &path.display().to_string()).unwrap();
        assert_eq!(by_path.run_id, "20261202-110000-cccc");
    }

    #[test]
    fn run_ids_sort_by_time() {
        let id = new_run_id();
        assert_eq!(id.len(), "20261202-143005-7f3a".len());
        assert!(id.starts_with("20"));
    }
}
