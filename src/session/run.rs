//! Imports as runs: start one, resume one, and say how it ended, as data.
//!
//! [`import`] runs the pipeline's import for a file, a mapping and a destination, and returns a
//! [`RunRecord`]: what was sent, what was not, and a typed [`RunEnd`] that each shell words for
//! its user. The record is written to the run history ([`super::history`]) when the run starts
//! (so a crash or a kill leaves an unfinished record that can be resumed) and again when it
//! ends. A run refused by Mixpanel's credentials check is resumable only once the connection was
//! saved again (see [`super::history::connection_saved`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mapping::{IMPORT_LABEL_PROPERTY, Mapping};
use crate::mixpanel::client::{Fatal, MixpanelClient};
use crate::pipeline::import::{ImportSettings, run_import};
use crate::pipeline::journal::{self, JournalKey};
use crate::pipeline::report::{RunReport, now_rfc3339};
use crate::pipeline::{Progress, RunControl};
use crate::source::{Sniff, SourceOptions};

use super::SessionError;
use super::history;

/// What kind of import a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Events through `/import`.
    #[default]
    Events,
    /// User profiles through `/engage`.
    Profiles,
}

impl RunKind {
    /// What each row of the run became.
    pub fn import_kind(self) -> crate::mapping::ImportKind {
        match self {
            RunKind::Events => crate::mapping::ImportKind::Events,
            RunKind::Profiles => crate::mapping::ImportKind::Profiles,
        }
    }
}

/// How a run ended. Each shell words it for its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunEnd {
    /// Every row read has a final outcome: imported, or rejected with its reason.
    Finished,
    /// The user cancelled: the rows not sent yet can be sent by resuming.
    Cancelled,
    /// Mixpanel refused the credentials (401/403): nothing more was sent. Resumable once the
    /// connection was fixed and saved again.
    Refused {
        /// HTTP status.
        status: u16,
        /// Whether the credential is a service account (a project token has no roles).
        service_account: bool,
        /// The project id the credential named, if any.
        project_id: Option<String>,
        /// Mixpanel's message.
        message: String,
    },
    /// The server answered as Mixpanel never does (a 404 page): a wrong region or address.
    NotMixpanel {
        /// HTTP status.
        status: u16,
        /// What the answer said.
        message: String,
    },
    /// The host answered with a redirect, which is never followed: a wrong address.
    Redirected {
        /// HTTP status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
    /// No connection to the host ever succeeded: nothing was imported; resuming sends
    /// everything once the host is reachable.
    Unreachable {
        /// The host.
        host: String,
        /// The last network error.
        detail: String,
    },
    /// Some events could not be delivered after every retry (network, server errors): resuming
    /// sends them again.
    Undelivered,
    /// The file could not be read to its end.
    FileBroken {
        /// What is wrong with the file.
        message: String,
    },
    /// The run has not ended: it is running, or the app was closed or crashed during it.
    Interrupted,
}

/// What happened to the rows of a run. Every row read is in exactly one of the counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Rows read from the file.
    pub rows: u64,
    /// Events Mixpanel imported in this run.
    pub imported: u64,
    /// Rows the check refused (never sent).
    pub rejected_by_check: u64,
    /// Events Mixpanel refused.
    pub rejected_by_mixpanel: u64,
    /// Events not delivered after every retry (resuming sends them again).
    pub not_delivered: u64,
    /// Rows an earlier run of the same file already delivered (skipped when resuming).
    pub already_sent: u64,
    /// Rows not sent because the run stopped (cancel, refused credentials).
    pub not_sent: u64,
}

impl RunCounts {
    fn from_report(report: &RunReport) -> Self {
        let already_sent = report.skipped.saturating_sub(report.not_sent);
        Self {
            rows: report.rows,
            imported: report.imported,
            rejected_by_check: report.rejected_local,
            rejected_by_mixpanel: report.rejected_server,
            not_delivered: report.failed,
            already_sent,
            not_sent: report.not_sent,
        }
    }

    /// Whether the counts add up to the rows read.
    pub fn add_up(&self) -> bool {
        self.rows
            == self.imported
                + self.rejected_by_check
                + self.rejected_by_mixpanel
                + self.not_delivered
                + self.already_sent
                + self.not_sent
    }
}

/// One import run: where from, where to, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// A unique id (start time and a hash).
    pub id: String,
    /// What kind of import.
    #[serde(default)]
    pub kind: RunKind,
    /// The file.
    pub file: PathBuf,
    /// How the file was read.
    pub options: SourceOptions,
    /// The mapping used (to resume with exactly the same one).
    pub mapping: Mapping,
    /// The saved connection's name (`None` for command-line credentials from the environment).
    pub connection: Option<String>,
    /// The destination's identity when the run started (see
    /// [`super::connection::ActiveConnection::identity`]).
    pub connection_identity: String,
    /// The project id (`None` for a project token).
    pub project_id: Option<String>,
    /// The region's code.
    pub region: String,
    /// The import label sent with every event, if any.
    pub label: Option<String>,
    /// Start time (RFC 3339, UTC).
    pub started_at: String,
    /// End time, empty while running.
    pub finished_at: String,
    /// How it ended.
    pub end: RunEnd,
    /// What happened to the rows.
    pub counts: RunCounts,
    /// Whether this run continued an earlier one of the same file, mapping and project.
    pub resumed: bool,
    /// After a refusal: the connection was saved again since, so resuming may work.
    #[serde(default)]
    pub connection_changed: bool,
    /// The rejected-rows file of this run, when one was written.
    pub rejected_file: Option<PathBuf>,
    /// The engine's run report (JSON), when written.
    pub report_file: Option<PathBuf>,
    /// The resume journal's id (journal key), when one is kept.
    pub journal_id: Option<String>,
}

impl RunRecord {
    /// The file's name without its folder.
    pub fn file_name(&self) -> String {
        super::file::file_name(&self.file)
    }

    /// Whether resuming this run could send what it did not: it stopped before the end (cancel,
    /// a crash, undelivered events, or a refusal after the connection was saved again) and its
    /// journal is still there.
    pub fn can_resume(&self, runs_dir: &Path) -> bool {
        let stopped = match self.end {
            RunEnd::Cancelled
            | RunEnd::Undelivered
            | RunEnd::Interrupted
            | RunEnd::Unreachable { .. } => true,
            RunEnd::Refused { .. } => self.connection_changed,
            RunEnd::Finished
            | RunEnd::NotMixpanel { .. }
            | RunEnd::Redirected { .. }
            | RunEnd::FileBroken { .. } => false,
        };
        // A journal the engine marked complete has nothing left to send.
        stopped
            && self.journal_id.as_ref().is_some_and(|id| {
                std::fs::read(runs_dir.join("journals").join(format!("{id}.journal")))
                    .is_ok_and(|bytes| !journal::is_complete(&bytes))
            })
    }
}

/// Where an import goes.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The client (credentials, region, host, retry policy).
    pub client: MixpanelClient,
    /// The saved connection's name, when there is one.
    pub connection: Option<String>,
    /// The destination's identity (never a secret).
    pub identity: String,
}

/// Everything an import needs.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The file, as sniffed.
    pub sniff: Sniff,
    /// How it is read (saved for a later resume).
    pub options: SourceOptions,
    /// The mapping (reviewed: no blocker left).
    pub mapping: Mapping,
    /// Where to send.
    pub destination: Destination,
    /// The data folder: journals, run history, run folders. `None` (no data folder on this
    /// machine) keeps no journal and no history.
    pub runs_dir: Option<PathBuf>,
    /// Continue the journaled run of the same file, mapping and destination.
    pub resume: bool,
    /// Where to write every rejected row; `None` writes them into the run's own folder (or
    /// nowhere without a data folder).
    pub rejected_out: Option<PathBuf>,
    /// Requests in flight.
    pub workers: usize,
}

/// The journal key of an import (the same the engine computes).
pub fn journal_key(
    sniff: &Sniff,
    mapping: &Mapping,
    client: &MixpanelClient,
) -> std::io::Result<JournalKey> {
    Ok(JournalKey {
        file_fingerprint: journal::fingerprint(&sniff.path)?,
        mapping_hash: mapping.content_hash(),
        target: client.target_label(),
    })
}

/// Whether an unfinished run of exactly this file, mapping and destination has a journal, so
/// that resuming skips what it delivered.
pub fn has_journal(
    sniff: &Sniff,
    mapping: &Mapping,
    client: &MixpanelClient,
    runs_dir: &Path,
) -> bool {
    journal_key(sniff, mapping, client).is_ok_and(|key| key.journal_path(runs_dir).is_file())
}

/// The import label of a mapping, as text.
pub fn import_label(mapping: &Mapping) -> Option<String> {
    mapping.constants.get(IMPORT_LABEL_PROPERTY).map(|v| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    })
}

fn run_end(report: &RunReport) -> RunEnd {
    match (&report.fatal, &report.error) {
        (
            Some(Fatal::Refused {
                status,
                message,
                service_account,
                project_id,
                ..
            }),
            _,
        ) => RunEnd::Refused {
            status: *status,
            service_account: *service_account,
            project_id: project_id.clone(),
            message: message.clone(),
        },
        (
            Some(Fatal::Redirected {
                status, location, ..
            }),
            _,
        ) => RunEnd::Redirected {
            status: *status,
            location: location.clone(),
        },
        (Some(Fatal::Unreachable { host, detail, .. }), _) => RunEnd::Unreachable {
            host: host.clone(),
            detail: detail.clone(),
        },
        (Some(Fatal::NotMixpanel { status, message }), _) => RunEnd::NotMixpanel {
            status: *status,
            message: message.clone(),
        },
        (None, Some(message)) => RunEnd::FileBroken {
            message: message.clone(),
        },
        (None, None) if report.cancelled => RunEnd::Cancelled,
        (None, None) if report.failed > 0 || report.not_sent > 0 => RunEnd::Undelivered,
        (None, None) => RunEnd::Finished,
    }
}

/// A finished (or stopped) import: the record for the shells and the history, and the engine's
/// full report (the command line prints it as JSON).
#[derive(Debug, Clone)]
pub struct Imported {
    /// The run, with its typed end.
    pub record: RunRecord,
    /// The engine's report.
    pub report: RunReport,
}

/// Run an import. The record goes to the run history when the run starts (ending
/// [`RunEnd::Interrupted`], so a crash leaves it resumable) and again when it ends. Fails only
/// when the run could not start or an output file could not be written.
pub fn import(
    request: &ImportRequest,
    control: &RunControl,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Imported, SessionError> {
    let client = &request.destination.client;
    let key = journal_key(&request.sniff, &request.mapping, client).map_err(|source| {
        SessionError::Pipeline(crate::pipeline::PipelineError::Source(
            crate::source::SourceError::Io {
                path: request.sniff.path.clone(),
                source,
            },
        ))
    })?;
    let started_at = now_rfc3339();
    let id = format!("{}-{}", started_at.replace([':', '-'], ""), &key.id()[..12]);
    let run_dir = request
        .runs_dir
        .as_deref()
        .map(|dir| history::run_dir(dir, &id));
    let rejected_path = request
        .rejected_out
        .clone()
        .or_else(|| run_dir.as_ref().map(|d| d.join("rejected.csv")));
    if let Some(parent) = rejected_path.as_deref().and_then(Path::parent) {
        std::fs::create_dir_all(parent).map_err(|source| {
            SessionError::Pipeline(crate::pipeline::PipelineError::Output {
                path: parent.to_path_buf(),
                source,
            })
        })?;
    }
    let credentials = client.credentials();
    let mut record = RunRecord {
        id,
        kind: match request.mapping.kind {
            crate::mapping::ImportKind::Events => RunKind::Events,
            crate::mapping::ImportKind::Profiles => RunKind::Profiles,
        },
        file: request.sniff.path.clone(),
        options: request.options.clone(),
        mapping: request.mapping.clone(),
        connection: request.destination.connection.clone(),
        connection_identity: request.destination.identity.clone(),
        project_id: credentials.project_id().map(str::to_owned),
        region: client.region().code().to_owned(),
        label: import_label(&request.mapping),
        started_at,
        finished_at: String::new(),
        end: RunEnd::Interrupted,
        counts: RunCounts::default(),
        resumed: request.resume,
        connection_changed: false,
        rejected_file: None,
        report_file: None,
        journal_id: request.runs_dir.as_ref().map(|_| key.id()),
    };
    // A failure to keep the history must not stop an import: the journal still protects it.
    if let Some(dir) = &request.runs_dir {
        let _ = history::save(dir, &record);
    }
    let settings = ImportSettings {
        workers: request.workers,
        failed_out: rejected_path.clone(),
        resume: request.resume,
        data_dir: request.runs_dir.clone(),
        run: crate::pipeline::import::RunMeta {
            connection: request.destination.connection.clone(),
            run_id: record.id.clone(),
            run_dir: run_dir.clone(),
            ..Default::default()
        },
        ..ImportSettings::default()
    };
    let report = run_import(
        &request.sniff,
        &request.mapping,
        client.clone(),
        &settings,
        control,
        progress,
    )?;
    record.finished_at = report.finished_at.clone();
    record.end = run_end(&report);
    record.counts = RunCounts::from_report(&report);
    let rejected_any = record.counts.rejected_by_check
        + record.counts.rejected_by_mixpanel
        + record.counts.not_delivered
        > 0;
    // The run's folder keeps the record of accepted events and the report (for verifying the
    // run later); an empty rejected-rows file goes.
    if !rejected_any
        && request.rejected_out.is_none()
        && let Some(path) = &rejected_path
    {
        let _ = std::fs::remove_file(path);
    }
    record.rejected_file = rejected_path.filter(|p| rejected_any && p.is_file());
    if let Some(dir) = &request.runs_dir {
        let own = run_dir
            .as_ref()
            .map(|d| d.join(crate::pipeline::import::REPORT_FILE))
            .filter(|p| p.is_file());
        let report_path = own.unwrap_or_else(|| key.report_path(dir));
        record.report_file = report_path.is_file().then_some(report_path);
        let _ = history::save(dir, &record);
    }
    Ok(Imported { record, report })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> RunReport {
        RunReport {
            rows: 10,
            imported: 6,
            rejected: 2,
            rejected_local: 1,
            rejected_server: 1,
            skipped: 2,
            ..RunReport::default()
        }
    }

    #[test]
    fn how_a_run_ended_is_read_from_its_report() {
        assert_eq!(run_end(&report()), RunEnd::Finished);
        let counts = RunCounts::from_report(&report());
        assert_eq!(counts.already_sent, 2);
        assert!(counts.add_up(), "{counts:?}");

        let cancelled = RunReport {
            cancelled: true,
            not_sent: 3,
            skipped: 3,
            ..report()
        };
        assert_eq!(run_end(&cancelled), RunEnd::Cancelled);
        let counts = RunCounts::from_report(&cancelled);
        assert_eq!((counts.not_sent, counts.already_sent), (3, 0));

        let refused = RunReport {
            error: Some("refused".into()),
            fatal: Some(Fatal::Refused {
                status: 401,
                message: "Invalid credentials".into(),
                credential: "project token".into(),
                service_account: false,
                project_id: None,
                region: "US".into(),
            }),
            ..report()
        };
        assert!(matches!(
            run_end(&refused),
            RunEnd::Refused {
                status: 401,
                service_account: false,
                ..
            }
        ));
        let broken = RunReport {
            error: Some("bad gzip".into()),
            ..report()
        };
        assert!(matches!(run_end(&broken), RunEnd::FileBroken { .. }));
        let undelivered = RunReport {
            failed: 4,
            ..report()
        };
        assert_eq!(run_end(&undelivered), RunEnd::Undelivered);
    }
}
