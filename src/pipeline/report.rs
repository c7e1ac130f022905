//! The run report (JSON) of an import. Never holds a secret.
//!
//! The counts add up: `rows = imported + rejected + failed + skipped`, where `rows` counts the
//! rows whose outcome is final in this run. Rows read but not sent because the run was cancelled
//! or stopped are in `not_sent` (not in `rows`); `--resume` picks them up.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunReport {
    /// The run's id in the run history (see [`crate::session::history`]); empty when no history is kept.
    pub run_id: String,
    /// Events or user profiles.
    #[serde(default)]
    pub kind: crate::mapping::ImportKind,
    /// The file imported.
    pub file: String,
    /// Region code (`us`, `eu`, `in`).
    pub region: String,
    /// Project id (service accounts), `null` for a project token.
    pub project_id: Option<String>,
    /// The ingestion host when overridden with `--api-base`.
    pub api_base: Option<String>,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// End time, RFC 3339 UTC.
    pub finished_at: String,
    /// Rows with a final outcome in this run: imported + rejected + failed + skipped.
    pub rows: u64,
    /// Events Mixpanel imported.
    pub imported: u64,
    /// Rows rejected: locally (never sent) plus by Mixpanel.
    pub rejected: u64,
    /// Rows rejected by local validation.
    pub rejected_local: u64,
    /// Events rejected by Mixpanel.
    pub rejected_server: u64,
    /// Events not delivered after all retries (resent by `--resume`).
    pub failed: u64,
    /// Rows skipped because an earlier run already delivered them (`--resume`).
    pub skipped: u64,
    /// Rows read but not sent because the run was cancelled or stopped (not counted in `rows`).
    pub not_sent: u64,
    /// Requests made.
    pub requests: u64,
    /// Retries made (all causes).
    pub retries: u64,
    /// 429 responses.
    pub rate_limited: u64,
    /// Compressed bytes sent.
    pub bytes_sent: u64,
    /// Wall-clock duration.
    pub elapsed_secs: f64,
    /// Imported events per second.
    pub events_per_sec: f64,
    /// Whether the user cancelled.
    pub cancelled: bool,
    /// Why the run stopped early (401/403, a broken file), in words.
    pub error: Option<String>,
    /// Why Mixpanel (or the server) stopped the run, as data: refused credentials or a server
    /// that is not Mixpanel's API. `None` for a run that was not stopped by the server.
    #[serde(default)]
    pub fatal: Option<crate::mixpanel::client::Fatal>,
    /// Remarks (e.g. Mixpanel's counts that disagree with its failure list).
    pub notes: Vec<String>,
    /// The rejected-rows CSV, when written.
    pub rejected_file: Option<String>,
    /// The resume journal, when one is kept (the run did not finish cleanly).
    pub journal: Option<String>,
    /// The saved connection the run used, when it used one.
    pub connection: Option<String>,
    /// The import label's property name (e.g. `mixport_import`), when the run had a label.
    pub label_property: Option<String>,
    /// The import label (the value of `label_property` on every event of the run).
    pub label: Option<String>,
    /// The insert-id generation (0 for a first import; a correction uses a new one).
    pub insert_id_generation: u32,
    /// Time of the earliest event Mixpanel accepted (RFC 3339 UTC, milliseconds).
    pub first_event_time: Option<String>,
    /// Time of the latest event Mixpanel accepted (RFC 3339 UTC, milliseconds).
    pub last_event_time: Option<String>,
    /// Events Mixpanel accepted, per event name.
    pub accepted_by_event: BTreeMap<String, u64>,
    /// Events Mixpanel accepted, per UTC day of their time (`YYYY-MM-DD`).
    pub accepted_by_day: BTreeMap<String, u64>,
    /// The record of accepted events that verification compares with Mixpanel's export.
    pub accepted_keys: Option<String>,
    /// The file's fingerprint when it was imported (size, modification time, head and tail hash).
    pub file_fingerprint: Option<String>,
}

impl RunReport {
    /// Whether `rows = imported + rejected + failed + skipped` and the rejected parts add up.
    pub fn counts_add_up(&self) -> bool {
        self.rows == self.imported + self.rejected + self.failed + self.skipped
            && self.rejected == self.rejected_local + self.rejected_server
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Write the report to `path` (creating its folder) through a temporary file: `path` holds
    /// either the whole report or what it held before.
    pub fn save(&self, path: &Path) -> Result<(), super::PipelineError> {
        crate::output::write_atomically(path, (self.to_json() + "\n").as_bytes()).map_err(
            |source| super::PipelineError::Output {
                path: path.to_owned(),
                source,
            },
        )
    }
}

/// Now, as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let mut r = RunReport {
            rows: 10,
            imported: 7,
            rejected: 2,
            rejected_local: 1,
            rejected_server: 1,
            failed: 0,
            skipped: 1,
            ..RunReport::default()
        };
        assert!(r.counts_add_up());
        r.rejected_server = 0;
        assert!(!r.counts_add_up());
    }

    #[test]
    fn report_json_has_the_documented_keys_and_saves() {
        let r = RunReport {
            rows: 1,
            imported: 1,
            region: "eu".into(),
            project_id: Some("42".into()),
            ..RunReport::default()
        };
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        for key in [
            "rows",
            "imported",
            "rejected",
            "skipped",
            "failed",
            "retries",
            "rate_limited",
            "elapsed_secs",
            "events_per_sec",
            "region",
            "project_id",
            "cancelled",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/report.json");
        r.save(&path).unwrap();
        let back: RunReport =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
