//! The dry-run check and the live import over the same stream of transformed events.
//!
//! Both read the source on a worker, call [`crate::mapping::transform::Transformer::transform`]
//! on every record, and report [`Progress`] at most ~5 times a second through a callback. Both
//! obey a shared [`RunControl`] (cancel and pause).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

/// Cancel and pause flags shared between a run and whoever controls it (CLI, GUI, tests).
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    cancel: Arc<AtomicBool>,
    pause: Arc<AtomicBool>,
}

impl RunControl {
    /// A fresh control: running, not paused.
    pub fn new() -> Self {
        Self::default()
    }
    /// Ask the run to stop as soon as possible (in-flight requests finish and are recorded).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
    /// Whether cancel was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
    /// Pause or resume sending.
    pub fn set_paused(&self, paused: bool) {
        self.pause.store(paused, Ordering::SeqCst);
    }
    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        self.pause.load(Ordering::SeqCst)
    }
}

/// Which stage a run is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading and transforming rows.
    #[default]
    Running,
    /// Paused by the user.
    Paused,
    /// Waiting out a rate limit or a server error.
    Retrying,
    /// Finished (completed, cancelled or stopped by an error).
    Finished,
}

/// A progress snapshot, sent at most ~5 times a second and once at the end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Stage.
    pub phase: Phase,
    /// Source rows read so far.
    pub rows_read: u64,
    /// Bytes of the file consumed so far.
    pub bytes_read: u64,
    /// The file's size in bytes (for a fraction-done bar).
    pub total_bytes: u64,
    /// Rows that passed local validation.
    pub valid: u64,
    /// Rows that failed local validation (never sent).
    pub invalid: u64,
    /// Import: rows skipped because an earlier run already delivered them (resume).
    #[serde(default)]
    pub already_sent: u64,
    /// Import: events sent to Mixpanel (including in-flight).
    pub sent: u64,
    /// Import: events Mixpanel accepted.
    pub accepted: u64,
    /// Import: events Mixpanel rejected, plus batches that failed after all retries.
    pub rejected_by_server: u64,
    /// Import: requests currently waiting to be retried.
    pub retrying: u64,
    /// Import: bytes sent (compressed).
    pub bytes_sent: u64,
    /// Rows (check) or events (import) per second, recent rate.
    pub rate_per_sec: f64,
    /// Estimated seconds left, from bytes read vs the file size.
    pub eta_secs: Option<f64>,
    /// Seconds since start.
    pub elapsed_secs: f64,
}

impl Progress {
    /// Fraction of the file consumed, 0.0 to 1.0.
    pub fn fraction(&self) -> f32 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        (self.bytes_read as f64 / self.total_bytes as f64).clamp(0.0, 1.0) as f32
    }

    /// How much of an import is done, 0.0 to 1.0: the share of the file read, times the share
    /// of the rows read so far that are settled (accepted, rejected, or skipped). Reading races
    /// ahead of slow requests, so [`Self::fraction`] alone would show an import as done early.
    pub fn delivered_fraction(&self) -> f32 {
        if self.rows_read == 0 {
            return 0.0;
        }
        let pending = self
            .valid
            .saturating_sub(self.accepted + self.rejected_by_server)
            .min(self.rows_read);
        let settled = 1.0 - pending as f64 / self.rows_read as f64;
        (f64::from(self.fraction()) * settled).clamp(0.0, 1.0) as f32
    }

    /// Events settled by Mixpanel per second: the recent rate, or the average since the start
    /// when no answer came in the recent window (slow answers).
    pub fn settled_per_sec(&self) -> f64 {
        if self.rate_per_sec > 0.0 || self.elapsed_secs <= 0.0 {
            return self.rate_per_sec;
        }
        (self.accepted + self.rejected_by_server) as f64 / self.elapsed_secs
    }

    /// Seconds left of an import, from the time spent so far and
    /// [`Self::delivered_fraction`]; `None` until something is settled or once all is.
    pub fn delivered_eta_secs(&self) -> Option<f64> {
        let done = f64::from(self.delivered_fraction());
        (done > 0.0 && done < 1.0 && self.elapsed_secs > 0.0)
            .then(|| self.elapsed_secs * (1.0 - done) / done)
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    fn progress(rows_read: u64, valid: u64, accepted: u64, bytes_read: u64) -> Progress {
        Progress {
            rows_read,
            valid,
            accepted,
            bytes_read,
            total_bytes: 1000,
            elapsed_secs: 10.0,
            ..Progress::default()
        }
    }

    #[test]
    fn a_file_read_ahead_of_the_answers_is_not_shown_as_done() {
        // Whole file read, 20,000 of 49,500 valid events accepted, 500 invalid.
        let p = progress(50_000, 49_500, 20_000, 1000);
        let f = p.delivered_fraction();
        assert!((f - 0.41).abs() < 0.001, "{f}");
        let eta = p.delivered_eta_secs().expect("eta");
        assert!((eta - 10.0 * 0.59 / 0.41).abs() < 0.1, "{eta}");
        assert!((p.settled_per_sec() - 2000.0).abs() < 1e-9);
    }

    #[test]
    fn everything_settled_is_the_file_fraction() {
        let p = progress(10, 10, 10, 500);
        assert!((p.delivered_fraction() - 0.5).abs() < 1e-6);
        let done = progress(10, 10, 10, 1000);
        assert!((done.delivered_fraction() - 1.0).abs() < 1e-6);
        assert_eq!(done.delivered_eta_secs(), None);
        assert_eq!(Progress::default().delivered_fraction(), 0.0);
    }
}

/// Why a run could not start or had to stop (row-level problems are issues, not errors).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The file could not be read.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// The mapping does not fit the file.
    #[error(transparent)]
    Mapping(#[from] crate::mapping::MappingError),
    /// An output file (rejected rows, report, journal) could not be written.
    #[error("{path}: cannot write: {source}")]
    Output {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An output path is the input or another file of the run (refused before reading).
    #[error(transparent)]
    OutputPath(#[from] crate::output::OutputPathError),
    /// Resuming was asked for, but the file's content changed since the interrupted run.
    #[error(
        "{path} changed since the interrupted import ({acknowledged_rows} rows were delivered from its earlier content): resuming would skip rows by their number, which may now hold other events. Restore the original file to resume, or import this one as a new run without resuming. Nothing was sent."
    )]
    FileChanged {
        /// The file.
        path: std::path::PathBuf,
        /// Rows the earlier run delivered.
        acknowledged_rows: u64,
    },
    /// Mixpanel refused the credentials or another fatal API error stopped the run.
    #[error("{0}")]
    Fatal(String),
}

/// Refuse a rejected-rows path that is the file being read (see
/// [`crate::output::check_output_paths`]); shells check every output earlier, this is the core's
/// own guard.
fn guard_failed_out(
    input: &std::path::Path,
    failed_out: Option<&std::path::Path>,
) -> Result<(), PipelineError> {
    use crate::output::{RunFile, check_output_paths};
    if let Some(path) = failed_out {
        check_output_paths(
            &[RunFile::new("the file being read", input)],
            &[RunFile::new("the rejected-rows file", path)],
        )?;
    }
    Ok(())
}

pub mod check;
pub mod import;
pub mod journal;
pub mod rejected;
pub mod report;
pub mod rows;
