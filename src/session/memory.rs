//! Remembered work: the mapping last used with each file, so reopening the file brings back the
//! overrides, the time zone and the types the user chose; and how the user chose to read the
//! file (its header row, delimiter, encoding, sheet), so it is read that way again.
//!
//! One small JSON file per input file in the memory folder (`<config dir>/remembered`), named by
//! a hash of the file's absolute path, holding the path, when it was saved and the mapping
//! (whose `headers` are the file's columns). A mapping is restored only for the same path with
//! the same columns. Written atomically; a damaged file reads as nothing remembered.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mapping::Mapping;
use crate::source::SourceOptions;

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

/// How one file is read, when the user changed it.
#[derive(Debug, Serialize, Deserialize)]
struct ReadingEntry {
    path: PathBuf,
    options: SourceOptions,
}

/// The memory folder inside `config_dir`.
pub fn memory_dir(config_dir: &Path) -> PathBuf {
    config_dir.join(MEMORY_DIR_NAME)
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn entry_path(dir: &Path, file: &Path) -> PathBuf {
    dir.join(format!("{:016x}.json", path_key(file)))
}

fn reading_path(dir: &Path, file: &Path) -> PathBuf {
    dir.join(format!("{:016x}.reading.json", path_key(file)))
}

fn path_key(file: &Path) -> u64 {
    let key = absolute(file).to_string_lossy().into_owned();
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// How the user last chose to read `file` (header row, delimiter, encoding, sheet, ...), if
/// they changed anything.
pub fn load_reading(dir: &Path, file: &Path) -> Option<SourceOptions> {
    let bytes = std::fs::read(reading_path(dir, file)).ok()?;
    let entry: ReadingEntry = serde_json::from_slice(&bytes).ok()?;
    (entry.path == absolute(file) && entry.options != SourceOptions::default())
        .then_some(entry.options)
}

/// Remember how `file` is read; the default options (nothing changed) forget it.
pub fn save_reading(
    dir: &Path,
    file: &Path,
    options: &SourceOptions,
) -> Result<(), crate::config::ConfigError> {
    if *options == SourceOptions::default() {
        let _ = std::fs::remove_file(reading_path(dir, file));
        return Ok(());
    }
    let entry = ReadingEntry {
        path: absolute(file),
        options: options.clone(),
    };
    crate::config::write_json_atomically(&reading_path(dir, file), &entry)
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

    #[test]
    fn how_a_file_is_read_comes_back_for_that_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("events.csv");
        std::fs::write(&file, "title\na,b\n1,2\n").unwrap();
        let other = dir.path().join("other.csv");
        std::fs::write(&other, "a,b\n1,2\n").unwrap();
        let memory = dir.path().join("memory");
        assert_eq!(load_reading(&memory, &file), None);
        let options = SourceOptions {
            header_row: Some(2),
            delimiter: Some(b','),
            ..SourceOptions::default()
        };
        save_reading(&memory, &file, &options).unwrap();
        assert_eq!(load_reading(&memory, &file), Some(options));
        assert_eq!(load_reading(&memory, &other), None);
        // Reading it the default way again forgets.
        save_reading(&memory, &file, &SourceOptions::default()).unwrap();
        assert_eq!(load_reading(&memory, &file), None);
    }
}
