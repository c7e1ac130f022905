//! The record of what an import delivered: one compact entry per event Mixpanel accepted.
//!
//! # Why a record, not a recomputation
//! Verification compares Mixpanel's export with the events a run delivered. Those could be
//! recomputed from the file and the mapping, but only while the file is unchanged and at hand,
//! and the typical next step after a verification ("fix and re-import") is precisely to edit the
//! file. So the import writes, for each accepted event, its source row, its event name (as an
//! index) and a 64-bit hash of its dedup key, sequentially and with no extra memory: about
//! 10 bytes per event (10 MB per million events). Verifying reads the record back in
//! partitions of at most [`super::PARTITION_CAPACITY`] entries, so memory stays bounded for
//! tens of millions of events.
//!
//! # The key
//! [`event_key`] is XXH3-64 over `b"mixport-verify-key-v1"`, then the event name, the
//! distinct_id and the insert id (each as length u64 LE + UTF-8 bytes), then the time in whole
//! seconds as i64 LE. Whole seconds, because that is the export's precision; the distinct_id is
//! the one sent (see [`distinct_id_as_exported`] for events sent without one).
//!
//! # The file
//! `b"mixport-accepted-keys v1\n"`, then entries. Each entry starts with a varint `v`: when
//! `v & 1 == 1` it defines the next event name (`v >> 1` is its byte length, the UTF-8 bytes
//! follow); otherwise `v >> 1` is the zigzag-encoded difference to the previous entry's row,
//! followed by a varint name index and the key as u64 LE.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use xxhash_rust::xxh3::Xxh3;

const MAGIC: &[u8] = b"mixport-accepted-keys v1\n";

/// Distinct event names kept apart in a record; more are counted under [`OTHER_EVENT_NAMES`].
pub const MAX_EVENT_NAMES: usize = 10_000;

/// The name under which event names past [`MAX_EVENT_NAMES`] are counted.
pub const OTHER_EVENT_NAMES: &str = "(other event names)";

/// The verification key of an event (see the module docs for the recipe).
pub fn event_key(event: &str, distinct_id: &str, time_secs: i64, insert_id: &str) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(b"mixport-verify-key-v1");
    for part in [event, distinct_id, insert_id] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(&time_secs.to_le_bytes());
    hasher.digest()
}

/// Whole seconds of a millisecond time (rounded down, also before 1970).
pub fn time_secs(time_ms: i64) -> i64 {
    time_ms.div_euclid(1000)
}

/// The distinct_id Mixpanel shows for an event sent as `json`: the `distinct_id` sent, or, for
/// an event sent without one (simplified ID merge), `$user_id`, else `$device:` + `$device_id`.
/// `sent` is the distinct_id the transform wrote (empty when none or empty).
pub fn distinct_id_as_exported<'a>(sent: &'a str, json: &[u8]) -> std::borrow::Cow<'a, str> {
    if !sent.is_empty() {
        return std::borrow::Cow::Borrowed(sent);
    }
    #[derive(serde::Deserialize)]
    struct Event {
        properties: Properties,
    }
    #[derive(serde::Deserialize)]
    struct Properties {
        distinct_id: Option<serde_json::Value>,
        #[serde(rename = "$user_id")]
        user_id: Option<serde_json::Value>,
        #[serde(rename = "$device_id")]
        device_id: Option<serde_json::Value>,
    }
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let Ok(event) = serde_json::from_slice::<Event>(json) else {
        return std::borrow::Cow::Borrowed(sent);
    };
    let p = event.properties;
    if p.distinct_id.is_some() {
        return std::borrow::Cow::Borrowed(sent);
    }
    if let Some(user) = p.user_id.as_ref().map(text).filter(|s| !s.is_empty()) {
        return std::borrow::Cow::Owned(user);
    }
    if let Some(device) = p.device_id.as_ref().map(text).filter(|s| !s.is_empty()) {
        return std::borrow::Cow::Owned(format!("$device:{device}"));
    }
    std::borrow::Cow::Borrowed(sent)
}

/// What the import needs to know about each event it sends, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEvent {
    /// The source row.
    pub row: u64,
    /// [`event_key`].
    pub key: u64,
    /// The event's time in UTC milliseconds.
    pub time_ms: i64,
    /// The event name's index in the run's [`EventNames`].
    pub name: u32,
}

/// Event names seen by one run, each with a small index. The import's reader thread assigns
/// indexes; the record writer (another thread) resolves them through the shared [`NameList`].
#[derive(Debug, Default)]
pub struct EventNames {
    index: HashMap<String, u32>,
    last: Option<(String, u32)>,
    list: NameList,
}

/// The names of an [`EventNames`] by index, shareable across threads.
#[derive(Debug, Clone, Default)]
pub struct NameList(Arc<Mutex<Vec<String>>>);

impl NameList {
    /// The name of an index ([`OTHER_EVENT_NAMES`] when unknown).
    pub fn name(&self, index: u32) -> String {
        let names = self.0.lock().unwrap_or_else(|e| e.into_inner());
        names
            .get(index as usize)
            .map_or(OTHER_EVENT_NAMES, String::as_str)
            .to_owned()
    }
}

impl EventNames {
    /// The index of `name` (names past [`MAX_EVENT_NAMES`] share the last index, whose name is
    /// [`OTHER_EVENT_NAMES`]).
    pub fn index_of(&mut self, name: &str) -> u32 {
        if let Some((last, index)) = &self.last
            && last == name
        {
            return *index;
        }
        let index = match self.index.get(name) {
            Some(&i) => i,
            None if self.index.len() < MAX_EVENT_NAMES => {
                let i = self.index.len() as u32;
                self.list
                    .0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(name.to_owned());
                self.index.insert(name.to_owned(), i);
                i
            }
            None => {
                let mut list = self.list.0.lock().unwrap_or_else(|e| e.into_inner());
                if list.len() == MAX_EVENT_NAMES {
                    list.push(OTHER_EVENT_NAMES.to_owned());
                }
                MAX_EVENT_NAMES as u32
            }
        };
        self.last = Some((name.to_owned(), index));
        index
    }

    /// The shared list of names by index.
    pub fn list(&self) -> NameList {
        self.list.clone()
    }
}

/// What a finished record says about the accepted events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptedSummary {
    /// Entries written.
    pub count: u64,
    /// Earliest and latest event time (UTC milliseconds).
    pub time_range_ms: Option<(i64, i64)>,
    /// Entries per event name.
    pub by_event: BTreeMap<String, u64>,
    /// Entries per UTC day (`YYYY-MM-DD`).
    pub by_day: BTreeMap<String, u64>,
}

/// Writes the record of accepted events.
#[derive(Debug)]
pub struct AcceptedWriter {
    path: PathBuf,
    out: BufWriter<File>,
    defined: usize,
    last_row: u64,
    count: u64,
    time_range_ms: Option<(i64, i64)>,
    by_name: Vec<u64>,
    /// Days since the epoch → count.
    by_day: BTreeMap<i64, u64>,
}

impl AcceptedWriter {
    /// Create (or replace) the record at `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        out.write_all(MAGIC)?;
        Ok(Self {
            path: path.to_owned(),
            out,
            defined: 0,
            last_row: 0,
            count: 0,
            time_range_ms: None,
            by_name: Vec::new(),
            by_day: BTreeMap::new(),
        })
    }

    /// The record's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Add one accepted event; `names` resolves its name index.
    pub fn record(&mut self, event: &SentEvent, names: &NameList) -> io::Result<()> {
        let index = event.name as usize;
        while self.defined <= index {
            let name = names.name(self.defined as u32);
            write_varint(&mut self.out, ((name.len() as u64) << 1) | 1)?;
            self.out.write_all(name.as_bytes())?;
            self.defined += 1;
        }
        let delta = event.row.wrapping_sub(self.last_row) as i64;
        write_varint(&mut self.out, zigzag(delta) << 1)?;
        write_varint(&mut self.out, u64::from(event.name))?;
        self.out.write_all(&event.key.to_le_bytes())?;
        self.last_row = event.row;
        self.count += 1;
        self.time_range_ms = Some(match self.time_range_ms {
            None => (event.time_ms, event.time_ms),
            Some((a, b)) => (a.min(event.time_ms), b.max(event.time_ms)),
        });
        if self.by_name.len() <= index {
            self.by_name.resize(index + 1, 0);
        }
        self.by_name[index] += 1;
        *self
            .by_day
            .entry(event.time_ms.div_euclid(86_400_000))
            .or_insert(0) += 1;
        Ok(())
    }

    /// Flush to disk and sum up.
    pub fn finish(self, names: &NameList) -> io::Result<AcceptedSummary> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let mut by_event = BTreeMap::new();
        for (index, &count) in self.by_name.iter().enumerate() {
            if count > 0 {
                *by_event.entry(names.name(index as u32)).or_insert(0) += count;
            }
        }
        let by_day = self
            .by_day
            .into_iter()
            .filter_map(|(day, count)| {
                chrono::DateTime::from_timestamp(day * 86_400, 0)
                    .map(|d| (d.format("%Y-%m-%d").to_string(), count))
            })
            .collect();
        Ok(AcceptedSummary {
            count: self.count,
            time_range_ms: self.time_range_ms,
            by_event,
            by_day,
        })
    }
}

/// One entry read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedEntry {
    /// [`event_key`].
    pub key: u64,
    /// The source row.
    pub row: u64,
    /// The event name's index in [`AcceptedReader::names`].
    pub name: u32,
}

/// Reads a record back, entry by entry.
#[derive(Debug)]
pub struct AcceptedReader {
    input: BufReader<File>,
    names: Vec<String>,
    last_row: u64,
}

/// A record that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The record.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Not a record of accepted events, or cut short.
    #[error("{path} is not a record of accepted events (or it was cut short)")]
    Corrupt {
        /// The record.
        path: PathBuf,
    },
}

impl AcceptedReader {
    /// Open the record at `path`.
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        let io = |source| RecordError::Io {
            path: path.to_owned(),
            source,
        };
        let mut input = BufReader::with_capacity(256 * 1024, File::open(path).map_err(io)?);
        let mut magic = vec![0u8; MAGIC.len()];
        input
            .read_exact(&mut magic)
            .map_err(|_| RecordError::Corrupt {
                path: path.to_owned(),
            })?;
        if magic != MAGIC {
            return Err(RecordError::Corrupt {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            input,
            names: Vec::new(),
            last_row: 0,
        })
    }

    /// The event names defined so far (all of them once the record is read to its end).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The next entry, `Ok(None)` at the end. A record cut short ends at its last whole entry.
    pub fn next_entry(&mut self) -> io::Result<Option<AcceptedEntry>> {
        loop {
            let Some(head) = read_varint(&mut self.input)? else {
                return Ok(None);
            };
            if head & 1 == 1 {
                let mut name = vec![0u8; (head >> 1) as usize];
                if self.input.read_exact(&mut name).is_err() {
                    return Ok(None);
                }
                self.names.push(String::from_utf8_lossy(&name).into_owned());
                continue;
            }
            let Some(name) = read_varint(&mut self.input)? else {
                return Ok(None);
            };
            let mut key = [0u8; 8];
            if self.input.read_exact(&mut key).is_err() {
                return Ok(None);
            }
            let row = self.last_row.wrapping_add(unzigzag(head >> 1) as u64);
            self.last_row = row;
            return Ok(Some(AcceptedEntry {
                key: u64::from_le_bytes(key),
                row,
                name: name as u32,
            }));
        }
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn write_varint(out: &mut impl Write, mut v: u64) -> io::Result<()> {
    let mut buf = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf[n] = byte;
            n += 1;
            break;
        }
        buf[n] = byte | 0x80;
        n += 1;
    }
    out.write_all(&buf[..n])
}

/// `Ok(None)` at a clean or torn end.
fn read_varint(input: &mut impl Read) -> io::Result<Option<u64>> {
    let mut v = 0u64;
    let mut byte = [0u8; 1];
    for shift in (0..70).step_by(7) {
        match input.read(&mut byte)? {
            0 => return Ok(None),
            _ => {
                v |= u64::from(byte[0] & 0x7f) << shift.min(63);
                if byte[0] & 0x80 == 0 {
                    return Ok(Some(v));
                }
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_recipe_is_pinned() {
        let mut bytes = b"mixport-verify-key-v1".to_vec();
        for part in ["Purchase", "user-1", "abc-123"] {
            bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        bytes.extend_from_slice(&1_709_337_599i64.to_le_bytes());
        assert_eq!(
            event_key("Purchase", "user-1", 1_709_337_599, "abc-123"),
            xxhash_rust::xxh3::xxh3_64(&bytes)
        );
        assert_ne!(event_key("ab", "c", 1, "x"), event_key("a", "bc", 1, "x"));
        assert_eq!(time_secs(1_709_337_599_999), 1_709_337_599);
        assert_eq!(time_secs(-1), -1);
    }

    #[test]
    fn events_sent_without_a_distinct_id_are_keyed_as_mixpanel_shows_them() {
        let with = br#"{"event":"E","properties":{"time":1,"distinct_id":"u1"}}"#;
        assert_eq!(distinct_id_as_exported("u1", with), "u1");
        let user = br#"{"event":"E","properties":{"time":1,"$user_id":"u2","$device_id":"d"}}"#;
        assert_eq!(distinct_id_as_exported("", user), "u2");
        let device = br#"{"event":"E","properties":{"time":1,"$device_id":"d7"}}"#;
        assert_eq!(distinct_id_as_exported("", device), "$device:d7");
        let empty = br#"{"event":"E","properties":{"time":1,"distinct_id":""}}"#;
        assert_eq!(distinct_id_as_exported("", empty), "");
    }

    #[test]
    fn the_record_round_trips_and_sums_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.keys");
        let mut names = EventNames::default();
        let mut writer = AcceptedWriter::create(&path).unwrap();
        let rows = [2u64, 3, 4, 10, 7, 1_000_000, 5];
        let mut expected = Vec::new();
        for (i, &row) in rows.iter().enumerate() {
            let name = if i % 3 == 0 { "Buy" } else { "Sign up" };
            let event = SentEvent {
                row,
                key: event_key(name, "u", i as i64, "id"),
                time_ms: 1_709_337_599_500 + i as i64 * 86_400_000,
                name: names.index_of(name),
            };
            writer.record(&event, &names.list()).unwrap();
            expected.push(AcceptedEntry {
                key: event.key,
                row,
                name: event.name,
            });
        }
        let summary = writer.finish(&names.list()).unwrap();
        assert_eq!(summary.count, 7);
        assert_eq!(summary.by_event["Buy"], 3);
        assert_eq!(summary.by_event["Sign up"], 4);
        assert_eq!(summary.by_day.len(), 7);
        assert_eq!(summary.by_day["2024-03-01"], 1);
        assert_eq!(
            summary.time_range_ms,
            Some((1_709_337_599_500, 1_709_337_599_500 + 6 * 86_400_000))
        );
        let mut reader = AcceptedReader::open(&path).unwrap();
        let mut read = Vec::new();
        while let Some(entry) = reader.next_entry().unwrap() {
            read.push(entry);
        }
        assert_eq!(read, expected);
        assert_eq!(reader.names(), ["Buy", "Sign up"]);
        // About ten bytes per event.
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < MAGIC.len() as u64 + 7 * 14 + 20, "{size}");

        // Cut short: ends at the last whole entry.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let mut reader = AcceptedReader::open(&path).unwrap();
        let mut n = 0;
        while reader.next_entry().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 6);
        std::fs::write(&path, b"something else").unwrap();
        assert!(matches!(
            AcceptedReader::open(&path),
            Err(RecordError::Corrupt { .. })
        ));
    }

    #[test]
    fn names_past_the_cap_share_one_index() {
        let mut names = EventNames::default();
        for i in 0..MAX_EVENT_NAMES {
            assert_eq!(names.index_of(&format!("e{i}")), i as u32);
        }
        let other = names.index_of("one too many");
        assert_eq!(other, MAX_EVENT_NAMES as u32);
        assert_eq!(names.index_of("and another"), other);
        assert_eq!(names.list().name(other), OTHER_EVENT_NAMES);
        assert_eq!(names.index_of("e5"), 5);
    }
}
