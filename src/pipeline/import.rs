//! The live import: transform, batch, send with flow control, record every outcome.
//!
//! Three parts run at once:
//!
//! - a **reader** thread: source → [`Transformer::transform`] → [`Batcher`]. Rows that fail
//!   local validation are never sent: they are counted and written to `REJECTED.csv`. Rows the
//!   resume journal lists as acknowledged are skipped after reading, before the transform.
//!   Full batches go into a bounded channel, so memory stays flat in the file's size.
//! - a **dispatcher** on a tokio runtime: takes batches from the channel while fewer than the
//!   adaptive limit are in flight (and not paused), and runs each through
//!   [`MixpanelClient::import_batch`].
//! - the **collector** (the calling thread): tallies each batch's outcome, writes Mixpanel's
//!   rejections to `REJECTED.csv` with the rows' original values (kept only for batches in
//!   flight), appends acknowledged row ranges to the journal, and reports [`Progress`] at most
//!   ~5 times a second.
//!
//! Cancel stops reading and sending: in-flight requests finish and are recorded, queued batches
//! are not sent, and the rest of the file is only counted, so the report still covers every row
//! (unsent rows count as `skipped`, and `--resume` sends them later). A fatal error (401/403)
//! stops everything at once.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::mapping::transform::row::RowTransformer;
use crate::mapping::transform::{TransformOptions, Transformed};
use crate::mapping::{ImportKind, Mapping};
use crate::mixpanel::batch::{Batch, BatchEvent, Batcher};
use crate::mixpanel::client::{BatchOutcome, MixpanelClient};
use crate::mixpanel::flow::{DEFAULT_WORKERS, Flow};
use crate::source::{self, Cell, Record, RecordReader, Sniff};

use super::journal::{self, Acknowledged, Journal, JournalKey, rows_to_ranges};
use super::rejected::{RejectedWriter, RejectionOrigin};
use super::report::{RunReport, now_rfc3339};
use super::rows::{PROGRESS_INTERVAL, ProgressClock, RowSink, run_rows};
use super::{Phase, PipelineError, Progress, RunControl};
use crate::verify::keys::{
    AcceptedWriter, EventNames, NameList, SentEvent, distinct_id_as_exported, event_key, time_secs,
};

/// Settings of an import run.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// Requests in flight at most (1 to 20; default 10).
    pub workers: usize,
    /// Write rejected rows (local and Mixpanel's) to this CSV.
    pub failed_out: Option<PathBuf>,
    /// Skip rows an earlier run of the same file, mapping and project already delivered.
    pub resume: bool,
    /// Where journals and reports live; `None` keeps no journal (no resume possible).
    pub data_dir: Option<PathBuf>,
    /// Clock and retention for the time rules.
    pub transform: TransformOptions,
    /// Cooldown between two concurrency decreases on 429s.
    pub rate_limit_cooldown: Duration,
    /// What the run report records about the run's identity (label, generation, connection).
    pub run: RunMeta,
}

/// What a run report records about who ran the import and how its events can be found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMeta {
    /// The saved connection used, when one was.
    pub connection: Option<String>,
    /// The import label's property and value (set by [`run_import`] from the mapping).
    pub label: Option<(String, String)>,
    /// The insert-id generation (set by [`run_import`] from the mapping).
    pub insert_id_generation: u32,
    /// The run's id in the run history.
    pub run_id: String,
    /// The run's own folder: the record of accepted events ([`ACCEPTED_KEYS_FILE`]) and the
    /// report ([`REPORT_FILE`]) are kept there, for verification. `None` keeps neither.
    pub run_dir: Option<std::path::PathBuf>,
}

/// The record of accepted events in a run's folder.
pub const ACCEPTED_KEYS_FILE: &str = "accepted.keys";
/// The run report in a run's folder.
pub const REPORT_FILE: &str = "report.json";

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            workers: DEFAULT_WORKERS,
            failed_out: None,
            resume: false,
            data_dir: journal::data_dir(),
            transform: TransformOptions::now(),
            rate_limit_cooldown: Duration::from_secs(2),
            run: RunMeta::default(),
        }
    }
}

/// Import the file described by `sniff` with `mapping` through `client`.
///
/// Returns the run report (also when the run was cancelled or stopped by a 401: see its
/// `cancelled` and `error`). Fails only when the file, the mapping or an output file cannot be
/// used at all.
pub fn run_import(
    sniff: &Sniff,
    mapping: &Mapping,
    client: MixpanelClient,
    settings: &ImportSettings,
    control: &RunControl,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunReport, PipelineError> {
    let mut transformer = RowTransformer::new(mapping, &sniff.columns, settings.transform)?;
    if (transformer.kind() == ImportKind::Profiles) != client.sends_profiles() {
        return Err(PipelineError::Fatal(format!(
            "the mapping is for {} but the connection was set up for {}",
            transformer.kind().noun(),
            if client.sends_profiles() {
                ImportKind::Profiles.noun()
            } else {
                ImportKind::Events.noun()
            }
        )));
    }
    super::guard_failed_out(&sniff.path, settings.failed_out.as_deref())?;
    let reader = source::open(sniff)?;
    let key = match &settings.data_dir {
        Some(_) => Some(JournalKey {
            file_fingerprint: journal::fingerprint(&sniff.path).map_err(|source| {
                PipelineError::Source(source::SourceError::Io {
                    path: sniff.path.clone(),
                    source,
                })
            })?,
            mapping_hash: mapping.content_hash(),
            target: client.target_label(),
        }),
        None => None,
    };
    let input = ImportInput {
        file: sniff.path.clone(),
        columns: sniff.columns.clone(),
        total_bytes: sniff.file_size,
        reader,
        journal_key: key,
    };
    let mut settings = settings.clone();
    settings.run.label = mapping
        .constants
        .get(crate::mapping::IMPORT_LABEL_PROPERTY)
        .and_then(|v| v.as_str())
        .filter(|l| !l.is_empty())
        .map(|l| {
            (
                crate::mapping::IMPORT_LABEL_PROPERTY.to_owned(),
                l.to_owned(),
            )
        });
    settings.run.insert_id_generation = mapping.insert_id_generation;
    let report = run_with(
        input,
        &mut |record: &Record, out: &mut Transformed| transformer.transform(record, out),
        client,
        &settings,
        control,
        progress,
    )?;
    Ok(report)
}

/// What [`run_with`] reads: any record stream (tests use an in-memory one).
pub struct ImportInput {
    /// The file (for the report and the journal header).
    pub file: PathBuf,
    /// The source's columns (for `REJECTED.csv`).
    pub columns: Vec<String>,
    /// The file's size, for the fraction done.
    pub total_bytes: u64,
    /// The records.
    pub reader: Box<dyn RecordReader>,
    /// The journal key; `None` keeps no journal.
    pub journal_key: Option<JournalKey>,
}

/// One batch on its way: the events plus, for each, its source row and original cells.
struct Work {
    batch: Batch,
    originals: Originals,
}

/// A finished batch, back at the collector.
struct Done {
    originals: Originals,
    outcome: BatchOutcome,
}

/// The original cell texts and rows of a batch's events, packed in one string.
#[derive(Default)]
struct Originals {
    text: String,
    /// End offset in `text` of each cell, `columns` per event.
    ends: Vec<usize>,
    rows: Vec<u64>,
    /// What the record of accepted events keeps of each event.
    sent: Vec<SentEvent>,
    columns: usize,
}

impl Originals {
    fn new(columns: usize) -> Self {
        Self {
            columns,
            ..Self::default()
        }
    }

    fn push(&mut self, record: &Record, sent: SentEvent) {
        self.sent.push(sent);
        for i in 0..self.columns {
            match record.cells.get(i) {
                None | Some(Cell::Missing) | Some(Cell::Json(serde_json::Value::Null)) => {}
                Some(Cell::Text(s)) | Some(Cell::InvalidUtf8(s)) => self.text.push_str(s),
                Some(Cell::Json(serde_json::Value::String(s))) => self.text.push_str(s),
                Some(Cell::Json(v)) => {
                    let _ = write!(self.text, "{v}");
                }
            }
            self.ends.push(self.text.len());
        }
        self.rows.push(record.row);
    }

    fn cells(&self, event: usize) -> Vec<&str> {
        (0..self.columns)
            .map(|c| {
                let i = event * self.columns + c;
                let start = if i == 0 { 0 } else { self.ends[i - 1] };
                &self.text[start..self.ends[i]]
            })
            .collect()
    }

    fn len(&self) -> usize {
        self.rows.len()
    }
}

/// Counters the reader and dispatcher update and the collector reads.
#[derive(Default)]
struct Shared {
    rows_read: AtomicU64,
    bytes_read: AtomicU64,
    valid: AtomicU64,
    rejected_local: AtomicU64,
    skipped_resumed: AtomicU64,
    /// Rows Mixpanel rejected in an earlier run (resume): counted as rejected, not skipped.
    rejected_earlier: AtomicU64,
    /// Valid rows read but never sent (cancel): queued batches, the partial batch, the rest of
    /// the file.
    not_sent: AtomicU64,
    sent: AtomicU64,
    reader_done: AtomicBool,
}

/// Run an import over `input`, transforming each record with `transform`.
pub fn run_with(
    input: ImportInput,
    transform: &mut (dyn FnMut(&Record, &mut Transformed) + Send),
    client: MixpanelClient,
    settings: &ImportSettings,
    control: &RunControl,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunReport, PipelineError> {
    let started = ProgressClock::new();
    let started_at = now_rfc3339();
    let mut report = RunReport {
        kind: if client.sends_profiles() {
            ImportKind::Profiles
        } else {
            ImportKind::Events
        },
        file: input.file.display().to_string(),
        region: client.region().code().to_owned(),
        project_id: client.credentials().project_id().map(str::to_owned),
        api_base: client.api_base_override().map(str::to_owned),
        started_at,
        connection: settings.run.connection.clone(),
        label_property: settings.run.label.as_ref().map(|(p, _)| p.clone()),
        label: settings.run.label.as_ref().map(|(_, l)| l.clone()),
        insert_id_generation: settings.run.insert_id_generation,
        file_fingerprint: input
            .journal_key
            .as_ref()
            .map(|k| k.file_fingerprint.clone()),
        ..RunReport::default()
    };

    // The run's folder: a record of every accepted event, for verification.
    report.run_id = settings.run.run_id.clone();
    // (Events only: the export that verification reads back has no user profiles.)
    let accepted_writer = match settings
        .run
        .run_dir
        .as_ref()
        .filter(|_| !client.sends_profiles())
    {
        Some(dir) => {
            let path = dir.join(ACCEPTED_KEYS_FILE);
            let writer = AcceptedWriter::create(&path)
                .map_err(|source| PipelineError::Output { path, source })?;
            report.accepted_keys = Some(writer.path().display().to_string());
            Some(writer)
        }
        None => None,
    };
    let event_names = EventNames::default();
    let name_list = event_names.list();

    // The journal: load what an earlier run acknowledged, then open for appending.
    let mut acknowledged = Acknowledged::default();
    let mut journal: Option<Journal> = None;
    let mut report_path = None;
    if let (Some(key), Some(dir)) = (&input.journal_key, &settings.data_dir) {
        let path = key.journal_path(dir);
        report_path = Some(key.report_path(dir));
        let journal_error = |e: journal::JournalError| PipelineError::Output {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        };
        let loaded = if settings.resume {
            match journal::load(&path, key) {
                Ok(found) => found,
                Err(journal::JournalError::Mismatch { .. }) => None,
                Err(e) => return Err(journal_error(e)),
            }
        } else {
            None
        };
        match loaded {
            Some(ack) => {
                acknowledged = ack;
                journal = Some(Journal::append_to(&path).map_err(journal_error)?);
            }
            None => {
                if settings.resume
                    && let Some(old) = journal::changed_since(dir, key, &input.file)
                {
                    return Err(PipelineError::FileChanged {
                        path: input.file.clone(),
                        acknowledged_rows: old.acknowledged_rows,
                    });
                }
                if settings.resume {
                    report.notes.push(
                        "asked to resume, but no earlier run of this file, mapping and project was found: every row is imported".to_owned(),
                    );
                }
                journal = Some(Journal::create(&path, key, &input.file).map_err(journal_error)?);
            }
        }
        report.journal = Some(path.display().to_string());
    }

    let rejected_writer = match &settings.failed_out {
        Some(path) => Some(Mutex::new(RejectedWriter::create(path, &input.columns)?)),
        None => None,
    };
    report.rejected_file = settings
        .failed_out
        .as_ref()
        .map(|p| p.display().to_string());

    let flow = Arc::new(Flow::with_cooldown(
        settings.workers,
        control.clone(),
        settings.rate_limit_cooldown,
    ));
    let shared = Shared::default();
    let columns = input.columns.len();
    let total_bytes = input.total_bytes;
    let (work_tx, work_rx) = tokio::sync::mpsc::channel::<Work>(flow.limit.max().max(2));
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| PipelineError::Fatal(format!("cannot start the network runtime: {e}")))?;

    let mut reader_error: Option<PipelineError> = None;
    let mut local_write_error: Option<PipelineError> = None;
    let mut collector = Collector {
        report: &mut report,
        journal: &mut journal,
        rejected: rejected_writer.as_ref(),
        accepted: accepted_writer,
        names: name_list.clone(),
        write_error: None,
    };

    std::thread::scope(|scope| {
        // Reader.
        let reader_handle = {
            let shared = &shared;
            let flow = flow.clone();
            let acknowledged = &acknowledged;
            let rejected = rejected_writer.as_ref();
            let mut reader = input.reader;
            let local_write_error = &mut local_write_error;
            let mut event_names = event_names;
            scope.spawn(move || {
                let result = read_loop(
                    reader.as_mut(),
                    transform,
                    columns,
                    &mut event_names,
                    acknowledged,
                    rejected,
                    shared,
                    &flow,
                    work_tx,
                    local_write_error,
                );
                shared.reader_done.store(true, Ordering::SeqCst);
                result
            })
        };
        // Dispatcher.
        {
            let flow = flow.clone();
            let shared = &shared;
            let runtime = &runtime;
            scope.spawn(move || {
                runtime.block_on(dispatch(work_rx, done_tx, client, flow, shared));
            });
        }
        // Collector (this thread).
        let mut clock = ProgressClock::new();
        loop {
            match done_rx.recv_timeout(PROGRESS_INTERVAL) {
                Ok(done) => collector.record(done, &flow),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let settled = collector.report.imported + collector.report.rejected_server;
            if let Some(rate) = clock.tick(settled) {
                progress(&snapshot(
                    &shared,
                    collector.report,
                    &flow,
                    total_bytes,
                    &clock,
                    rate,
                    false,
                ));
            }
        }
        match reader_handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => reader_error = Some(e),
            Err(_) => {
                reader_error = Some(PipelineError::Fatal(
                    "the file reader stopped unexpectedly".to_owned(),
                ))
            }
        }
    });
    runtime.shutdown_background();

    let mut write_error = collector.write_error.take().or(local_write_error);
    if let Some(writer) = collector.accepted.take() {
        let path = writer.path().to_owned();
        match writer.finish(&name_list) {
            Ok(summary) => {
                let time = |ms: i64| {
                    chrono::DateTime::from_timestamp_millis(ms)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                };
                if let Some((first, last)) = summary.time_range_ms {
                    report.first_event_time = time(first);
                    report.last_event_time = time(last);
                }
                report.accepted_by_event = summary.by_event;
                report.accepted_by_day = summary.by_day;
            }
            Err(source) => {
                write_error.get_or_insert(PipelineError::Output { path, source });
            }
        }
    }
    let mut journal = journal;
    if let Some(writer) = rejected_writer {
        let writer = writer.into_inner().unwrap_or_else(|e| e.into_inner());
        // After a write error the file is incomplete: it is not put in place.
        if write_error.is_none()
            && let Err(e) = writer.finish()
        {
            write_error = Some(e);
        }
    }
    if let Some(e) = write_error {
        // An output could not be written (a full disk): the run stopped sending, and the
        // report still says what was and was not sent.
        report.error = Some(format!(
            "{e}. Sending stopped: the report says what was imported and what was not sent;              free some space and run the same command with --resume to send the rest"
        ));
        report.rejected_file = None;
    }

    // Final counts.
    report.rejected_local = shared.rejected_local.load(Ordering::SeqCst);
    report.rejected_server += shared.rejected_earlier.load(Ordering::SeqCst);
    report.rejected = report.rejected_local + report.rejected_server;
    report.not_sent += shared.not_sent.load(Ordering::SeqCst);
    report.skipped = shared.skipped_resumed.load(Ordering::SeqCst) + report.not_sent;
    // Rows read, counted as they are read: the identity below is a real check.
    report.rows = shared.rows_read.load(Ordering::SeqCst);
    report.retries = flow.retries();
    report.rate_limited = flow.rate_limited();
    report.cancelled = control.is_cancelled();
    report.elapsed_secs = started.elapsed_secs();
    report.events_per_sec = if report.elapsed_secs > 0.0 {
        report.imported as f64 / report.elapsed_secs
    } else {
        0.0
    };
    report.finished_at = now_rfc3339();
    if report.kind == ImportKind::Profiles && report.failed > 0 {
        report.notes.push(format!(
            "{} profile updates could not be delivered. Sending them again later applies them after the later rows of the same users that were delivered, so a user whose ID appears again further down the file would get this row's values back.",
            report.failed
        ));
    }
    if let Some(e) = reader_error {
        match e {
            // A broken file mid-way stops the run; what was sent is recorded.
            PipelineError::Source(err) => report.error = Some(err.to_string()),
            other => return Err(other),
        }
    }
    let accounted = report.imported + report.rejected + report.failed + report.skipped;
    if report.rows != accounted {
        report.notes.push(format!(
            "internal count mismatch: {} rows read, {accounted} accounted for",
            report.rows
        ));
    }
    if let Some(mut open) = journal.take() {
        let clean = report.error.is_none()
            && !report.cancelled
            && report.failed == 0
            && report.not_sent == 0;
        let result = if clean { open.complete() } else { open.sync() };
        if let Err(e) = result {
            report.notes.push(e.to_string());
        }
    }
    progress(&snapshot(
        &shared,
        &report,
        &flow,
        total_bytes,
        &started,
        report.events_per_sec,
        true,
    ));
    if let Some(path) = report_path {
        // The report next to the journal; a failure here is not worth failing the run.
        if let Err(e) = report.save(&path) {
            report
                .notes
                .push(format!("could not save the run report: {e}"));
        }
    }
    if let Some(dir) = &settings.run.run_dir
        && let Err(e) = report.save(&dir.join(REPORT_FILE))
    {
        report
            .notes
            .push(format!("could not save the run in the history: {e}"));
    }
    Ok(report)
}

fn snapshot(
    shared: &Shared,
    report: &RunReport,
    flow: &Flow,
    total_bytes: u64,
    clock: &ProgressClock,
    rate: f64,
    finished: bool,
) -> Progress {
    let bytes_read = shared.bytes_read.load(Ordering::Relaxed);
    let elapsed = clock.elapsed_secs();
    let phase = if finished {
        Phase::Finished
    } else if flow.control.is_paused() {
        Phase::Paused
    } else if flow.retrying() > 0 {
        Phase::Retrying
    } else {
        Phase::Running
    };
    let eta_secs = if finished {
        None
    } else {
        clock.eta_secs(bytes_read, total_bytes)
    };
    Progress {
        phase,
        rows_read: shared.rows_read.load(Ordering::Relaxed),
        bytes_read,
        total_bytes,
        valid: shared.valid.load(Ordering::Relaxed),
        invalid: shared.rejected_local.load(Ordering::Relaxed),
        already_sent: shared.skipped_resumed.load(Ordering::Relaxed),
        sent: shared.sent.load(Ordering::Relaxed),
        accepted: report.imported,
        rejected_by_server: report.rejected_server + report.failed,
        retrying: flow.retrying(),
        bytes_sent: report.bytes_sent,
        rate_per_sec: rate,
        eta_secs,
        elapsed_secs: elapsed,
    }
}

/// Tallies outcomes into the report, REJECTED.csv and the journal.
struct Collector<'a> {
    report: &'a mut RunReport,
    journal: &'a mut Option<Journal>,
    rejected: Option<&'a Mutex<RejectedWriter>>,
    accepted: Option<AcceptedWriter>,
    names: NameList,
    write_error: Option<PipelineError>,
}

impl Collector<'_> {
    fn record(&mut self, done: Done, flow: &Flow) {
        let Done { originals, outcome } = done;
        let r = &mut *self.report;
        r.imported += outcome.accepted as u64;
        r.rejected_server += outcome.rejected.len() as u64;
        r.failed += outcome.failed.len() as u64;
        r.not_sent += outcome.unsent.len() as u64;
        r.requests += u64::from(outcome.requests);
        r.bytes_sent += outcome.bytes_sent;
        for note in outcome.notes {
            if r.notes.len() < 50 {
                r.notes.push(note);
            }
        }
        if let Some(fatal) = outcome.fatal
            && r.error.is_none()
        {
            r.error = Some(fatal.to_string());
            r.fatal = Some(fatal);
            flow.stop();
        }
        if let Some(writer) = self.rejected {
            let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
            let problems = outcome
                .rejected
                .iter()
                .map(|p| (p, RejectionOrigin::Mixpanel))
                .chain(
                    outcome
                        .failed
                        .iter()
                        .map(|p| (p, RejectionOrigin::NotDelivered)),
                );
            for (problem, origin) in problems {
                if problem.index >= originals.len() {
                    continue;
                }
                if let Err(e) = writer.write_cells(
                    originals.rows[problem.index],
                    &originals.cells(problem.index),
                    &problem.field,
                    &problem.message,
                    origin,
                ) && self.write_error.is_none()
                {
                    self.write_error = Some(e);
                    flow.stop();
                }
            }
        }
        if let Some(writer) = self.accepted.as_mut() {
            let mut not_accepted: Vec<usize> = outcome
                .rejected
                .iter()
                .chain(&outcome.failed)
                .map(|p| p.index)
                .chain(outcome.unsent.iter().copied())
                .collect();
            not_accepted.sort_unstable();
            let accepted = originals
                .sent
                .iter()
                .enumerate()
                .filter(|(i, _)| not_accepted.binary_search(i).is_err());
            for (_, sent) in accepted {
                if let Err(source) = writer.record(sent, &self.names) {
                    if self.write_error.is_none() {
                        self.write_error = Some(PipelineError::Output {
                            path: writer.path().to_owned(),
                            source,
                        });
                        flow.stop();
                    }
                    break;
                }
            }
        }
        if let Some(journal) = self.journal.as_mut() {
            let rejections: Vec<(u64, &str, &str)> = outcome
                .rejected
                .iter()
                .filter(|p| p.index < originals.len())
                .map(|p| {
                    (
                        originals.rows[p.index],
                        p.field.as_str(),
                        p.message.as_str(),
                    )
                })
                .collect();
            if let Err(e) = journal.record_rejections(&rejections)
                && self.write_error.is_none()
            {
                self.write_error = Some(PipelineError::Output {
                    path: journal.path().to_owned(),
                    source: std::io::Error::other(e.to_string()),
                });
                flow.stop();
            }
            let mut unacknowledged: Vec<usize> = outcome
                .failed
                .iter()
                .map(|p| p.index)
                .chain(outcome.unsent.iter().copied())
                .collect();
            unacknowledged.sort_unstable();
            let ranges = rows_to_ranges(
                originals
                    .rows
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| unacknowledged.binary_search(i).is_err())
                    .map(|(_, row)| *row),
            );
            if let Err(e) = journal.record(&ranges)
                && self.write_error.is_none()
            {
                self.write_error = Some(PipelineError::Output {
                    path: journal.path().to_owned(),
                    source: std::io::Error::other(e.to_string()),
                });
                flow.stop();
            }
        }
    }
}

/// The import's side of the row loop: invalid rows are counted and written, valid ones batched
/// and handed to the dispatcher.
struct ImportSink<'a> {
    /// Rows handed to this sink (transformed or skipped): the rows read.
    rows_seen: u64,
    /// What earlier runs delivered (and which of those Mixpanel rejected).
    acknowledged: &'a Acknowledged,
    columns: usize,
    rejected: Option<&'a Mutex<RejectedWriter>>,
    shared: &'a Shared,
    flow: &'a Flow,
    work_tx: &'a tokio::sync::mpsc::Sender<Work>,
    write_error: &'a mut Option<PipelineError>,
    batcher: Batcher,
    originals: Originals,
    event_names: &'a mut EventNames,
}

impl ImportSink<'_> {
    /// Hand a full batch to the dispatcher; `false` when it is gone (the run stopped).
    fn send(&self, batch: Batch, originals: Originals) -> bool {
        let events = batch.events.len() as u64;
        if self
            .work_tx
            .blocking_send(Work { batch, originals })
            .is_err()
        {
            self.shared.not_sent.fetch_add(events, Ordering::SeqCst);
            return false;
        }
        true
    }
}

impl RowSink for ImportSink<'_> {
    fn row(
        &mut self,
        record: &Record,
        out: &Transformed,
    ) -> Result<ControlFlow<()>, PipelineError> {
        self.rows_seen += 1;
        if !out.is_valid() {
            self.shared.rejected_local.fetch_add(1, Ordering::Relaxed);
            if let Some(writer) = self.rejected {
                let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = writer.write_record(record, &out.issues) {
                    *self.write_error = Some(e);
                    self.flow.stop();
                }
            }
            return Ok(ControlFlow::Continue(()));
        }
        self.shared.valid.fetch_add(1, Ordering::Relaxed);
        let sent = SentEvent {
            row: record.row,
            key: event_key(
                &out.event,
                &distinct_id_as_exported(&out.distinct_id, &out.json),
                time_secs(out.time_ms),
                &out.insert_id,
            ),
            time_ms: out.time_ms,
            name: self.event_names.index_of(&out.event),
        };
        let event = BatchEvent {
            row: record.row,
            // Copies of exact size: `out` keeps its grown buffers for the next record.
            json: out.json.clone(),
            insert_id: out.key().to_owned(),
        };
        if let Some(full) = self.batcher.push(event) {
            // The new event went into a fresh batch: its original cells belong to the next one.
            let mut next = Originals::new(self.columns);
            next.push(record, sent);
            let done = std::mem::replace(&mut self.originals, next);
            if !self.send(full, done) {
                return Ok(ControlFlow::Break(()));
            }
        } else {
            self.originals.push(record, sent);
        }
        Ok(ControlFlow::Continue(()))
    }

    fn skipped(&mut self, record: &Record) {
        self.rows_seen += 1;
        // Rejected by Mixpanel in an earlier run: listed again, so that the rejected-rows file
        // of a resumed run holds every rejected row of the whole import.
        let Some((field, reason)) = self.acknowledged.rejection(record.row) else {
            self.shared.skipped_resumed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.shared.rejected_earlier.fetch_add(1, Ordering::Relaxed);
        if let Some(writer) = self.rejected {
            let cells: Vec<String> = record
                .cells
                .iter()
                .map(|cell| {
                    let mut text = String::new();
                    super::rejected::cell_original_text(cell, &mut text);
                    text
                })
                .collect();
            let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) =
                writer.write_cells(record.row, &cells, field, reason, RejectionOrigin::Mixpanel)
            {
                *self.write_error = Some(e);
                self.flow.stop();
            }
        }
    }

    fn between(&mut self, rows: u64, bytes_read: u64) -> ControlFlow<()> {
        self.shared.rows_read.store(rows, Ordering::Relaxed);
        self.shared.bytes_read.store(bytes_read, Ordering::Relaxed);
        if self.flow.is_stopping() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn read_loop(
    reader: &mut dyn RecordReader,
    transform: &mut (dyn FnMut(&Record, &mut Transformed) + Send),
    columns: usize,
    event_names: &mut EventNames,
    acknowledged: &Acknowledged,
    rejected: Option<&Mutex<RejectedWriter>>,
    shared: &Shared,
    flow: &Flow,
    work_tx: tokio::sync::mpsc::Sender<Work>,
    write_error: &mut Option<PipelineError>,
) -> Result<(), PipelineError> {
    let check_resume = !acknowledged.is_empty();
    let mut sink = ImportSink {
        rows_seen: 0,
        acknowledged,
        columns,
        rejected,
        shared,
        flow,
        work_tx: &work_tx,
        write_error,
        batcher: Batcher::default(),
        originals: Originals::new(columns),
        event_names,
    };
    let read = run_rows(
        reader,
        transform,
        &|row| check_resume && acknowledged.contains(row),
        &mut sink,
    );
    // A file broken mid-way (a truncated gzip) still delivers the rows read before the break:
    // the partial batch is sent below, and the error is returned after.
    let (read, broken) = match read {
        Ok(read) => (Some(read), None),
        Err(e) => (None, Some(e)),
    };
    let rows_read = read.map_or(sink.rows_seen, |read| read.rows);
    shared.rows_read.store(rows_read, Ordering::Relaxed);
    shared
        .bytes_read
        .store(reader.bytes_read(), Ordering::Relaxed);
    let originals = std::mem::take(&mut sink.originals);
    if let Some(last) = sink.batcher.finish() {
        if flow.is_stopping() {
            shared
                .not_sent
                .fetch_add(last.events.len() as u64, Ordering::SeqCst);
        } else {
            sink.send(last, originals);
        }
    }
    drop(sink);
    drop(work_tx);
    if let Some(e) = broken {
        return Err(e);
    }
    // Cancelled (not a fatal error): count the rest of the file so the report covers every row.
    if flow.control.is_cancelled() {
        let mut record = Record::default();
        while reader.read_into(&mut record)? {
            shared.rows_read.fetch_add(1, Ordering::Relaxed);
            if acknowledged.contains(record.row) {
                shared.skipped_resumed.fetch_add(1, Ordering::Relaxed);
            } else {
                shared.not_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        shared
            .bytes_read
            .store(reader.bytes_read(), Ordering::Relaxed);
    }
    Ok(())
}

/// A batch taken from the queue that waits until no batch in flight shares a user with it.
struct Held {
    work: Work,
    keys: HashSet<u64>,
}

/// Hashes of a batch's keys (the `$distinct_id`s of a profile batch).
fn batch_keys(batch: &Batch) -> HashSet<u64> {
    batch
        .events
        .iter()
        .map(|e| xxhash_rust::xxh3::xxh3_64(e.insert_id.as_bytes()))
        .collect()
}

/// Sends batches while fewer than the adaptive limit are in flight (and not paused).
///
/// User profiles are sent in file order per user: Mixpanel applies the updates of one request
/// in order, but two requests in flight at once may land in either order. So a profile batch
/// that shares a `$distinct_id` with a batch in flight is held back until that one is settled;
/// batches of other users pass by as usual (only the held one waits, the queue behind it too).
async fn dispatch(
    mut work_rx: tokio::sync::mpsc::Receiver<Work>,
    done_tx: mpsc::Sender<Done>,
    client: MixpanelClient,
    flow: Arc<Flow>,
    shared: &Shared,
) {
    let ordered = client.sends_profiles();
    let client = Arc::new(client);
    let mut in_flight: tokio::task::JoinSet<Done> = tokio::task::JoinSet::new();
    let mut keys_in_flight: HashMap<tokio::task::Id, HashSet<u64>> = HashMap::new();
    let mut held: Option<Held> = None;
    let mut closed = false;
    let unsent = |work: Work| {
        let outcome = BatchOutcome {
            events: work.batch.events.len(),
            unsent: (0..work.batch.events.len()).collect(),
            ..BatchOutcome::default()
        };
        let _ = done_tx.send(Done {
            originals: work.originals,
            outcome,
        });
    };
    let spawn = |work: Work,
                 keys: HashSet<u64>,
                 in_flight: &mut tokio::task::JoinSet<Done>,
                 keys_in_flight: &mut HashMap<tokio::task::Id, HashSet<u64>>| {
        shared
            .sent
            .fetch_add(work.batch.events.len() as u64, Ordering::Relaxed);
        let client = client.clone();
        let flow = flow.clone();
        let handle = in_flight.spawn(async move {
            let outcome = client.import_batch(work.batch, &flow).await;
            Done {
                originals: work.originals,
                outcome,
            }
        });
        if !keys.is_empty() {
            keys_in_flight.insert(handle.id(), keys);
        }
    };
    loop {
        let room = !flow.control.is_paused() && in_flight.len() < flow.limit.current();
        if let Some(h) = held.take() {
            if flow.is_stopping() {
                unsent(h.work);
            } else if room && keys_in_flight.values().all(|k| k.is_disjoint(&h.keys)) {
                spawn(h.work, h.keys, &mut in_flight, &mut keys_in_flight);
            } else {
                held = Some(h);
            }
        }
        if closed && in_flight.is_empty() && held.is_none() {
            break;
        }
        let stopping = flow.is_stopping();
        let can_take = !closed && held.is_none() && (stopping || room);
        tokio::select! {
            joined = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                match joined {
                    Some(Ok((id, done))) => {
                        keys_in_flight.remove(&id);
                        let _ = done_tx.send(done);
                    }
                    Some(Err(error)) => {
                        keys_in_flight.remove(&error.id());
                    }
                    None => {}
                }
            }
            work = work_rx.recv(), if can_take => {
                match work {
                    None => closed = true,
                    Some(work) if flow.is_stopping() => unsent(work),
                    Some(work) => {
                        let keys = if ordered { batch_keys(&work.batch) } else { HashSet::new() };
                        if keys_in_flight.values().all(|k| k.is_disjoint(&keys)) {
                            spawn(work, keys, &mut in_flight, &mut keys_in_flight);
                        } else {
                            held = Some(Held { work, keys });
                        }
                    }
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mixpanel::auth::{Credentials, Secret};
    use crate::mixpanel::client::{BackoffPolicy, ClientConfig};
    use crate::mixpanel::region::Region;
    use crate::mixpanel::test_server::{TestServer, ok};
    use crate::source::SourceError;
    use crate::validate::{Issue, IssueKind};

    struct VecReader {
        rows: u64,
        next: u64,
    }

    impl RecordReader for VecReader {
        fn read_into(&mut self, record: &mut Record) -> Result<bool, SourceError> {
            if self.next >= self.rows {
                return Ok(false);
            }
            let i = self.next;
            self.next += 1;
            record.row = i + 2;
            let user = if i % 50 == 49 {
                "bad".to_owned()
            } else if i % 50 == 25 {
                "srvbad".to_owned()
            } else {
                format!("user-{}", i % 7)
            };
            record.cells = vec![Cell::Text(user), Cell::Text(format!("value,{i}"))];
            Ok(true)
        }
        fn bytes_read(&self) -> u64 {
            self.next * 10
        }
    }

    fn transform(record: &Record, out: &mut Transformed) {
        out.row = record.row;
        out.issues.clear();
        out.json.clear();
        let Cell::Text(user) = &record.cells[0] else {
            unreachable!()
        };
        if user == "bad" {
            out.issues.push(Issue {
                kind: IssueKind::BannedDistinctId,
                field: "properties.distinct_id".into(),
                column: Some("user".into()),
                row: record.row,
                message: "banned user id".into(),
            });
            return;
        }
        out.insert_id = format!("id{}", record.row);
        out.json.extend_from_slice(
            format!(
                r#"{{"event":"e","properties":{{"distinct_id":"{user}","$insert_id":"{}"}}}}"#,
                out.insert_id
            )
            .as_bytes(),
        );
    }

    /// Answers like strict mode: events of user `srvbad` are rejected.
    fn strict_reply(
        _: usize,
        seen: &crate::mixpanel::test_server::Seen,
    ) -> crate::mixpanel::test_server::Reply {
        let failed: Vec<String> = seen
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("srvbad"))
            .map(|(i, _)| {
                format!(r#"{{"index":{i},"field":"properties.distinct_id","message":"blocked"}}"#)
            })
            .collect();
        if failed.is_empty() {
            ok(seen.lines.len())
        } else {
            Some((
                400,
                vec![],
                format!(
                    r#"{{"code":400,"num_records_imported":{},"failed_records":[{}]}}"#,
                    seen.lines.len() - failed.len(),
                    failed.join(",")
                ),
            ))
        }
    }

    fn client(base: &str) -> MixpanelClient {
        let mut config = ClientConfig::new(Region::Us);
        config.api_base = Some(base.to_owned());
        config.backoff = BackoffPolicy::scaled_ms(1);
        let creds = Credentials::service_account("svc", Secret::new("pw"), "42").unwrap();
        MixpanelClient::new(creds, config).unwrap()
    }

    fn input(rows: u64, dir: &std::path::Path) -> ImportInput {
        ImportInput {
            file: dir.join("events.csv"),
            columns: vec!["user".into(), "value".into()],
            total_bytes: rows * 10,
            reader: Box::new(VecReader { rows, next: 0 }),
            journal_key: Some(JournalKey {
                file_fingerprint: "fp".into(),
                mapping_hash: "mh".into(),
                target: "test".into(),
            }),
        }
    }

    fn settings(dir: &std::path::Path) -> ImportSettings {
        ImportSettings {
            workers: 4,
            failed_out: Some(dir.join("REJECTED.csv")),
            resume: false,
            data_dir: Some(dir.join("data")),
            transform: TransformOptions::now(),
            rate_limit_cooldown: Duration::ZERO,
            run: RunMeta::default(),
        }
    }

    async fn run(
        rows: u64,
        dir: &std::path::Path,
        base: &str,
        settings: ImportSettings,
        control: RunControl,
    ) -> (RunReport, Vec<Progress>) {
        let input = input(rows, dir);
        let client = client(base);
        tokio::task::spawn_blocking(move || {
            let mut seen = Vec::new();
            let mut f = transform;
            let report = run_with(input, &mut f, client, &settings, &control, &mut |p| {
                seen.push(p.clone())
            })
            .unwrap();
            (report, seen)
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn import_accounts_for_every_row_and_keeps_original_cells_of_rejections() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(strict_reply).await;
        let (report, progress) = run(
            5000,
            dir.path(),
            &server.base,
            settings(dir.path()),
            RunControl::new(),
        )
        .await;
        assert!(report.counts_add_up(), "{report:#?}");
        assert_eq!(report.rows, 5000);
        assert_eq!(report.rejected_local, 100);
        assert_eq!(report.rejected_server, 100);
        assert_eq!(report.imported, 4800);
        assert_eq!(report.failed, 0);
        assert_eq!(crate::cli::import::exit_code(&report), 1);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        // Every valid event sent exactly once, in batches of at most 2000.
        let seen = server.seen();
        assert!(seen.iter().all(|s| s.lines.len() <= 2000));
        assert_eq!(seen.iter().map(|s| s.lines.len()).sum::<usize>(), 4900);
        // REJECTED.csv: both kinds, with the original cells.
        let mut reader = csv::Reader::from_path(dir.path().join("REJECTED.csv")).unwrap();
        assert_eq!(
            reader.headers().unwrap(),
            vec!["user", "value", "_row", "_field", "_reason", "_origin"]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 200);
        let server_row = rows.iter().find(|r| &r[0] == "srvbad").unwrap();
        let row: u64 = server_row[2].parse().unwrap();
        assert_eq!(server_row[1], format!("value,{}", row - 2));
        assert_eq!(&server_row[3], "properties.distinct_id");
        assert_eq!(&server_row[4], "blocked");
        assert_eq!(&server_row[5], "mixpanel");
        let local_row = rows.iter().find(|r| &r[0] == "bad").unwrap();
        assert_eq!(&local_row[5], "check");
        // Progress ended with a Finished snapshot.
        let last = progress.last().unwrap();
        assert_eq!(last.phase, Phase::Finished);
        assert_eq!(last.accepted, 4800);
        assert_eq!(last.rows_read, 5000);
        // The journal holds every server-acknowledged row; the report sits next to it.
        let key = JournalKey {
            file_fingerprint: "fp".into(),
            mapping_hash: "mh".into(),
            target: "test".into(),
        };
        let ack = journal::load(&key.journal_path(&dir.path().join("data")), &key)
            .unwrap()
            .unwrap();
        assert_eq!(ack.count(), 4900);
        let bytes = std::fs::read(key.journal_path(&dir.path().join("data"))).unwrap();
        assert!(
            journal::is_complete(&bytes),
            "a clean run marks its journal done"
        );
        assert!(key.report_path(&dir.path().join("data")).exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resume_skips_acknowledged_rows_and_resends_failed_ones() {
        let dir = tempfile::tempdir().unwrap();
        // First run: every request with row 1000's event fails for good (503).
        let server = TestServer::start(|_, s| {
            if s.lines.iter().any(|l| l.contains("\"id1000\"")) {
                Some((503, vec![], String::new()))
            } else {
                ok(s.lines.len())
            }
        })
        .await;
        let mut first = settings(dir.path());
        first.failed_out = None;
        let (report, _) = run(3000, dir.path(), &server.base, first, RunControl::new()).await;
        assert!(report.counts_add_up());
        assert_eq!(report.failed, 2000, "the first batch failed after retries");
        let failed_before = report.failed;

        let server2 = TestServer::start(strict_reply).await;
        let mut again = settings(dir.path());
        again.resume = true;
        again.failed_out = None;
        let (report, _) = run(3000, dir.path(), &server2.base, again, RunControl::new()).await;
        assert!(report.counts_add_up(), "{report:#?}");
        assert_eq!(report.rows, 3000);
        // 2940 valid rows, of which the 940 of the second batch were acknowledged.
        assert_eq!(report.skipped, 940, "{report:#?}");
        assert_eq!(report.rejected_local, 60, "invalid rows are checked again");
        let resent: usize = server2.seen().iter().map(|s| s.lines.len()).sum();
        assert_eq!(
            resent as u64, failed_before,
            "only the failed events are resent"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancel_finishes_in_flight_and_counts_the_rest_as_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(|_, s| {
            std::thread::sleep(Duration::from_millis(30));
            ok(s.lines.len())
        })
        .await;
        let control = RunControl::new();
        let mut s = settings(dir.path());
        s.workers = 1;
        let input = input(200_000, dir.path());
        let client = client(&server.base);
        let c2 = control.clone();
        let report = tokio::task::spawn_blocking(move || {
            let mut f = transform;
            run_with(input, &mut f, client, &s, &c2, &mut |p| {
                if p.accepted > 0 {
                    c2.cancel();
                }
            })
            .unwrap()
        })
        .await
        .unwrap();
        assert!(report.cancelled);
        assert!(report.counts_add_up(), "{report:#?}");
        assert_eq!(report.rows, 200_000);
        assert!(report.not_sent > 0);
        assert!(report.imported > 0 && report.imported < 190_000);
        assert_eq!(crate::cli::import::exit_code(&report), 1);
        let on_server: usize = server.seen().iter().map(|s| s.lines.len()).sum();
        assert_eq!(on_server as u64, report.imported + report.rejected_server);
        let unfinished = journal::unfinished(&dir.path().join("data"));
        assert_eq!(unfinished.len(), 1, "a cancelled run can be resumed");
        assert_eq!(
            unfinished[0].acknowledged_rows,
            report.imported + report.rejected_server
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pause_holds_new_batches_until_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(strict_reply).await;
        let control = RunControl::new();
        control.set_paused(true);
        let c2 = control.clone();
        let seen = server.seen.clone();
        let unpause = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            let during_pause = seen.lock().unwrap().len();
            c2.set_paused(false);
            during_pause
        });
        let (report, progress) = run(
            5000,
            dir.path(),
            &server.base,
            settings(dir.path()),
            control,
        )
        .await;
        assert_eq!(unpause.join().unwrap(), 0, "nothing sent while paused");
        assert!(progress.iter().any(|p| p.phase == Phase::Paused));
        assert_eq!(report.imported, 4800);
        assert!(report.counts_add_up());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unauthorized_stops_the_run_with_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(|_, _| {
            Some((401, vec![], r#"{"error":"Invalid credentials"}"#.into()))
        })
        .await;
        let (report, _) = run(
            100_000,
            dir.path(),
            &server.base,
            settings(dir.path()),
            RunControl::new(),
        )
        .await;
        let error = report.error.clone().unwrap();
        assert!(error.contains("project 42") && error.contains("service account"));
        assert_eq!(crate::cli::import::exit_code(&report), 2);
        assert_eq!(report.imported, 0);
        assert!(report.counts_add_up());
        assert!(server.seen().len() <= 4, "401 is not retried");
        assert!(report.rows < 100_000, "reading stopped");
    }
}
