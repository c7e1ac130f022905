//! The GUI's calls into the engine, in one place: loading files, suggesting mappings, saved
//! connections, secrets, recent files and templates. Steps call these; nothing here uses egui
//! types except where noted.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::{self, ConfigStore};
use crate::credentials::{SecretStore, SecretString, SessionSecrets};
use crate::mapping::Mapping;
use crate::mapping::transform::{TransformOptions, Transformed, Transformer};
use crate::mixpanel::batch::BatchCounter;
use crate::pipeline::{Phase, Progress, RunControl};
use crate::source::{self, Cell, Record, Sniff, SourceOptions};
use crate::validate::{Issue, IssueKind, Severity};

use super::session::{FieldConfidence, LoadedFile, PREVIEW_ROWS};

/// Sniff `path` and read its first rows. Reads only the head of the file.
pub fn load_file(path: &Path, options: &SourceOptions) -> Result<LoadedFile, String> {
    let start = Instant::now();
    let sniff = source::sniff(path, options).map_err(|e| e.to_string())?;
    let preview = source::preview(&sniff, PREVIEW_ROWS).map_err(|e| e.to_string())?;
    Ok(LoadedFile {
        sniff,
        options: options.clone(),
        preview,
        load_ms: start.elapsed().as_millis(),
    })
}

/// A cell as display text.
pub fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Missing => String::new(),
        Cell::Text(text) | Cell::InvalidUtf8(text) => text.clone(),
        Cell::Json(serde_json::Value::String(text)) => text.clone(),
        Cell::Json(serde_json::Value::Null) => "null".to_owned(),
        Cell::Json(value) => value.to_string(),
    }
}

/// The app's config folder: `MIXPORT_CONFIG_DIR`, else the OS's per-user config folder.
pub fn default_config_dir() -> PathBuf {
    ConfigStore::locate()
        .map(|store| store.dir().to_path_buf())
        .unwrap_or_else(|_| PathBuf::from(".mixport"))
}

// ----- recent files -----

/// Recently opened files, newest first (files that no longer exist are left out).
pub fn recent_files(config_dir: &Path) -> Vec<PathBuf> {
    ConfigStore::at(config_dir)
        .load()
        .map(|c| c.recent_files)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// Put `path` first in the recent files. Failing to save is not worth bothering the user.
pub fn remember_recent_file(config_dir: &Path, path: &Path) {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let _ = ConfigStore::at(config_dir).remember_recent_file(path);
}

// ----- templates -----

/// The folder where mapping templates are saved.
pub fn templates_dir(config_dir: &Path) -> PathBuf {
    let store = ConfigStore::at(config_dir);
    let config = store.load().unwrap_or_default();
    store.templates_dir(&config)
}

/// Saved templates as (name, path), sorted by name.
pub fn list_templates(config_dir: &Path) -> Vec<(String, PathBuf)> {
    config::list_templates(&templates_dir(config_dir)).unwrap_or_default()
}

/// Save `mapping` (with `headers`) as template `name`. Returns the file written.
pub fn save_template(
    config_dir: &Path,
    name: &str,
    mapping: &Mapping,
    headers: &[String],
) -> Result<PathBuf, String> {
    let mut mapping = mapping.clone();
    mapping.headers = headers.to_vec();
    config::save_template(&templates_dir(config_dir), name, &mapping).map_err(|e| e.to_string())
}

/// The first saved template made for a file with exactly these headers.
pub fn template_matching(config_dir: &Path, headers: &[String]) -> Option<(String, Mapping)> {
    config::find_template_for_headers(&templates_dir(config_dir), headers)
        .ok()
        .flatten()
        .map(|t| (t.name, t.mapping))
}

// ----- suggestion -----

/// The suggested mapping for a loaded file, with per-field confidence.
pub fn suggest_mapping(file: &LoadedFile) -> (Mapping, Vec<FieldConfidence>) {
    let _ = file;
    (Mapping::default(), Vec::new())
}

// ----- connections and secrets -----

pub use crate::config::{Connection as SavedConnection, ConnectionKind, Region};

/// Display name of a connection kind.
pub fn kind_name(kind: ConnectionKind) -> &'static str {
    match kind {
        ConnectionKind::ServiceAccount => "Service account",
        ConnectionKind::ProjectToken => "Project token",
    }
}

/// A connection ready to use: the saved settings plus the secret.
#[derive(Clone)]
pub struct ActiveConnection {
    /// The saved settings.
    pub saved: SavedConnection,
    /// The secret or token. Never printed.
    pub secret: SecretString,
}

impl std::fmt::Debug for ActiveConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveConnection")
            .field("saved", &self.saved)
            .field("secret", &self.secret)
            .finish()
    }
}

/// The regions a project can live in, with display names.
pub const REGIONS: [(Region, &str); 3] = [
    (Region::Us, "United States (US)"),
    (Region::Eu, "European Union (EU)"),
    (Region::In, "India (IN)"),
];

/// Display name of a region.
pub fn region_name(region: Region) -> &'static str {
    REGIONS
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, n)| *n)
        .unwrap_or("Unknown region")
}

/// Saved connections (without secrets), sorted by name.
pub fn load_connections(config_dir: &Path) -> Result<Vec<SavedConnection>, String> {
    let mut list = ConfigStore::at(config_dir)
        .load()
        .map_err(|e| e.to_string())?
        .connections;
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

/// Secrets by connection name: the OS keychain when there is one, plus secrets kept for this
/// session only (never written anywhere).
pub struct Secrets {
    store: Result<SecretStore, String>,
    session: SessionSecrets,
}

impl Secrets {
    /// The OS keychain (or, when there is none, session-only secrets and the reason).
    pub fn os() -> Self {
        Self {
            store: SecretStore::os().map_err(|e| e.to_string()),
            session: SessionSecrets::new(),
        }
    }

    /// A given store (the mock in tests).
    pub fn with_store(store: SecretStore) -> Self {
        Self {
            store: Ok(store),
            session: SessionSecrets::new(),
        }
    }

    /// No keychain at all, with the reason (tests of the "session only" path).
    pub fn unavailable(reason: &str) -> Self {
        Self {
            store: Err(reason.to_owned()),
            session: SessionSecrets::new(),
        }
    }

    /// Why the keychain cannot be used, if it cannot.
    pub fn keychain_problem(&self) -> Option<&str> {
        self.store.as_ref().err().map(String::as_str)
    }

    /// Save a connection: its secret in the keychain (or, when `session_only`, in memory for
    /// this session), its settings in the config file. A renamed connection's old entry goes.
    pub fn save_connection(
        &mut self,
        config_dir: &Path,
        connection: SavedConnection,
        secret: SecretString,
        session_only: bool,
        renamed_from: Option<&str>,
    ) -> Result<(), String> {
        connection.validate().map_err(|e| e.to_string())?;
        let store = ConfigStore::at(config_dir);
        match (&self.store, session_only) {
            (Ok(keychain), false) => {
                store
                    .save_connection(connection.clone(), &secret, keychain)
                    .map_err(|e| e.to_string())?;
                self.session.remove(&connection.name);
            }
            (Err(reason), false) => {
                return Err(format!("The keychain is not available: {reason}"));
            }
            (_, true) => {
                let mut config = store.load().map_err(|e| e.to_string())?;
                config.upsert_connection(connection.clone());
                store.save(&config).map_err(|e| e.to_string())?;
                self.session.set(&connection.name, secret);
            }
        }
        if let Some(old) = renamed_from.filter(|old| *old != connection.name) {
            self.delete_connection(config_dir, old)?;
        }
        Ok(())
    }

    /// A connection's secret: this session's, else the keychain's.
    pub fn get(&self, connection: &str) -> Result<Option<SecretString>, String> {
        if let Some(secret) = self.session.get(connection) {
            return Ok(Some(secret.clone()));
        }
        match &self.store {
            Ok(store) => store.get(connection).map_err(|e| e.to_string()),
            Err(_) => Ok(None),
        }
    }

    /// Whether the secret is kept only for this session.
    pub fn is_session_only(&self, connection: &str) -> bool {
        self.session.contains(connection)
    }

    /// Delete a connection: its settings and its secret everywhere.
    pub fn delete_connection(&mut self, config_dir: &Path, name: &str) -> Result<(), String> {
        self.session.remove(name);
        let store = ConfigStore::at(config_dir);
        match &self.store {
            Ok(keychain) => store
                .delete_connection(name, keychain)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(_) => {
                let mut config = store.load().map_err(|e| e.to_string())?;
                if config.remove_connection(name).is_some() {
                    store.save(&config).map_err(|e| e.to_string())?;
                }
                Ok(())
            }
        }
    }
}

/// The result of "Test connection", in plain words.
pub type ConnectionTest = Result<String, String>;

/// Check credentials without sending data: a service account asks `/api/app/me`; a token
/// cannot be checked without sending an event, which the answer says.
pub fn test_connection(connection: &ActiveConnection, api_base: Option<&str>) -> ConnectionTest {
    let _ = (connection, api_base);
    Err("Testing connections is not available in this build yet.".to_owned())
}

// ----- check -----

/// How many example rows are kept per issue kind.
pub const EXAMPLES_PER_KIND: usize = 5;
/// How many rejected rows are kept in memory for display (all are written to the rejected file).
pub const REJECTED_SHOWN: usize = 5_000;

/// One kind of issue with how many rows have it and a few example rows.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueGroup {
    /// What is wrong.
    pub kind: IssueKind,
    /// Rows with this issue.
    pub count: u64,
    /// The first few rows with it: (row, field, message).
    pub examples: Vec<(u64, String, String)>,
}

/// A row that would be (or was) rejected, with its original values.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRow {
    /// The source row.
    pub row: u64,
    /// The Mixpanel field at fault (`event`, `properties.time`, ...).
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
    /// Who rejected it: "Check" (local rules) or "Mixpanel".
    pub by: String,
    /// The original values, one per source column.
    pub values: Vec<String>,
}

/// The result of a check, as the GUI shows it.
#[derive(Debug, Clone, Default)]
pub struct CheckSummary {
    /// Rows read.
    pub rows: u64,
    /// Rows that would be sent.
    pub valid: u64,
    /// Rows that would be rejected.
    pub invalid: u64,
    /// Rows sent with at least one warning.
    pub with_warnings: u64,
    /// Blocking issues by kind, most frequent first.
    pub errors: Vec<IssueGroup>,
    /// Warnings by kind, most frequent first.
    pub warnings: Vec<IssueGroup>,
    /// Mapping-wide warnings.
    pub mapping_warnings: Vec<String>,
    /// Requests the import would make.
    pub requests: u64,
    /// Uncompressed bytes the import would send.
    pub bytes: u64,
    /// The first [`REJECTED_SHOWN`] rejected rows.
    pub rejected: Vec<RejectedRow>,
    /// Where every rejected row was written (CSV), when any.
    pub rejected_file: Option<PathBuf>,
    /// The source columns (for the rejected rows' values).
    pub columns: Vec<String>,
    /// Whether the user cancelled before the end.
    pub cancelled: bool,
    /// Seconds it took.
    pub elapsed_secs: f64,
}

/// Messages from a running check.
#[derive(Debug)]
pub enum CheckMessage {
    /// A progress snapshot.
    Progress(Progress),
    /// The end (or why it could not run).
    Done(Result<Box<CheckSummary>, String>),
}

fn add_to_groups(groups: &mut Vec<IssueGroup>, issue: &Issue) {
    match groups.iter_mut().find(|g| g.kind == issue.kind) {
        Some(group) => {
            group.count += 1;
            if group.examples.len() < EXAMPLES_PER_KIND {
                group
                    .examples
                    .push((issue.row, issue.field.clone(), issue.message.clone()));
            }
        }
        None => groups.push(IssueGroup {
            kind: issue.kind,
            count: 1,
            examples: vec![(issue.row, issue.field.clone(), issue.message.clone())],
        }),
    }
}

/// Writes rejected rows as CSV: the original columns, then `_row`, `_field`,
/// `_reason` (fix the values, delete the last three columns, import again).
pub struct RejectedCsv {
    writer: csv::Writer<std::fs::File>,
    path: PathBuf,
}

impl RejectedCsv {
    /// Create `path` and write the header.
    pub fn create(path: &Path, columns: &[String]) -> Result<Self, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
        }
        let mut writer = csv::Writer::from_path(path)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        let mut header: Vec<&str> = columns.iter().map(String::as_str).collect();
        header.extend(["_row", "_field", "_reason"]);
        writer
            .write_record(&header)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        Ok(Self {
            writer,
            path: path.to_path_buf(),
        })
    }

    /// Append one rejected row.
    pub fn write(&mut self, row: &RejectedRow) -> Result<(), String> {
        let mut record: Vec<String> = row.values.clone();
        record.push(row.row.to_string());
        record.push(row.field.clone());
        record.push(row.message.clone());
        self.writer
            .write_record(&record)
            .map_err(|e| format!("{}: cannot write: {e}", self.path.display()))
    }

    /// Flush to disk.
    pub fn finish(mut self) -> Result<PathBuf, String> {
        self.writer
            .flush()
            .map_err(|e| format!("{}: cannot write: {e}", self.path.display()))?;
        Ok(self.path)
    }
}

/// A rejected row from a record and its first blocking issue.
pub fn rejected_row(record: &Record, issues: &[Issue], by: &str) -> RejectedRow {
    let first = issues
        .iter()
        .find(|i| i.severity() == Severity::Error)
        .or(issues.first());
    RejectedRow {
        row: record.row,
        field: first.map(|i| i.field.clone()).unwrap_or_default(),
        message: issues
            .iter()
            .filter(|i| i.severity() == Severity::Error)
            .map(|i| i.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        by: by.to_owned(),
        values: record.cells.iter().map(cell_text).collect(),
    }
}

/// Copy a finished rejected-rows file to where the user chose.
pub fn export_rejected(from: &Path, to: &Path) -> Result<u64, String> {
    std::fs::copy(from, to).map_err(|e| format!("{}: cannot write: {e}", to.display()))
}

/// Stream every row of the file through the transform (the same one the import uses), counting
/// valid/invalid rows, grouping issues, counting the requests, and writing rejected rows to
/// `rejected_path`. Reports progress at most every 200 ms; stops early when `control` is cancelled.
pub fn run_check(
    sniff: &Sniff,
    mapping: &Mapping,
    control: &RunControl,
    rejected_path: &Path,
    mut progress: impl FnMut(Progress),
) -> Result<CheckSummary, String> {
    let start = Instant::now();
    let mut transformer = Transformer::new(mapping, &sniff.columns, TransformOptions::now())
        .map_err(|e| e.to_string())?;
    let mut reader = source::open(sniff).map_err(|e| e.to_string())?;
    let mut summary = CheckSummary {
        columns: sniff.columns.clone(),
        mapping_warnings: transformer
            .mapping_issues()
            .iter()
            .map(|i| i.message.clone())
            .collect(),
        ..CheckSummary::default()
    };
    let mut counter = BatchCounter::default();
    let mut rejected_file: Option<RejectedCsv> = None;
    let mut record = Record::default();
    let mut out = Transformed::default();
    let mut last_report = Instant::now();
    loop {
        if control.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        if !reader.read_into(&mut record).map_err(|e| e.to_string())? {
            break;
        }
        transformer.transform(&record, &mut out);
        summary.rows += 1;
        if out.is_valid() {
            summary.valid += 1;
            counter.add(out.json.len());
        } else {
            summary.invalid += 1;
            let row = rejected_row(&record, &out.issues, "Check");
            if rejected_file.is_none() {
                rejected_file = Some(RejectedCsv::create(rejected_path, &sniff.columns)?);
            }
            if let Some(file) = rejected_file.as_mut() {
                file.write(&row)?;
            }
            if summary.rejected.len() < REJECTED_SHOWN {
                summary.rejected.push(row);
            }
        }
        let mut warned = false;
        for issue in &out.issues {
            match issue.severity() {
                Severity::Error => add_to_groups(&mut summary.errors, issue),
                Severity::Warning => {
                    warned = true;
                    add_to_groups(&mut summary.warnings, issue);
                }
            }
        }
        if warned && out.is_valid() {
            summary.with_warnings += 1;
        }
        if last_report.elapsed().as_millis() >= 200 {
            last_report = Instant::now();
            progress(check_progress(
                &summary,
                reader.bytes_read(),
                sniff.file_size,
                start,
            ));
        }
    }
    if let Some(file) = rejected_file {
        summary.rejected_file = Some(file.finish()?);
    }
    summary.requests = counter.total_requests();
    summary.bytes = counter.bytes;
    summary.errors.sort_by_key(|g| std::cmp::Reverse(g.count));
    summary.warnings.sort_by_key(|g| std::cmp::Reverse(g.count));
    summary.elapsed_secs = start.elapsed().as_secs_f64();
    let mut last = check_progress(&summary, reader.bytes_read(), sniff.file_size, start);
    last.phase = Phase::Finished;
    progress(last);
    Ok(summary)
}

fn check_progress(summary: &CheckSummary, bytes: u64, total: u64, start: Instant) -> Progress {
    let elapsed = start.elapsed().as_secs_f64();
    let rate = if elapsed > 0.0 {
        summary.rows as f64 / elapsed
    } else {
        0.0
    };
    let fraction = if total > 0 {
        bytes as f64 / total as f64
    } else {
        0.0
    };
    Progress {
        phase: Phase::Running,
        rows_read: summary.rows,
        bytes_read: bytes,
        total_bytes: total,
        valid: summary.valid,
        invalid: summary.invalid,
        rate_per_sec: rate,
        eta_secs: (fraction > 0.0).then(|| elapsed * (1.0 - fraction) / fraction),
        elapsed_secs: elapsed,
        ..Progress::default()
    }
}

// ----- import -----

/// The result of an import, as the GUI shows it.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// Rows read.
    pub rows: u64,
    /// Events Mixpanel accepted.
    pub accepted: u64,
    /// Rows rejected by the local rules (never sent).
    pub rejected_local: u64,
    /// Events Mixpanel rejected.
    pub rejected_server: u64,
    /// The first [`REJECTED_SHOWN`] rejected rows, local and Mixpanel's.
    pub rejected: Vec<RejectedRow>,
    /// Every rejected row as CSV, when any.
    pub rejected_file: Option<PathBuf>,
    /// The run report (JSON).
    pub report_file: Option<PathBuf>,
    /// The source columns.
    pub columns: Vec<String>,
    /// Whether the user cancelled.
    pub cancelled: bool,
    /// Why the run stopped early (bad credentials, ...), if it did.
    pub stopped_by: Option<String>,
    /// Seconds it took.
    pub elapsed_secs: f64,
    /// The import label sent with every event, if any.
    pub import_label: Option<String>,
}

/// Messages from a running import.
#[derive(Debug)]
pub enum ImportMessage {
    /// A progress snapshot.
    Progress(Progress),
    /// The end (or why it could not start).
    Done(Result<Box<ImportSummary>, String>),
}

/// Everything an import needs, owned so it can move to the worker thread.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The file.
    pub sniff: Sniff,
    /// The mapping.
    pub mapping: Mapping,
    /// Where to send.
    pub connection: ActiveConnection,
    /// A test server instead of Mixpanel.
    pub api_base: Option<String>,
    /// Folder for the report, journal and rejected rows.
    pub runs_dir: PathBuf,
    /// Continue a journaled run.
    pub resume: bool,
}

/// Run an import. Reports progress through `progress`; obeys `control` (pause, cancel).
pub fn run_import(
    request: &ImportRequest,
    control: &RunControl,
    progress: impl FnMut(Progress),
) -> Result<ImportSummary, String> {
    let _ = (request, control, progress);
    Err("The import engine is not available in this build yet.".to_owned())
}
