//! The one row loop the check and the import share, and the one progress clock.
//!
//! [`run_rows`] reads every record, skips the rows an earlier run already delivered, runs the
//! transform, and hands each result to a [`RowSink`]: the check's sink counts and groups, the
//! import's batches and sends. Every [`CHECK_EVERY`] rows the sink is asked whether to go on
//! (cancel, pause, a stopped import) and may report progress, timed by a [`ProgressClock`].

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use crate::mapping::transform::Transformed;
use crate::source::{Record, RecordReader};

use super::PipelineError;

/// Minimum time between two progress snapshots (about 5 a second).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

/// How often (in rows) the loop asks its sink whether to go on.
pub const CHECK_EVERY: u64 = 256;

/// Times progress snapshots: at most one per [`PROGRESS_INTERVAL`], with the rate of the
/// recent window and an estimate of the time left from the bytes read.
#[derive(Debug, Clone)]
pub struct ProgressClock {
    started: Instant,
    window_start: Instant,
    window_count: u64,
}

impl Default for ProgressClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressClock {
    /// A clock started now.
    pub fn new() -> Self {
        let now = Instant::now();
        Self {
            started: now,
            window_start: now,
            window_count: 0,
        }
    }

    /// Seconds since the start.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// When a snapshot is due, the rate (per second) of `count` over the window since the
    /// last one; `None` otherwise.
    pub fn tick(&mut self, count: u64) -> Option<f64> {
        let since = self.window_start.elapsed();
        if since < PROGRESS_INTERVAL {
            return None;
        }
        let rate = count.saturating_sub(self.window_count) as f64 / since.as_secs_f64();
        self.restart_window(count);
        Some(rate)
    }

    /// Start a new rate window at `count` (after a pause, so the pause does not count).
    pub fn restart_window(&mut self, count: u64) {
        self.window_start = Instant::now();
        self.window_count = count;
    }

    /// Seconds left, from the share of the `total` bytes read so far.
    pub fn eta_secs(&self, bytes_read: u64, total: u64) -> Option<f64> {
        let elapsed = self.elapsed_secs();
        (bytes_read > 0 && total > bytes_read && elapsed > 0.0)
            .then(|| elapsed * (total - bytes_read) as f64 / bytes_read as f64)
    }
}

/// What the row loop does with each row.
pub trait RowSink {
    /// One transformed row (valid or not). `Break` stops reading.
    fn row(&mut self, record: &Record, out: &Transformed)
    -> Result<ControlFlow<()>, PipelineError>;

    /// A row skipped because an earlier run already delivered it.
    fn skipped(&mut self, record: &Record) {
        let _ = record;
    }

    /// Asked every [`CHECK_EVERY`] rows and before the first: go on or stop (cancel, pause,
    /// progress). `rows` is the number of rows read so far.
    fn between(&mut self, rows: u64, bytes_read: u64) -> ControlFlow<()>;
}

/// How a row loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowsRead {
    /// Rows read (skipped ones included).
    pub rows: u64,
    /// Whether the sink stopped the loop before the end of the file.
    pub stopped: bool,
    /// The last row number read (0 when none).
    pub last_row: u64,
}

/// Read every record of `reader`: rows for which `skip` holds go to [`RowSink::skipped`], the
/// rest through `transform` to [`RowSink::row`]. Stops at the end of the file, when the sink
/// says so, or on a read error.
pub fn run_rows(
    reader: &mut dyn RecordReader,
    transform: &mut dyn FnMut(&Record, &mut Transformed),
    skip: &dyn Fn(u64) -> bool,
    sink: &mut dyn RowSink,
) -> Result<RowsRead, PipelineError> {
    let mut record = Record::default();
    let mut out = Transformed::default();
    let mut read = RowsRead {
        rows: 0,
        stopped: false,
        last_row: 0,
    };
    loop {
        if read.rows.is_multiple_of(CHECK_EVERY)
            && sink.between(read.rows, reader.bytes_read()).is_break()
        {
            read.stopped = true;
            break;
        }
        if !reader.read_into(&mut record)? {
            break;
        }
        read.rows += 1;
        read.last_row = record.row;
        if skip(record.row) {
            sink.skipped(&record);
            continue;
        }
        transform(&record, &mut out);
        if sink.row(&record, &out)?.is_break() {
            read.stopped = true;
            break;
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Cell, SourceError};

    struct Numbers(u64, u64);

    impl RecordReader for Numbers {
        fn read_into(&mut self, record: &mut Record) -> Result<bool, SourceError> {
            if self.0 >= self.1 {
                return Ok(false);
            }
            self.0 += 1;
            record.row = self.0 + 1;
            record.cells = vec![Cell::Text(self.0.to_string())];
            Ok(true)
        }
        fn bytes_read(&self) -> u64 {
            self.0
        }
    }

    #[derive(Default)]
    struct Tally {
        rows: Vec<u64>,
        skipped: u64,
        asked: u64,
        stop_after: Option<u64>,
    }

    impl RowSink for Tally {
        fn row(
            &mut self,
            record: &Record,
            _out: &Transformed,
        ) -> Result<ControlFlow<()>, PipelineError> {
            self.rows.push(record.row);
            Ok(ControlFlow::Continue(()))
        }
        fn skipped(&mut self, _record: &Record) {
            self.skipped += 1;
        }
        fn between(&mut self, rows: u64, _bytes_read: u64) -> ControlFlow<()> {
            self.asked += 1;
            match self.stop_after {
                Some(n) if rows >= n => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        }
    }

    #[test]
    fn every_row_is_transformed_or_skipped_and_the_sink_can_stop() {
        let mut sink = Tally::default();
        let read = run_rows(
            &mut Numbers(0, 1000),
            &mut |r, out| out.row = r.row,
            &|row| row % 10 == 0,
            &mut sink,
        )
        .unwrap();
        assert_eq!(read.rows, 1000);
        assert!(!read.stopped);
        assert_eq!(read.last_row, 1001);
        assert_eq!(sink.skipped, 100);
        assert_eq!(sink.rows.len(), 900);
        assert_eq!(sink.asked, 1000 / CHECK_EVERY + 1);

        let mut sink = Tally {
            stop_after: Some(CHECK_EVERY),
            ..Tally::default()
        };
        let read = run_rows(&mut Numbers(0, 1000), &mut |_, _| {}, &|_| false, &mut sink).unwrap();
        assert!(read.stopped);
        assert_eq!(read.rows, CHECK_EVERY);
    }

    #[test]
    fn the_clock_ticks_at_most_every_interval() {
        let mut clock = ProgressClock::new();
        assert_eq!(clock.tick(10), None);
        std::thread::sleep(PROGRESS_INTERVAL);
        let rate = clock.tick(100).expect("due");
        assert!(rate > 0.0 && rate <= 100.0 / PROGRESS_INTERVAL.as_secs_f64());
        assert_eq!(clock.tick(200), None);
        assert_eq!(clock.eta_secs(0, 100), None);
        assert!(clock.eta_secs(50, 100).is_some());
        assert_eq!(clock.eta_secs(100, 100), None);
    }
}
