//! The resume journal: which row ranges Mixpanel acknowledged, crash-safe.
//!
//! One journal per (file fingerprint, mapping hash, target project) lives in the user's data
//! directory (`MIXPORT_DATA_DIR` overrides it). Its first line is a JSON header; every later line
//! is `a FIRST-LAST FIRST-LAST ...` listing source rows Mixpanel acknowledged (imported or
//! rejected: both are final). Lines are appended whole and synced to disk at most every 100 ms
//! and at the end; a crash can only tear the last line, which loading ignores. A clean run
//! appends `done` and keeps the journal, so resuming a finished import sends nothing. Rows of a batch that was in flight during a crash are not in the
//! journal and are sent again on resume: harmless, because insert ids are deterministic.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Environment variable that overrides the data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "MIXPORT_DATA_DIR";

/// The directory for journals and run reports: `$MIXPORT_DATA_DIR`, else the platform's data
/// directory for Mixport (e.g. `~/.local/share/mixport`).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("com", "Mixport", "Mixport").map(|d| d.data_dir().to_path_buf())
}

/// An identity of a file's content, independent of its name and modification time (so `touch`
/// does not lose a resume): its size and an XXH3-128 hash of its first and last MiB plus 64
/// blocks of 64 KiB spread evenly between them.
///
/// The cost is bounded whatever the file's size: at most about 6 MiB are read (a few
/// milliseconds from the page cache, well under a second from a disk), instead of a second full
/// read of a multi-GB file before every import. What it can miss is an edit that keeps the size
/// and touches none of the sampled blocks; every append, cut, re-export or edit of the head or
/// tail changes it.
pub fn fingerprint(path: &Path) -> std::io::Result<String> {
    const EDGE: u64 = 1024 * 1024;
    const BLOCK: u64 = 64 * 1024;
    const BLOCKS: u64 = 64;
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&size.to_le_bytes());
    let mut buf = vec![0u8; EDGE as usize];
    let mut sample = |file: &mut File, at: u64, len: u64| -> std::io::Result<()> {
        file.seek(SeekFrom::Start(at))?;
        let n = read_up_to(file, &mut buf[..len as usize])?;
        hasher.update(&buf[..n]);
        Ok(())
    };
    if size <= 2 * EDGE + BLOCKS * BLOCK {
        let mut at = 0;
        while at < size {
            sample(&mut file, at, EDGE.min(size - at))?;
            at += EDGE;
        }
    } else {
        sample(&mut file, 0, EDGE)?;
        let middle = size - 2 * EDGE;
        for i in 0..BLOCKS {
            sample(&mut file, EDGE + middle * i / BLOCKS, BLOCK)?;
        }
        sample(&mut file, size - EDGE, EDGE)?;
    }
    Ok(format!("{size}-{:032x}", hasher.digest128()))
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// What a journal belongs to: the same file content, the same mapping, the same destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalKey {
    /// [`fingerprint`] of the file.
    pub file_fingerprint: String,
    /// [`crate::mapping::Mapping::content_hash`].
    pub mapping_hash: String,
    /// The ingestion host and project (or token hash), never a secret.
    pub target: String,
}

impl JournalKey {
    /// A short stable id for file names.
    pub fn id(&self) -> String {
        let text = format!(
            "{}\n{}\n{}",
            self.file_fingerprint, self.mapping_hash, self.target
        );
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
    }

    /// The journal's path under `dir`.
    pub fn journal_path(&self, dir: &Path) -> PathBuf {
        dir.join("journals").join(format!("{}.journal", self.id()))
    }

    /// The run report's path under `dir` (next to the journal).
    pub fn report_path(&self, dir: &Path) -> PathBuf {
        dir.join("journals")
            .join(format!("{}.report.json", self.id()))
    }
}

/// The header line of a journal file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    mixport_journal: u32,
    key: JournalKey,
    file: String,
}

/// Source rows acknowledged by Mixpanel, as sorted, merged, inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acknowledged {
    ranges: Vec<(u64, u64)>,
    /// Rows Mixpanel rejected, with the field and its message (lines `r [row, field, reason]`),
    /// so that a resumed run lists them again in its rejected-rows file.
    rejections: std::collections::BTreeMap<u64, (String, String)>,
}

impl Acknowledged {
    /// From any ranges (merged and sorted here).
    pub fn from_ranges(mut ranges: Vec<(u64, u64)>) -> Self {
        ranges.retain(|(a, b)| a <= b);
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Self {
            ranges: merged,
            rejections: std::collections::BTreeMap::new(),
        }
    }

    /// Whether `row` was acknowledged.
    pub fn contains(&self, row: u64) -> bool {
        let i = self.ranges.partition_point(|&(_, end)| end < row);
        self.ranges.get(i).is_some_and(|&(start, _)| start <= row)
    }

    /// How many rows are acknowledged.
    pub fn count(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| b - a + 1).sum()
    }

    /// Whether nothing is acknowledged.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Mixpanel's rejection of `row` in an earlier run: (field, reason).
    pub fn rejection(&self, row: u64) -> Option<&(String, String)> {
        self.rejections.get(&row)
    }

    /// The merged ranges.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }
}

/// Coalesce ascending rows into inclusive ranges of consecutive numbers.
pub fn rows_to_ranges(rows: impl IntoIterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for row in rows {
        match ranges.last_mut() {
            Some(last) if row == last.1 + 1 => last.1 = row,
            _ => ranges.push((row, row)),
        }
    }
    ranges
}

/// Why a journal could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("resume journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a journal for this import.
    #[error("resume journal {path} belongs to another file, mapping or project; it was not used")]
    Mismatch {
        /// The journal file.
        path: PathBuf,
    },
}

/// Load the rows acknowledged in the journal at `path`, if it exists and matches `key`. A torn
/// last line (no newline) and unreadable lines are ignored.
pub fn load(path: &Path, key: &JournalKey) -> Result<Option<Acknowledged>, JournalError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(JournalError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    // Only complete lines count.
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => &bytes[..end],
        None => return Ok(None),
    };
    let mut lines = complete.split(|&b| b == b'\n');
    let header: Option<Header> = lines.next().and_then(|l| serde_json::from_slice(l).ok());
    match header {
        Some(h) if h.key == *key => {}
        _ => {
            return Err(JournalError::Mismatch {
                path: path.to_owned(),
            });
        }
    }
    let mut ranges = Vec::new();
    let mut rejections = std::collections::BTreeMap::new();
    for line in lines {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        if let Some(json) = text.strip_prefix("r ") {
            if let Ok((row, field, reason)) = serde_json::from_str::<(u64, String, String)>(json) {
                rejections.insert(row, (field, reason));
            }
            continue;
        }
        let Some(rest) = text.strip_prefix("a ") else {
            continue;
        };
        let parsed: Option<Vec<(u64, u64)>> = rest
            .split_whitespace()
            .map(|r| {
                let (a, b) = r.split_once('-').unwrap_or((r, r));
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        if let Some(parsed) = parsed {
            ranges.extend(parsed);
        }
    }
    let mut acknowledged = Acknowledged::from_ranges(ranges);
    acknowledged.rejections = rejections;
    Ok(Some(acknowledged))
}

/// An open journal being appended to.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    last_sync: Instant,
    dirty: bool,
    line: String,
}

impl Journal {
    /// Start a new journal at `path` (replacing any old one), for `file`.
    pub fn create(path: &Path, key: &JournalKey, file: &Path) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let header = Header {
            mixport_journal: 1,
            key: key.clone(),
            file: file.display().to_string(),
        };
        let mut text = serde_json::to_string(&header).unwrap_or_default();
        text.push('\n');
        let mut handle = File::create(path).map_err(io)?;
        handle.write_all(text.as_bytes()).map_err(io)?;
        handle.sync_all().map_err(io)?;
        Ok(Self::wrap(path, handle))
    }

    /// Open an existing journal (already checked by [`load`]) to add to it. A torn last line
    /// is cut off first so new lines start clean.
    pub fn append_to(path: &Path) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let handle = OpenOptions::new().write(true).open(path).map_err(io)?;
        handle.set_len(keep as u64).map_err(io)?;
        let mut handle = OpenOptions::new().append(true).open(path).map_err(io)?;
        handle.flush().map_err(io)?;
        Ok(Self::wrap(path, handle))
    }

    fn wrap(path: &Path, file: File) -> Self {
        Self {
            path: path.to_owned(),
            file,
            last_sync: Instant::now(),
            dirty: false,
            line: String::new(),
        }
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record acknowledged row ranges (one line, written whole; synced at most every 100 ms).
    pub fn record(&mut self, ranges: &[(u64, u64)]) -> Result<(), JournalError> {
        if ranges.is_empty() {
            return Ok(());
        }
        use std::fmt::Write as _;
        self.line.clear();
        self.line.push('a');
        for (a, b) in ranges {
            if a == b {
                let _ = write!(self.line, " {a}");
            } else {
                let _ = write!(self.line, " {a}-{b}");
            }
        }
        self.line.push('\n');
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(self.line.as_bytes()).map_err(io)?;
        self.dirty = true;
        if self.last_sync.elapsed() >= Duration::from_millis(100) {
            self.sync()?;
        }
        Ok(())
    }

    /// Record Mixpanel's rejections (row, field, reason), one line each. Call it before
    /// [`Self::record`] of the same rows, so that a crash between the two only resends them.
    pub fn record_rejections(
        &mut self,
        rejections: &[(u64, &str, &str)],
    ) -> Result<(), JournalError> {
        self.line.clear();
        for (row, field, reason) in rejections {
            self.line.push_str("r ");
            self.line
                .push_str(&serde_json::to_string(&(row, field, reason)).unwrap_or_default());
            self.line.push('\n');
        }
        if self.line.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(self.line.as_bytes())
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.dirty = true;
        Ok(())
    }

    /// Flush everything to disk.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if self.dirty {
            self.file.sync_data().map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })?;
            self.dirty = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    /// The import finished cleanly: append the `done` marker and sync. The journal is kept so
    /// that `--resume` of a finished import sends nothing.
    pub fn complete(mut self) -> Result<(), JournalError> {
        self.file
            .write_all(b"done\n")
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.dirty = true;
        self.sync()
    }
}

/// Whether the journal's last complete line is the `done` marker.
pub fn is_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
        return false;
    };
    let complete = &bytes[..end];
    let last = complete
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(complete, |i| &complete[i + 1..]);
    last == b"done"
}

/// An import that stopped before the end (crash, kill, cancel, failures), found in the data
/// directory: what the app offers to resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedImport {
    /// The journal file.
    pub journal: PathBuf,
    /// The file that was being imported.
    pub file: PathBuf,
    /// Its key (file fingerprint, mapping hash, destination).
    pub key: JournalKey,
    /// Rows Mixpanel acknowledged so far.
    pub acknowledged_rows: u64,
}

/// An unfinished journal for the same file (by path), mapping and destination as `key`, but
/// with another content fingerprint: the file changed since that run stopped. Resuming it would
/// skip rows by number that may now hold other events.
pub fn changed_since(dir: &Path, key: &JournalKey, file: &Path) -> Option<UnfinishedImport> {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let file = canonical(file);
    unfinished(dir).into_iter().find(|old| {
        old.key.mapping_hash == key.mapping_hash
            && old.key.target == key.target
            && old.key.file_fingerprint != key.file_fingerprint
            && canonical(&old.file) == file
    })
}

/// Every unfinished import journal under `dir`, newest first.
pub fn unfinished(dir: &Path) -> Vec<UnfinishedImport> {
    let Ok(entries) = std::fs::read_dir(dir.join("journals")) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, UnfinishedImport)> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "journal") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if is_complete(&bytes) {
            continue;
        }
        let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let Ok(header) = serde_json::from_slice::<Header>(first) else {
            continue;
        };
        let Ok(Some(ack)) = load(&path, &header.key) else {
            continue;
        };
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        found.push((
            modified,
            UnfinishedImport {
                journal: path,
                file: PathBuf::from(header.file),
                key: header.key,
                acknowledged_rows: ack.count(),
            },
        ));
    }
    found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    found.into_iter().map(|(_, u)| u).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> JournalKey {
        JournalKey {
            file_fingerprint: "100-5-abc".into(),
            mapping_hash: "m1".into(),
            target: "https://api.mixpanel.com project-42".into(),
        }
    }

    #[test]
    fn append_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = key().journal_path(dir.path());
        let mut j = Journal::create(&path, &key(), Path::new("events.csv")).unwrap();
        j.record(&[(2, 10), (12, 12)]).unwrap();
        j.record_rejections(&[(12, "properties.time", "in the \"future\"\nreally")])
            .unwrap();
        j.record(&[(11, 11), (20, 30)]).unwrap();
        j.sync().unwrap();
        let ack = load(&path, &key()).unwrap().unwrap();
        assert_eq!(
            ack.rejection(12),
            Some(&(
                "properties.time".to_owned(),
                "in the \"future\"\nreally".to_owned()
            ))
        );
        assert_eq!(ack.rejection(11), None);
        assert_eq!(ack.ranges(), &[(2, 12), (20, 30)]);
        assert_eq!(ack.count(), 11 + 11);
        assert!(ack.contains(2) && ack.contains(11) && ack.contains(30));
        assert!(!ack.contains(1) && !ack.contains(13) && !ack.contains(31));
        assert_eq!(unfinished(dir.path()).len(), 1);
        assert_eq!(unfinished(dir.path())[0].acknowledged_rows, 22);
        assert_eq!(unfinished(dir.path())[0].file, PathBuf::from("events.csv"));
        j.complete().unwrap();
        assert!(is_complete(&std::fs::read(&path).unwrap()));
        assert!(unfinished(dir.path()).is_empty());
        // A finished journal still lists its rows, so a resume sends nothing.
        assert_eq!(load(&path, &key()).unwrap().unwrap().count(), 22);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = key().journal_path(dir.path());
        let mut j = Journal::create(&path, &key(), Path::new("f")).unwrap();
        j.record(&[(2, 5)]).unwrap();
        drop(j);
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"a 6-9 10-1").unwrap();
        drop(f);
        let ack = load(&path, &key()).unwrap().unwrap();
        assert_eq!(ack.ranges(), &[(2, 5)]);
        let mut j = Journal::append_to(&path).unwrap();
        j.record(&[(6, 6)]).unwrap();
        drop(j);
        let ack = load(&path, &key()).unwrap().unwrap();
        assert_eq!(ack.ranges(), &[(2, 6)]);
        // Garbage lines are skipped too.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"zz\na x-y\na 8\n").unwrap();
        drop(f);
        assert_eq!(
            load(&path, &key()).unwrap().unwrap().ranges(),
            &[(2, 6), (8, 8)]
        );
    }

    #[test]
    fn a_journal_of_another_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = key().journal_path(dir.path());
        Journal::create(&path, &key(), Path::new("f")).unwrap();
        let other = JournalKey {
            mapping_hash: "m2".into(),
            ..key()
        };
        assert!(matches!(
            load(&path, &other),
            Err(JournalError::Mismatch { .. })
        ));
        assert_ne!(other.id(), key().id());
    }

    #[test]
    fn rows_coalesce_into_ranges() {
        assert_eq!(
            rows_to_ranges([2, 3, 4, 6, 7, 9]),
            vec![(2, 4), (6, 7), (9, 9)]
        );
        assert!(rows_to_ranges([]).is_empty());
        assert_eq!(
            Acknowledged::from_ranges(vec![(5, 9), (1, 3), (4, 4), (20, 19)]).ranges(),
            &[(1, 9)]
        );
    }

    #[test]
    fn fingerprint_ignores_the_modification_time_and_sees_edits_anywhere_sampled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut bytes = vec![b'x'; 8 * 1024 * 1024];
        std::fs::write(&path, &bytes).unwrap();
        let a = fingerprint(&path).unwrap();
        let file = File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::SystemTime::now() + Duration::from_secs(3600))
            .unwrap();
        drop(file);
        assert_eq!(
            a,
            fingerprint(&path).unwrap(),
            "touch keeps the fingerprint"
        );
        for at in [0, 4 * 1024 * 1024, bytes.len() - 1] {
            bytes[at] = b'y';
            std::fs::write(&path, &bytes).unwrap();
            assert_ne!(a, fingerprint(&path).unwrap(), "an edit at {at}");
            bytes[at] = b'x';
        }
        bytes.push(b'\n');
        std::fs::write(&path, &bytes).unwrap();
        assert_ne!(a, fingerprint(&path).unwrap(), "an append");
    }

    #[test]
    fn fingerprint_changes_with_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, vec![b'x'; 200_000]).unwrap();
        let a = fingerprint(&path).unwrap();
        assert_eq!(a, fingerprint(&path).unwrap());
        let mut bytes = vec![b'x'; 200_000];
        bytes[199_999] = b'y';
        std::fs::write(&path, bytes).unwrap();
        assert_ne!(a, fingerprint(&path).unwrap());
    }
}
