//! `mixport verify RUN`: did the run's events land? Mixpanel's raw export compared with what the
//! run delivered.
//!
//! RUN is a run id from `mixport runs` (or a unique prefix of one) or the path of a run report
//! written by `import --report`. Credentials: `--connection NAME`, else the connection the run
//! used, else `MP_ACCT` + `MP_PASS` (the project is the run's). A project token cannot export:
//! the command says so and how to add a service account. Exit codes: 0 every accepted event was
//! found, 1 some are missing or not visible yet, 2 the check could not run.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::mixpanel::auth::{Credentials, Secret};
use crate::mixpanel::client::BackoffPolicy;
use crate::mixpanel::export_budget::describe_wait;
use crate::mixpanel::region::Region;
use crate::pipeline::report::RunReport;
use crate::pipeline::{RunControl, journal};
use crate::session::verify as session;
use crate::verify::{self, Verdict, Verification, VerifyOptions, VerifyProgress, thousands};

/// Arguments of `mixport verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A run id from `mixport runs` (or a unique start of one), or a run report file.
    pub run: String,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Another export host, e.g. a test server (plain http only for loopback).
    #[arg(long)]
    pub api_base: Option<String>,
    /// Use this saved connection (default: the run's own, else MP_ACCT/MP_PASS).
    #[arg(long)]
    pub connection: Option<String>,
    /// The project id, when the run was made with a project token.
    #[arg(long)]
    pub project_id: Option<String>,
    /// Write the source rows of the events not found to this CSV.
    #[arg(long, value_name = "MISSING.csv")]
    pub missing_out: Option<PathBuf>,
    /// Tests: base retry delay in milliseconds instead of 2 s.
    #[arg(long, hide = true)]
    pub retry_base_ms: Option<u64>,
    /// Tests: how long after an import events count as "not yet visible" (default 3600).
    #[arg(long, hide = true)]
    pub processing_window_secs: Option<u64>,
    /// Tests: most events per in-memory partition.
    #[arg(long, hide = true)]
    pub partition_capacity: Option<usize>,
}

/// Run `mixport verify`.
pub fn run(args: VerifyArgs) -> ExitCode {
    match verify(&args) {
        Ok(code) => code,
        Err(message) => super::fail(message),
    }
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The credentials to read the run back with.
fn credentials(
    args: &VerifyArgs,
    run: &RunReport,
    region: Region,
    env_value: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, String> {
    let project = args
        .project_id
        .clone()
        .or_else(|| run.project_id.clone())
        .or_else(|| env_value("MP_PROJECT"));
    let saved = |name: &str| -> Result<Credentials, String> {
        let target = super::import::connection_target(name, None, project.as_deref())?;
        if target.region != region {
            return Err(format!(
                "connection '{name}' is in the {} region, but the run went to the {} region",
                target.region.label(),
                region.label()
            ));
        }
        Ok(target.credentials)
    };
    if let Some(name) = &args.connection {
        return saved(name);
    }
    let env_account = match (env_value("MP_ACCT"), env_value("MP_PASS")) {
        (Some(user), Some(pass)) => Some((user, pass)),
        _ => None,
    };
    if let Some(name) = &run.connection {
        match saved(name) {
            Ok(credentials) => return Ok(credentials),
            // The run's connection is gone (renamed, deleted): the environment may still do.
            Err(e) if env_account.is_none() => return Err(e),
            Err(_) => {}
        }
    }
    if let Some((user, pass)) = env_account {
        let project = project.ok_or_else(|| {
            "this run was made with a project token: give the project id with --project-id (or MP_PROJECT)".to_owned()
        })?;
        return Credentials::service_account(user, Secret::new(pass), project)
            .map_err(|e| format!("service account from MP_ACCT/MP_PASS: {e}"));
    }
    if let Some(token) = env_value("MP_TOKEN") {
        return Credentials::project_token(Secret::new(token))
            .map_err(|e| format!("MP_TOKEN: {e}"));
    }
    if run.project_id.is_none() {
        // The run used a token: the export cannot use it.
        return Err(crate::mixpanel::export::ExportError::ProjectToken.to_string());
    }
    Err("no Mixpanel credentials to read the export with: pass --connection NAME for a service account saved in the app, or set MP_ACCT and MP_PASS".to_owned())
}

fn verify(args: &VerifyArgs) -> Result<ExitCode, String> {
    let runs_dir = journal::data_dir();
    let found = session::find(runs_dir.as_deref(), &args.run).map_err(|e| e.to_string())?;
    let run = &found.report;
    let region = found.region();
    let credentials = credentials(args, run, region, &env_value)?;
    let mut client = session::export_client(
        &credentials,
        region,
        args.api_base.as_deref(),
        runs_dir.as_deref(),
        |settings| {
            if let Some(ms) = args.retry_base_ms {
                settings.backoff = BackoffPolicy::scaled_ms(ms.max(1));
            }
        },
    )
    .map_err(|e| e.to_string())?;
    if let Some(out) = &args.missing_out {
        super::guard_outputs(
            std::path::Path::new(&run.file),
            None,
            &[("--missing-out", Some(out.as_path()))],
        )?;
    }
    let mut options = VerifyOptions {
        missing_out: args.missing_out.clone(),
        ..VerifyOptions::default()
    };
    if let Some(secs) = args.processing_window_secs {
        options.processing_window = Duration::from_secs(secs);
    }
    if let Some(capacity) = args.partition_capacity {
        options.partition_capacity = capacity.max(1);
    }
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = String::new();
    let mut on_progress = |p: &VerifyProgress| {
        if !terminal {
            return;
        }
        let line = p.describe();
        if line != last_line {
            eprint!("\r\x1b[2K{line}");
            last_line = line;
        }
    };
    let result = session::verify(
        &found,
        &mut client,
        runs_dir.as_deref(),
        options,
        &RunControl::new(),
        &mut on_progress,
    );
    if terminal {
        eprint!("\r\x1b[2K");
    }
    let result = result.map_err(|e| e.to_string())?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
    } else {
        print!("{}", human(run, &result));
    }
    Ok(ExitCode::from(match result.verdict {
        Verdict::AllFound => super::EXIT_OK,
        Verdict::NotYetVisible | Verdict::Missing => super::EXIT_SOME_REJECTED,
    }))
}

/// The result for people.
fn human(run: &RunReport, result: &Verification) -> String {
    let mut out = String::new();
    let project = result.project_id.as_deref().map_or_else(
        || "the token's project".to_owned(),
        |p| format!("project {p}"),
    );
    let region: Region = run.region.parse().unwrap_or_default();
    out.push_str(&format!(
        "Run {} ({}) into {project}, {} region: {} events accepted\n",
        run.run_id,
        run.label.as_deref().unwrap_or("no label"),
        region.label(),
        thousands(result.accepted)
    ));
    out.push_str(&verify::describe(result));
    out.push('\n');
    if result.verdict != Verdict::AllFound || result.by_event.len() > 1 {
        let width = result
            .by_event
            .iter()
            .map(|e| e.event.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        out.push_str(&format!(
            "  {:width$}  {:>10}  {:>10}  {:>10}\n",
            "event", "accepted", "found", "not found"
        ));
        for e in &result.by_event {
            out.push_str(&format!(
                "  {:width$}  {:>10}  {:>10}  {:>10}\n",
                e.event,
                thousands(e.accepted),
                thousands(e.found),
                thousands(e.missing)
            ));
        }
    }
    if result.duplicates_in_run > 0 {
        out.push_str(&format!(
            "{} accepted events were exact copies of another event of the run; Mixpanel keeps one of each.\n",
            thousands(result.duplicates_in_run)
        ));
    }
    if !result.sample_missing.is_empty() {
        out.push_str(&format!(
            "Source rows of the events not found ({} of {}):\n",
            result.sample_missing.len(),
            thousands(result.missing)
        ));
        for row in &result.sample_missing {
            let values: Vec<String> = row
                .values
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            out.push_str(&format!(
                "  row {}  {}  {}\n",
                row.row,
                row.event,
                values.join(", ")
            ));
        }
    }
    if let Some(note) = &result.source_note {
        out.push_str(&format!("({note})\n"));
    }
    if let Some(file) = &result.missing_file {
        out.push_str(&format!("All rows not found: {file}\n"));
    }
    for note in &result.notes {
        out.push_str(&format!("Note: {note}\n"));
    }
    match result.verdict {
        Verdict::NotYetVisible => out.push_str(&format!(
            "Run `mixport verify {}` again in {}.\n",
            result.run_id,
            describe_wait(result.check_again_in_secs.unwrap_or(600))
        )),
        Verdict::Missing => out.push_str(&format!(
            "To send the rows not found again, import the CSV above with the same mapping (their insert IDs make the ones that did arrive harmless); `mixport runs {}` says how to correct a run.\n",
            result.run_id
        )),
        Verdict::AllFound => {}
    }
    out.push_str(&format!("Export queries: {}.\n", result.budget.describe()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> VerifyArgs {
        let mut argv = vec!["mixport", "verify"];
        argv.extend_from_slice(args);
        match crate::cli::Cli::parse_from(argv).command {
            Some(crate::cli::Command::Verify(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    use crate::cli::test_env as env;

    #[test]
    fn credentials_come_from_the_environment_with_the_runs_project() {
        let run = RunReport {
            project_id: Some("42".into()),
            ..RunReport::default()
        };
        let args = parse(&["r1"]);
        let c = credentials(
            &args,
            &run,
            Region::Us,
            &env(&[("MP_ACCT", "svc"), ("MP_PASS", "pw")]),
        )
        .unwrap();
        assert_eq!(c.project_id(), Some("42"));
        let err = credentials(&args, &run, Region::Us, &env(&[])).unwrap_err();
        assert!(err.contains("MP_ACCT"), "{err}");
        // A token run without a service account: the clear refusal.
        let token_run = RunReport::default();
        let err = credentials(&args, &token_run, Region::Us, &env(&[])).unwrap_err();
        assert!(
            err.contains("project token cannot read events back"),
            "{err}"
        );
        assert!(err.contains("Service Accounts"), "{err}");
        let err = credentials(
            &args,
            &token_run,
            Region::Us,
            &env(&[("MP_ACCT", "svc"), ("MP_PASS", "pw")]),
        )
        .unwrap_err();
        assert!(err.contains("--project-id"), "{err}");
    }
}
