//! Correcting a run: what Mixpanel allows, and what a corrected re-import must do.
//!
//! Mixpanel events cannot be changed once ingested, and no API deletes them by property (shared
//! doc §8). Its Data Deletion tool (in the web UI only) deletes by event names, time range and
//! property filters, only events from the last [`DELETION_WINDOW_DAYS`] days, at most
//! [`DELETIONS_PER_MONTH`] deletions a month, undoable for [`UNDO_DAYS`] days. Deleted events
//! stay soft-deleted for a while, and re-imported events with the same `$insert_id` can be
//! dropped as their duplicates; so a corrected re-import uses a new insert-id generation
//! (salted into every derived id) and a new import label.
//!
//! [`CorrectionGuide`] puts that in numbers for one run: the exact filter to enter in the
//! deletion tool, how many of the run's events are too old to delete, the next generation, a new
//! label, and the plain warning of what will exist twice if the old events are not deleted first.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::pipeline::report::RunReport;

use super::thousands;

/// Mixpanel deletes only events whose time is within this many days.
pub const DELETION_WINDOW_DAYS: i64 = 180;
/// Deletions Mixpanel allows a month.
pub const DELETIONS_PER_MONTH: u32 = 10;
/// Days a deletion can be undone.
pub const UNDO_DAYS: u32 = 7;

/// Everything the user needs to correct one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionGuide {
    /// The run to correct.
    pub run_id: String,
    /// Its events, per name (what to select in the deletion tool).
    pub event_names: Vec<(String, u64)>,
    /// The label filter: property and value, when the run had a label.
    pub label_filter: Option<(String, String)>,
    /// The run's first and last UTC day.
    pub from_date: Option<String>,
    /// See `from_date`.
    pub to_date: Option<String>,
    /// Events that can still be deleted (time within the window).
    pub deletable: u64,
    /// Events older than the window: they cannot be deleted.
    pub too_old: u64,
    /// The first UTC day whose events can be deleted today.
    pub deletable_from: String,
    /// The date range to enter in the deletion tool (the run's days within the window).
    pub delete_range: Option<(String, String)>,
    /// The insert-id generation the re-import should use.
    pub next_generation: u32,
    /// A new import label for the re-import.
    pub new_label: String,
}

impl CorrectionGuide {
    /// The guide for `run` at `now`; `used_generations` (of the other runs of the same file)
    /// settles the next generation so it is new for the file.
    pub fn new(run: &RunReport, now: DateTime<Utc>, used_generations: &[u32]) -> Self {
        // Conservative: the boundary day counts as too old.
        let cutoff = (now - Duration::days(DELETION_WINDOW_DAYS)).date_naive();
        let deletable_from = cutoff + Duration::days(1);
        let mut deletable = 0;
        let mut too_old = 0;
        let mut deletable_days: Vec<NaiveDate> = Vec::new();
        for (day, count) in &run.accepted_by_day {
            let Ok(date) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
                too_old += count;
                continue;
            };
            if date <= cutoff {
                too_old += count;
            } else {
                deletable += count;
                deletable_days.push(date);
            }
        }
        let fmt = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
        let delete_range = match (deletable_days.first(), deletable_days.last()) {
            (Some(a), Some(b)) => Some((fmt(a), fmt(b))),
            _ => None,
        };
        let next_generation = used_generations
            .iter()
            .copied()
            .chain(std::iter::once(run.insert_id_generation))
            .max()
            .unwrap_or(0)
            + 1;
        let base = match &run.label {
            Some(label) if !label.is_empty() => strip_fix_suffix(label).to_owned(),
            _ => std::path::Path::new(&run.file)
                .file_stem()
                .map_or_else(|| "import".to_owned(), |s| s.to_string_lossy().into_owned()),
        };
        Self {
            run_id: run.run_id.clone(),
            event_names: run
                .accepted_by_event
                .iter()
                .map(|(n, c)| (n.clone(), *c))
                .collect(),
            label_filter: match (&run.label_property, &run.label) {
                (Some(p), Some(l)) if !p.is_empty() && !l.is_empty() => {
                    Some((p.clone(), l.clone()))
                }
                _ => None,
            },
            from_date: run.accepted_by_day.keys().next().cloned(),
            to_date: run.accepted_by_day.keys().next_back().cloned(),
            deletable,
            too_old,
            deletable_from: fmt(&deletable_from),
            delete_range,
            next_generation,
            new_label: format!("{base} fix {next_generation}"),
        }
    }

    /// All of the run's events.
    pub fn total(&self) -> u64 {
        self.deletable + self.too_old
    }

    /// What Mixpanel allows, in plain sentences.
    pub fn rules(&self) -> Vec<String> {
        vec![
            "Mixpanel cannot change events once they are imported, and no API deletes them: deleting is done by hand in Mixpanel's Data Deletion tool (Project Settings > Data Deletion).".to_owned(),
            format!(
                "It deletes only events from the last {DELETION_WINDOW_DAYS} days (today: events from {} on), at most {DELETIONS_PER_MONTH} deletions a month, and a deletion can be undone for {UNDO_DAYS} days.",
                self.deletable_from
            ),
            "Deleted events are kept for a while: a re-import with the same insert IDs could be dropped as their duplicates, so the corrected file is imported with a new insert-ID generation and a new label.".to_owned(),
        ]
    }

    /// The filter to enter in the deletion tool, line by line.
    pub fn filter_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let names: Vec<&str> = self.event_names.iter().map(|(n, _)| n.as_str()).collect();
        lines.push(format!("Events: {}", names.join(", ")));
        match &self.label_filter {
            Some((property, label)) => {
                lines.push(format!("Where: {property} equals \"{label}\""))
            }
            None => lines.push(
                "Where: (this run has no import label: narrow the filter by the date range only, and check that no other events of these names fall in it)".to_owned(),
            ),
        }
        match &self.delete_range {
            Some((from, to)) => lines.push(format!("Date range: {from} to {to}")),
            None => lines.push(
                "Date range: none: every event of this run is older than 180 days".to_owned(),
            ),
        }
        lines
    }

    /// The deletable and too-old counts in a sentence.
    pub fn age_sentence(&self) -> String {
        if self.too_old == 0 {
            format!(
                "All {} events of this run are from the last {DELETION_WINDOW_DAYS} days and can be deleted.",
                thousands(self.total())
            )
        } else if self.deletable == 0 {
            format!(
                "All {} events of this run are older than {DELETION_WINDOW_DAYS} days: Mixpanel cannot delete any of them.",
                thousands(self.total())
            )
        } else {
            format!(
                "{} of the {} events of this run are older than {DELETION_WINDOW_DAYS} days and cannot be deleted; {} can.",
                thousands(self.too_old),
                thousands(self.total()),
                thousands(self.deletable)
            )
        }
    }

    /// The plain warning shown before a corrected re-import: which events exist twice when the
    /// old ones are not deleted first.
    pub fn duplicate_warning(&self) -> String {
        let names: Vec<String> = self
            .event_names
            .iter()
            .take(8)
            .map(|(n, c)| format!("{n} ({})", thousands(*c)))
            .collect();
        let more = if self.event_names.len() > 8 {
            format!(" and {} more event names", self.event_names.len() - 8)
        } else {
            String::new()
        };
        let range = match (&self.from_date, &self.to_date) {
            (Some(a), Some(b)) => format!(" dated {a} to {b}"),
            _ => String::new(),
        };
        let label = match &self.label_filter {
            Some((_, l)) => format!(" (label \"{l}\")"),
            None => String::new(),
        };
        let mut text = format!(
            "If the {} events of run {}{label} are not deleted in Mixpanel first, they stay next to the new ones: every event that is in both files will exist twice in Mixpanel — {}{more}{range}.",
            thousands(self.total()),
            self.run_id,
            names.join(", "),
        );
        if self.too_old > 0 {
            text.push_str(&format!(
                " {} of them are older than {DELETION_WINDOW_DAYS} days and cannot be deleted at all: re-importing those will leave them twice whatever you do.",
                thousands(self.too_old)
            ));
        }
        text
    }
}

/// "sales fix 2" → "sales", so a second correction is "sales fix 3", not "sales fix 2 fix 3".
fn strip_fix_suffix(label: &str) -> &str {
    if let Some((base, n)) = label.rsplit_once(" fix ")
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        return base;
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunReport {
        RunReport {
            run_id: "20261202-100000-abcd".into(),
            file: "/data/sales.csv".into(),
            label_property: Some("mixport_import".into()),
            label: Some("sales 2026-12-02".into()),
            accepted_by_event: [("Purchase".to_owned(), 7), ("Refund".to_owned(), 3)].into(),
            accepted_by_day: [
                ("2026-01-10".to_owned(), 4),
                ("2026-06-04".to_owned(), 1),
                ("2026-06-05".to_owned(), 2),
                ("2026-11-30".to_owned(), 3),
            ]
            .into(),
            ..RunReport::default()
        }
    }

    fn now() -> DateTime<Utc> {
        // 180 days before 2026-12-02 is 2026-06-05.
        DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn counts_what_is_too_old_to_delete_and_gives_the_exact_filter() {
        let guide = CorrectionGuide::new(&run(), now(), &[]);
        assert_eq!(guide.deletable_from, "2026-06-06");
        assert_eq!(guide.too_old, 7);
        assert_eq!(guide.deletable, 3);
        assert_eq!(
            guide.delete_range,
            Some(("2026-11-30".into(), "2026-11-30".into()))
        );
        assert_eq!(
            guide.filter_lines(),
            [
                "Events: Purchase, Refund",
                "Where: mixport_import equals \"sales 2026-12-02\"",
                "Date range: 2026-11-30 to 2026-11-30",
            ]
        );
        assert_eq!(
            guide.age_sentence(),
            "7 of the 10 events of this run are older than 180 days and cannot be deleted; 3 can."
        );
        let rules = guide.rules().join(" ");
        assert!(rules.contains("180 days") && rules.contains("10 deletions a month"));
        let warning = guide.duplicate_warning();
        assert!(warning.contains("Purchase (7), Refund (3)"), "{warning}");
        assert!(warning.contains("exist twice"), "{warning}");
        assert!(
            warning.contains("7 of them are older than 180 days"),
            "{warning}"
        );
        assert!(
            warning.contains("dated 2026-01-10 to 2026-11-30"),
            "{warning}"
        );
    }

    #[test]
    fn the_next_generation_is_new_for_the_file_and_the_label_is_new() {
        let first = run();
        let guide = CorrectionGuide::new(&first, now(), &[]);
        assert_eq!(guide.next_generation, 1);
        assert_eq!(guide.new_label, "sales 2026-12-02 fix 1");
        let fixed = RunReport {
            run_id: "20261203-100000-abcd".into(),
            insert_id_generation: 2,
            label: Some("sales 2026-12-02 fix 2".into()),
            ..run()
        };
        let guide = CorrectionGuide::new(&first, now(), &[2, 0]);
        assert_eq!(guide.next_generation, 3);
        let again = CorrectionGuide::new(&fixed, now(), &[]);
        assert_eq!(again.new_label, "sales 2026-12-02 fix 3");
        let unlabelled = RunReport {
            label: None,
            ..run()
        };
        let guide = CorrectionGuide::new(&unlabelled, now(), &[]);
        assert_eq!(guide.new_label, "sales fix 1");
        assert!(guide.filter_lines()[1].contains("no import label"));
    }

    #[test]
    fn everything_recent_or_everything_old() {
        let mut recent = run();
        recent.accepted_by_day = [("2026-11-30".to_owned(), 10)].into();
        let guide = CorrectionGuide::new(&recent, now(), &[]);
        assert!(guide.age_sentence().starts_with("All 10 events"));
        assert!(!guide.duplicate_warning().contains("cannot be deleted"));
        let mut old = run();
        old.accepted_by_day = [("2020-01-01".to_owned(), 10)].into();
        let guide = CorrectionGuide::new(&old, now(), &[]);
        assert_eq!(guide.delete_range, None);
        assert!(guide.age_sentence().contains("cannot delete any"));
        assert!(guide.filter_lines()[2].contains("older than 180 days"));
    }
}
