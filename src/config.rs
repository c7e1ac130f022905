//! The app's config file: saved connections (never their secrets), recent files, templates.
//!
//! One JSON file, `config.json`, in the OS config directory (`ProjectDirs::from("com",
//! "Mixport", "Mixport")`: `~/.config/mixport` on Linux, `~/Library/Application Support/
//! com.Mixport.Mixport` on macOS, `%APPDATA%\Mixport\Mixport\config` on Windows), or in the
//! directory named by the environment variable [`CONFIG_DIR_ENV`] (tests, portable installs).
//!
//! - A [`Connection`] keeps its name, region, project id, kind and username. Its secret is in
//!   the OS keychain only ([`crate::credentials::SecretStore`]), stored under the connection's
//!   name; [`ConfigStore::load_connection`] joins the two for `mixport import --connection NAME`.
//! - Recent files: the last [`MAX_RECENT_FILES`] opened, newest first.
//! - Mapping templates: one JSON file per template ([`crate::mapping::Mapping`]) in the templates
//!   folder (default `<config dir>/templates`); [`find_template_for_headers`] finds the one made
//!   for a file with the same columns.
//!
//! Every write goes to a temporary file in the same directory, which is then renamed over the
//! old one, so a crash never leaves a half-written file.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::credentials::{CredentialError, SecretStore, SecretString};
use crate::mapping::Mapping;

/// Environment variable that overrides the config directory (used by tests).
pub const CONFIG_DIR_ENV: &str = "MIXPORT_CONFIG_DIR";
/// The config file's name inside the config directory.
pub const CONFIG_FILE_NAME: &str = "config.json";
/// The default templates folder's name inside the config directory.
pub const TEMPLATES_DIR_NAME: &str = "templates";
/// How many recent files are remembered.
pub const MAX_RECENT_FILES: usize = 10;
/// The config file format version written by this build.
pub const CONFIG_VERSION: u32 = 1;

/// Why the config, a template or a saved connection could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither the environment variable nor the OS gives a config directory.
    #[error(
        "Cannot find a folder for Mixport's settings (no home directory). Set {CONFIG_DIR_ENV} \
         to a folder Mixport may write to."
    )]
    NoConfigDir,
    /// A file or folder could not be read.
    #[error("Cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A file could not be written.
    #[error("Cannot write {}: {source}. Check that the folder exists and is writable.", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A mapping template names an unknown key or value, or an unsupported version.
    #[error("template {}: {message}. Fix or delete the file.", path.display())]
    Template {
        /// The template file.
        path: PathBuf,
        /// What is wrong, with the key's path and a "did you mean".
        message: String,
    },
    /// A JSON file is damaged or not in the expected shape.
    #[error(
        "{} is not valid at line {line}, column {column}: {message}. Fix or delete the file.",
        path.display()
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// No saved connection has this name.
    #[error(
        "No saved connection is named \"{name}\". {}",
        if known.is_empty() {
            "No connection is saved yet: add one in the app's Connect step.".to_owned()
        } else {
            format!("Saved connections: {}.", known.join(", "))
        }
    )]
    UnknownConnection {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// The connection exists but the keychain holds no secret for it.
    #[error(
        "The keychain holds no secret for connection \"{name}\". Open the app and save the \
         connection again, or pass credentials in MP_ACCT/MP_PASS/MP_PROJECT or MP_TOKEN."
    )]
    MissingSecret {
        /// The connection's name.
        name: String,
    },
    /// A connection lacks a field its kind needs, or has a malformed one.
    #[error("Connection \"{name}\": {problem}")]
    InvalidConnection {
        /// The connection's name.
        name: String,
        /// What is wrong, in plain words.
        problem: String,
    },
    /// A template name that cannot become a file name.
    #[error("\"{name}\" cannot be used as a template name: use letters, digits, spaces, - or _.")]
    InvalidTemplateName {
        /// The name given.
        name: String,
    },
    /// The keychain failed.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
}

/// A Mixpanel project's data residency region, saved in the config file as `us`, `eu` or `in`
/// (the same type the client uses, so a saved connection maps to its hosts directly).
pub use crate::mixpanel::region::{Region, UnknownRegion};

/// How a connection authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// A service account: username + secret, plus the project id.
    #[default]
    ServiceAccount,
    /// A project token (the token is the secret; no username).
    ProjectToken,
}

/// A saved connection to one Mixpanel project. Never holds a secret: that is in the keychain,
/// stored under [`Connection::name`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Connection {
    /// The name the user gave it (unique in the config file).
    pub name: String,
    /// The project's region.
    pub region: Region,
    /// The numeric project id (required for service accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Service account or project token.
    pub kind: ConnectionKind,
    /// The service account's username (service accounts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl Connection {
    /// Check that the connection has what its kind needs: a name; for a service account a
    /// username and a numeric project id; a project id, when given, is a number.
    ///
    /// # Errors
    /// [`ConfigError::InvalidConnection`] saying what is missing.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |problem: &str| ConfigError::InvalidConnection {
            name: self.name.clone(),
            problem: problem.to_owned(),
        };
        if self.name.trim().is_empty() {
            return Err(invalid("give the connection a name"));
        }
        let project_id = self.project_id.as_deref().map(str::trim);
        if let Some(id) = project_id
            && !id.is_empty()
            && !id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid(
                "the project id must be a number (find it in Mixpanel under Project Settings)",
            ));
        }
        if self.kind == ConnectionKind::ServiceAccount {
            if self.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
                return Err(invalid("a service account needs its username"));
            }
            if project_id.is_none_or(str::is_empty) {
                return Err(invalid("a service account needs the project id"));
            }
        }
        Ok(())
    }
}

/// The content of `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppConfig {
    /// File format version ([`CONFIG_VERSION`]).
    pub version: u32,
    /// Saved connections, in the order they were added.
    pub connections: Vec<Connection>,
    /// Recently opened files, newest first, at most [`MAX_RECENT_FILES`].
    pub recent_files: Vec<PathBuf>,
    /// Where mapping templates are kept; `None` = `<config dir>/templates`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates_dir: Option<PathBuf>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            version: CONFIG_VERSION,
            connections: Vec::new(),
            recent_files: Vec::new(),
            templates_dir: None,
        }
    }
}

impl AppConfig {
    /// The saved connection with this name.
    pub fn connection(&self, name: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.name == name)
    }

    /// The names of all saved connections, in order.
    pub fn connection_names(&self) -> Vec<String> {
        self.connections.iter().map(|c| c.name.clone()).collect()
    }

    /// Add a connection, or replace the one with the same name (keeping its position).
    pub fn upsert_connection(&mut self, connection: Connection) {
        match self
            .connections
            .iter_mut()
            .find(|c| c.name == connection.name)
        {
            Some(existing) => *existing = connection,
            None => self.connections.push(connection),
        }
    }

    /// Remove a connection by name; returns it if it existed.
    pub fn remove_connection(&mut self, name: &str) -> Option<Connection> {
        let index = self.connections.iter().position(|c| c.name == name)?;
        Some(self.connections.remove(index))
    }

    /// Put a file at the top of the recent files (moving it if already listed), keeping at most
    /// [`MAX_RECENT_FILES`].
    pub fn add_recent_file(&mut self, path: impl Into<PathBuf>) {
        let path = path.into();
        self.recent_files.retain(|p| p != &path);
        self.recent_files.insert(0, path);
        self.recent_files.truncate(MAX_RECENT_FILES);
    }
}

/// The config directory and the operations on the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigStore {
    dir: PathBuf,
}

impl ConfigStore {
    /// The config directory: `$MIXPORT_CONFIG_DIR` when set and not empty, else the OS one.
    ///
    /// # Errors
    /// [`ConfigError::NoConfigDir`] when the OS has no home directory for this user.
    pub fn locate() -> Result<Self, ConfigError> {
        Self::locate_with(std::env::var_os(CONFIG_DIR_ENV))
    }

    /// [`locate`](Self::locate) with the environment variable's value passed in (testable
    /// without mutating the process environment).
    fn locate_with(env_dir: Option<std::ffi::OsString>) -> Result<Self, ConfigError> {
        if let Some(dir) = env_dir.filter(|d| !d.is_empty()) {
            return Ok(Self::at(dir));
        }
        directories::ProjectDirs::from("com", "Mixport", "Mixport")
            .map(|dirs| Self::at(dirs.config_dir()))
            .ok_or(ConfigError::NoConfigDir)
    }

    /// A config store in the given directory (created on first save).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The config directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The config file's path.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE_NAME)
    }

    /// The templates folder: the config's choice, else `<config dir>/templates`.
    pub fn templates_dir(&self, config: &AppConfig) -> PathBuf {
        config
            .templates_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(TEMPLATES_DIR_NAME))
    }

    /// Read the config file; a missing file gives the default (empty) config.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`] (with line and column).
    pub fn load(&self) -> Result<AppConfig, ConfigError> {
        let path = self.config_path();
        match fs::read(&path) {
            Ok(bytes) => parse_json(&path, &bytes),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(AppConfig::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Write the config file atomically (temporary file + rename), creating the directory.
    ///
    /// # Errors
    /// [`ConfigError::Write`].
    pub fn save(&self, config: &AppConfig) -> Result<(), ConfigError> {
        write_json_atomically(&self.config_path(), config)
    }

    /// A saved connection and its secret from the keychain, for `mixport import --connection`.
    ///
    /// # Errors
    /// [`ConfigError::UnknownConnection`] (listing the saved names),
    /// [`ConfigError::MissingSecret`], [`ConfigError::InvalidConnection`], a keychain failure
    /// ([`ConfigError::Credentials`], e.g. keychain unavailable), or a config read error.
    pub fn load_connection(
        &self,
        name: &str,
        secrets: &SecretStore,
    ) -> Result<(Connection, SecretString), ConfigError> {
        let config = self.load()?;
        let connection =
            config
                .connection(name)
                .cloned()
                .ok_or_else(|| ConfigError::UnknownConnection {
                    name: name.to_owned(),
                    known: config.connection_names(),
                })?;
        connection.validate()?;
        match secrets.get(name)? {
            Some(secret) if !secret.is_empty() => Ok((connection, secret)),
            _ => Err(ConfigError::MissingSecret {
                name: name.to_owned(),
            }),
        }
    }

    /// Save a connection: its secret into the keychain first, then the rest into the config
    /// file (replacing a connection of the same name). Returns the updated config.
    ///
    /// # Errors
    /// [`ConfigError::InvalidConnection`] (nothing is written), a keychain failure (the config
    /// file is left unchanged), or a config read/write error.
    pub fn save_connection(
        &self,
        connection: Connection,
        secret: &SecretString,
        secrets: &SecretStore,
    ) -> Result<AppConfig, ConfigError> {
        connection.validate()?;
        if secret.is_empty() {
            return Err(ConfigError::InvalidConnection {
                name: connection.name,
                problem: "the secret or token is empty".to_owned(),
            });
        }
        let mut config = self.load()?;
        secrets.set(&connection.name, secret)?;
        config.upsert_connection(connection);
        self.save(&config)?;
        Ok(config)
    }

    /// Delete a connection: from the config file and its secret from the keychain. Returns the
    /// updated config. Deleting a name that does not exist is not an error.
    ///
    /// # Errors
    /// A keychain failure (the config file is left unchanged), or a config read/write error.
    pub fn delete_connection(
        &self,
        name: &str,
        secrets: &SecretStore,
    ) -> Result<AppConfig, ConfigError> {
        let mut config = self.load()?;
        secrets.delete(name)?;
        if config.remove_connection(name).is_some() {
            self.save(&config)?;
        }
        Ok(config)
    }

    /// Load the config, put `path` at the top of the recent files, save. Returns the config.
    ///
    /// # Errors
    /// A config read/write error.
    pub fn remember_recent_file(&self, path: impl Into<PathBuf>) -> Result<AppConfig, ConfigError> {
        let mut config = self.load()?;
        config.add_recent_file(path);
        self.save(&config)?;
        Ok(config)
    }
}

/// A saved connection and its secret, from the OS config directory and the OS keychain.
/// Shorthand for [`ConfigStore::locate`] + [`ConfigStore::load_connection`].
///
/// # Errors
/// As [`ConfigStore::load_connection`], plus [`ConfigError::NoConfigDir`].
pub fn load_connection(
    name: &str,
    secrets: &SecretStore,
) -> Result<(Connection, SecretString), ConfigError> {
    ConfigStore::locate()?.load_connection(name, secrets)
}

/// A mapping template on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The template's name (its file name without `.json`).
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// The mapping it holds.
    pub mapping: Mapping,
}

/// The template files (`*.json`) in a folder, sorted by name. A missing folder has none.
///
/// # Errors
/// [`ConfigError::Read`] when the folder exists but cannot be listed.
pub fn list_templates(dir: &Path) -> Result<Vec<(String, PathBuf)>, ConfigError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut templates = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ConfigError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        let is_json = path.extension().is_some_and(|ext| ext == "json");
        if !is_json || !path.is_file() {
            continue;
        }
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            templates.push((stem.to_owned(), path));
        }
    }
    templates.sort();
    Ok(templates)
}

/// Read one template file.
///
/// # Errors
/// [`ConfigError::Read`] or [`ConfigError::Parse`] (with line and column).
pub fn load_template(path: &Path) -> Result<Template, ConfigError> {
    let bytes = fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    // JSON syntax first (with line and column), then the strict template rules.
    let _: serde_json::Value = parse_json(path, &bytes)?;
    let mapping =
        crate::mapping::template::parse(&String::from_utf8_lossy(&bytes)).map_err(|problem| {
            ConfigError::Template {
                path: path.to_owned(),
                message: problem.to_string(),
            }
        })?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Template {
        name,
        path: path.to_owned(),
        mapping,
    })
}

/// Save a mapping as the template `name` in `dir` (created if needed), replacing a template of
/// the same name. Returns the file's path.
///
/// # Errors
/// [`ConfigError::InvalidTemplateName`] or [`ConfigError::Write`].
pub fn save_template(dir: &Path, name: &str, mapping: &Mapping) -> Result<PathBuf, ConfigError> {
    let file_stem = template_file_stem(name)?;
    let path = dir.join(format!("{file_stem}.json"));
    write_json_atomically(&path, mapping)?;
    Ok(path)
}

/// The first template (by name) in `dir` made for a file with exactly these column headers
/// ([`Mapping::matches_headers`]). Template files that cannot be read or parsed are skipped:
/// one damaged template must not stop the others from being found.
///
/// # Errors
/// [`ConfigError::Read`] when the folder cannot be listed.
pub fn find_template_for_headers(
    dir: &Path,
    headers: &[String],
) -> Result<Option<Template>, ConfigError> {
    for (_, path) in list_templates(dir)? {
        if let Ok(template) = load_template(&path)
            && template.mapping.matches_headers(headers)
        {
            return Ok(Some(template));
        }
    }
    Ok(None)
}

/// A template name made safe as a file name: letters, digits, space, `-`, `_` and `.` are
/// kept; anything else becomes `_`. Refused when nothing usable is left.
fn template_file_stem(name: &str) -> Result<String, ConfigError> {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '_') {
        return Err(ConfigError::InvalidTemplateName {
            name: name.to_owned(),
        });
    }
    Ok(cleaned.to_owned())
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, ConfigError> {
    serde_json::from_slice(bytes).map_err(|err| ConfigError::Parse {
        path: path.to_owned(),
        line: err.line(),
        column: err.column(),
        message: err.to_string(),
    })
}

/// Serialize `value` as pretty JSON into a temporary file next to `path`, flush it to disk, then
/// rename it over `path`. The temporary file is removed on failure.
pub(crate) fn write_json_atomically<T: Serialize>(
    path: &Path,
    value: &T,
) -> Result<(), ConfigError> {
    let write_error = |source: io::Error| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|err| write_error(err.into()))?;
    bytes.push(b'\n');
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(write_error)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per process and per call, so two threads saving at once never share a temp file.
    static NEXT_TEMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = NEXT_TEMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp_path = dir.join(format!(".{file_name}.tmp-{}-{serial}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temp_path)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp_path, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&temp_path);
        return Err(write_error(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service_account(name: &str) -> Connection {
        Connection {
            name: name.to_owned(),
            region: Region::Eu,
            project_id: Some("123456".to_owned()),
            kind: ConnectionKind::ServiceAccount,
            username: Some("importer.abc123.mp-service-account".to_owned()),
        }
    }

    fn token(name: &str) -> Connection {
        Connection {
            name: name.to_owned(),
            region: Region::In,
            project_id: None,
            kind: ConnectionKind::ProjectToken,
            username: None,
        }
    }

    fn mapping_with_headers(headers: &[&str]) -> Mapping {
        Mapping {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            ..Mapping::default()
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn missing_config_file_gives_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path().join("not-yet"));
        assert_eq!(store.load().unwrap(), AppConfig::default());
    }

    #[test]
    fn config_round_trips_and_file_shape_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path().join("nested").join("mixport"));
        let mut config = AppConfig::default();
        config.upsert_connection(service_account("prod"));
        config.upsert_connection(token("india"));
        config.add_recent_file("/data/events.csv");
        store.save(&config).unwrap();
        assert_eq!(store.load().unwrap(), config);

        let text = fs::read_to_string(store.config_path()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["connections"][0]["region"], "eu");
        assert_eq!(json["connections"][0]["kind"], "service_account");
        assert_eq!(json["connections"][0]["project_id"], "123456");
        assert_eq!(json["connections"][1]["kind"], "project_token");
        assert_eq!(json["connections"][1]["region"], "in");
        assert!(json["connections"][1].get("username").is_none());
        assert_eq!(json["recent_files"][0], "/data/events.csv");
    }

    #[test]
    fn save_leaves_no_temporary_files_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        let mut config = AppConfig::default();
        store.save(&config).unwrap();
        config.add_recent_file("/a.csv");
        store.save(&config).unwrap();
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![CONFIG_FILE_NAME.to_owned()]);
        assert_eq!(
            store.load().unwrap().recent_files,
            vec![PathBuf::from("/a.csv")]
        );
    }

    #[test]
    fn save_into_an_unwritable_place_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file-not-dir");
        fs::write(&blocker, b"x").unwrap();
        let store = ConfigStore::at(blocker.join("mixport"));
        let err = store.save(&AppConfig::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Write { .. }), "{err:?}");
        assert!(err.to_string().contains("Cannot write"), "{err}");
    }

    #[test]
    fn damaged_config_file_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        fs::write(
            store.config_path(),
            "{\n  \"connections\": [\n    {\"name\": }\n",
        )
        .unwrap();
        let err = store.load().unwrap_err();
        let ConfigError::Parse { line, column, .. } = &err else {
            panic!("expected a parse error, got {err:?}");
        };
        assert_eq!(*line, 3);
        assert!(*column > 0);
        let message = err.to_string();
        assert!(
            message.contains("config.json") && message.contains("line 3"),
            "{message}"
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_missing_fields_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        fs::write(
            store.config_path(),
            r#"{"recent_files": ["/x.csv"], "from_the_future": true}"#,
        )
        .unwrap();
        let config = store.load().unwrap();
        assert_eq!(config.recent_files, vec![PathBuf::from("/x.csv")]);
        assert!(config.connections.is_empty());
        assert_eq!(config.version, CONFIG_VERSION);
    }

    #[test]
    fn recent_files_are_newest_first_unique_and_capped() {
        let mut config = AppConfig::default();
        for i in 0..15 {
            config.add_recent_file(format!("/f{i}.csv"));
        }
        assert_eq!(config.recent_files.len(), MAX_RECENT_FILES);
        assert_eq!(config.recent_files[0], PathBuf::from("/f14.csv"));
        assert_eq!(config.recent_files[9], PathBuf::from("/f5.csv"));
        config.add_recent_file("/f10.csv");
        assert_eq!(config.recent_files[0], PathBuf::from("/f10.csv"));
        assert_eq!(config.recent_files.len(), MAX_RECENT_FILES);
        let count = config
            .recent_files
            .iter()
            .filter(|p| *p == Path::new("/f10.csv"))
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn remember_recent_file_persists() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        store.remember_recent_file("/one.csv").unwrap();
        store.remember_recent_file("/two.csv").unwrap();
        assert_eq!(
            store.load().unwrap().recent_files,
            vec![PathBuf::from("/two.csv"), PathBuf::from("/one.csv")]
        );
    }

    #[test]
    fn region_parses_codes_and_rejects_others() {
        assert_eq!("us".parse::<Region>().unwrap(), Region::Us);
        assert_eq!(" EU ".parse::<Region>().unwrap(), Region::Eu);
        assert_eq!("in".parse::<Region>().unwrap(), Region::In);
        let err = "uk".parse::<Region>().unwrap_err();
        assert!(err.to_string().contains("us, eu or in"));
        assert_eq!(Region::Eu.code(), "eu");
    }

    #[test]
    fn connection_validation_says_what_is_missing() {
        assert!(service_account("prod").validate().is_ok());
        assert!(token("t").validate().is_ok());
        let mut no_user = service_account("prod");
        no_user.username = Some("  ".to_owned());
        assert!(
            no_user
                .validate()
                .unwrap_err()
                .to_string()
                .contains("username")
        );
        let mut no_project = service_account("prod");
        no_project.project_id = None;
        assert!(
            no_project
                .validate()
                .unwrap_err()
                .to_string()
                .contains("project id")
        );
        let mut bad_project = token("t");
        bad_project.project_id = Some("abc".to_owned());
        assert!(
            bad_project
                .validate()
                .unwrap_err()
                .to_string()
                .contains("number")
        );
        assert!(
            token(" ")
                .validate()
                .unwrap_err()
                .to_string()
                .contains("name")
        );
    }

    #[test]
    fn save_and_load_connection_keeps_the_secret_only_in_the_keychain() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        let secrets = SecretStore::mock();
        let secret = SecretString::new("sa-secret-8f3a9c");
        store
            .save_connection(service_account("prod"), &secret, &secrets)
            .unwrap();

        let text = fs::read_to_string(store.config_path()).unwrap();
        assert!(
            !text.contains("sa-secret-8f3a9c"),
            "secret leaked to {text}"
        );
        assert!(text.contains("importer.abc123.mp-service-account"));

        let (connection, loaded) = store.load_connection("prod", &secrets).unwrap();
        assert_eq!(connection, service_account("prod"));
        assert_eq!(loaded.expose(), "sa-secret-8f3a9c");
    }

    #[test]
    fn saving_a_connection_again_replaces_it_and_its_secret() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        let secrets = SecretStore::mock();
        store
            .save_connection(service_account("prod"), &"old".into(), &secrets)
            .unwrap();
        store
            .save_connection(token("other"), &"tok".into(), &secrets)
            .unwrap();
        let mut changed = service_account("prod");
        changed.region = Region::Us;
        let config = store
            .save_connection(changed.clone(), &"new".into(), &secrets)
            .unwrap();
        assert_eq!(config.connection_names(), strings(&["prod", "other"]));
        let (connection, secret) = store.load_connection("prod", &secrets).unwrap();
        assert_eq!(connection, changed);
        assert_eq!(secret.expose(), "new");
    }

    #[test]
    fn unknown_connection_lists_the_saved_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        let secrets = SecretStore::mock();
        let err = store.load_connection("prod", &secrets).unwrap_err();
        assert!(
            err.to_string().contains("No connection is saved yet"),
            "{err}"
        );
        store
            .save_connection(token("staging"), &"t".into(), &secrets)
            .unwrap();
        let err = store.load_connection("prod", &secrets).unwrap_err();
        assert!(matches!(err, ConfigError::UnknownConnection { .. }));
        assert!(
            err.to_string().contains("Saved connections: staging."),
            "{err}"
        );
    }

    #[test]
    fn connection_without_a_keychain_secret_is_missing_secret() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        let mut config = AppConfig::default();
        config.upsert_connection(token("t"));
        store.save(&config).unwrap();
        let err = store
            .load_connection("t", &SecretStore::mock())
            .unwrap_err();
        assert!(matches!(err, ConfigError::MissingSecret { .. }), "{err:?}");
        assert!(err.to_string().contains("MP_TOKEN"), "{err}");
    }

    #[test]
    fn invalid_or_empty_secret_connections_are_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        let secrets = SecretStore::mock();
        let mut bad = service_account("prod");
        bad.username = None;
        assert!(store.save_connection(bad, &"s".into(), &secrets).is_err());
        let err = store
            .save_connection(token("t"), &SecretString::new(""), &secrets)
            .unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        assert!(!store.config_path().exists());
        assert_eq!(secrets.get("prod").unwrap(), None);
        assert_eq!(secrets.get("t").unwrap(), None);
    }

    #[test]
    fn delete_connection_removes_config_entry_and_secret() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        let secrets = SecretStore::mock();
        store
            .save_connection(token("a"), &"ta".into(), &secrets)
            .unwrap();
        store
            .save_connection(token("b"), &"tb".into(), &secrets)
            .unwrap();
        let config = store.delete_connection("a", &secrets).unwrap();
        assert_eq!(config.connection_names(), strings(&["b"]));
        assert_eq!(store.load().unwrap().connection_names(), strings(&["b"]));
        assert_eq!(secrets.get("a").unwrap(), None);
        assert_eq!(secrets.get("b").unwrap().unwrap().expose(), "tb");
        // Deleting again is fine.
        store.delete_connection("a", &secrets).unwrap();
    }

    #[test]
    fn keychain_failure_on_save_leaves_the_config_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::at(dir.path());
        let secrets = SecretStore::mock();
        let entry = secrets.entry("prod").unwrap();
        let mock: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        mock.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        let err = store
            .save_connection(service_account("prod"), &"s".into(), &secrets)
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Credentials(CredentialError::Unavailable(_))
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("this session only"), "{err}");
        assert!(!store.config_path().exists());
    }

    #[test]
    fn locate_prefers_the_environment_override() {
        let store = ConfigStore::locate_with(Some("/tmp/mixport-cfg".into())).unwrap();
        assert_eq!(store.dir(), Path::new("/tmp/mixport-cfg"));
        // An empty variable counts as unset: the OS config dir is used.
        let os = ConfigStore::locate_with(Some("".into())).unwrap();
        assert_ne!(os.dir(), Path::new(""));
        #[cfg(target_os = "linux")]
        assert!(os.dir().ends_with("mixport"), "{}", os.dir().display());
        assert_eq!(os.config_path(), os.dir().join(CONFIG_FILE_NAME));
    }

    #[test]
    fn templates_save_list_load_and_match_headers() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join("templates");
        assert!(list_templates(&templates).unwrap().is_empty());
        assert!(
            find_template_for_headers(&templates, &strings(&["a"]))
                .unwrap()
                .is_none()
        );

        let shop = mapping_with_headers(&["user", "action", "ts"]);
        let crm = mapping_with_headers(&["customer_id", "event", "created_at"]);
        let shop_path = save_template(&templates, "Shop export", &shop).unwrap();
        save_template(&templates, "CRM/2024", &crm).unwrap();
        fs::write(templates.join("broken.json"), "{not json").unwrap();
        fs::write(templates.join("notes.txt"), "ignored").unwrap();

        let listed: Vec<String> = list_templates(&templates)
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(listed, strings(&["CRM_2024", "Shop export", "broken"]));

        let loaded = load_template(&shop_path).unwrap();
        assert_eq!(loaded.name, "Shop export");
        assert_eq!(loaded.mapping, shop);

        let found = find_template_for_headers(
            &templates,
            &strings(&["customer_id", "event", "created_at"]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(found.name, "CRM_2024");
        assert_eq!(found.mapping, crm);
        // Order and names must match exactly.
        assert!(
            find_template_for_headers(&templates, &strings(&["action", "user", "ts"]))
                .unwrap()
                .is_none()
        );

        let err = load_template(&templates.join("broken.json")).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { line: 1, .. }), "{err:?}");
    }

    #[test]
    fn saving_a_template_again_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        save_template(dir.path(), "t", &mapping_with_headers(&["a"])).unwrap();
        save_template(dir.path(), "t", &mapping_with_headers(&["b"])).unwrap();
        assert_eq!(list_templates(dir.path()).unwrap().len(), 1);
        assert!(
            find_template_for_headers(dir.path(), &strings(&["b"]))
                .unwrap()
                .is_some()
        );
        assert!(
            find_template_for_headers(dir.path(), &strings(&["a"]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn template_names_are_made_safe_or_refused() {
        assert_eq!(template_file_stem("  My map.v2 ").unwrap(), "My map.v2");
        assert_eq!(
            template_file_stem("../../etc/passwd").unwrap(),
            "_.._etc_passwd"
        );
        assert_eq!(template_file_stem("a:b*c?").unwrap(), "a_b_c_");
        assert!(template_file_stem("").is_err());
        assert!(template_file_stem("..").is_err());
        assert!(template_file_stem("///").is_err());
    }

    #[test]
    fn templates_dir_defaults_inside_the_config_dir() {
        let store = ConfigStore::at("/cfg");
        let mut config = AppConfig::default();
        assert_eq!(
            store.templates_dir(&config),
            PathBuf::from("/cfg/templates")
        );
        config.templates_dir = Some(PathBuf::from("/elsewhere"));
        assert_eq!(store.templates_dir(&config), PathBuf::from("/elsewhere"));
    }
}
