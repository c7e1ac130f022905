//! Secrets in the OS keychain (through `keyring-core` and one store per OS).
//!
//! A saved connection keeps its name, region, project and username in the app's config file
//! ([`crate::config`]); its secret (service-account secret or project token) lives only here:
//!
//! - [`SecretStore`] wraps a `keyring-core` credential store handle. The app uses
//!   [`SecretStore::os`] (Secret Service on Linux, Keychain on macOS, Credential Manager on
//!   Windows); tests use [`SecretStore::mock`], an in-memory store private to each test, so
//!   parallel tests never share the process-global default store.
//! - [`SessionSecrets`] keeps secrets in memory for "use for this session only" when no keychain
//!   is available. It never writes anything to disk.
//! - [`SecretString`] holds a secret and prints `***` in `Debug` and `Display`.
//!
//! Every entry uses the service name [`SERVICE_NAME`] and the connection name as the user, so
//! on Linux `secret-tool lookup service mixport username NAME` finds it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

/// The service name under which every Mixport secret is stored in the keychain.
pub const SERVICE_NAME: &str = "mixport";

/// A secret (a service-account secret or a project token): the one secret type of the crate,
/// whose `Debug` and `Display` print `***`.
pub use crate::mixpanel::auth::Secret as SecretString;

/// The OS keychain cannot be used: no session bus or Secret Service daemon, a locked keyring,
/// or access refused. The message is meant for the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The system keychain is not available ({reason}). Secrets cannot be remembered on this \
     computer; you can still use a connection for this session only."
)]
pub struct KeychainUnavailable {
    /// What the keychain said, in its own words (never contains a secret).
    pub reason: String,
}

/// Why a keychain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The keychain cannot be reached or is locked.
    #[error(transparent)]
    Unavailable(#[from] KeychainUnavailable),
    /// A connection needs a name to be stored under.
    #[error("A connection needs a name before its secret can be saved.")]
    EmptyName,
    /// The stored value is not text (written by another program?).
    #[error(
        "The keychain entry for connection \"{connection}\" is not valid text. Delete the \
         connection and save it again."
    )]
    NotText {
        /// The connection's name.
        connection: String,
    },
    /// Several keychain entries match one connection (made by another program?).
    #[error(
        "The keychain holds {count} entries for connection \"{connection}\" (service \
         \"{SERVICE_NAME}\"). Remove the extra ones with your keychain manager, then try again."
    )]
    Ambiguous {
        /// The connection's name.
        connection: String,
        /// How many entries match.
        count: usize,
    },
    /// Any other refusal from the keychain.
    #[error("The keychain could not {action} the secret for connection \"{connection}\": {detail}")]
    Keychain {
        /// "save", "read" or "delete".
        action: &'static str,
        /// The connection's name.
        connection: String,
        /// The keychain's own message (never contains a secret).
        detail: String,
    },
}

/// A handle on a credential store: the OS keychain, or keyring-core's in-memory mock in tests.
/// Cheap to clone; clones share the same store.
#[derive(Clone)]
pub struct SecretStore {
    store: Arc<CredentialStore>,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the vendor: a mock store's own Debug would print its secrets.
        f.debug_struct("SecretStore")
            .field("vendor", &self.store.vendor())
            .finish()
    }
}

impl SecretStore {
    /// Open the OS keychain: Secret Service (over D-Bus, pure Rust) on Linux, the login Keychain
    /// on macOS, the Credential Manager on Windows.
    ///
    /// # Errors
    /// [`KeychainUnavailable`] when there is no session bus or no Secret Service daemon (Linux),
    /// or the platform refuses access. A keyring that is reachable but locked is detected on the
    /// first [`set`](Self::set) and reported as [`CredentialError::Unavailable`].
    pub fn os() -> Result<Self, KeychainUnavailable> {
        os_store().map(Self::from_store)
    }

    /// A fresh in-memory store (keyring-core's mock), private to this handle and its clones.
    /// For tests; nothing is persisted.
    pub fn mock() -> Self {
        let store = match keyring_core::mock::Store::new() {
            Ok(store) => store,
            // ok: keyring-core's mock constructor always returns Ok (it only allocates).
            Err(err) => unreachable!("keyring-core's mock store cannot fail to build: {err}"),
        };
        Self::from_store(store)
    }

    /// Wrap any `keyring-core` credential store.
    pub fn from_store(store: Arc<CredentialStore>) -> Self {
        Self { store }
    }

    /// The store's vendor string (e.g. "Secret Service store, …"), for diagnostics.
    pub fn vendor(&self) -> String {
        self.store.vendor()
    }

    /// The keyring entry for a connection (crate-visible so tests can inject errors into the
    /// mock store).
    pub(crate) fn entry(&self, connection: &str) -> Result<Entry, CredentialError> {
        if connection.trim().is_empty() {
            return Err(CredentialError::EmptyName);
        }
        self.store
            .build(SERVICE_NAME, connection, None)
            .map_err(|err| map_error(err, "open", connection))
    }

    /// Save (or replace) the secret of a connection.
    ///
    /// # Errors
    /// [`CredentialError::Unavailable`] when the keychain is locked or unreachable; other
    /// variants for other refusals.
    pub fn set(&self, connection: &str, secret: &SecretString) -> Result<(), CredentialError> {
        self.entry(connection)?
            .set_password(secret.expose())
            .map_err(|err| map_error(err, "save", connection))
    }

    /// The secret of a connection, or `None` when none is stored.
    ///
    /// # Errors
    /// As for [`set`](Self::set); [`CredentialError::NotText`] when the stored value is not UTF-8.
    pub fn get(&self, connection: &str) -> Result<Option<SecretString>, CredentialError> {
        match self.entry(connection)?.get_password() {
            Ok(password) => Ok(Some(SecretString::new(password))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(err) => Err(map_error(err, "read", connection)),
        }
    }

    /// Delete the secret of a connection. Returns whether there was one.
    ///
    /// # Errors
    /// As for [`set`](Self::set).
    pub fn delete(&self, connection: &str) -> Result<bool, CredentialError> {
        match self.entry(connection)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(err) => Err(map_error(err, "delete", connection)),
        }
    }
}

/// Turn a keyring error into ours, without ever printing secret bytes (`BadEncoding` and
/// `BadDataFormat` carry the raw stored value, so only their kind is kept).
fn map_error(err: keyring_core::Error, action: &'static str, connection: &str) -> CredentialError {
    use keyring_core::Error as K;
    let connection = connection.to_owned();
    match err {
        K::NoStorageAccess(inner) => CredentialError::Unavailable(KeychainUnavailable {
            reason: format!("the keyring is locked or access was refused: {inner}"),
        }),
        K::NoDefaultStore => CredentialError::Unavailable(KeychainUnavailable {
            reason: "no keychain was opened".to_owned(),
        }),
        K::BadEncoding(_) | K::BadDataFormat(_, _) => CredentialError::NotText { connection },
        K::Ambiguous(entries) => CredentialError::Ambiguous {
            connection,
            count: entries.len(),
        },
        K::PlatformFailure(inner) => CredentialError::Keychain {
            action,
            connection,
            detail: inner.to_string(),
        },
        K::NoEntry => CredentialError::Keychain {
            action,
            connection,
            detail: "no such entry".to_owned(),
        },
        K::BadStoreFormat(detail) => CredentialError::Keychain {
            action,
            connection,
            detail: format!("the keychain's data is damaged: {detail}"),
        },
        K::TooLong(field, limit) => CredentialError::Keychain {
            action,
            connection,
            detail: format!("the {field} is longer than the keychain's limit of {limit}"),
        },
        K::Invalid(field, reason) => CredentialError::Keychain {
            action,
            connection,
            detail: format!("invalid {field}: {reason}"),
        },
        K::NotSupportedByStore(detail) => CredentialError::Keychain {
            action,
            connection,
            detail,
        },
        other => CredentialError::Keychain {
            action,
            connection,
            detail: other.to_string(),
        },
    }
}

/// Why an OS store could not be opened, in plain words.
fn unavailable(err: keyring_core::Error) -> KeychainUnavailable {
    let reason = match err {
        keyring_core::Error::PlatformFailure(inner)
        | keyring_core::Error::NoStorageAccess(inner) => inner.to_string(),
        other => other.to_string(),
    };
    KeychainUnavailable { reason }
}

#[cfg(target_os = "linux")]
fn os_store() -> Result<Arc<CredentialStore>, KeychainUnavailable> {
    match zbus_secret_service_keyring_store::Store::new() {
        Ok(store) => Ok(store),
        Err(err) => {
            let mut unavailable = unavailable(err);
            unavailable.reason = format!(
                "no Secret Service (such as GNOME Keyring or KWallet) answered on the session \
                 bus: {}",
                unavailable.reason
            );
            Err(unavailable)
        }
    }
}

#[cfg(target_os = "macos")]
fn os_store() -> Result<Arc<CredentialStore>, KeychainUnavailable> {
    match apple_native_keyring_store::keychain::Store::new() {
        Ok(store) => Ok(store),
        Err(err) => Err(unavailable(err)),
    }
}

#[cfg(target_os = "windows")]
fn os_store() -> Result<Arc<CredentialStore>, KeychainUnavailable> {
    match windows_native_keyring_store::Store::new() {
        Ok(store) => Ok(store),
        Err(err) => Err(unavailable(err)),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn os_store() -> Result<Arc<CredentialStore>, KeychainUnavailable> {
    let _ = unavailable;
    Err(KeychainUnavailable {
        reason: "this operating system has no supported keychain".to_owned(),
    })
}

/// Secrets kept in memory for this session only ("use for this session only" when no keychain
/// is available). Nothing here is ever written to disk; everything is gone when the app quits.
#[derive(Default)]
pub struct SessionSecrets {
    secrets: HashMap<String, SecretString>,
}

impl fmt::Debug for SessionSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only; the values print as *** anyway, but there is no need to list them.
        let mut names: Vec<&String> = self.secrets.keys().collect();
        names.sort();
        f.debug_struct("SessionSecrets")
            .field("connections", &names)
            .finish()
    }
}

impl SessionSecrets {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep (or replace) a connection's secret for this session.
    pub fn set(&mut self, connection: &str, secret: SecretString) {
        self.secrets.insert(connection.to_owned(), secret);
    }

    /// A connection's secret, if one was kept this session.
    pub fn get(&self, connection: &str) -> Option<&SecretString> {
        self.secrets.get(connection)
    }

    /// Forget a connection's secret. Returns whether there was one.
    pub fn remove(&mut self, connection: &str) -> bool {
        self.secrets.remove(connection).is_some()
    }

    /// Whether a secret is kept for this connection.
    pub fn contains(&self, connection: &str) -> bool {
        self.secrets.contains_key(connection)
    }

    /// Forget every secret.
    pub fn clear(&mut self) {
        self.secrets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inject_error(store: &SecretStore, connection: &str, err: keyring_core::Error) {
        let entry = store.entry(connection).unwrap();
        let mock: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        mock.set_error(err);
    }

    #[test]
    fn secret_string_never_prints_its_value() {
        let secret = SecretString::new("hunter2-very-secret");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(***)");
        assert_eq!(secret.expose(), "hunter2-very-secret");
        assert!(!secret.is_empty());
        assert!(SecretString::from("").is_empty());
    }

    #[test]
    fn mock_round_trip_set_get_overwrite_delete() {
        let store = SecretStore::mock();
        assert_eq!(store.get("prod").unwrap(), None);
        store.set("prod", &SecretString::new("first")).unwrap();
        assert_eq!(store.get("prod").unwrap().unwrap().expose(), "first");
        store.set("prod", &SecretString::new("second")).unwrap();
        assert_eq!(store.get("prod").unwrap().unwrap().expose(), "second");
        assert!(store.delete("prod").unwrap());
        assert_eq!(store.get("prod").unwrap(), None);
        assert!(!store.delete("prod").unwrap(), "nothing left to delete");
    }

    #[test]
    fn connections_are_kept_apart_and_mocks_are_private() {
        let store = SecretStore::mock();
        store.set("a", &SecretString::new("secret-a")).unwrap();
        store.set("b", &SecretString::new("secret-b")).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().expose(), "secret-a");
        assert_eq!(store.get("b").unwrap().unwrap().expose(), "secret-b");
        let clone = store.clone();
        assert_eq!(clone.get("a").unwrap().unwrap().expose(), "secret-a");
        let other = SecretStore::mock();
        assert_eq!(other.get("a").unwrap(), None);
    }

    #[test]
    fn empty_connection_name_is_refused() {
        let store = SecretStore::mock();
        assert!(matches!(
            store.set("  ", &SecretString::new("x")),
            Err(CredentialError::EmptyName)
        ));
        assert!(matches!(store.get(""), Err(CredentialError::EmptyName)));
    }

    #[test]
    fn locked_keyring_is_reported_as_unavailable() {
        let store = SecretStore::mock();
        inject_error(
            &store,
            "prod",
            keyring_core::Error::NoStorageAccess("collection is locked".into()),
        );
        let err = store.set("prod", &SecretString::new("s3cr3t")).unwrap_err();
        let CredentialError::Unavailable(unavailable) = &err else {
            panic!("expected Unavailable, got {err:?}");
        };
        assert!(unavailable.reason.contains("collection is locked"));
        let message = err.to_string();
        assert!(message.contains("keychain is not available"), "{message}");
        assert!(message.contains("this session only"), "{message}");
        // The failed set stored nothing.
        assert_eq!(store.get("prod").unwrap(), None);
    }

    #[test]
    fn undecodable_secret_is_reported_without_its_bytes() {
        let store = SecretStore::mock();
        store.set("prod", &SecretString::new("abc")).unwrap();
        inject_error(
            &store,
            "prod",
            keyring_core::Error::BadEncoding(b"raw-secret-bytes".to_vec()),
        );
        let err = store.get("prod").unwrap_err();
        assert!(matches!(err, CredentialError::NotText { .. }));
        assert!(!err.to_string().contains("raw-secret"));
        assert!(!format!("{err:?}").contains("raw-secret"));
    }

    #[test]
    fn platform_failure_names_the_action_and_connection() {
        let store = SecretStore::mock();
        inject_error(
            &store,
            "prod",
            keyring_core::Error::PlatformFailure("dbus went away".into()),
        );
        let err = store.delete("prod").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("delete"), "{message}");
        assert!(message.contains("\"prod\""), "{message}");
        assert!(message.contains("dbus went away"), "{message}");
    }

    #[test]
    fn store_debug_does_not_print_secrets() {
        let store = SecretStore::mock();
        store
            .set("prod", &SecretString::new("topsecretvalue"))
            .unwrap();
        let debug = format!("{store:?}");
        assert!(debug.contains("Mock store"), "{debug}");
        assert!(!debug.contains("topsecretvalue"));
    }

    #[test]
    fn session_secrets_hold_secrets_in_memory() {
        let mut session = SessionSecrets::new();
        assert!(session.get("prod").is_none());
        session.set("prod", SecretString::new("token-1"));
        session.set("prod", SecretString::new("token-2"));
        assert!(session.contains("prod"));
        assert_eq!(session.get("prod").unwrap().expose(), "token-2");
        let debug = format!("{session:?}");
        assert!(
            debug.contains("prod") && !debug.contains("token-2"),
            "{debug}"
        );
        assert!(session.remove("prod"));
        assert!(!session.remove("prod"));
        session.set("a", SecretString::new("x"));
        session.clear();
        assert!(!session.contains("a"));
    }

    #[test]
    fn keychain_unavailable_message_is_plain_words() {
        let err = KeychainUnavailable {
            reason: "no session bus".to_owned(),
        };
        assert_eq!(
            err.to_string(),
            "The system keychain is not available (no session bus). Secrets cannot be \
             remembered on this computer; you can still use a connection for this session only."
        );
    }
}
