//! A round trip against the REAL OS keychain (Secret Service on Linux).
//!
//! Ignored by a plain `cargo test` (it needs a session bus and an unlocked keyring). `.ci/run`
//! runs it under a private session bus with GNOME Keyring:
//!
//! ```sh
//! export XDG_RUNTIME_DIR=$(mktemp -d) XDG_DATA_HOME=$(mktemp -d)
//! dbus-run-session -- sh -c 'echo -n pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//!                            cargo test --test keychain -- --ignored'
//! ```

use mixport::credentials::{SERVICE_NAME, SecretStore, SecretString};

/// A connection name unique to this run, so a developer's real keychain is never touched.
fn unique_connection(label: &str) -> String {
    format!(
        "mixport-test-{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[test]
#[ignore = "needs a real keychain: run by .ci/run under dbus-run-session with gnome-keyring"]
fn os_keychain_round_trip_set_get_overwrite_delete() {
    let store = SecretStore::os().unwrap_or_else(|err| panic!("{err}"));
    eprintln!("keychain: {}", store.vendor());
    let name = unique_connection("round-trip");

    assert_eq!(store.get(&name).unwrap(), None, "starts empty");

    store
        .set(&name, &SecretString::new("first-secret ünïcödé"))
        .unwrap();
    assert_eq!(
        store.get(&name).unwrap().unwrap().expose(),
        "first-secret ünïcödé"
    );

    // A second handle (as a new app start would open) sees the same value.
    let reopened = SecretStore::os().unwrap();
    assert_eq!(
        reopened.get(&name).unwrap().unwrap().expose(),
        "first-secret ünïcödé"
    );

    store
        .set(&name, &SecretString::new("second-secret"))
        .unwrap();
    assert_eq!(
        store.get(&name).unwrap().unwrap().expose(),
        "second-secret",
        "overwrite replaces, never duplicates"
    );

    assert!(store.delete(&name).unwrap(), "deleted an existing secret");
    assert_eq!(store.get(&name).unwrap(), None, "gone after delete");
    assert!(!store.delete(&name).unwrap(), "nothing left to delete");
}

#[test]
#[ignore = "needs a real keychain: run by .ci/run under dbus-run-session with gnome-keyring"]
fn os_keychain_keeps_connections_apart() {
    let store = SecretStore::os().unwrap_or_else(|err| panic!("{err}"));
    let a = unique_connection("a");
    let b = unique_connection("b");
    store.set(&a, &SecretString::new("secret-a")).unwrap();
    store.set(&b, &SecretString::new("secret-b")).unwrap();
    assert_eq!(store.get(&a).unwrap().unwrap().expose(), "secret-a");
    assert_eq!(store.get(&b).unwrap().unwrap().expose(), "secret-b");
    assert!(store.delete(&a).unwrap());
    assert_eq!(store.get(&a).unwrap(), None);
    assert_eq!(store.get(&b).unwrap().unwrap().expose(), "secret-b");
    assert!(store.delete(&b).unwrap());
}

/// Cross-check with libsecret's `secret-tool` (when installed): the entry is stored under
/// service `mixport` and the connection name as the username, where other tools find it.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs a real keychain: run by .ci/run under dbus-run-session with gnome-keyring"]
fn os_keychain_entry_is_visible_to_secret_tool() {
    use std::process::Command;
    let store = SecretStore::os().unwrap_or_else(|err| panic!("{err}"));
    let name = unique_connection("secret-tool");
    store
        .set(&name, &SecretString::new("seen-by-libsecret"))
        .unwrap();
    let output = Command::new("secret-tool")
        .args(["lookup", "service", SERVICE_NAME, "username", &name])
        .output();
    match output {
        Ok(output) => {
            assert!(output.status.success(), "secret-tool lookup failed");
            assert_eq!(String::from_utf8_lossy(&output.stdout), "seen-by-libsecret");
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("secret-tool not installed (package libsecret-tools): cross-check skipped");
        }
        Err(err) => panic!("could not run secret-tool: {err}"),
    }
    assert!(store.delete(&name).unwrap());
}
