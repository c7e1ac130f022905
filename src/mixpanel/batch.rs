//! Batches of serialized events: at most 2000 events and ~9 MB of uncompressed NDJSON each.
//!
//! An entry's JSON is one record per line: an event is one line, a user-profile row one or two
//! (`$set` and `$unset`). The 2000 limit counts records, as Mixpanel does.

/// Mixpanel's per-request event limit.
pub const MAX_BATCH_EVENTS: usize = 2000;
/// Our per-request byte limit: Mixpanel's 10 MB less a margin.
pub const MAX_BATCH_BYTES: usize = 9 * 1024 * 1024;

/// One event ready to send, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEvent {
    /// The source row.
    pub row: u64,
    /// The event's JSON line (no trailing newline).
    pub json: Vec<u8>,
    /// The key that matches Mixpanel's `failed_records` to it: its `$insert_id` (events), or
    /// its `$distinct_id` (user profiles, whose JSON may hold two records, one a line).
    pub insert_id: String,
}

/// A request's worth of events, in row order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The events.
    pub events: Vec<BatchEvent>,
    /// Uncompressed NDJSON size: the sum of the lines plus one newline each.
    pub bytes: usize,
}

impl Batch {
    /// The NDJSON body (uncompressed).
    pub fn ndjson(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.bytes);
        for event in &self.events {
            body.extend_from_slice(&event.json);
            body.push(b'\n');
        }
        body
    }

    /// Split into two halves (for a 413). A batch of one event cannot be split (`None`).
    pub fn split(self) -> Option<(Batch, Batch)> {
        if self.events.len() < 2 {
            return None;
        }
        let mut first = self.events;
        let second = first.split_off(first.len() / 2);
        Some((Batch::from_events(first), Batch::from_events(second)))
    }

    /// A batch of these events.
    pub fn from_events(events: Vec<BatchEvent>) -> Batch {
        let bytes = events.iter().map(|e| e.json.len() + 1).sum();
        Batch { events, bytes }
    }
}

/// How many records an entry's JSON holds: one per line.
pub fn records_in(json: &[u8]) -> usize {
    1 + memchr::memchr_iter(b'\n', json).count()
}

/// Groups events into batches within the limits.
#[derive(Debug)]
pub struct Batcher {
    max_events: usize,
    max_bytes: usize,
    current: Batch,
    /// Records in `current`.
    records: usize,
}

impl Default for Batcher {
    fn default() -> Self {
        Self::new(MAX_BATCH_EVENTS, MAX_BATCH_BYTES)
    }
}

impl Batcher {
    /// A batcher with these limits (at least one event per batch).
    pub fn new(max_events: usize, max_bytes: usize) -> Self {
        Self {
            max_events: max_events.max(1),
            max_bytes,
            current: Batch::default(),
            records: 0,
        }
    }

    /// Add an event; returns a full batch when adding it would exceed a limit (of records or
    /// bytes).
    pub fn push(&mut self, event: BatchEvent) -> Option<Batch> {
        let size = event.json.len() + 1;
        let records = records_in(&event.json);
        let full = !self.current.events.is_empty()
            && (self.records + records > self.max_events
                || self.current.bytes + size > self.max_bytes);
        let done = if full {
            self.records = 0;
            Some(std::mem::take(&mut self.current))
        } else {
            None
        };
        self.current.bytes += size;
        self.records += records;
        self.current.events.push(event);
        done
    }

    /// The last, partial batch.
    pub fn finish(&mut self) -> Option<Batch> {
        if self.current.events.is_empty() {
            None
        } else {
            self.records = 0;
            Some(std::mem::take(&mut self.current))
        }
    }
}

/// Counts the requests and bytes an import would make, without keeping the events (for `check`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchCounter {
    /// Requests completed so far.
    pub requests: u64,
    /// Uncompressed bytes so far.
    pub bytes: u64,
    events_in_current: usize,
    bytes_in_current: usize,
}

impl BatchCounter {
    /// Count one entry (its JSON, one record per line), as [`Batcher::push`] would batch it.
    pub fn add(&mut self, json: &[u8]) {
        let size = json.len() + 1;
        let records = records_in(json);
        if self.events_in_current > 0
            && (self.events_in_current + records > MAX_BATCH_EVENTS
                || self.bytes_in_current + size > MAX_BATCH_BYTES)
        {
            self.requests += 1;
            self.events_in_current = 0;
            self.bytes_in_current = 0;
        }
        self.events_in_current += records;
        self.bytes_in_current += size;
        self.bytes += size as u64;
    }

    /// Total requests including the last partial one.
    pub fn total_requests(&self) -> u64 {
        self.requests + u64::from(self.events_in_current > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(row: u64, len: usize) -> BatchEvent {
        BatchEvent {
            row,
            json: vec![b'x'; len],
            insert_id: row.to_string(),
        }
    }

    #[test]
    fn batches_respect_event_and_byte_limits() {
        let mut batcher = Batcher::new(3, 100);
        let mut batches = Vec::new();
        for row in 0..7 {
            batches.extend(batcher.push(event(row, 10)));
        }
        batches.extend(batcher.finish());
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes, vec![3, 3, 1]);
        let mut batcher = Batcher::new(100, 25);
        let mut batches = Vec::new();
        for row in 0..5 {
            batches.extend(batcher.push(event(row, 10)));
        }
        batches.extend(batcher.finish());
        assert!(batches.iter().all(|b| b.bytes <= 25));
        assert_eq!(batches.iter().map(|b| b.events.len()).sum::<usize>(), 5);
    }

    #[test]
    fn counter_agrees_with_batcher() {
        let mut batcher = Batcher::default();
        let mut counter = BatchCounter::default();
        let mut requests = 0;
        for row in 0..4500 {
            counter.add(&[b'x'; 100]);
            requests += usize::from(batcher.push(event(row, 100)).is_some());
        }
        requests += usize::from(batcher.finish().is_some());
        assert_eq!(counter.total_requests(), requests as u64);
        assert_eq!(requests, 3);
    }

    #[test]
    fn the_limit_counts_records_of_two_line_entries() {
        let two = |row: u64| BatchEvent {
            row,
            json: b"{\"a\":1}\n{\"b\":2}".to_vec(),
            insert_id: row.to_string(),
        };
        let mut batcher = Batcher::default();
        let mut counter = BatchCounter::default();
        let mut batches = Vec::new();
        for row in 0..2500 {
            counter.add(&two(row).json);
            batches.extend(batcher.push(two(row)));
        }
        batches.extend(batcher.finish());
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
        assert_eq!(counter.total_requests(), 3);
        assert_eq!(records_in(b"{}"), 1);
    }

    #[test]
    fn split_halves_and_keeps_order() {
        let batch = Batch::from_events((0..5).map(|r| event(r, 4)).collect());
        let (a, b) = batch.split().unwrap();
        assert_eq!(a.events.len(), 2);
        assert_eq!(b.events[0].row, 2);
        assert_eq!(a.bytes, 10);
        assert!(Batch::from_events(vec![event(0, 1)]).split().is_none());
    }
}
