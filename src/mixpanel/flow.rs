//! Flow control shared by the senders of one run: the adaptive concurrency limit (lowered while
//! 429s continue, raised slowly after successes), the count of requests waiting to retry, and the
//! stop signal (user cancel or a fatal error).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::pipeline::RunControl;

/// Most requests Mixport keeps in flight (Mixpanel recommends 10–20).
pub const MAX_WORKERS: usize = 20;
/// Default requests in flight.
pub const DEFAULT_WORKERS: usize = 10;

/// An additive-increase / multiplicative-decrease limit on requests in flight.
///
/// A 429 halves the limit (at most once per `cooldown`, so one burst of concurrent 429s counts
/// once); after as many successes in a row as the current limit, it grows by one, up to the
/// configured maximum.
#[derive(Debug)]
pub struct AdaptiveLimit {
    max: usize,
    cooldown: Duration,
    state: Mutex<LimitState>,
}

#[derive(Debug)]
struct LimitState {
    limit: usize,
    successes: usize,
    last_decrease: Option<Instant>,
}

impl AdaptiveLimit {
    /// Start at `max` (clamped to 1..=[`MAX_WORKERS`]) requests in flight.
    pub fn new(max: usize, cooldown: Duration) -> Self {
        let max = max.clamp(1, MAX_WORKERS);
        Self {
            max,
            cooldown,
            state: Mutex::new(LimitState {
                limit: max,
                successes: 0,
                last_decrease: None,
            }),
        }
    }

    /// The current limit.
    pub fn current(&self) -> usize {
        self.lock().limit
    }

    /// The configured maximum.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A request was rate limited: halve the limit unless it was lowered within the cooldown.
    pub fn on_rate_limited(&self) {
        let mut state = self.lock();
        state.successes = 0;
        let now = Instant::now();
        let cooled = state
            .last_decrease
            .is_none_or(|t| now.duration_since(t) >= self.cooldown);
        if cooled {
            state.limit = (state.limit / 2).max(1);
            state.last_decrease = Some(now);
        }
    }

    /// A request succeeded: after `limit` successes in a row, allow one more in flight.
    pub fn on_success(&self) {
        let mut state = self.lock();
        state.successes += 1;
        if state.successes >= state.limit && state.limit < self.max {
            state.limit += 1;
            state.successes = 0;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimitState> {
        // ok: the state is plain numbers, valid even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the senders of one run share.
#[derive(Debug)]
pub struct Flow {
    /// The adaptive concurrency limit.
    pub limit: AdaptiveLimit,
    /// The user's cancel and pause.
    pub control: RunControl,
    stop: AtomicBool,
    retrying: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    /// Whether any request of the run got an HTTP answer.
    answered: AtomicBool,
    /// When the first connection failure happened, while nothing has answered yet.
    unreachable_since: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Flow {
    /// Flow control for `workers` requests in flight.
    pub fn new(workers: usize, control: RunControl) -> Self {
        Self::with_cooldown(workers, control, Duration::from_secs(2))
    }

    /// As [`Flow::new`] with a custom rate-limit cooldown (tests use a short one).
    pub fn with_cooldown(workers: usize, control: RunControl, cooldown: Duration) -> Self {
        Self {
            limit: AdaptiveLimit::new(workers, cooldown),
            control,
            stop: AtomicBool::new(false),
            retrying: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            answered: AtomicBool::new(false),
            unreachable_since: std::sync::Mutex::new(None),
        }
    }

    /// A request got an HTTP answer: the host is reachable.
    pub(crate) fn note_answer(&self) {
        self.answered.store(true, Ordering::SeqCst);
    }

    /// A connection could not be made. While nothing has ever answered, returns when the first
    /// such failure happened (the host may be unreachable); once something answered, `None`.
    pub(crate) fn note_unreachable(&self) -> Option<std::time::Instant> {
        if self.answered.load(Ordering::SeqCst) {
            return None;
        }
        let mut since = self
            .unreachable_since
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Some(*since.get_or_insert_with(std::time::Instant::now))
    }

    /// Stop retrying and sending: a fatal error happened.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether senders should give up waiting (cancel or fatal error).
    pub fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.control.is_cancelled()
    }

    /// Requests now waiting out a backoff.
    pub fn retrying(&self) -> u64 {
        self.retrying.load(Ordering::Relaxed)
    }

    /// Retries so far (all causes).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// 429 responses so far.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    pub(crate) fn note_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
        self.limit.on_rate_limited();
    }

    pub(crate) fn begin_wait(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        self.retrying.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn end_wait(&self) {
        self.retrying.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_halve_and_successes_grow_slowly() {
        let limit = AdaptiveLimit::new(16, Duration::ZERO);
        assert_eq!(limit.current(), 16);
        limit.on_rate_limited();
        assert_eq!(limit.current(), 8);
        limit.on_rate_limited();
        limit.on_rate_limited();
        limit.on_rate_limited();
        limit.on_rate_limited();
        assert_eq!(limit.current(), 1, "never below one");
        // One success at limit 1 grows to 2; then two successes are needed for 3, ...
        limit.on_success();
        assert_eq!(limit.current(), 2);
        limit.on_success();
        assert_eq!(limit.current(), 2);
        limit.on_success();
        assert_eq!(limit.current(), 3);
        for _ in 0..1000 {
            limit.on_success();
        }
        assert_eq!(limit.current(), 16, "never above the maximum");
    }

    #[test]
    fn a_burst_of_429s_within_the_cooldown_counts_once() {
        let limit = AdaptiveLimit::new(10, Duration::from_secs(60));
        for _ in 0..10 {
            limit.on_rate_limited();
        }
        assert_eq!(limit.current(), 5);
    }

    #[test]
    fn limits_are_clamped() {
        assert_eq!(AdaptiveLimit::new(0, Duration::ZERO).current(), 1);
        assert_eq!(
            AdaptiveLimit::new(99, Duration::ZERO).current(),
            MAX_WORKERS
        );
    }

    #[test]
    fn stop_and_cancel_both_stop_senders() {
        let control = RunControl::new();
        let flow = Flow::new(4, control.clone());
        assert!(!flow.is_stopping());
        control.cancel();
        assert!(flow.is_stopping());
        let flow = Flow::new(4, RunControl::new());
        flow.stop();
        assert!(flow.is_stopping());
    }
}
