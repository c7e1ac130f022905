//! The dry run: stream every record through the same transform the import uses and report
//! what Mixpanel would accept, without sending anything.
//!
//! Memory stays flat in the file's size: records are reused, issues are grouped (with at most
//! [`MAX_EXAMPLES`] example rows per group), and the duplicate-insert-id check keeps one 64-bit
//! hash per valid event up to [`DEDUP_CAP`] entries. Past that cap the check stops adding new
//! ids (it still finds later repeats of the ids it holds) and the report says which rows the
//! duplicate check fully covered (`duplicate_check_rows`).

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::ControlFlow;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::mapping::ImportKind;
use crate::mapping::Mapping;
use crate::mapping::transform::row::{RepeatedKey, RowTransformer};
use crate::mapping::transform::{TransformOptions, Transformed};
use crate::mixpanel::batch::BatchCounter;
use crate::source::{self, Compression, Format, Record, RecordReader, Sniff, TextEncoding};
use crate::validate::{Issue, IssueKind, Severity};

use super::rejected::{RejectedRow, RejectedWriter, RejectionOrigin, cell_original_text};
use super::rows::{ProgressClock, RowSink, run_rows};
use super::{Phase, PipelineError, Progress, RunControl};

/// Example rows kept per issue group.
pub const MAX_EXAMPLES: usize = 5;
/// Most distinct `$insert_id` hashes the duplicate check holds (about 40 MB of memory at the cap).
pub const DEDUP_CAP: usize = 3_000_000;
/// Rejected rows kept in memory by default, with their values, for a review screen.
pub const KEEP_REJECTED: usize = 1_000;
/// The most text the kept rejected rows hold together; each value is also cut to
/// [`KEPT_VALUE_CHARS`] characters, so rows of 1 MB cannot fill memory.
pub const KEEP_REJECTED_BYTES: usize = 8 * 1024 * 1024;
/// The most characters of one value kept with a rejected row in memory (the export has all).
pub const KEPT_VALUE_CHARS: usize = 2_000;

/// Settings of a check run.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Clock and retention for the time rules.
    pub transform: TransformOptions,
    /// Write rejected rows to this CSV.
    pub failed_out: Option<PathBuf>,
    /// Most insert-id hashes kept for the duplicate check (default [`DEDUP_CAP`]).
    pub dedup_cap: usize,
    /// How many rejected rows the report keeps in memory with their values (the first ones;
    /// default [`KEEP_REJECTED`]). Only `failed_out` holds all of them.
    pub keep_rejected: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            transform: TransformOptions::now(),
            failed_out: None,
            dedup_cap: DEDUP_CAP,
            keep_rejected: KEEP_REJECTED,
        }
    }
}

/// One example row of an issue group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueExample {
    /// 1-based source row (0 for mapping-wide issues).
    pub row: u64,
    /// The source column, when there is one.
    pub column: Option<String>,
    /// The message, with the value and what to do.
    pub message: String,
}

/// Issues of one kind on one field, counted, with a few example rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueGroup {
    /// What is wrong.
    pub kind: IssueKind,
    /// Error or warning.
    pub severity: Severity,
    /// A plain-words title for the group.
    pub title: String,
    /// The Mixpanel field (`properties.time`, ...).
    pub field: String,
    /// How many rows have it.
    pub count: u64,
    /// Up to [`MAX_EXAMPLES`] example rows, in file order.
    pub examples: Vec<IssueExample>,
}

/// What the check found. Serialized as the `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Events or user profiles.
    #[serde(default)]
    pub kind: ImportKind,
    /// The file checked.
    pub file: PathBuf,
    /// Its format.
    pub format: Format,
    /// gzip or not.
    pub compression: Compression,
    /// Its text encoding.
    pub encoding: TextEncoding,
    /// The CSV delimiter, as a character.
    pub delimiter: String,
    /// The columns read.
    pub columns: Vec<String>,
    /// What the sniffer guessed or repaired.
    pub notes: Vec<String>,
    /// Rows read.
    pub rows: u64,
    /// Rows that would be sent.
    pub valid: u64,
    /// Rows that would be rejected (never sent).
    pub invalid: u64,
    /// Valid rows (sent) with at least one warning. A rejected row's warnings are left out:
    /// it is not sent.
    pub rows_with_warnings: u64,
    /// Error groups, by kind then field.
    pub errors: Vec<IssueGroup>,
    /// Warning groups (including mapping-wide ones and duplicate insert ids), by kind then field.
    pub warnings: Vec<IssueGroup>,
    /// Valid rows whose `$insert_id` was already seen earlier in the file (events).
    pub duplicate_insert_ids: u64,
    /// Valid rows whose user ID was already seen earlier in the file (user profiles: the later
    /// row's update is applied after the earlier one's).
    #[serde(default)]
    pub duplicate_user_ids: u64,
    /// The duplicate check covered every row up to this one (all rows unless the cap was hit).
    pub duplicate_check_rows: u64,
    /// Requests an import would send.
    pub requests: u64,
    /// Uncompressed NDJSON bytes an import would send.
    pub bytes: u64,
    /// Earliest valid event time (UTC ms), if any.
    pub first_time_ms: Option<i64>,
    /// Latest valid event time (UTC ms), if any.
    pub last_time_ms: Option<i64>,
    /// Rows written to the rejected-rows file.
    pub rejected_written: u64,
    /// The rejected-rows file, when one was asked for.
    pub rejected_file: Option<PathBuf>,
    /// The first rejected rows with their values (at most [`CheckOptions::keep_rejected`]).
    #[serde(skip)]
    pub rejected_sample: Vec<RejectedRow>,
    /// Whether the run was cancelled before the end of the file.
    pub cancelled: bool,
    /// Wall-clock seconds.
    pub elapsed_secs: f64,
    /// Rows per second.
    pub rows_per_sec: f64,
}

impl CheckReport {
    /// Whether every row read is valid.
    pub fn all_valid(&self) -> bool {
        self.invalid == 0
    }
}

/// A hasher for values that are already hashes.
#[derive(Default)]
struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Groups issues by (kind, field).
#[derive(Debug, Default)]
struct Groups {
    groups: BTreeMap<(IssueKind, String), IssueGroup>,
}

impl Groups {
    fn add(&mut self, issue: &Issue) {
        let group = self
            .groups
            .entry((issue.kind, issue.field.clone()))
            .or_insert_with(|| IssueGroup {
                kind: issue.kind,
                severity: issue.severity(),
                title: issue.kind.title().to_owned(),
                field: issue.field.clone(),
                count: 0,
                examples: Vec::new(),
            });
        group.count += 1;
        if group.examples.len() < MAX_EXAMPLES {
            group.examples.push(example(issue));
        }
    }

    fn into_split(self) -> (Vec<IssueGroup>, Vec<IssueGroup>) {
        self.groups
            .into_values()
            .partition(|g| g.severity == Severity::Error)
    }
}

fn example(issue: &Issue) -> IssueExample {
    IssueExample {
        row: issue.row,
        column: issue.column.clone(),
        message: issue.message.clone(),
    }
}

/// Check every record of the file described by `sniff` against `mapping`.
///
/// Calls `progress` at most ~5 times a second and once at the end (phase `Finished`). Stops
/// early when `control` is cancelled (the report says `cancelled`), and waits while paused.
/// Fails only when the file or the mapping cannot be used, or the rejected-rows file cannot be
/// written; bad rows are part of the report.
pub fn run_check(
    sniff: &Sniff,
    mapping: &Mapping,
    options: &CheckOptions,
    control: &RunControl,
    progress: &mut dyn FnMut(&Progress),
) -> Result<CheckReport, PipelineError> {
    // Resolve the mapping before opening the file, so a mapping error comes first.
    RowTransformer::new(mapping, &sniff.columns, options.transform)?;
    super::guard_failed_out(&sniff.path, options.failed_out.as_deref())?;
    let mut reader = source::open(sniff)?;
    run_check_reader(sniff, reader.as_mut(), mapping, options, control, progress)
}

/// [`run_check`] over an already opened reader (for tests and callers that open the source
/// themselves). `sniff` supplies the columns, the file size and the file facts of the report.
pub fn run_check_reader(
    sniff: &Sniff,
    reader: &mut dyn RecordReader,
    mapping: &Mapping,
    options: &CheckOptions,
    control: &RunControl,
    progress: &mut dyn FnMut(&Progress),
) -> Result<CheckReport, PipelineError> {
    let mut transformer = RowTransformer::new(mapping, &sniff.columns, options.transform)?;
    let kind = transformer.kind();
    let rejected = match &options.failed_out {
        Some(path) => Some(RejectedWriter::create(path, &sniff.columns)?),
        None => None,
    };
    let mut groups = Groups::default();
    for issue in transformer.mapping_issues() {
        groups.add(issue);
    }
    let mut sink = CheckSink {
        options,
        control,
        progress,
        clock: ProgressClock::new(),
        total_bytes: sniff.file_size,
        groups,
        repeated_key: transformer.repeated_key(),
        seen: HashSet::default(),
        dedup_full_at: None,
        duplicates: 0,
        duplicate_group: None,
        counter: BatchCounter::default(),
        valid: 0,
        invalid: 0,
        with_warnings: 0,
        first_time: None,
        last_time: None,
        rejected,
        rejected_sample: Vec::new(),
        rejected_sample_bytes: 0,
        cell_text: String::new(),
    };
    let read = run_rows(
        reader,
        &mut |record: &Record, out: &mut Transformed| transformer.transform(record, out),
        &|_| false,
        &mut sink,
    )?;
    let rows = read.rows;
    let CheckSink {
        progress,
        clock,
        groups,
        dedup_full_at,
        duplicates,
        duplicate_group,
        counter,
        valid,
        invalid,
        with_warnings,
        first_time,
        last_time,
        rejected,
        rejected_sample,
        ..
    } = sink;

    let rejected_written = match rejected {
        Some(writer) => writer.finish()?,
        None => 0,
    };
    let (errors, mut warnings) = groups.into_split();
    if let Some(group) = duplicate_group {
        warnings.push(group);
        warnings.sort_by(|a, b| (a.kind, &a.field).cmp(&(b.kind, &b.field)));
    }
    let elapsed_secs = clock.elapsed_secs();
    let rows_per_sec = if elapsed_secs > 0.0 {
        rows as f64 / elapsed_secs
    } else {
        0.0
    };
    progress(&Progress {
        phase: Phase::Finished,
        rows_read: rows,
        bytes_read: reader.bytes_read(),
        total_bytes: sniff.file_size,
        valid,
        invalid,
        rate_per_sec: rows_per_sec,
        elapsed_secs,
        ..Progress::default()
    });
    let duplicate_check_rows = match dedup_full_at {
        Some(row) => row.saturating_sub(1),
        None => read.last_row.max(rows),
    };
    Ok(CheckReport {
        file: sniff.path.clone(),
        format: sniff.format,
        compression: sniff.compression,
        encoding: sniff.encoding,
        delimiter: match sniff.delimiter {
            b'\t' => "tab".to_owned(),
            d => (d as char).to_string(),
        },
        columns: sniff.columns.clone(),
        notes: sniff.notes.clone(),
        rows,
        valid,
        invalid,
        rows_with_warnings: with_warnings,
        errors,
        warnings,
        kind,
        duplicate_insert_ids: if kind == ImportKind::Events {
            duplicates
        } else {
            0
        },
        duplicate_user_ids: if kind == ImportKind::Profiles {
            duplicates
        } else {
            0
        },
        duplicate_check_rows,
        requests: counter.total_requests(),
        bytes: counter.bytes,
        first_time_ms: first_time,
        last_time_ms: last_time,
        rejected_written,
        rejected_file: options.failed_out.clone(),
        rejected_sample,
        cancelled: read.stopped,
        elapsed_secs,
        rows_per_sec,
    })
}

/// The check's side of the row loop: counts, groups, duplicate ids, rejected rows.
struct CheckSink<'a> {
    options: &'a CheckOptions,
    control: &'a RunControl,
    progress: &'a mut dyn FnMut(&Progress),
    clock: ProgressClock,
    total_bytes: u64,
    groups: Groups,
    /// How a repeated key (insert id or user ID) is reported.
    repeated_key: RepeatedKey,
    seen: HashSet<u64, BuildHasherDefault<PassThroughHasher>>,
    dedup_full_at: Option<u64>,
    duplicates: u64,
    duplicate_group: Option<IssueGroup>,
    counter: BatchCounter,
    valid: u64,
    invalid: u64,
    with_warnings: u64,
    first_time: Option<i64>,
    last_time: Option<i64>,
    rejected: Option<RejectedWriter>,
    rejected_sample: Vec<RejectedRow>,
    rejected_sample_bytes: usize,
    cell_text: String,
}

impl CheckSink<'_> {
    fn snapshot(&self, phase: Phase, rows: u64, bytes_read: u64, rate: f64) -> Progress {
        Progress {
            phase,
            rows_read: rows,
            bytes_read,
            total_bytes: self.total_bytes,
            valid: self.valid,
            invalid: self.invalid,
            rate_per_sec: rate,
            eta_secs: self.clock.eta_secs(bytes_read, self.total_bytes),
            elapsed_secs: self.clock.elapsed_secs(),
            ..Progress::default()
        }
    }

    fn note_duplicate(&mut self, row: u64, key: &str) {
        self.duplicates += 1;
        let issue = self.repeated_key.issue(row, key);
        let group = self.duplicate_group.get_or_insert_with(|| IssueGroup {
            kind: issue.kind,
            severity: Severity::Warning,
            title: issue.kind.title().to_owned(),
            field: issue.field.clone(),
            count: 0,
            examples: Vec::new(),
        });
        group.count += 1;
        if group.examples.len() < MAX_EXAMPLES {
            group.examples.push(example(&issue));
        }
    }

    fn keep_rejected(&mut self, record: &Record, issues: &[Issue]) {
        if self.rejected_sample.len() >= self.options.keep_rejected
            || self.rejected_sample_bytes >= KEEP_REJECTED_BYTES
        {
            return;
        }
        let errors: Vec<&Issue> = issues
            .iter()
            .filter(|i| i.severity() == Severity::Error)
            .collect();
        let values: Vec<String> = record
            .cells
            .iter()
            .map(|cell| {
                cell_original_text(cell, &mut self.cell_text);
                match self.cell_text.char_indices().nth(KEPT_VALUE_CHARS) {
                    Some((cut, _)) => format!("{}…", &self.cell_text[..cut]),
                    None => self.cell_text.clone(),
                }
            })
            .collect();
        self.rejected_sample_bytes += values.iter().map(String::len).sum::<usize>();
        self.rejected_sample.push(RejectedRow {
            row: record.row,
            field: errors.first().map(|i| i.field.clone()).unwrap_or_default(),
            message: errors
                .iter()
                .map(|i| i.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            origin: RejectionOrigin::Check,
            values,
        });
    }
}

impl RowSink for CheckSink<'_> {
    fn row(
        &mut self,
        record: &Record,
        out: &Transformed,
    ) -> Result<ControlFlow<()>, PipelineError> {
        let mut warned = out.has_warnings();
        if out.is_valid() {
            self.valid += 1;
            self.counter.add(&out.json);
            if out.kind == ImportKind::Events {
                self.first_time = Some(self.first_time.map_or(out.time_ms, |t| t.min(out.time_ms)));
                self.last_time = Some(self.last_time.map_or(out.time_ms, |t| t.max(out.time_ms)));
            }
            let hash = xxhash_rust::xxh3::xxh3_64(out.key().as_bytes());
            if self.seen.contains(&hash) {
                warned = true;
                self.note_duplicate(record.row, out.key());
            } else if self.seen.len() < self.options.dedup_cap {
                self.seen.insert(hash);
            } else if self.dedup_full_at.is_none() {
                self.dedup_full_at = Some(record.row);
            }
        } else {
            self.invalid += 1;
            if let Some(writer) = self.rejected.as_mut() {
                writer.write_record(record, &out.issues)?;
            }
            self.keep_rejected(record, &out.issues);
        }
        // A rejected row is not sent: its warnings ("still sent") would not be true.
        let valid = out.is_valid();
        if warned && valid {
            self.with_warnings += 1;
        }
        for issue in &out.issues {
            if valid || issue.severity() == Severity::Error {
                self.groups.add(issue);
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn between(&mut self, rows: u64, bytes_read: u64) -> ControlFlow<()> {
        if self.control.is_cancelled() {
            return ControlFlow::Break(());
        }
        if self.control.is_paused() {
            while self.control.is_paused() && !self.control.is_cancelled() {
                let paused = self.snapshot(Phase::Paused, rows, bytes_read, 0.0);
                (self.progress)(&paused);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            self.clock.restart_window(rows);
            if self.control.is_cancelled() {
                return ControlFlow::Break(());
            }
        }
        if let Some(rate) = self.clock.tick(rows) {
            let running = self.snapshot(Phase::Running, rows, bytes_read, rate);
            (self.progress)(&running);
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{InsertIdSource, TimeMapping, ValueSource};
    use crate::source::{Cell, SourceError};

    /// Records from memory.
    struct VecReader {
        records: std::vec::IntoIter<Record>,
        read: u64,
    }

    impl RecordReader for VecReader {
        fn read_into(&mut self, record: &mut Record) -> Result<bool, SourceError> {
            match self.records.next() {
                Some(r) => {
                    *record = r;
                    self.read += 10;
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        fn bytes_read(&self) -> u64 {
            self.read
        }
    }

    fn sniff() -> Sniff {
        Sniff {
            path: PathBuf::from("mem.csv"),
            file_size: 1000,
            format: Format::Csv,
            compression: Compression::None,
            encoding: TextEncoding::Utf8,
            delimiter: b',',
            has_header: true,
            skip_rows: 0,
            header_row: 1,
            timezone_hint: None,
            sheet: None,
            sheets: Vec::new(),
            columns: vec!["event".into(), "user".into(), "time".into(), "id".into()],
            notes: Vec::new(),
        }
    }

    fn mapping(insert_id: InsertIdSource) -> Mapping {
        Mapping {
            event: Some(ValueSource::Column("event".into())),
            distinct_id: Some("user".into()),
            time: TimeMapping {
                column: Some("time".into()),
                ..TimeMapping::default()
            },
            insert_id,
            ..Mapping::default()
        }
    }

    fn record(row: u64, cells: [&str; 4]) -> Record {
        Record {
            row,
            cells: cells.iter().map(|c| Cell::Text((*c).to_owned())).collect(),
            ..Record::default()
        }
    }

    fn options() -> CheckOptions {
        CheckOptions {
            transform: TransformOptions {
                now_ms: 1_748_736_000_000,
                retention_days: 5 * 365,
            },
            ..CheckOptions::default()
        }
    }

    fn check(records: Vec<Record>, mapping: &Mapping, options: &CheckOptions) -> CheckReport {
        let mut reader = VecReader {
            records: records.into_iter(),
            read: 0,
        };
        let mut calls = Vec::new();
        let report = run_check_reader(
            &sniff(),
            &mut reader,
            mapping,
            options,
            &RunControl::new(),
            &mut |p| calls.push(p.clone()),
        )
        .unwrap();
        let last = calls.last().unwrap();
        assert_eq!(last.phase, Phase::Finished);
        assert_eq!(last.rows_read, report.rows);
        report
    }

    #[test]
    fn counts_groups_examples_requests_and_duplicates() {
        let mut records = Vec::new();
        for i in 0..4100u64 {
            let time = if i % 100 == 1 {
                ""
            } else {
                "2024-03-05T14:07:00Z"
            };
            let id = format!("id-{}", i % 4000);
            records.push(Record {
                row: i + 2,
                cells: vec![
                    Cell::Text("Log In".into()),
                    Cell::Text(format!("u{i}")),
                    Cell::Text(time.into()),
                    Cell::Text(id),
                ],
                ..Record::default()
            });
        }
        let report = check(
            records,
            &mapping(InsertIdSource::Column("id".into())),
            &options(),
        );
        assert_eq!(report.rows, 4100);
        assert_eq!(report.invalid, 41);
        assert_eq!(report.valid, 4059);
        assert_eq!(report.errors.len(), 1);
        let group = &report.errors[0];
        assert_eq!(group.kind, IssueKind::MissingTime);
        assert_eq!(group.field, "properties.time");
        assert_eq!(group.count, 41);
        assert_eq!(group.examples.len(), MAX_EXAMPLES);
        assert_eq!(
            group.examples.iter().map(|e| e.row).collect::<Vec<_>>(),
            vec![3, 103, 203, 303, 403]
        );
        // Ids 0..100 repeat after row 4000 (one of them, id-1, only on an invalid row).
        assert_eq!(report.duplicate_insert_ids, 99);
        assert_eq!(report.warnings[0].kind, IssueKind::DuplicateInsertId);
        assert_eq!(report.warnings[0].count, 99);
        assert_eq!(report.duplicate_check_rows, 4101);
        assert_eq!(report.requests, 3);
        assert!(report.bytes > 4059 * 50);
        assert_eq!(report.first_time_ms, Some(1_709_647_620_000));
        let json = serde_json::to_value(&report).unwrap();
        for key in [
            "rows", "valid", "invalid", "errors", "warnings", "requests", "bytes",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn dedup_cap_is_reported() {
        let records = (0..10u64)
            .map(|i| {
                let id = format!("id-{}", i % 5);
                record(
                    i + 2,
                    [
                        "E",
                        "u",
                        "2024-03-05T14:07:00Z",
                        Box::leak(id.into_boxed_str()),
                    ],
                )
            })
            .collect();
        let options = CheckOptions {
            dedup_cap: 3,
            ..options()
        };
        let report = check(
            records,
            &mapping(InsertIdSource::Column("id".into())),
            &options,
        );
        assert_eq!(report.duplicate_check_rows, 4);
        // Rows with id-0..id-2 repeat and are found; id-3 and id-4 were never held.
        assert_eq!(report.duplicate_insert_ids, 3);
    }

    #[test]
    fn cancel_stops_early() {
        let records: Vec<Record> = (0..5000u64)
            .map(|i| record(i + 2, ["E", "u", "2024-03-05T14:07:00Z", "x"]))
            .collect();
        let mut reader = VecReader {
            records: records.into_iter(),
            read: 0,
        };
        let control = RunControl::new();
        control.cancel();
        let report = run_check_reader(
            &sniff(),
            &mut reader,
            &mapping(InsertIdSource::Generate),
            &options(),
            &control,
            &mut |_| {},
        )
        .unwrap();
        assert!(report.cancelled);
        assert_eq!(report.rows, 0);
    }

    #[test]
    fn rejected_rows_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rej.csv");
        let options = CheckOptions {
            failed_out: Some(path.clone()),
            ..options()
        };
        let records = vec![
            record(2, ["E", "u", "2024-03-05T14:07:00Z", "a"]),
            record(3, ["", "", "2024-03-05T14:07:00Z", "b"]),
        ];
        let report = check(records, &mapping(InsertIdSource::Generate), &options);
        assert_eq!(report.rejected_written, 1);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "event,user,time,id,_row,_field,_reason,_origin");
        assert!(
            lines[1].starts_with(",,2024-03-05T14:07:00Z,b,3,event,"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("; "), "both reasons joined: {}", lines[1]);
        assert!(lines[1].ends_with(",check"), "{}", lines[1]);
        assert_eq!(lines.len(), 2);
        // The same row is kept in memory, with its values, for a review screen.
        assert_eq!(report.rejected_sample.len(), 1);
        let kept = &report.rejected_sample[0];
        assert_eq!(kept.row, 3);
        assert_eq!(kept.origin, RejectionOrigin::Check);
        assert_eq!(kept.values, vec!["", "", "2024-03-05T14:07:00Z", "b"]);
    }

    #[test]
    fn a_rejected_rows_warnings_are_not_reported_as_still_sent() {
        let records = vec![
            // Old (a warning) and valid: sent with a warning.
            record(2, ["E", "u", "2015-01-01T00:00:00Z", "a"]),
            // Old and without an event name: rejected, so its warning is moot.
            record(3, ["", "u", "2015-01-01T00:00:00Z", "b"]),
        ];
        let report = check(records, &mapping(InsertIdSource::Generate), &options());
        assert_eq!((report.valid, report.invalid), (1, 1));
        assert_eq!(report.rows_with_warnings, 1);
        let warned: u64 = report.warnings.iter().map(|g| g.count).sum();
        assert_eq!(warned, 1, "{:?}", report.warnings);
        assert!(report.warnings.iter().all(|g| g.examples[0].row == 2));
    }

    #[test]
    fn only_the_first_rejected_rows_are_kept_in_memory() {
        let records = (0..50u64)
            .map(|i| record(i + 2, ["", "u", "2024-03-05T14:07:00Z", "x"]))
            .collect();
        let options = CheckOptions {
            keep_rejected: 10,
            ..options()
        };
        let report = check(records, &mapping(InsertIdSource::Generate), &options);
        assert_eq!(report.invalid, 50);
        assert_eq!(report.rejected_sample.len(), 10);
        assert_eq!(report.rejected_sample[9].row, 11);
        assert!(report.rejected_file.is_none());
    }

    #[test]
    fn mapping_errors_come_before_reading() {
        let mut m = mapping(InsertIdSource::Generate);
        m.distinct_id = Some("nope".into());
        let mut reader = VecReader {
            records: Vec::new().into_iter(),
            read: 0,
        };
        let err = run_check_reader(
            &sniff(),
            &mut reader,
            &m,
            &options(),
            &RunControl::new(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, PipelineError::Mapping(_)));
    }
}
