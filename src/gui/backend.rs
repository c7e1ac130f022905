//! The GUI's calls into the engine, in one place: loading files, suggesting mappings, saved
//! connections, secrets, recent files and templates. Steps call these; nothing here uses egui
//! types except where noted.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::credentials::{SecretStore, SecretString, SessionSecrets};
use crate::mapping::Mapping;
use crate::source::{self, Cell, SourceOptions};

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
    if let Ok(dir) = std::env::var("MIXPORT_CONFIG_DIR")
        && !dir.is_empty()
    {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("com", "Mixport", "mixport")
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".mixport"))
}

// ----- recent files -----

const RECENT_FILE: &str = "recent-files.json";
const MAX_RECENT: usize = 10;

/// Recently opened files, newest first (missing files dropped).
pub fn recent_files(config_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(config_dir.join(RECENT_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<Vec<PathBuf>>(&text).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// Put `path` first in the recent files. Failing to save is not worth bothering the user.
pub fn remember_recent_file(config_dir: &Path, path: &Path) {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut list = recent_files(config_dir);
    list.retain(|p| p != &path);
    list.insert(0, path);
    list.truncate(MAX_RECENT);
    if std::fs::create_dir_all(config_dir).is_ok()
        && let Ok(text) = serde_json::to_string_pretty(&list)
    {
        let _ = std::fs::write(config_dir.join(RECENT_FILE), text);
    }
}

// ----- templates -----

/// The folder where mapping templates are saved.
pub fn templates_dir(config_dir: &Path) -> PathBuf {
    config_dir.join("templates")
}

/// Saved templates as (name, path), sorted by name.
pub fn list_templates(config_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(templates_dir(config_dir))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .filter_map(|p| {
                    let name = p.file_stem()?.to_string_lossy().into_owned();
                    Some((name, p))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Save `mapping` (with `headers`) as template `name`. Returns the file written.
pub fn save_template(
    config_dir: &Path,
    name: &str,
    mapping: &Mapping,
    headers: &[String],
) -> Result<PathBuf, String> {
    let clean: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.trim().is_empty() {
        return Err("Give the template a name first.".to_owned());
    }
    let dir = templates_dir(config_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let path = dir.join(format!("{}.json", clean.trim()));
    let mut mapping = mapping.clone();
    mapping.headers = headers.to_vec();
    mapping.save(&path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The first saved template made for a file with exactly these headers.
pub fn template_matching(config_dir: &Path, headers: &[String]) -> Option<(String, Mapping)> {
    list_templates(config_dir)
        .into_iter()
        .filter_map(|(name, path)| Mapping::load(&path).ok().map(|m| (name, m)))
        .find(|(_, m)| m.matches_headers(headers))
}

// ----- suggestion -----

/// The suggested mapping for a loaded file, with per-field confidence.
pub fn suggest_mapping(file: &LoadedFile) -> (Mapping, Vec<FieldConfidence>) {
    let _ = file;
    (Mapping::default(), Vec::new())
}

// ----- connections and secrets -----

/// How a connection authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// Service account: username + secret, with a project id.
    ServiceAccount,
    /// Project token.
    ProjectToken,
}

impl ConnectionKind {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionKind::ServiceAccount => "Service account",
            ConnectionKind::ProjectToken => "Project token",
        }
    }
}

/// A saved connection without its secret (what the config file holds).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedConnection {
    /// The connection's name (also the keychain entry's name).
    pub name: String,
    /// Region code: `us`, `eu` or `in`.
    pub region: String,
    /// Project id.
    pub project_id: String,
    /// Service account or token.
    pub kind: ConnectionKind,
    /// Service account username (empty for a token).
    pub username: String,
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

/// The regions a project can live in, as (code, display name).
pub const REGIONS: [(&str, &str); 3] = [
    ("us", "United States (US)"),
    ("eu", "European Union (EU)"),
    ("in", "India (IN)"),
];

/// Display name of a region code.
pub fn region_name(code: &str) -> &'static str {
    REGIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
        .unwrap_or("Unknown region")
}

const CONNECTIONS_FILE: &str = "connections.json";

/// Saved connections (without secrets), sorted by name.
pub fn load_connections(config_dir: &Path) -> Vec<SavedConnection> {
    let mut list: Vec<SavedConnection> = std::fs::read_to_string(config_dir.join(CONNECTIONS_FILE))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// Save the connections list (no secrets in it).
pub fn save_connections(config_dir: &Path, list: &[SavedConnection]) -> Result<(), String> {
    std::fs::create_dir_all(config_dir)
        .map_err(|e| format!("{}: cannot create: {e}", config_dir.display()))?;
    let path = config_dir.join(CONNECTIONS_FILE);
    let text = serde_json::to_string_pretty(list).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: cannot write: {e}", path.display()))
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

    /// Save a secret: in the keychain, or (when `session_only`) in memory for this session.
    pub fn save(
        &mut self,
        connection: &str,
        secret: SecretString,
        session_only: bool,
    ) -> Result<(), String> {
        if session_only {
            self.session.set(connection, secret);
            return Ok(());
        }
        match &self.store {
            Ok(store) => {
                store.set(connection, &secret).map_err(|e| e.to_string())?;
                self.session.remove(connection);
                Ok(())
            }
            Err(reason) => Err(format!("The keychain is not available: {reason}")),
        }
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

    /// Forget a connection's secret everywhere.
    pub fn delete(&mut self, connection: &str) -> Result<(), String> {
        self.session.remove(connection);
        if let Ok(store) = &self.store {
            store.delete(connection).map_err(|e| e.to_string())?;
        }
        Ok(())
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
