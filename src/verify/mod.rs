//! Did a run land? Mixpanel's raw export compared with what the run delivered.
//!
//! [`verify_run`] asks the Export API for the run's UTC days, filtered by the run's import label
//! (or, for a run without one, by its event names), streams the answer, and looks every exported
//! event up in the run's record of accepted events ([`keys`]) by its dedup key
//! `(event, distinct_id, time, $insert_id)`. An accepted event is *found* when at least one
//! exported copy has its key: copies in the export (which is not deduplicated) and events of
//! the same run that share a key (Mixpanel keeps one) are counted once. What is not found is
//! *not yet visible* while Mixpanel may still be processing the run (the raw export lags by up
//! to tens of minutes: [`PROCESSING_WINDOW`]) and *missing* after that; for both, the source
//! rows are given back (a sample in the result, all of them in a CSV on request).
//!
//! Memory stays bounded: the record is read in partitions of at most [`PARTITION_CAPACITY`]
//! events (by key hash). With more than one partition the export is streamed once into
//! per-partition spool files of 8 bytes per exported event, which are then matched partition by
//! partition; the export is queried only once either way.
//!
//! [`correct`] holds what Mixpanel allows for correcting a run (deletion in its UI only, 180
//! days, 10 a month) and what a corrected re-import must do (a new insert-id generation and a
//! new label).

pub mod correct;
pub mod keys;

use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::mixpanel::export::{
    ExportClient, ExportError, ExportProgress, ExportQuery, ExportSink, ExportedEvent,
};
use crate::mixpanel::export_budget::BudgetStatus;
use crate::pipeline::RunControl;
use crate::pipeline::report::RunReport;
use crate::source::{self, Record, SourceOptions};

use keys::{AcceptedReader, RecordError, event_key};

/// Most accepted events held in memory at once while comparing (about 24 bytes each).
pub const PARTITION_CAPACITY: usize = 2_000_000;

/// How long after an import Mixpanel may still be processing its events: the raw export was
/// seen lagging about 45 minutes (shared doc §9). Within it, events not found are "not yet
/// visible"; after it, "missing".
pub const PROCESSING_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Longest pause suggested before checking again.
pub const MAX_CHECK_AGAIN: Duration = Duration::from_secs(15 * 60);

/// Most missing rows listed (the smallest row numbers).
pub const MAX_MISSING_ROWS: usize = 100_000;

/// Rows of missing events shown with their source values.
pub const SAMPLE_ROWS: usize = 20;

/// Settings of a verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Most accepted events per in-memory partition.
    pub partition_capacity: usize,
    /// See [`PROCESSING_WINDOW`].
    pub processing_window: Duration,
    /// "Now" in UTC milliseconds.
    pub now_ms: i64,
    /// Missing rows shown with their source values.
    pub sample_rows: usize,
    /// Write every listed missing row (original columns, `_row`, `_field`, `_reason`) here.
    pub missing_out: Option<PathBuf>,
    /// How the file was read at import time (the user's overrides of the sniffed guesses).
    pub source_options: SourceOptions,
    /// Folder for spool files when the run is too large for one partition.
    pub temp_dir: PathBuf,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            partition_capacity: PARTITION_CAPACITY,
            processing_window: PROCESSING_WINDOW,
            now_ms: Utc::now().timestamp_millis(),
            sample_rows: SAMPLE_ROWS,
            missing_out: None,
            source_options: SourceOptions::default(),
            temp_dir: std::env::temp_dir(),
        }
    }
}

/// The outcome in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every accepted event is in Mixpanel's export.
    AllFound,
    /// Some are not in the export yet, and Mixpanel may still be processing them.
    NotYetVisible,
    /// Some are not in the export although the processing delay has passed.
    Missing,
}

/// The comparison for one event name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventVerification {
    /// The event name.
    pub event: String,
    /// Distinct events of this name the run delivered.
    pub accepted: u64,
    /// Of those, found in the export.
    pub found: u64,
    /// Not found (yet).
    pub missing: u64,
}

/// A source row of an event not found, with its original values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    /// The 1-based source row.
    pub row: u64,
    /// The event name sent.
    pub event: String,
    /// Column → original text, in file order (empty when the file could not be read again).
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// The export query, in words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryDescription {
    /// First UTC day.
    pub from_date: String,
    /// Last UTC day.
    pub to_date: String,
    /// The `where` filter, when the run has a label.
    #[serde(rename = "where")]
    pub where_expression: Option<String>,
    /// The event filter, when the run has no label.
    pub events: Vec<String>,
}

/// The result of a verification (also saved as the run's last verification).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The run verified.
    pub run_id: String,
    /// Its label.
    pub label: Option<String>,
    /// Its project.
    pub project_id: Option<String>,
    /// Its region code.
    pub region: String,
    /// When this check ran (RFC 3339 UTC).
    pub checked_at: String,
    /// The outcome.
    pub verdict: Verdict,
    /// Events the run delivered (Mixpanel accepted).
    pub accepted: u64,
    /// Of those, found in the export.
    pub found: u64,
    /// Not found (yet): `accepted = found + missing + duplicates_in_run`.
    pub missing: u64,
    /// Accepted events that were exact copies of another event of the run (same dedup key):
    /// Mixpanel keeps one of each.
    pub duplicates_in_run: u64,
    /// Per event name, most missing first, then by name.
    pub by_event: Vec<EventVerification>,
    /// Event lines the export sent.
    pub export_events: u64,
    /// Extra copies of found events in the export (it is not deduplicated).
    pub export_duplicates: u64,
    /// Exported events that are not this run's (same label or names, other keys).
    pub other_events: u64,
    /// Export lines that were not readable events.
    pub unreadable_lines: u64,
    /// Source rows of the events not found (the smallest [`MAX_MISSING_ROWS`]).
    pub missing_rows: Vec<u64>,
    /// Whether more rows are missing than listed.
    pub missing_rows_truncated: bool,
    /// The first missing rows with their original values.
    pub sample_missing: Vec<SourceRow>,
    /// Why the source values could not be shown, when they could not.
    pub source_note: Option<String>,
    /// The CSV of missing rows, when written.
    pub missing_file: Option<String>,
    /// Minutes since the run finished.
    pub minutes_since_import: Option<u64>,
    /// When not everything is visible yet: check again after this many seconds.
    pub check_again_in_secs: Option<u64>,
    /// The query made.
    pub query: QueryDescription,
    /// Export queries sent (retries included).
    pub queries: u32,
    /// 429 answers met.
    pub rate_limited: u32,
    /// The export budget afterwards.
    pub budget: BudgetStatus,
    /// Remarks (e.g. a likely time-zone shift).
    pub notes: Vec<String>,
}

/// Why a run could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The run has no record of its accepted events.
    #[error(
        "run {0} has no record of the events Mixpanel accepted (it was imported by an older Mixport or without a data folder), so it cannot be compared with Mixpanel's export"
    )]
    NoRecord(String),
    /// The record is unreadable.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The export failed.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A spool file could not be written or read.
    #[error("temporary file in {path}: {source}")]
    Spool {
        /// The folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The run's times are unreadable.
    #[error("run {0} has no readable event times; it cannot be verified")]
    NoTimes(String),
    /// A run of user profiles: the export reads events only.
    #[error(
        "run {0} imported user profiles: Mixpanel's export reads events only, so profiles cannot be checked this way (look them up in Mixpanel's Users page)"
    )]
    Profiles(String),
}

/// What a verification is doing, for a status line.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyProgress {
    /// Querying Mixpanel (with the export's own progress).
    Exporting(ExportProgress),
    /// Comparing partition `done` of `of`.
    Comparing {
        /// Partitions done.
        done: usize,
        /// Partitions in all.
        of: usize,
    },
    /// Reading the source file for the rows of events not found.
    ReadingSource,
}

impl VerifyProgress {
    /// The progress in a short sentence (a status line).
    pub fn describe(&self) -> String {
        use crate::mixpanel::export::WaitReason;
        use crate::mixpanel::export_budget::describe_wait;
        match self {
            VerifyProgress::Exporting(e) => match e.waiting {
                Some((wait, WaitReason::RateLimited)) => format!(
                    "Mixpanel asked to slow down: waiting {} ({})",
                    describe_wait(wait.as_secs().max(1)),
                    e.budget.describe()
                ),
                Some((wait, WaitReason::Retrying)) => format!(
                    "Mixpanel did not answer: trying again in {}",
                    describe_wait(wait.as_secs().max(1))
                ),
                Some((_, WaitReason::Spacing)) | None => format!(
                    "Reading Mixpanel's export: {} events ({})",
                    thousands(e.lines),
                    e.budget.describe()
                ),
            },
            VerifyProgress::Comparing { done, of } => {
                format!("Comparing part {} of {of}", done + 1)
            }
            VerifyProgress::ReadingSource => {
                "Reading the source rows of the events not found".to_owned()
            }
        }
    }
}

/// The export query for a run: its UTC days, filtered by its label (or its event names).
pub fn query_for(report: &RunReport) -> Option<ExportQuery> {
    let day = |t: &Option<String>| -> Option<NaiveDate> {
        DateTime::parse_from_rfc3339(t.as_deref()?)
            .ok()
            .map(|d| d.with_timezone(&Utc).date_naive())
    };
    let from_date = day(&report.first_event_time)?;
    let to_date = day(&report.last_event_time)?;
    let (where_equals, event_names) = match (&report.label_property, &report.label) {
        (Some(property), Some(label)) if !property.is_empty() && !label.is_empty() => {
            (vec![(property.clone(), label.clone())], Vec::new())
        }
        _ => (
            Vec::new(),
            report
                .accepted_by_event
                .keys()
                .filter(|n| n.as_str() != keys::OTHER_EVENT_NAMES)
                .cloned()
                .collect(),
        ),
    };
    Some(ExportQuery {
        from_date,
        to_date,
        event_names,
        where_equals,
    })
}

/// Verify `report` against Mixpanel's export through `client`.
pub async fn verify_run(
    report: &RunReport,
    client: &mut ExportClient,
    options: &VerifyOptions,
    control: &RunControl,
    progress: &mut dyn FnMut(&VerifyProgress),
) -> Result<Verification, VerifyError> {
    let mut result = Verification {
        run_id: report.run_id.clone(),
        label: report.label.clone(),
        project_id: report.project_id.clone(),
        region: report.region.clone(),
        checked_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        verdict: Verdict::AllFound,
        accepted: report.imported,
        found: 0,
        missing: 0,
        duplicates_in_run: 0,
        by_event: Vec::new(),
        export_events: 0,
        export_duplicates: 0,
        other_events: 0,
        unreadable_lines: 0,
        missing_rows: Vec::new(),
        missing_rows_truncated: false,
        sample_missing: Vec::new(),
        source_note: None,
        missing_file: None,
        minutes_since_import: None,
        check_again_in_secs: None,
        query: QueryDescription::default(),
        queries: 0,
        rate_limited: 0,
        budget: client.budget(),
        notes: Vec::new(),
    };
    let since_import = DateTime::parse_from_rfc3339(&report.finished_at)
        .ok()
        .map(|t| (options.now_ms - t.timestamp_millis()).max(0) as u64);
    result.minutes_since_import = since_import.map(|ms| ms / 60_000);
    if report.kind == crate::mapping::ImportKind::Profiles {
        return Err(VerifyError::Profiles(report.run_id.clone()));
    }
    if report.imported == 0 {
        result
            .notes
            .push("Mixpanel accepted no events in this run: there is nothing to look for.".into());
        return Ok(result);
    }
    let Some(keys_path) = report.accepted_keys.as_deref().map(PathBuf::from) else {
        return Err(VerifyError::NoRecord(report.run_id.clone()));
    };
    if !keys_path.is_file() {
        return Err(VerifyError::NoRecord(report.run_id.clone()));
    }
    let query = query_for(report).ok_or_else(|| VerifyError::NoTimes(report.run_id.clone()))?;
    result.query = QueryDescription {
        from_date: query.from_date.format("%Y-%m-%d").to_string(),
        to_date: query.to_date.format("%Y-%m-%d").to_string(),
        where_expression: query.where_expression(),
        events: query.event_names.clone(),
    };

    let partitions = report
        .imported
        .div_ceil(options.partition_capacity.max(1) as u64)
        .max(1) as usize;
    let mut tally = Tally::default();
    let mut export_progress = |p: &ExportProgress| progress(&VerifyProgress::Exporting(p.clone()));
    let summary = if partitions == 1 {
        let mut set = AcceptedSet::load(&keys_path, 0, 1)?;
        let summary = {
            let mut sink = MatchSink { set: &mut set };
            client
                .run(&query, &mut sink, control, &mut export_progress)
                .await?
        };
        tally.add(&set);
        summary
    } else {
        let mut spool = Spool::create(&options.temp_dir, partitions)?;
        let summary = client
            .run(&query, &mut spool, control, &mut export_progress)
            .await?;
        spool.flush()?;
        for partition in 0..partitions {
            if control.is_cancelled() {
                return Err(VerifyError::Export(ExportError::Cancelled));
            }
            progress(&VerifyProgress::Comparing {
                done: partition,
                of: partitions,
            });
            let mut set = AcceptedSet::load(&keys_path, partition, partitions)?;
            spool.replay(partition, &mut set)?;
            tally.add(&set);
        }
        summary
    };
    result.export_events = summary.lines;
    result.unreadable_lines = summary.unreadable_lines;
    result.queries = summary.queries;
    result.rate_limited = summary.rate_limited;
    result.budget = summary.budget;
    result.found = tally.found;
    result.missing = tally.unique - tally.found;
    result.duplicates_in_run = tally.duplicates;
    result.export_duplicates = tally.matched_lines - tally.found;
    result.other_events = tally.other_lines;
    if tally.entries != report.imported {
        result.notes.push(format!(
            "the record of accepted events holds {} events where the run reported {} accepted",
            tally.entries, report.imported
        ));
    }
    let mut by_event: Vec<EventVerification> = tally
        .by_name
        .iter()
        .map(|(name, (accepted, found))| EventVerification {
            event: name.clone(),
            accepted: *accepted,
            found: *found,
            missing: accepted - found,
        })
        .collect();
    by_event.sort_by(|a, b| b.missing.cmp(&a.missing).then(a.event.cmp(&b.event)));
    result.by_event = by_event;

    let mut missing: Vec<(u64, String)> = tally.missing.into_vec();
    missing.sort_unstable();
    result.missing_rows_truncated = result.missing > missing.len() as u64;
    result.missing_rows = missing.iter().map(|(row, _)| *row).collect();

    result.verdict = if result.missing == 0 {
        Verdict::AllFound
    } else {
        let window = options.processing_window.as_millis() as u64;
        match since_import {
            Some(ms) if ms < window => {
                let left = Duration::from_millis(window - ms);
                result.check_again_in_secs = Some(left.min(MAX_CHECK_AGAIN).as_secs().max(60));
                Verdict::NotYetVisible
            }
            _ => Verdict::Missing,
        }
    };
    if result.found == 0 && result.other_events > 0 {
        result.notes.push(format!(
            "the export has {} events with this run's {} but none with the times and ids sent: if the project was created before 2023, Mixpanel may store its times in the project's time zone",
            result.other_events,
            if result.query.where_expression.is_some() { "label" } else { "event names" }
        ));
    }
    if !missing.is_empty() {
        progress(&VerifyProgress::ReadingSource);
        read_source_rows(report, &missing, options, &mut result);
    }
    Ok(result)
}

/// [`verify_run`] on a runtime of its own, for callers that are not async.
pub fn verify_run_blocking(
    report: &RunReport,
    client: &mut ExportClient,
    options: &VerifyOptions,
    control: &RunControl,
    progress: &mut dyn FnMut(&VerifyProgress),
) -> Result<Verification, VerifyError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| VerifyError::Export(ExportError::Http(e.to_string())))?;
    runtime.block_on(verify_run(report, client, options, control, progress))
}

/// Which partition a key belongs to (the key's top bits, uniformly).
fn partition_of(key: u64, partitions: usize) -> usize {
    ((u128::from(key) * partitions as u128) >> 64) as usize
}

/// One partition of a run's accepted events, deduplicated by key, sorted by key.
struct AcceptedSet {
    keys: Vec<u64>,
    rows: Vec<u64>,
    names: Vec<u32>,
    found: Vec<bool>,
    /// Every name of the record (by index).
    name_list: Vec<String>,
    /// Entries of the whole record (all partitions).
    entries: u64,
    /// Entries of this partition that repeat a key.
    duplicates: u64,
    found_count: u64,
    matched_lines: u64,
    other_lines: u64,
}

impl AcceptedSet {
    fn load(path: &Path, partition: usize, partitions: usize) -> Result<Self, VerifyError> {
        let mut reader = AcceptedReader::open(path)?;
        let io = |source| {
            VerifyError::Record(RecordError::Io {
                path: path.to_owned(),
                source,
            })
        };
        let mut all: Vec<(u64, u64, u32)> = Vec::new();
        let mut entries = 0u64;
        while let Some(entry) = reader.next_entry().map_err(io)? {
            entries += 1;
            if partition_of(entry.key, partitions) == partition {
                all.push((entry.key, entry.row, entry.name));
            }
        }
        all.sort_unstable();
        let before = all.len();
        all.dedup_by_key(|e| e.0);
        let duplicates = (before - all.len()) as u64;
        let mut set = AcceptedSet {
            keys: Vec::with_capacity(all.len()),
            rows: Vec::with_capacity(all.len()),
            names: Vec::with_capacity(all.len()),
            found: vec![false; all.len()],
            name_list: reader.names().to_vec(),
            entries,
            duplicates,
            found_count: 0,
            matched_lines: 0,
            other_lines: 0,
        };
        for (key, row, name) in all {
            set.keys.push(key);
            set.rows.push(row);
            set.names.push(name);
        }
        Ok(set)
    }

    fn restart(&mut self) {
        self.found.iter_mut().for_each(|f| *f = false);
        self.found_count = 0;
        self.matched_lines = 0;
        self.other_lines = 0;
    }

    fn mark(&mut self, key: u64) {
        match self.keys.binary_search(&key) {
            Ok(i) => {
                self.matched_lines += 1;
                if !self.found[i] {
                    self.found[i] = true;
                    self.found_count += 1;
                }
            }
            Err(_) => self.other_lines += 1,
        }
    }
}

fn key_of(event: &ExportedEvent<'_>) -> u64 {
    event_key(
        event.event,
        event.distinct_id,
        event.time_secs,
        event.insert_id,
    )
}

/// Matches exported events against one in-memory partition.
struct MatchSink<'a> {
    set: &'a mut AcceptedSet,
}

impl ExportSink for MatchSink<'_> {
    fn restart(&mut self) {
        self.set.restart();
    }
    fn event(&mut self, event: &ExportedEvent<'_>) {
        self.set.mark(key_of(event));
    }
}

/// Exported keys spooled to one file per partition (8 bytes each); removed when dropped.
struct Spool {
    dir: PathBuf,
    writers: Vec<BufWriter<File>>,
    error: Option<std::io::Error>,
}

impl Spool {
    fn create(parent: &Path, partitions: usize) -> Result<Self, VerifyError> {
        let dir = parent.join(format!(
            "mixport-verify-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let spool_error = |source| VerifyError::Spool {
            path: parent.to_owned(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(spool_error)?;
        let mut spool = Spool {
            dir,
            writers: Vec::new(),
            error: None,
        };
        for p in 0..partitions {
            let file = File::create(spool.path(p)).map_err(spool_error)?;
            spool
                .writers
                .push(BufWriter::with_capacity(64 * 1024, file));
        }
        Ok(spool)
    }

    fn path(&self, partition: usize) -> PathBuf {
        self.dir.join(format!("{partition}.keys"))
    }

    fn flush(&mut self) -> Result<(), VerifyError> {
        let mut result = self.error.take().map_or(Ok(()), Err);
        for writer in &mut self.writers {
            if result.is_ok() {
                result = writer.flush();
            }
        }
        result.map_err(|source| VerifyError::Spool {
            path: self.dir.clone(),
            source,
        })
    }

    fn replay(&self, partition: usize, set: &mut AcceptedSet) -> Result<(), VerifyError> {
        let spool_error = |source| VerifyError::Spool {
            path: self.dir.clone(),
            source,
        };
        let mut input = BufReader::with_capacity(
            64 * 1024,
            File::open(self.path(partition)).map_err(spool_error)?,
        );
        let mut key = [0u8; 8];
        loop {
            match input.read_exact(&mut key) {
                Ok(()) => set.mark(u64::from_le_bytes(key)),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(spool_error(e)),
            }
        }
    }
}

impl ExportSink for Spool {
    fn restart(&mut self) {
        for p in 0..self.writers.len() {
            match File::create(self.path(p)) {
                Ok(file) => self.writers[p] = BufWriter::with_capacity(64 * 1024, file),
                Err(e) => self.error = Some(e),
            }
        }
    }
    fn event(&mut self, event: &ExportedEvent<'_>) {
        let key = key_of(event);
        let partition = partition_of(key, self.writers.len());
        if let Err(e) = self.writers[partition].write_all(&key.to_le_bytes())
            && self.error.is_none()
        {
            self.error = Some(e);
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Totals over partitions.
#[derive(Default)]
struct Tally {
    entries: u64,
    unique: u64,
    duplicates: u64,
    found: u64,
    matched_lines: u64,
    other_lines: u64,
    /// Name → (accepted, found).
    by_name: BTreeMap<String, (u64, u64)>,
    /// The smallest missing rows with their event names (a max-heap, capped).
    missing: BinaryHeap<(u64, String)>,
}

impl Tally {
    fn add(&mut self, set: &AcceptedSet) {
        self.entries = set.entries;
        self.unique += set.keys.len() as u64;
        self.duplicates += set.duplicates;
        self.found += set.found_count;
        self.matched_lines += set.matched_lines;
        // A spooled line is replayed only into its own partition, so nothing counts twice.
        self.other_lines += set.other_lines;
        let name_of = |i: u32| {
            set.name_list
                .get(i as usize)
                .cloned()
                .unwrap_or_else(|| keys::OTHER_EVENT_NAMES.to_owned())
        };
        let mut per_name: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        for i in 0..set.keys.len() {
            let entry = per_name.entry(set.names[i]).or_default();
            entry.0 += 1;
            if set.found[i] {
                entry.1 += 1;
            } else {
                let row = set.rows[i];
                if self.missing.len() < MAX_MISSING_ROWS {
                    self.missing.push((row, name_of(set.names[i])));
                } else if self.missing.peek().is_some_and(|(top, _)| row < *top) {
                    self.missing.pop();
                    self.missing.push((row, name_of(set.names[i])));
                }
            }
        }
        for (name, (accepted, found)) in per_name {
            let entry = self.by_name.entry(name_of(name)).or_default();
            entry.0 += accepted;
            entry.1 += found;
        }
    }
}

/// Fill the sample of missing rows (and the CSV) from the source file, when it is still the
/// file that was imported.
fn read_source_rows(
    report: &RunReport,
    missing: &[(u64, String)],
    options: &VerifyOptions,
    result: &mut Verification,
) {
    let bare = |missing: &[(u64, String)], take: usize| -> Vec<SourceRow> {
        missing
            .iter()
            .take(take)
            .map(|(row, event)| SourceRow {
                row: *row,
                event: event.clone(),
                values: serde_json::Map::new(),
            })
            .collect()
    };
    let path = PathBuf::from(&report.file);
    if !path.is_file() {
        result.source_note = Some(format!(
            "{} is no longer there, so the rows are listed by number only",
            report.file
        ));
        result.sample_missing = bare(missing, options.sample_rows);
        return;
    }
    if let Some(expected) = &report.file_fingerprint
        && crate::pipeline::journal::fingerprint(&path).ok().as_ref() != Some(expected)
    {
        result.source_note = Some(format!(
            "{} changed since the import, so the rows are listed by number only",
            report.file
        ));
        result.sample_missing = bare(missing, options.sample_rows);
        return;
    }
    match source_rows(&path, missing, options) {
        Ok((rows, file)) => {
            result.sample_missing = rows;
            result.missing_file = file;
        }
        Err(message) => {
            result.source_note = Some(message);
            result.sample_missing = bare(missing, options.sample_rows);
        }
    }
}

fn source_rows(
    path: &Path,
    missing: &[(u64, String)],
    options: &VerifyOptions,
) -> Result<(Vec<SourceRow>, Option<String>), String> {
    let sniff = source::sniff(path, &options.source_options).map_err(|e| e.to_string())?;
    let mut reader = source::open(&sniff).map_err(|e| e.to_string())?;
    let mut writer = match &options.missing_out {
        Some(out) => Some(
            crate::pipeline::rejected::RejectedWriter::create(out, &sniff.columns)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let last = missing.last().map_or(0, |(row, _)| *row);
    let mut record = Record::default();
    let mut sample = Vec::new();
    let mut text = String::new();
    let mut cells: Vec<String> = Vec::new();
    while reader.read_into(&mut record).map_err(|e| e.to_string())? {
        if record.row > last {
            break;
        }
        let Ok(i) = missing.binary_search_by_key(&record.row, |(row, _)| *row) else {
            continue;
        };
        cells.clear();
        for cell in &record.cells {
            crate::pipeline::rejected::cell_original_text(cell, &mut text);
            cells.push(text.clone());
        }
        if let Some(w) = writer.as_mut() {
            w.write_cells(
                record.row,
                &cells,
                "",
                "accepted by Mixpanel but not found in its export",
                crate::pipeline::rejected::RejectionOrigin::NotFound,
            )
            .map_err(|e| e.to_string())?;
        }
        if sample.len() < options.sample_rows {
            let values = sniff
                .columns
                .iter()
                .zip(&cells)
                .filter(|(_, v)| !v.is_empty())
                .map(|(c, v)| (c.clone(), serde_json::Value::String(v.clone())))
                .collect();
            sample.push(SourceRow {
                row: record.row,
                event: missing[i].1.clone(),
                values,
            });
        } else if writer.is_none() {
            break;
        }
    }
    let file = match writer {
        Some(w) => {
            w.finish().map_err(|e| e.to_string())?;
            options
                .missing_out
                .as_ref()
                .map(|p| p.display().to_string())
        }
        None => None,
    };
    Ok((sample, file))
}

/// A verification's summary in one sentence for people.
pub fn describe(result: &Verification) -> String {
    let label = result
        .label
        .as_deref()
        .map(|l| format!(" \"{l}\""))
        .unwrap_or_default();
    match result.verdict {
        Verdict::AllFound if result.accepted == 0 => {
            format!("Run{label} delivered no events, so there is nothing to look for in Mixpanel.")
        }
        Verdict::AllFound => format!(
            "All {} events of run{label} are in Mixpanel.",
            thousands(result.found + result.duplicates_in_run)
        ),
        Verdict::NotYetVisible => format!(
            "{} of {} events of run{label} are in Mixpanel; {} are not visible yet. Mixpanel can take up to an hour to make imported events visible to its export; check again in {}.",
            thousands(result.found),
            thousands(result.found + result.missing),
            thousands(result.missing),
            crate::mixpanel::export_budget::describe_wait(
                result.check_again_in_secs.unwrap_or(600)
            )
        ),
        Verdict::Missing => format!(
            "{} of {} events of run{label} are missing from Mixpanel {} after the import (found: {}).",
            thousands(result.missing),
            thousands(result.found + result.missing),
            result.minutes_since_import.map_or("well".to_owned(), |m| {
                crate::mixpanel::export_budget::describe_wait(m * 60)
            }),
            thousands(result.found)
        ),
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keys::{AcceptedWriter, EventNames, SentEvent};

    #[test]
    fn partitions_split_the_key_space_evenly() {
        assert_eq!(partition_of(0, 4), 0);
        assert_eq!(partition_of(u64::MAX, 4), 3);
        assert_eq!(partition_of(u64::MAX / 2, 2), 0);
        assert_eq!(partition_of(u64::MAX / 2 + 1, 2), 1);
        assert_eq!(partition_of(12345, 1), 0);
    }

    fn record(path: &Path, events: &[(u64, &str, i64, &str)]) {
        let mut names = EventNames::default();
        let mut writer = AcceptedWriter::create(path).unwrap();
        for (row, name, secs, id) in events {
            let event = SentEvent {
                row: *row,
                key: event_key(name, "u", *secs, id),
                time_ms: secs * 1000,
                name: names.index_of(name),
            };
            writer.record(&event, &names.list()).unwrap();
        }
        writer.finish(&names.list()).unwrap();
    }

    #[test]
    fn sets_deduplicate_keys_and_count_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.keys");
        record(
            &path,
            &[
                (2, "A", 100, "a"),
                (3, "A", 100, "a"), // an exact copy: Mixpanel keeps one
                (4, "B", 101, "b"),
                (5, "B", 102, "c"),
            ],
        );
        let mut set = AcceptedSet::load(&path, 0, 1).unwrap();
        assert_eq!(set.keys.len(), 3);
        assert_eq!(set.duplicates, 1);
        assert_eq!(set.entries, 4);
        let a = event_key("A", "u", 100, "a");
        set.mark(a);
        set.mark(a);
        set.mark(event_key("Z", "u", 1, "z"));
        assert_eq!(set.found_count, 1);
        assert_eq!(set.matched_lines, 2);
        assert_eq!(set.other_lines, 1);
        // An answer cut off and asked again: what the first attempt found is forgotten.
        set.restart();
        assert_eq!(
            (set.found_count, set.matched_lines, set.other_lines),
            (0, 0, 0)
        );
        assert!(set.found.iter().all(|f| !f));
        set.mark(a);
        let mut tally = Tally::default();
        tally.add(&set);
        assert_eq!(tally.by_name["A"], (1, 1));
        assert_eq!(tally.by_name["B"], (2, 0));
        let mut missing: Vec<u64> = tally.missing.into_iter().map(|(r, _)| r).collect();
        missing.sort_unstable();
        assert_eq!(missing, [4, 5]);
        // Partitions cover every entry exactly once.
        let parts: usize = (0..3)
            .map(|p| AcceptedSet::load(&path, p, 3).unwrap().keys.len())
            .sum();
        assert_eq!(parts, 3);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
