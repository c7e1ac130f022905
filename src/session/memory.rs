//! Remembered work: the mapping last used with each file, so reopening the file brings back the
//! overrides, the time zone and the types the user chose.
//!
//! One small JSON file per input file in the memory folder (`<config dir>/remembered`), named by
//! a hash of the file's absolute path, holding the path, when it was saved and the mapping
//! (whose `headers` are the file's columns). A mapping is restored only for the same path with
//! the same columns. Written atomically; a damaged file reads as nothing remembered.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mapping::Mapping;

/// The memory folder's name inside the config folder.
pub const MEMORY_DIR_NAME: &str = "remembered";

/// A mapping remembered for one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remembered {
    /// When it was saved (RFC 3339, UTC).
    pub saved_at: String,
    /// The mapping, with the file's columns in `headers`.
    pub mapping: Mapping,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    path: PathBuf,
    #[serde(flatten)]
    remembered: Remembered,
}

/// The memory folder inside `config_dir`.
pub fn memory_dir(config_dir: &Path) -> PathBuf {
    config_dir.join(MEMORY_DIR_NAME)
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn entry_path(dir: &Path, file: &Path) -> PathBuf {
    let key = absolute(file).to_string_lossy().into_owned();
    dir.join(format!(
        "{:016x}.json",
        xxhash_rust::xxh3::xxh3_64(key.as_bytes())
    ))
}

/// The mapping remembered for `file` when it was made for exactly these `columns`.
pub fn load(dir: &Path, file: &Path, columns: &[String]) -> Option<Remembered> {
    let bytes = std::fs::read(entry_path(dir, file)).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    (entry.path == absolute(file) && entry.remembered.mapping.matches_headers(columns))
        .then_some(entry.remembered)
}

/// Remember `mapping` (whose `headers` must be the file's columns) for `file`.
pub fn save(dir: &Path, file: &Path, mapping: &Mapping) -> Result<(), crate::config::ConfigError> {
    let entry = Entry {
        path: absolute(file),
        remembered: Remembered {
            saved_at: crate::pipeline::report::now_rfc3339(),
            mapping: mapping.clone(),
        },
    };
    crate::config::write_json_atomically(&entry_path(dir, file), &entry)
}

/// Forget the mapping remembered for `file` (the user asked to start over).
pub fn forget(dir: &Path, file: &Path) {
    let _ = std::fs::remove_file(entry_path(dir, file));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_comes_back_for_the_same_file_and_columns_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("events.csv");
        std::fs::write(&file, "a,b\n1,2\n").unwrap();
        let columns = vec!["a".to_owned(), "b".to_owned()];
        let mapping = Mapping {
            headers: columns.clone(),
            allow_missing_user: true,
            ..Mapping::default()
        };
        let memory = dir.path().join("memory");
        assert!(load(&memory, &file, &columns).is_none());
        save(&memory, &file, &mapping).unwrap();
        let back = load(&memory, &file, &columns).expect("remembered");
        assert_eq!(back.mapping, mapping);
        assert!(!back.saved_at.is_empty());
        // Other columns (the file was replaced by another export): not restored.
        assert!(load(&memory, &file, &["a".to_owned()]).is_none());
        // Another file with the same columns: not restored.
        let other = dir.path().join("other.csv");
        std::fs::write(&other, "a,b\n1,2\n").unwrap();
        assert!(load(&memory, &other, &columns).is_none());
        forget(&memory, &file);
        assert!(load(&memory, &file, &columns).is_none());
    }
}
