//! Secrets in the OS keychain (through `keyring-core` and one store per OS).
