//! Did a run land, and how to correct it: the session's side of [`crate::verify`].
//!
//! A run of the history ([`super::history`]) keeps, in its own folder, the record of the events
//! Mixpanel accepted and the run report; [`find`] gets them back by run id (or a unique start of
//! one) or from a report file written by `import --report`. [`verify`] compares the run with
//! Mixpanel's raw export and keeps the result as the run's last verification
//! ([`last_verification`]); [`correction`] gives what Mixpanel allows for correcting it.
//! [`export_client`] builds the export client with the query budget kept in the data folder, so
//! the app and the command line count the same hour.

use std::path::{Path, PathBuf};

use crate::config::{Connection, ConnectionKind};
use crate::mixpanel::auth::Credentials;
use crate::mixpanel::export::{ExportClient, ExportError, ExportSettings};
use crate::mixpanel::export_budget::QueryBudget;
use crate::mixpanel::region::Region;
use crate::pipeline::RunControl;
use crate::pipeline::import::REPORT_FILE;
use crate::pipeline::report::RunReport;
use crate::verify::correct::CorrectionGuide;
use crate::verify::{
    Verification, VerifyError, VerifyOptions, VerifyProgress, verify_run_blocking,
};

use super::history;
use super::run::RunRecord;

/// The last verification in a run's folder.
pub const VERIFICATION_FILE: &str = "verification.json";

/// A run to verify or correct: its history record (when it is in the history) and its report.
#[derive(Debug, Clone)]
pub struct RunToVerify {
    /// The history's record (file, how it was read, mapping, connection).
    pub record: Option<RunRecord>,
    /// The engine's report (label, times, counts per event name and day, the accepted events'
    /// record).
    pub report: RunReport,
}

impl RunToVerify {
    /// The run's region.
    pub fn region(&self) -> Region {
        self.report.region.parse().unwrap_or_default()
    }

    /// The insert-id generation the run used.
    pub fn generation(&self) -> u32 {
        self.report.insert_id_generation
    }
}

/// A run that cannot be found or read.
#[derive(Debug, thiserror::Error)]
pub enum RunLookupError {
    /// No run has this id (or start of an id), and no such report file exists.
    #[error("no run '{0}': give a run id from the list of past runs, or the path of a run report")]
    NotFound(String),
    /// Several runs start with this text.
    #[error("'{prefix}' matches several runs ({}): give more of the id", .matches.join(", "))]
    Ambiguous {
        /// What was given.
        prefix: String,
        /// The ids it matches.
        matches: Vec<String>,
    },
    /// The run's report cannot be read.
    #[error("{path}: not a readable run report: {message}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The run ended before it had a report (it is running, or it crashed).
    #[error("run {0} has no report yet: it is still running, or it stopped before its end")]
    NoReport(String),
}

/// Read a run report file.
pub fn load_report(path: &Path) -> Result<RunReport, RunLookupError> {
    let unreadable = |message: String| RunLookupError::Unreadable {
        path: path.to_owned(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))
}

/// The report of a history record: the run's own, else the one its record names.
pub fn report_of(runs_dir: &Path, record: &RunRecord) -> Result<RunReport, RunLookupError> {
    let own = history::run_dir(runs_dir, &record.id).join(REPORT_FILE);
    let path = if own.is_file() {
        own
    } else {
        record
            .report_file
            .clone()
            .ok_or_else(|| RunLookupError::NoReport(record.id.clone()))?
    };
    let report = load_report(&path)?;
    // A report next to a journal belongs to the latest run of that file: not this one.
    if report.run_id != record.id {
        return Err(RunLookupError::NoReport(record.id.clone()));
    }
    Ok(report)
}

/// Find a run by a report file's path, a run id, or a unique start of one.
pub fn find(runs_dir: Option<&Path>, run: &str) -> Result<RunToVerify, RunLookupError> {
    let as_path = Path::new(run);
    if as_path.is_file() {
        let report = load_report(as_path)?;
        let record = runs_dir.and_then(|dir| {
            history::list(dir)
                .into_iter()
                .find(|r| !report.run_id.is_empty() && r.id == report.run_id)
        });
        return Ok(RunToVerify { record, report });
    }
    let dir = runs_dir.ok_or_else(|| RunLookupError::NotFound(run.to_owned()))?;
    let mut matches: Vec<RunRecord> = history::list(dir)
        .into_iter()
        .filter(|r| !run.is_empty() && r.id.starts_with(run))
        .collect();
    if let Some(exact) = matches.iter().position(|r| r.id == run) {
        matches = vec![matches.swap_remove(exact)];
    }
    match matches.len() {
        0 => Err(RunLookupError::NotFound(run.to_owned())),
        1 => {
            let record = matches.swap_remove(0);
            let report = report_of(dir, &record)?;
            Ok(RunToVerify {
                record: Some(record),
                report,
            })
        }
        _ => Err(RunLookupError::Ambiguous {
            prefix: run.to_owned(),
            matches: matches.into_iter().map(|r| r.id).collect(),
        }),
    }
}

/// The export client for a run's project, with the budget kept in `runs_dir` (when there is a
/// data folder) and another host for tests (`api_base`). A project token is refused with
/// [`ExportError::ProjectToken`].
pub fn export_client(
    credentials: &Credentials,
    region: Region,
    api_base: Option<&str>,
    runs_dir: Option<&Path>,
    adjust: impl FnOnce(&mut ExportSettings),
) -> Result<ExportClient, ExportError> {
    let mut settings = ExportSettings::new(region);
    settings.api_base = api_base.map(str::to_owned);
    settings.budget_file = runs_dir.map(QueryBudget::default_file);
    adjust(&mut settings);
    ExportClient::new(credentials, settings)
}

/// Why no saved connection can read a run back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoExportConnection {
    /// The run used a project token, and no saved service account is known for its project.
    #[error("{}", ExportError::ProjectToken)]
    ProjectToken,
    /// No saved service account of the run's project and region.
    #[error(
        "no saved service account can read project {project} ({region} region) back: add one with the Owner or Admin role on the project (Mixpanel: Organization Settings > Service Accounts) and save it as a connection"
    )]
    NoServiceAccount {
        /// The run's project.
        project: String,
        /// The run's region, in words.
        region: String,
    },
}

/// The saved connection that can read `run` back from the export: the run's own when it is a
/// service account, else a saved service account of the same project and region.
pub fn export_connection<'a>(
    run: &RunToVerify,
    saved: &'a [Connection],
) -> Result<&'a Connection, NoExportConnection> {
    let region = run.region();
    let fits = |c: &Connection| {
        c.kind == ConnectionKind::ServiceAccount
            && c.region == region
            && c.project_id.is_some()
            && c.project_id == run.report.project_id
    };
    let own = run
        .report
        .connection
        .as_deref()
        .or(run.record.as_ref().and_then(|r| r.connection.as_deref()));
    if let Some(found) = own
        .and_then(|name| saved.iter().find(|c| c.name == name))
        .filter(|c| fits(c))
    {
        return Ok(found);
    }
    if let Some(found) = saved.iter().find(|c| fits(c)) {
        return Ok(found);
    }
    match &run.report.project_id {
        None => Err(NoExportConnection::ProjectToken),
        Some(project) => Err(NoExportConnection::NoServiceAccount {
            project: project.clone(),
            region: region.label().to_owned(),
        }),
    }
}

/// Compare the run with Mixpanel's export; the result is kept as the run's last verification.
/// Blocks (it runs its own small runtime): call it on a worker thread.
pub fn verify(
    run: &RunToVerify,
    client: &mut ExportClient,
    runs_dir: Option<&Path>,
    mut options: VerifyOptions,
    control: &RunControl,
    progress: &mut dyn FnMut(&VerifyProgress),
) -> Result<Verification, VerifyError> {
    if let Some(record) = &run.record {
        options.source_options = record.options.clone();
    }
    let result = verify_run_blocking(&run.report, client, &options, control, progress)?;
    if let Some(dir) = runs_dir.filter(|_| !run.report.run_id.is_empty()) {
        let path = history::run_dir(dir, &run.report.run_id).join(VERIFICATION_FILE);
        let _ = crate::config::write_json_atomically(&path, &result);
    }
    Ok(result)
}

/// The run's last verification, when it was verified.
pub fn last_verification(runs_dir: &Path, id: &str) -> Option<Verification> {
    let bytes = std::fs::read(history::run_dir(runs_dir, id).join(VERIFICATION_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// How to correct the run now: what Mixpanel allows, the deletion filter, a new generation (new
/// among the runs of the same file in `history`) and label.
pub fn correction(run: &RunToVerify, history: &[RunRecord]) -> CorrectionGuide {
    let used: Vec<u32> = history
        .iter()
        .filter(|r| r.file.display().to_string() == run.report.file)
        .map(|r| r.mapping.insert_id_generation)
        .collect();
    CorrectionGuide::new(&run.report, chrono::Utc::now(), &used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::run::{RunCounts, RunEnd, RunKind};

    fn record(id: &str) -> RunRecord {
        RunRecord {
            id: id.to_owned(),
            kind: RunKind::Events,
            file: PathBuf::from("/data/events.csv"),
            options: Default::default(),
            mapping: Default::default(),
            connection: None,
            connection_identity: String::new(),
            project_id: Some("1".to_owned()),
            region: "us".to_owned(),
            label: None,
            started_at: String::new(),
            finished_at: String::new(),
            end: RunEnd::Finished,
            counts: RunCounts::default(),
            resumed: false,
            connection_changed: false,
            rejected_file: None,
            report_file: None,
            journal_id: None,
        }
    }

    fn save(dir: &Path, id: &str) {
        history::save(dir, &record(id)).unwrap();
        let report = RunReport {
            run_id: id.to_owned(),
            imported: 3,
            ..RunReport::default()
        };
        report
            .save(&history::run_dir(dir, id).join(REPORT_FILE))
            .unwrap();
    }

    #[test]
    fn runs_are_found_by_id_start_or_report_file() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), "20261201T100000Z-aaaa");
        save(dir.path(), "20261202T100000Z-bbbb");
        save(dir.path(), "20261202T110000Z-cccc");
        let run = find(Some(dir.path()), "20261201").unwrap();
        assert_eq!(run.report.run_id, "20261201T100000Z-aaaa");
        assert!(run.record.is_some());
        let err = find(Some(dir.path()), "20261202").unwrap_err();
        assert!(matches!(err, RunLookupError::Ambiguous { .. }), "{err}");
        assert!(err.to_string().contains("cccc"), "{err}");
        assert!(matches!(
            find(Some(dir.path()), "2025").unwrap_err(),
            RunLookupError::NotFound(_)
        ));
        let path = history::run_dir(dir.path(), "20261202T110000Z-cccc").join(REPORT_FILE);
        let by_path = find(Some(dir.path()), &path.display().to_string()).unwrap();
        assert_eq!(by_path.report.run_id, "20261202T110000Z-cccc");
        assert_eq!(by_path.record.unwrap().id, "20261202T110000Z-cccc");
        // A run without its own report, whose record names another run's report.
        let mut lost = record("20261203T100000Z-dddd");
        lost.report_file = Some(path);
        history::save(dir.path(), &lost).unwrap();
        assert!(matches!(
            find(Some(dir.path()), "20261203").unwrap_err(),
            RunLookupError::NoReport(_)
        ));
    }

    #[test]
    fn a_run_is_read_back_with_its_own_service_account_or_another_of_its_project() {
        let connection = |name: &str, kind, project: Option<&str>, region| Connection {
            name: name.to_owned(),
            region,
            project_id: project.map(str::to_owned),
            kind,
            username: Some("svc".to_owned()),
        };
        let run = |project: Option<&str>, own: Option<&str>| RunToVerify {
            record: None,
            report: RunReport {
                project_id: project.map(str::to_owned),
                connection: own.map(str::to_owned),
                region: "eu".to_owned(),
                ..RunReport::default()
            },
        };
        let saved = vec![
            connection("Token", ConnectionKind::ProjectToken, Some("7"), Region::Eu),
            connection(
                "Other project",
                ConnectionKind::ServiceAccount,
                Some("8"),
                Region::Eu,
            ),
            connection(
                "US twin",
                ConnectionKind::ServiceAccount,
                Some("7"),
                Region::Us,
            ),
            connection(
                "EU admin",
                ConnectionKind::ServiceAccount,
                Some("7"),
                Region::Eu,
            ),
            connection(
                "EU second",
                ConnectionKind::ServiceAccount,
                Some("7"),
                Region::Eu,
            ),
        ];
        let own = export_connection(&run(Some("7"), Some("EU second")), &saved).unwrap();
        assert_eq!(own.name, "EU second");
        let any = export_connection(&run(Some("7"), Some("Token")), &saved).unwrap();
        assert_eq!(any.name, "EU admin");
        let err = export_connection(&run(None, Some("Token")), &saved).unwrap_err();
        assert_eq!(err, NoExportConnection::ProjectToken);
        assert!(
            err.to_string()
                .contains("project token cannot read events back")
        );
        let err = export_connection(&run(Some("9"), None), &saved).unwrap_err();
        assert!(err.to_string().contains("project 9 (EU region)"), "{err}");
    }

    #[test]
    fn the_next_generation_counts_the_files_earlier_runs() {
        let mut earlier = record("a");
        earlier.mapping.insert_id_generation = 4;
        let mut other_file = record("b");
        other_file.file = PathBuf::from("/data/other.csv");
        other_file.mapping.insert_id_generation = 9;
        let run = RunToVerify {
            record: None,
            report: RunReport {
                file: "/data/events.csv".to_owned(),
                ..RunReport::default()
            },
        };
        assert_eq!(correction(&run, &[earlier, other_file]).next_generation, 5);
    }
}
