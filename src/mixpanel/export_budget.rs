//! The raw export's query budget: Mixpanel allows 60 export queries an hour and 3 a second per
//! project (shared doc §9).
//!
//! The budget is kept on disk (one small JSON file in the data folder, shared by the app and the
//! CLI), so that every `mixport verify` and every "Verify in Mixpanel" click counts against the
//! same hour, and the user can be shown how many queries are left before Mixpanel would refuse.
//! A budget without a file (no data folder) counts this process only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Mixpanel's limits on export queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportLimits {
    /// Queries per window (Mixpanel: 60).
    pub per_window: u32,
    /// The sliding window (Mixpanel: one hour).
    pub window: Duration,
    /// Least time between two queries (Mixpanel: 3 a second, so a third of a second).
    pub spacing: Duration,
}

impl Default for ExportLimits {
    fn default() -> Self {
        Self {
            per_window: 60,
            window: Duration::from_secs(3600),
            spacing: Duration::from_millis(334),
        }
    }
}

/// The budget in numbers, for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// Queries made in the current window.
    pub used: u32,
    /// Queries allowed per window.
    pub limit: u32,
    /// The window in seconds (3600 for Mixpanel).
    pub window_secs: u64,
    /// When the budget is used up: seconds until a query is allowed again.
    pub free_again_in_secs: Option<u64>,
}

impl BudgetStatus {
    /// Queries left in the window.
    pub fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.used)
    }

    /// "57 of 60 export queries left this hour" (or the window in minutes when it is not an
    /// hour).
    pub fn describe(&self) -> String {
        let window = if self.window_secs == 3600 {
            "this hour".to_owned()
        } else {
            format!("in the last {} s", self.window_secs)
        };
        match self.free_again_in_secs {
            Some(secs) => format!(
                "all {} export queries {window} are used; the next one is allowed in {}",
                self.limit,
                describe_wait(secs)
            ),
            None => format!(
                "{} of {} export queries left {window}",
                self.remaining(),
                self.limit
            ),
        }
    }
}

/// "45 s", "3 min", "1 h 5 min".
pub fn describe_wait(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs.div_ceil(60))
    } else {
        let minutes = secs.div_ceil(60);
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

/// The file's content: query times (Unix milliseconds) per destination.
#[derive(Debug, Default, Serialize, Deserialize)]
struct BudgetFile {
    version: u32,
    queries: BTreeMap<String, Vec<i64>>,
}

/// The query budget of one destination (export host and project).
#[derive(Debug, Clone)]
pub struct QueryBudget {
    limits: ExportLimits,
    file: Option<PathBuf>,
    key: String,
    /// Query times in Unix milliseconds, oldest first, within the window.
    queries: Vec<i64>,
}

/// Now in Unix milliseconds.
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl QueryBudget {
    /// The budget for `key` (export host + project), kept in `file` when given. An unreadable
    /// file counts as empty (it is rewritten on the next query).
    pub fn open(file: Option<PathBuf>, key: impl Into<String>, limits: ExportLimits) -> Self {
        let mut budget = Self {
            limits,
            file,
            key: key.into(),
            queries: Vec::new(),
        };
        budget.reload();
        budget
    }

    /// The budget file's usual place in the data folder.
    pub fn default_file(data_dir: &Path) -> PathBuf {
        data_dir.join("export-budget.json")
    }

    /// Read the queries other processes recorded since this one last looked.
    pub fn reload(&mut self) {
        if let Some(file) = &self.file {
            let loaded = read_file(file);
            let mut queries = loaded.queries.get(&self.key).cloned().unwrap_or_default();
            queries.extend(self.queries.iter().copied());
            queries.sort_unstable();
            queries.dedup();
            self.queries = queries;
        }
    }

    /// The limits.
    pub fn limits(&self) -> ExportLimits {
        self.limits
    }

    fn prune(&mut self, now_ms: i64) {
        let window = self.limits.window.as_millis() as i64;
        self.queries.retain(|&t| now_ms - t < window && t <= now_ms);
    }

    /// The budget at `now_ms`.
    pub fn status(&self, now_ms: i64) -> BudgetStatus {
        let window = self.limits.window.as_millis() as i64;
        let live: Vec<i64> = self
            .queries
            .iter()
            .copied()
            .filter(|&t| now_ms - t < window && t <= now_ms)
            .collect();
        let used = live.len() as u32;
        let free_again_in_secs = (used >= self.limits.per_window).then(|| {
            // The query that leaves the window first frees a slot.
            let index = live.len() - self.limits.per_window.max(1) as usize;
            let wait_ms = (live[index] + window - now_ms).max(0);
            (wait_ms as u64).div_ceil(1000).max(1)
        });
        BudgetStatus {
            used,
            limit: self.limits.per_window,
            window_secs: self.limits.window.as_secs(),
            free_again_in_secs,
        }
    }

    /// How long to wait before the next query: `Ok(wait)` (zero or the spacing), or
    /// `Err(wait)` when the hourly budget is used up and a slot frees only after `wait`.
    pub fn wait_before_next(&self, now_ms: i64) -> Result<Duration, Duration> {
        let status = self.status(now_ms);
        if let Some(secs) = status.free_again_in_secs {
            return Err(Duration::from_secs(secs));
        }
        let spacing = self.limits.spacing.as_millis() as i64;
        let since_last = self
            .queries
            .last()
            .map_or(i64::MAX, |&t| now_ms.saturating_sub(t));
        Ok(Duration::from_millis(
            (spacing - since_last).clamp(0, spacing) as u64,
        ))
    }

    /// Count a query made at `now_ms` and save the budget (a failed save is not worth failing
    /// the query for: the in-memory count still holds for this process).
    pub fn record(&mut self, now_ms: i64) {
        self.reload();
        self.prune(now_ms);
        self.queries.push(now_ms);
        self.save(now_ms);
    }

    fn save(&self, now_ms: i64) {
        let Some(file) = &self.file else {
            return;
        };
        let mut content = read_file(file);
        content.version = 1;
        let window = self.limits.window.as_millis() as i64;
        // Drop every destination's expired entries so the file stays small.
        for times in content.queries.values_mut() {
            times.retain(|&t| now_ms - t < window.max(3_600_000));
        }
        content.queries.retain(|_, times| !times.is_empty());
        content
            .queries
            .insert(self.key.clone(), self.queries.clone());
        let Ok(text) = serde_json::to_string(&content) else {
            return;
        };
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        // Write a temporary file and rename it over the old one, so a reader never sees half.
        let temporary = file.with_extension(format!("json.{}.tmp", std::process::id()));
        if std::fs::write(&temporary, text).is_ok() && std::fs::rename(&temporary, file).is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

fn read_file(path: &Path) -> BudgetFile {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_window: u32) -> ExportLimits {
        ExportLimits {
            per_window,
            window: Duration::from_secs(3600),
            spacing: Duration::from_millis(334),
        }
    }

    #[test]
    fn counts_queries_in_the_window_and_says_when_a_slot_frees() {
        let mut budget = QueryBudget::open(None, "data.mixpanel.com 42", limits(3));
        let t0 = 1_000_000_000_000;
        assert_eq!(budget.status(t0).remaining(), 3);
        assert_eq!(budget.wait_before_next(t0), Ok(Duration::ZERO));
        budget.record(t0);
        // The spacing: three queries a second.
        assert_eq!(
            budget.wait_before_next(t0 + 100),
            Ok(Duration::from_millis(234))
        );
        budget.record(t0 + 1000);
        budget.record(t0 + 2000);
        let status = budget.status(t0 + 3000);
        assert_eq!(status.used, 3);
        assert_eq!(status.free_again_in_secs, Some(3597));
        assert_eq!(
            budget.wait_before_next(t0 + 3000),
            Err(Duration::from_secs(3597))
        );
        assert!(status.describe().contains("next one is allowed in 60 min"));
        // An hour after the first query, one slot is free again.
        let later = t0 + 3_600_000;
        assert_eq!(budget.status(later).remaining(), 1);
        assert_eq!(
            budget.status(later).describe(),
            "1 of 3 export queries left this hour"
        );
    }

    #[test]
    fn the_file_is_shared_between_processes_and_per_destination() {
        let dir = tempfile::tempdir().unwrap();
        let file = QueryBudget::default_file(dir.path());
        let now = now_unix_ms();
        let mut first = QueryBudget::open(Some(file.clone()), "host 1", limits(60));
        first.record(now - 1000);
        first.record(now);
        let second = QueryBudget::open(Some(file.clone()), "host 1", limits(60));
        assert_eq!(second.status(now).used, 2);
        let other = QueryBudget::open(Some(file.clone()), "host 2", limits(60));
        assert_eq!(other.status(now).used, 0);
        // A broken file counts as empty and is rewritten.
        std::fs::write(&file, "not json").unwrap();
        let mut broken = QueryBudget::open(Some(file.clone()), "host 1", limits(60));
        assert_eq!(broken.status(now).used, 0);
        broken.record(now);
        assert_eq!(
            QueryBudget::open(Some(file), "host 1", limits(60))
                .status(now)
                .used,
            1
        );
    }

    #[test]
    fn waits_in_words() {
        assert_eq!(describe_wait(45), "45 s");
        assert_eq!(describe_wait(61), "2 min");
        assert_eq!(describe_wait(3900), "1 h 5 min");
    }
}
