//! The GUI's calls into the engine, in one place: loading files, suggesting mappings, saved
//! connections, secrets, recent files and templates. Steps call these; nothing here uses egui
//! types except where noted.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::{self, ConfigStore};
use crate::credentials::{SecretStore, SecretString, SessionSecrets};

use crate::mapping::Mapping;
use crate::mapping::suggest::{self, Field};
use crate::mixpanel::auth::Credentials;
use crate::mixpanel::client::{ClientConfig, ConnectionStatus, MixpanelClient};
use crate::pipeline::check::{self, CheckOptions};
use crate::pipeline::import::{self, ImportSettings};
use crate::pipeline::journal::{self, JournalKey};
use crate::pipeline::rejected::RejectionOrigin;
use crate::pipeline::{Progress, RunControl};
use crate::source::{self, Cell, Sniff, SourceOptions};
use crate::validate::IssueKind;

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

/// The Map step's name for a suggestion field.
pub fn field_label(field: Field) -> &'static str {
    match field {
        Field::Event => "Event name",
        Field::User => "User ID",
        Field::Time => "Time",
        Field::InsertId => "Insert ID",
        Field::Country => "Country",
        Field::City => "City",
        Field::Region => "Region",
        Field::Ip => "IP",
    }
}

/// The suggested mapping for a loaded file, with per-field confidence.
pub fn suggest_mapping(file: &LoadedFile) -> (Mapping, Vec<FieldConfidence>) {
    let suggestion =
        suggest::suggest_for_file(&file.sniff.path, &file.sniff.columns, &file.preview);
    let confidence = suggestion
        .fields
        .iter()
        .map(|g| FieldConfidence {
            field: field_label(g.field).to_owned(),
            confidence: if g.column.is_some() {
                g.confidence
            } else {
                0.0
            },
            reason: g.reason.clone(),
        })
        .collect();
    (suggestion.mapping, confidence)
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

/// The engine's client for a connection.
pub fn client_for(
    connection: &ActiveConnection,
    api_base: Option<&str>,
) -> Result<MixpanelClient, String> {
    let secret = connection.secret.clone();
    let credentials = match connection.saved.kind {
        ConnectionKind::ServiceAccount => Credentials::service_account(
            connection.saved.username.clone().unwrap_or_default(),
            secret,
            connection.saved.project_id.clone().unwrap_or_default(),
        ),
        ConnectionKind::ProjectToken => Credentials::project_token(secret),
    }
    .map_err(|e| format!("Connection '{}': {e}.", connection.saved.name))?;
    let mut config = ClientConfig::new(connection.saved.region);
    config.api_base = api_base.map(str::to_owned);
    MixpanelClient::new(credentials, config).map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the network runtime: {e}"))
}

/// Check credentials without sending data: a service account asks `/api/app/me`; a token
/// cannot be checked without sending an event, which the answer says. Blocks: call it on a
/// worker thread.
pub fn test_connection(connection: &ActiveConnection, api_base: Option<&str>) -> ConnectionTest {
    let rt = runtime()?;
    let check = rt.block_on(async {
        let client = client_for(connection, api_base)?;
        Ok::<_, String>(client.check_connection().await)
    })?;
    let saved = &connection.saved;
    let project = saved.project_id.clone().unwrap_or_default();
    let region = region_name(saved.region);
    match check.status {
        ConnectionStatus::Verified => Ok(match &check.project_name {
            Some(name) => format!(
                "Connected: the service account '{}' can see project {project} (\"{name}\") in the {region} region.",
                saved.username.clone().unwrap_or_default()
            ),
            None => format!(
                "Connected: the service account '{}' can see project {project} in the {region} region.",
                saved.username.clone().unwrap_or_default()
            ),
        }),
        ConnectionStatus::NotCheckable => Ok(
            "A project token cannot be checked without sending data: the first batch of the import checks it, and the import stops at once if Mixpanel refuses it."
                .to_owned(),
        ),
        ConnectionStatus::ProjectNotVisible => Err(format!(
            "Wrong project: the service account works, but project {project} is not among the projects it can see. Check the Project ID, and that the service account is a member of that project (Owner or Admin)."
        )),
        ConnectionStatus::Refused => Err(
            "Bad credentials: Mixpanel refused the service account's username or secret. Copy them again from your organisation's service accounts in Mixpanel, then Edit this connection."
                .to_owned(),
        ),
        ConnectionStatus::Unreachable => Err(format!(
            "No answer: Mixpanel could not be reached ({}). Check your internet connection, proxy or firewall, then try again.",
            check.detail
        )),
        ConnectionStatus::NotMixpanel => Err(format!(
            "This server is not Mixpanel: the address answered, but not as Mixpanel's API does ({}). Check the region and the server address.",
            check.detail
        )),
        ConnectionStatus::ServerTrouble => Err(format!(
            "Mixpanel is busy or having trouble ({}). Your settings may be right: try again in a few minutes.",
            check.detail
        )),
    }
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

/// Read back the first `limit` rows of a rejected-rows CSV, with who refused each.
pub fn read_rejected(path: &Path, limit: usize) -> Vec<RejectedRow> {
    crate::pipeline::rejected::read_rejected(path, limit)
        .unwrap_or_default()
        .into_iter()
        .map(|r| RejectedRow {
            row: r.row,
            field: r.field,
            message: r.message,
            by: match r.origin {
                RejectionOrigin::Check => "Check",
                RejectionOrigin::Mixpanel => "Mixpanel",
                RejectionOrigin::NotDelivered => "Not delivered",
                RejectionOrigin::NotFound => "Not found in Mixpanel",
            }
            .to_owned(),
            values: r.values,
        })
        .collect()
}

/// Copy a finished rejected-rows file to where the user chose.
pub fn export_rejected(from: &Path, to: &Path) -> Result<u64, String> {
    std::fs::copy(from, to).map_err(|e| format!("{}: cannot write: {e}", to.display()))
}

fn to_groups(groups: &[check::IssueGroup]) -> Vec<IssueGroup> {
    groups
        .iter()
        .map(|g| IssueGroup {
            kind: g.kind,
            count: g.count,
            examples: g
                .examples
                .iter()
                .map(|e| (e.row, g.field.clone(), e.message.clone()))
                .collect(),
        })
        .collect()
}

/// Run the engine's check (the same transform the import uses) over every row, writing
/// rejected rows to `rejected_path`. Progress at most ~5 times a second; stops early when
/// `control` is cancelled. Blocks: call it on a worker thread.
pub fn run_check(
    sniff: &Sniff,
    mapping: &Mapping,
    control: &RunControl,
    rejected_path: &Path,
    mut progress: impl FnMut(Progress),
) -> Result<CheckSummary, String> {
    if let Some(dir) = rejected_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    }
    let options = CheckOptions {
        failed_out: Some(rejected_path.to_path_buf()),
        ..CheckOptions::default()
    };
    let report = check::run_check(sniff, mapping, &options, control, &mut |p: &Progress| {
        progress(p.clone())
    })
    .map_err(|e| e.to_string())?;
    let rejected_file = report
        .rejected_file
        .clone()
        .filter(|_| report.rejected_written > 0);
    let rejected = rejected_file
        .as_deref()
        .map(|p| read_rejected(p, REJECTED_SHOWN))
        .unwrap_or_default();
    // Mapping-wide warnings are reported on row 0.
    let (mapping_wide, warnings): (Vec<_>, Vec<_>) = report
        .warnings
        .iter()
        .cloned()
        .partition(|g| !g.examples.is_empty() && g.examples.iter().all(|e| e.row == 0));
    Ok(CheckSummary {
        rows: report.rows,
        valid: report.valid,
        invalid: report.invalid,
        with_warnings: report.rows_with_warnings,
        errors: to_groups(&report.errors),
        warnings: to_groups(&warnings),
        mapping_warnings: mapping_wide
            .iter()
            .flat_map(|g| g.examples.iter().map(|e| e.message.clone()))
            .collect(),
        requests: report.requests,
        bytes: report.bytes,
        rejected,
        rejected_file,
        columns: sniff.columns.clone(),
        cancelled: report.cancelled,
        elapsed_secs: report.elapsed_secs,
    })
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
    /// How the file is read (saved for a later resume).
    pub options: SourceOptions,
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

/// The resume journal key of an import (the same the engine computes).
pub fn journal_key(request: &ImportRequest) -> Result<JournalKey, String> {
    let client = client_for(&request.connection, request.api_base.as_deref())?;
    Ok(JournalKey {
        file_fingerprint: journal::fingerprint(&request.sniff.path)
            .map_err(|e| format!("{}: cannot read: {e}", request.sniff.path.display()))?,
        mapping_hash: request.mapping.content_hash(),
        target: client.target_label(),
    })
}

/// Whether an interrupted run of exactly this import (file, mapping, project) can be resumed.
pub fn can_resume(request: &ImportRequest) -> bool {
    journal_key(request).is_ok_and(|key| key.journal_path(&request.runs_dir).is_file())
}

/// What the app saves next to a journal so that the next start can offer to resume.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResumeInfo {
    /// The file.
    pub file: PathBuf,
    /// How it was read.
    pub options: SourceOptions,
    /// The mapping used.
    pub mapping: Mapping,
    /// The connection's name.
    pub connection: String,
}

/// Interrupted imports the app can offer to resume: (journal path, what to reopen).
pub fn interrupted_imports(runs_dir: &Path) -> Vec<(PathBuf, ResumeInfo)> {
    let Ok(entries) = std::fs::read_dir(runs_dir.join("journals")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "journal"))
        .filter_map(|journal| {
            let text = std::fs::read_to_string(journal.with_extension("gui.json")).ok()?;
            let info: ResumeInfo = serde_json::from_str(&text).ok()?;
            Some((journal, info))
        })
        .collect()
}

/// Forget an interrupted import (the user declined to resume it).
pub fn discard_interrupted(journal: &Path) {
    let _ = std::fs::remove_file(journal.with_extension("gui.json"));
    let _ = std::fs::remove_file(journal);
}

/// Run an import through the engine. Reports progress through `progress`; obeys `control`
/// (pause, cancel). Blocks: call it on a worker thread.
pub fn run_import(
    request: &ImportRequest,
    control: &RunControl,
    mut progress: impl FnMut(Progress),
) -> Result<ImportSummary, String> {
    let client = client_for(&request.connection, request.api_base.as_deref())?;
    let key = journal_key(request)?;
    let journals = request.runs_dir.join("journals");
    std::fs::create_dir_all(&journals)
        .map_err(|e| format!("{}: cannot create: {e}", journals.display()))?;
    let info = ResumeInfo {
        file: request.sniff.path.clone(),
        options: request.options.clone(),
        mapping: request.mapping.clone(),
        connection: request.connection.saved.name.clone(),
    };
    let journal_path = key.journal_path(&request.runs_dir);
    let info_path = journal_path.with_extension("gui.json");
    if let Ok(text) = serde_json::to_string_pretty(&info) {
        let _ = std::fs::write(&info_path, text);
    }
    let rejected_path = journals.join(format!("{}.rejected.csv", key.id()));
    let settings = ImportSettings {
        failed_out: Some(rejected_path.clone()),
        resume: request.resume,
        data_dir: Some(request.runs_dir.clone()),
        ..ImportSettings::default()
    };
    let report = import::run_import(
        &request.sniff,
        &request.mapping,
        client,
        &settings,
        control,
        &mut |p: &Progress| progress(p.clone()),
    )
    .map_err(|e| e.to_string())?;
    // A clean run leaves nothing to resume: the journal (which the engine normally deletes;
    // a resumed run's is kept by the engine as of this writing) and the resume note go.
    let clean =
        report.error.is_none() && !report.cancelled && report.failed == 0 && report.not_sent == 0;
    if clean {
        discard_interrupted(&journal_path);
    } else if !journal_path.exists() {
        let _ = std::fs::remove_file(&info_path);
    }
    let report_path = key.report_path(&request.runs_dir);
    let rejected_file = (report.rejected > 0 && rejected_path.is_file()).then_some(rejected_path);
    let rejected = rejected_file
        .as_deref()
        .map(|p| read_rejected(p, REJECTED_SHOWN))
        .unwrap_or_default();
    Ok(ImportSummary {
        rows: report.rows,
        accepted: report.imported,
        rejected_local: report.rejected_local,
        rejected_server: report.rejected_server + report.failed,
        rejected,
        rejected_file,
        report_file: report_path.is_file().then_some(report_path),
        columns: request.sniff.columns.clone(),
        cancelled: report.cancelled,
        stopped_by: report.error.clone(),
        elapsed_secs: report.elapsed_secs,
        import_label: request
            .mapping
            .constants
            .get(crate::mapping::IMPORT_LABEL_PROPERTY)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::rejected::RejectedWriter;

    #[test]
    fn rejected_rows_are_read_back_with_their_values_and_reason() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rejected.csv");
        let columns = vec!["event".to_owned(), "time".to_owned()];
        let mut writer = RejectedWriter::create(&path, &columns).expect("create");
        writer
            .write_cells(
                7,
                &["Buy", "not a time"],
                "properties.time",
                "'not a time' is bad",
                RejectionOrigin::Check,
            )
            .expect("write");
        writer.finish().expect("finish");
        let rows = read_rejected(&path, 10);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].row, 7);
        assert_eq!(rows[0].field, "properties.time");
        assert_eq!(rows[0].values, vec!["Buy", "not a time"]);
        assert_eq!(rows[0].message, "'not a time' is bad");
        assert!(read_rejected(&path, 0).is_empty());
    }

    #[test]
    fn session_only_secrets_stay_in_memory_and_the_connection_in_the_config() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut secrets = Secrets::unavailable("no bus");
        let connection = SavedConnection {
            name: "Prod".to_owned(),
            region: Region::Eu,
            project_id: Some("12".to_owned()),
            kind: ConnectionKind::ServiceAccount,
            username: Some("sa".to_owned()),
        };
        assert!(
            secrets
                .save_connection(
                    dir.path(),
                    connection.clone(),
                    SecretString::new("pw"),
                    false,
                    None
                )
                .is_err(),
            "the keychain path must refuse without a keychain"
        );
        secrets
            .save_connection(dir.path(), connection, SecretString::new("pw"), true, None)
            .expect("session only");
        assert_eq!(
            secrets
                .get("Prod")
                .expect("get")
                .map(|s| s.expose().to_owned()),
            Some("pw".to_owned())
        );
        assert!(secrets.is_session_only("Prod"));
        let listed = load_connections(dir.path()).expect("load");
        assert_eq!(listed.len(), 1);
        let config = std::fs::read_to_string(dir.path().join("config.json")).expect("config");
        assert!(!config.contains("\"pw\""));
        secrets
            .delete_connection(dir.path(), "Prod")
            .expect("delete");
        assert!(load_connections(dir.path()).expect("load").is_empty());
        assert_eq!(secrets.get("Prod").expect("get"), None);
    }

    #[test]
    fn renaming_a_connection_moves_its_secret() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SecretStore::mock();
        let mut secrets = Secrets::with_store(store.clone());
        let mut connection = SavedConnection {
            name: "Old".to_owned(),
            region: Region::Us,
            project_id: None,
            kind: ConnectionKind::ProjectToken,
            username: None,
        };
        secrets
            .save_connection(
                dir.path(),
                connection.clone(),
                SecretString::new("tok"),
                false,
                None,
            )
            .expect("save");
        connection.name = "New".to_owned();
        secrets
            .save_connection(
                dir.path(),
                connection,
                SecretString::new("tok"),
                false,
                Some("Old"),
            )
            .expect("rename");
        assert_eq!(store.get("Old").expect("get"), None);
        assert!(store.get("New").expect("get").is_some());
        let names: Vec<String> = load_connections(dir.path())
            .expect("load")
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, vec!["New".to_owned()]);
    }
}
