//! `mixport runs [RUN]`: the run history; with RUN, one run in detail and how to correct it.

use std::process::ExitCode;

use crate::mixpanel::region::Region;
use crate::pipeline::journal;
use crate::pipeline::report::RunReport;
use crate::pipeline::runs::{self, RunFiles};
use crate::verify::correct::CorrectionGuide;
use crate::verify::{Verification, describe, thousands};

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

fn last_verification(data_dir: Option<&std::path::Path>, run: &RunReport) -> Option<Verification> {
    let files = RunFiles::new(data_dir?, &run.run_id);
    let bytes = std::fs::read(files.verification()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn show(args: &RunsArgs) -> Result<(), String> {
    let data_dir = journal::data_dir();
    let history = data_dir.as_deref().map(runs::list_runs).unwrap_or_default();
    let Some(wanted) = &args.run else {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&history).unwrap_or_default()
            );
            return Ok(());
        }
        if history.is_empty() {
            println!("No imports yet.");
            return Ok(());
        }
        println!(
            "{:22}  {:20}  {:24}  {:>10}  {:14}  file",
            "run", "finished", "label", "imported", "project"
        );
        for run in &history {
            let verified = last_verification(data_dir.as_deref(), run)
                .map(|v| format!("  [{}]", verdict_word(&v)))
                .unwrap_or_default();
            println!(
                "{:22}  {:20}  {:24}  {:>10}  {:14}  {}{verified}",
                run.run_id,
                run.finished_at,
                run.label.as_deref().unwrap_or("-"),
                thousands(run.imported),
                project(run),
                run.file
            );
        }
        return Ok(());
    };
    let run = runs::find_run(data_dir.as_deref(), wanted).map_err(|e| e.to_string())?;
    let guide = CorrectionGuide::new(&run, chrono::Utc::now(), &history);
    if args.json {
        let value = serde_json::json!({"run": run, "correction": guide,
            "last_verification": last_verification(data_dir.as_deref(), &run)});
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
        project(&run),
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
    match last_verification(data_dir.as_deref(), &run) {
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

fn project(run: &RunReport) -> String {
    let region: Region = run.region.parse().unwrap_or_default();
    match &run.project_id {
        Some(p) => format!("{p} ({})", region.label()),
        None => format!("token ({})", region.label()),
    }
}

fn verdict_word(v: &Verification) -> &'static str {
    match v.verdict {
        crate::verify::Verdict::AllFound => "all found",
        crate::verify::Verdict::NotYetVisible => "not yet visible",
        crate::verify::Verdict::Missing => "missing events",
    }
}
