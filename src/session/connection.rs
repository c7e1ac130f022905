//! Where an import goes: saved connections, their secrets, the client built from them, and the
//! connection test.
//!
//! A [`Connection`] (name, region, project, kind, username) lives in the config file; its secret
//! lives in the OS keychain, or for this session only in memory ([`Secrets`]). Both shells turn
//! a saved connection into [`Credentials`] with [`credentials`], so the app and
//! `mixport import --connection NAME` send exactly the same thing.
//!
//! User profiles carry the project's token in every record (shared API doc §10), so a service
//! account connection may also keep the project token: it is stored beside the secret, in the
//! keychain entry [`project_token_entry`], and [`client_for`] uses it for a profile import.

use std::path::Path;

use crate::config::{ConfigError, ConfigStore, Connection, ConnectionKind};
use crate::credentials::{SecretStore, SecretString, SessionSecrets};
use crate::mapping::ImportKind;
use crate::mixpanel::auth::{Credentials, CredentialsError};
use crate::mixpanel::client::{ClientConfig, ClientError, ConnectionCheck, MixpanelClient};

/// A connection ready to use: the saved settings plus the secret.
#[derive(Clone)]
pub struct ActiveConnection {
    /// The saved settings.
    pub saved: Connection,
    /// The secret or token. Never printed.
    pub secret: SecretString,
    /// A service account's project token, for user profiles (a project-token connection's
    /// secret is the token already). Never printed.
    pub project_token: Option<SecretString>,
}

impl std::fmt::Debug for ActiveConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveConnection")
            .field("saved", &self.saved)
            .field("secret", &self.secret)
            .field("project_token", &self.project_token)
            .finish()
    }
}

impl ActiveConnection {
    /// The credentials this connection signs in with.
    pub fn credentials(&self) -> Result<Credentials, CredentialsError> {
        credentials(&self.saved, self.secret.clone(), None)
    }

    /// A client for this connection's project (`api_base`: another host, for tests).
    pub fn client(&self, api_base: Option<&str>) -> Result<MixpanelClient, ConnectionError> {
        client(&self.saved, self.secret.clone(), api_base)
    }

    /// A client for an import of `kind`: events to `/import`, user profiles to `/engage` with
    /// the project token in each record.
    pub fn client_for(
        &self,
        kind: ImportKind,
        api_base: Option<&str>,
    ) -> Result<MixpanelClient, ConnectionError> {
        client_for(
            kind,
            self.client(api_base)?,
            self.project_token.clone(),
            &self.saved.name,
        )
    }

    /// Whether an import of `kind` through this connection lacks the project token it needs:
    /// user profiles through a service account that keeps no token ([`client_for`] refuses
    /// it with [`ConnectionError::MissingProjectToken`]). A project-token connection's secret
    /// is the token.
    pub fn lacks_project_token(&self, kind: ImportKind) -> bool {
        kind == ImportKind::Profiles
            && self.saved.kind == ConnectionKind::ServiceAccount
            && self.project_token.as_ref().is_none_or(|t| t.is_empty())
    }

    /// A short identity of the destination, never a secret: the name, region, project, kind and
    /// user name. A refused run is offered for resuming only once this changes or the
    /// connection is saved again.
    pub fn identity(&self) -> String {
        identity(&self.saved)
    }
}

/// [`ActiveConnection::identity`] of a saved connection.
pub fn identity(saved: &Connection) -> String {
    format!(
        "{}|{}|{}|{:?}|{}",
        saved.name,
        saved.region.code(),
        saved.project_id.as_deref().unwrap_or_default(),
        saved.kind,
        saved.username.as_deref().unwrap_or_default()
    )
}

/// Why no client could be made for a connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// A part of the credentials is missing.
    #[error("connection '{name}': {source}")]
    Credentials {
        /// The connection.
        name: String,
        /// What is missing.
        #[source]
        source: CredentialsError,
    },
    /// The client could not be built (bad server address, no TLS).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A user-profile import through a service account needs the project's token.
    #[error(
        "connection '{name}' has no project token: user profiles carry the project's token in every record. Add it to the connection (Mixpanel → Project Settings → Access Keys → Project Token)."
    )]
    MissingProjectToken {
        /// The connection.
        name: String,
    },
}

/// `client` for an import of `kind`: as it is for events; for user profiles sending to
/// `/engage` with `project_token` (or the connection's own token) in each record. `name` names
/// the connection in the error when a service account has no token.
pub fn client_for(
    kind: ImportKind,
    client: MixpanelClient,
    project_token: Option<SecretString>,
    name: &str,
) -> Result<MixpanelClient, ConnectionError> {
    match kind {
        ImportKind::Events => Ok(client),
        ImportKind::Profiles => client.for_profiles(project_token).map_err(|e| match e {
            ClientError::MissingProjectToken => ConnectionError::MissingProjectToken {
                name: name.to_owned(),
            },
            other => ConnectionError::Client(other),
        }),
    }
}

/// The keychain entry holding a connection's project token (beside its secret, which is
/// stored under the connection's name).
pub fn project_token_entry(connection: &str) -> String {
    format!("{connection} (project token)")
}

/// The credentials of a saved connection with its secret; `project_override` replaces the saved
/// project id (the command line's `--project-id`).
pub fn credentials(
    saved: &Connection,
    secret: SecretString,
    project_override: Option<&str>,
) -> Result<Credentials, CredentialsError> {
    match saved.kind {
        ConnectionKind::ServiceAccount => Credentials::service_account(
            saved.username.clone().unwrap_or_default(),
            secret,
            project_override
                .map(str::to_owned)
                .or_else(|| saved.project_id.clone())
                .unwrap_or_default(),
        ),
        ConnectionKind::ProjectToken => Credentials::project_token(secret),
    }
}

/// A client for a saved connection (`api_base`: another host, for tests).
pub fn client(
    saved: &Connection,
    secret: SecretString,
    api_base: Option<&str>,
) -> Result<MixpanelClient, ConnectionError> {
    let credentials =
        credentials(saved, secret, None).map_err(|source| ConnectionError::Credentials {
            name: saved.name.clone(),
            source,
        })?;
    let mut config = ClientConfig::new(saved.region);
    config.api_base = api_base.map(str::to_owned);
    Ok(MixpanelClient::new(credentials, config)?)
}

/// Ask Mixpanel whether the connection works, without sending data. Blocks (it runs its own
/// small runtime): call it on a worker thread.
pub fn test(
    connection: &ActiveConnection,
    api_base: Option<&str>,
) -> Result<ConnectionCheck, ConnectionError> {
    let client = connection.client(api_base)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Http(format!("cannot start the network runtime: {e}")))?;
    Ok(runtime.block_on(client.check_connection()))
}

/// Saved connections (without secrets), sorted by name.
pub fn load_connections(config_dir: &Path) -> Result<Vec<Connection>, ConfigError> {
    let mut list = ConfigStore::at(config_dir).load()?.connections;
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

/// Why a secret could not be saved or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// There is no keychain, and keeping the secret for this session only was not asked for.
    #[error("the keychain is not available: {0}")]
    NoKeychain(String),
    /// The config file or the keychain failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The keychain failed.
    #[error(transparent)]
    Keychain(#[from] crate::credentials::CredentialError),
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
        connection: Connection,
        secret: SecretString,
        session_only: bool,
        renamed_from: Option<&str>,
    ) -> Result<(), SecretsError> {
        connection.validate()?;
        let store = ConfigStore::at(config_dir);
        match (&self.store, session_only) {
            (Ok(keychain), false) => {
                store.save_connection(connection.clone(), &secret, keychain)?;
                self.session.remove(&connection.name);
            }
            (Err(reason), false) => return Err(SecretsError::NoKeychain(reason.clone())),
            (_, true) => {
                let mut config = store.load()?;
                config.upsert_connection(connection.clone());
                store.save(&config)?;
                self.session.set(&connection.name, secret);
            }
        }
        if let Some(old) = renamed_from.filter(|old| *old != connection.name) {
            // The project token moves with the connection.
            let token = self.project_token(old)?;
            if token.is_some() {
                self.save_project_token(&connection.name, token, session_only)?;
            }
            self.delete_connection(config_dir, old)?;
        }
        Ok(())
    }

    /// A connection's secret: this session's, else the keychain's.
    pub fn get(&self, connection: &str) -> Result<Option<SecretString>, SecretsError> {
        if let Some(secret) = self.session.get(connection) {
            return Ok(Some(secret.clone()));
        }
        match &self.store {
            Ok(store) => Ok(store.get(connection)?),
            Err(_) => Ok(None),
        }
    }

    /// Whether the secret is kept only for this session.
    pub fn is_session_only(&self, connection: &str) -> bool {
        self.session.contains(connection)
    }

    /// Keep (or with `None`, forget) a connection's project token: in the keychain, or for this
    /// session only when `session_only` (or there is no keychain and a token is being kept
    /// with a session-only secret).
    pub fn save_project_token(
        &mut self,
        connection: &str,
        token: Option<SecretString>,
        session_only: bool,
    ) -> Result<(), SecretsError> {
        let entry = project_token_entry(connection);
        let token = token.filter(|t| !t.is_empty());
        match (&self.store, session_only, token) {
            (_, true, Some(token)) => {
                self.session.set(&entry, token);
            }
            (Ok(keychain), false, Some(token)) => {
                keychain.set(&entry, &token)?;
                self.session.remove(&entry);
            }
            (Err(reason), false, Some(_)) => return Err(SecretsError::NoKeychain(reason.clone())),
            (store, _, None) => {
                self.session.remove(&entry);
                if let Ok(keychain) = store {
                    keychain.delete(&entry)?;
                }
            }
        }
        Ok(())
    }

    /// A connection's project token, if one is kept: this session's, else the keychain's.
    pub fn project_token(&self, connection: &str) -> Result<Option<SecretString>, SecretsError> {
        self.get(&project_token_entry(connection))
    }

    /// Delete a connection: its settings, its secret and its project token everywhere.
    pub fn delete_connection(&mut self, config_dir: &Path, name: &str) -> Result<(), SecretsError> {
        self.save_project_token(name, None, false)?;
        self.session.remove(name);
        let store = ConfigStore::at(config_dir);
        match &self.store {
            Ok(keychain) => {
                store.delete_connection(name, keychain)?;
            }
            Err(_) => {
                let mut config = store.load()?;
                if config.remove_connection(name).is_some() {
                    store.save(&config)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Region;

    #[test]
    fn session_only_secrets_stay_in_memory_and_the_connection_in_the_config() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut secrets = Secrets::unavailable("no bus");
        let connection = Connection {
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
        let mut connection = Connection {
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

    #[test]
    fn a_project_token_is_kept_beside_the_connection_and_follows_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SecretStore::mock();
        let mut secrets = Secrets::with_store(store.clone());
        let mut connection = Connection {
            name: "Prod".to_owned(),
            region: Region::Us,
            project_id: Some("42".to_owned()),
            kind: ConnectionKind::ServiceAccount,
            username: Some("svc".to_owned()),
        };
        secrets
            .save_connection(
                dir.path(),
                connection.clone(),
                SecretString::new("pw"),
                false,
                None,
            )
            .expect("save");
        assert_eq!(secrets.project_token("Prod").expect("read"), None);
        let active = ActiveConnection {
            saved: connection.clone(),
            secret: SecretString::new("pw"),
            project_token: None,
        };
        let err = active
            .client_for(ImportKind::Profiles, Some("http://127.0.0.1:9"))
            .expect_err("no token");
        assert!(err.to_string().contains("no project token"), "{err}");
        assert!(active.lacks_project_token(ImportKind::Profiles));
        assert!(!active.lacks_project_token(ImportKind::Events));
        assert!(
            active
                .client_for(ImportKind::Events, Some("http://127.0.0.1:9"))
                .is_ok()
        );
        secrets
            .save_project_token("Prod", Some(SecretString::new("sentinel-9f3")), false)
            .expect("token");
        assert_eq!(
            store
                .get(&project_token_entry("Prod"))
                .expect("get")
                .map(|t| t.expose().to_owned()),
            Some("sentinel-9f3".to_owned())
        );
        let active = ActiveConnection {
            project_token: secrets.project_token("Prod").expect("read"),
            ..active
        };
        let client = active
            .client_for(ImportKind::Profiles, Some("http://127.0.0.1:9"))
            .expect("client");
        assert!(client.sends_profiles());
        assert!(!active.lacks_project_token(ImportKind::Profiles));
        assert!(!format!("{active:?}").contains("sentinel-9f3"));
        // Renamed: the token moves; deleted: it goes.
        connection.name = "Production".to_owned();
        secrets
            .save_connection(
                dir.path(),
                connection,
                SecretString::new("pw"),
                false,
                Some("Prod"),
            )
            .expect("rename");
        assert_eq!(store.get(&project_token_entry("Prod")).expect("get"), None);
        assert!(secrets.project_token("Production").expect("read").is_some());
        secrets
            .delete_connection(dir.path(), "Production")
            .expect("delete");
        assert_eq!(
            store.get(&project_token_entry("Production")).expect("get"),
            None
        );
    }

    #[test]
    fn a_saved_connection_signs_in_as_its_kind_says() {
        let sa = Connection {
            name: "P".to_owned(),
            region: Region::Eu,
            project_id: Some("42".to_owned()),
            kind: ConnectionKind::ServiceAccount,
            username: Some("svc".to_owned()),
        };
        let c = credentials(&sa, SecretString::new("s"), None).unwrap();
        assert_eq!(c.project_id(), Some("42"));
        let c = credentials(&sa, SecretString::new("s"), Some("7")).unwrap();
        assert_eq!(c.project_id(), Some("7"));
        let token = Connection {
            kind: ConnectionKind::ProjectToken,
            username: None,
            project_id: None,
            ..sa
        };
        let c = credentials(&token, SecretString::new("t"), None).unwrap();
        assert_eq!(c.project_id(), None);
    }
}
