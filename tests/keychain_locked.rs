//! The OS keychain reachable but LOCKED: saving a secret must fail with the typed "keychain
//! unavailable" error (so the app can offer "use for this session only"), never hang or panic.
//!
//! Ignored by a plain `cargo test`. `.ci/run` runs it under a private session bus with a GNOME
//! Keyring daemon that was started WITHOUT `--unlock` (so it has no unlocked collection):
//!
//! ```sh
//! dbus-run-session -- sh -c 'gnome-keyring-daemon --start --components=secrets >/dev/null;
//!                            cargo test --test keychain_locked -- --ignored'
//! ```

use mixport::credentials::{CredentialError, SecretStore, SecretString};

#[test]
#[ignore = "needs a locked Secret Service keyring: run by .ci/run under dbus-run-session"]
fn locked_os_keychain_is_reported_as_unavailable() {
    let store = SecretStore::os().unwrap_or_else(|err| panic!("{err}"));
    let name = format!("mixport-test-locked-{}", std::process::id());
    let err = store
        .set(&name, &SecretString::new("must-not-be-stored"))
        .expect_err("a locked keyring cannot accept a secret");
    assert!(
        matches!(err, CredentialError::Unavailable(_)),
        "expected Unavailable, got {err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("keychain is not available"), "{message}");
    assert!(!message.contains("must-not-be-stored"), "{message}");
    eprintln!("message shown to the user: {message}");
}
