//! `mixport runs [RUN]`: the run history; with RUN, one run in detail and how to correct it.

use std::path::Path;
use std::process::ExitCode;

use crate::mixpanel::region::Region;
use crate::pipeline::journal;
use crate::session::history;
use crate::session::run::{RunEnd, RunRecord};
use crate::session::verify as session;
use crate::verify::{Verdict, Verification, describe, thousands};

/// Arguments of `mixport runs`.
#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// Show this run (an id, a unique start of one, or a run report file) and how to correct it.
    pub run: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `mixport runs`.
pub fn run(args: RunsArgs) -> ExitCode {
    match show(&args) {
        Ok(()) => ExitCode::from(super::EXIT_OK),
        Err(message) => super::fail(message),
    }
}

fn show(args: &RunsArgs) -> Result<(), String> {
    let runs_dir = journal::data_dir();
    let records = runs_dir.as_deref().map(history::list).unwrap_or_default();
    match &args.run {
        None => list(runs_dir.as_deref(), &records, args.json),
        Some(wanted) => detail(runs_dir.as_deref(), &records, wanted, args.json),
    }
}

fn list(runs_dir: Option<&Path>, records: &[RunRecord], json: bool) -> Result<(), String> {
    if json {
        let rows: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "run": r,
                    "last_verification": runs_dir.and_then(|d| session::last_verification(d, &r.id)),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return Ok(());
    }
    if records.is_empty() {
        println!("No imports yet.");
        return Ok(());
    }
    println!(
        "{:30}  {:20}  {:28}  {:>10}  {:14}  {:16}  file",
        "run", "finished", "label", "imported", "project", "outcome"
    );
    for record in records {
        let verified = runs_dir
            .and_then(|d| session::last_verification(d, &record.id))
            .map(|v| format!("  [{}]", verdict_word(&v)))
            .unwrap_or_default();
        println!(
            "{:30}  {:20}  {:28}  {:>10}  {:14}  {:16}  {}{verified}",
            record.id,
            record.finished_at,
            record.label.as_deref().unwrap_or("-"),
            thousands(record.counts.imported),
            project(record.project_id.as_deref(), &record.region),
            end_word(&record.end),
            record.file.display()
        );
    }
    Ok(())
}

fn detail(
    runs_dir: Option<&Path>,
    records: &[RunRecord],
    wanted: &str,
    json: bool,
) -> Result<(), String> {
    let found = session::find(runs_dir, wanted).map_err(|e| e.to_string())?;
    let run = &found.report;
    let guide = session::correction(&found, records);
    let last = runs_dir.and_then(|d| session::last_verification(d, &run.run_id));
    if json {
        let value = serde_json::json!({"run": run, "correction": guide, "last_verification": last});
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return Ok(());
    }
    println!("Run {}: {}", run.run_id, run.file);
    println!(
        "  {} → {}, {} events imported, {} rejected, label {}, insert-ID generation {}",
        run.started_at,
        project(run.project_id.as_deref(), &run.region),
        thousands(run.imported),
        thousands(run.rejected),
        run.label
            .as_deref()
            .map_or("none".to_owned(), |l| format!("\"{l}\"")),
        run.insert_id_generation
    );
    if let (Some(a), Some(b)) = (&run.first_event_time, &run.last_event_time) {
        println!("  event times {a} to {b}");
    }
    match last {
        Some(v) => println!("  last verified {}: {}", v.checked_at, describe(&v)),
        None => println!("  not verified yet: `mixport verify {}`", run.run_id),
    }
    println!("\nTo correct this run:");
    for rule in guide.rules() {
        println!("  - {rule}");
    }
    println!("  - {}", guide.age_sentence());
    println!("1. In Mixpanel's Data Deletion tool, enter:");
    for line in guide.filter_lines() {
        println!("     {line}");
    }
    println!(
        "2. Fix the file, then import it with a new insert-ID generation and label:\n     mixport import FILE --insert-id-generation {} --label \"{}\"",
        guide.next_generation, guide.new_label
    );
    println!("   {}", guide.duplicate_warning());
    Ok(())
}

fn project(project_id: Option<&str>, region: &str) -> String {
    let region: Region = region.parse().unwrap_or_default();
    match project_id {
        Some(p) => format!("{p} ({})", region.label()),
        None => format!("token ({})", region.label()),
    }
}

fn end_word(end: &RunEnd) -> &'static str {
    match end {
        RunEnd::Finished => "finished",
        RunEnd::Cancelled => "cancelled",
        RunEnd::Refused { .. } => "refused",
        RunEnd::NotMixpanel { .. } => "not Mixpanel",
        RunEnd::Redirected { .. } => "redirected",
        RunEnd::Unreachable { .. } => "unreachable",
        RunEnd::Undelivered => "some undelivered",
        RunEnd::FileBroken { .. } => "file broken",
        RunEnd::Interrupted => "interrupted",
    }
}

fn verdict_word(v: &Verification) -> &'static str {
    match v.verdict {
        Verdict::AllFound => "all found",
        Verdict::NotYetVisible => "not yet visible",
        Verdict::Missing => "missing events",
    }
}
