//! `mixport import FILE ...`: the live import.
//!
//! Credentials come from `MP_ACCT` + `MP_PASS` + `MP_PROJECT` (or `--project-id`), or
//! `MP_TOKEN`, or a connection saved by the app (`--connection NAME`, secret from the OS
//! keychain). Without a terminal the import refuses to start unless `--yes` is given; on a
//! terminal it checks the file first, asks for confirmation naming the project, region and event
//! count, and shows a progress bar. It prints the JSON run report on stdout at the end. Ctrl-C
//! cancels cleanly (in-flight requests finish and are recorded; `--resume` continues later); a
//! second Ctrl-C quits at once.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::mixpanel::auth::{Credentials, Secret};
use crate::mixpanel::client::{BackoffPolicy, ClientConfig, ClientError, MixpanelClient};
use crate::mixpanel::flow::MAX_WORKERS;
use crate::mixpanel::region::Region;
use crate::pipeline::report::RunReport;
use crate::pipeline::{PipelineError, Progress, RunControl, journal};
use crate::session::SessionError;
use crate::session::run::{Destination, ImportRequest};

/// Arguments of `mixport import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The events file (CSV, TSV, JSON, NDJSON, XLSX; optionally gzipped).
    pub file: PathBuf,
    /// A mapping template; default: the suggested mapping.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// The project's data residency region: us, eu or in (default: the saved connection's, else us).
    #[arg(long)]
    pub region: Option<String>,
    /// The project id (service accounts; default: $MP_PROJECT).
    #[arg(long)]
    pub project_id: Option<String>,
    /// Use a connection saved by the app (credentials from the OS keychain).
    #[arg(long)]
    pub connection: Option<String>,
    /// Requests in flight (1 to 20).
    #[arg(long, default_value_t = 10)]
    pub workers: usize,
    /// Another ingestion host, e.g. a test server (plain http only for loopback).
    #[arg(long)]
    pub api_base: Option<String>,
    /// Write rejected rows here (local and Mixpanel's rejections).
    #[arg(long, value_name = "REJECTED.csv")]
    pub failed_out: Option<PathBuf>,
    /// Write the run report (JSON) here.
    #[arg(long, value_name = "REPORT.json")]
    pub report: Option<PathBuf>,
    /// Continue an interrupted import of the same file and mapping without resending rows.
    #[arg(long)]
    pub resume: bool,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Salt insert IDs with this generation (a corrected re-import: see `mixport runs RUN`).
    /// Default: the mapping's (0 for a first import).
    #[arg(long, value_name = "N")]
    pub insert_id_generation: Option<u32>,
    /// The import label sent on every event as `mixport_import` (default: the mapping's).
    #[arg(long)]
    pub label: Option<String>,
    /// Tests: base retry delay in milliseconds instead of Mixpanel's 2 s (delays double up to
    /// 30×, jitter up to 1×, Retry-After capped at 30×).
    #[arg(long, hide = true)]
    pub retry_base_ms: Option<u64>,
    /// Tests: tries per batch for server errors (default 10).
    #[arg(long, hide = true)]
    pub max_tries: Option<u32>,
    /// Per-request timeout in seconds (default 120).
    #[arg(long, hide = true)]
    pub timeout_secs: Option<u64>,
    /// Events or user profiles (default: the mapping's kind, else the suggestion's). User
    /// profiles need the project token: MP_TOKEN (also with a service account), or the token
    /// saved with the connection.
    #[command(flatten)]
    pub kind: super::KindArgs,
    /// How to read the file.
    #[command(flatten)]
    pub source: super::SourceArgs,
}

/// Run `mixport import`.
pub fn run(args: ImportArgs) -> ExitCode {
    match prepare_and_run(args) {
        Ok(code) => code,
        Err(message) => super::fail(message),
    }
}

/// Where the credentials and region came from.
pub(super) struct Target {
    pub(super) credentials: Credentials,
    pub(super) region: Region,
    /// The project token for user profiles: `MP_TOKEN` beside a service account, or the token
    /// saved with the connection.
    project_token: Option<Secret>,
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Credentials and region from `--connection` or the environment.
fn resolve_target(args: &ImportArgs) -> Result<Target, String> {
    resolve_target_with(args, &env_value)
}

/// [`resolve_target`] with the environment given as a lookup (for tests).
fn resolve_target_with(
    args: &ImportArgs,
    env_value: &dyn Fn(&str) -> Option<String>,
) -> Result<Target, String> {
    let region_arg = match &args.region {
        Some(text) => Some(text.parse::<Region>().map_err(|e| e.to_string())?),
        None => None,
    };
    if let Some(name) = &args.connection {
        return connection_target(name, region_arg, args.project_id.as_deref());
    }
    let region = region_arg.unwrap_or_default();
    if let (Some(user), Some(pass)) = (env_value("MP_ACCT"), env_value("MP_PASS")) {
        let project = args
            .project_id
            .clone()
            .or_else(|| env_value("MP_PROJECT"))
            .ok_or_else(|| {
                "a service account needs the project id: set MP_PROJECT or pass --project-id"
                    .to_owned()
            })?;
        let credentials = Credentials::service_account(user, Secret::new(pass), project)
            .map_err(|e| format!("service account from MP_ACCT/MP_PASS: {e}"))?;
        return Ok(Target {
            credentials,
            region,
            project_token: env_value("MP_TOKEN").map(Secret::new),
        });
    }
    if let Some(token) = env_value("MP_TOKEN") {
        let credentials =
            Credentials::project_token(Secret::new(token)).map_err(|e| format!("MP_TOKEN: {e}"))?;
        return Ok(Target {
            credentials,
            region,
            project_token: None,
        });
    }
    Err("no Mixpanel credentials: set MP_ACCT, MP_PASS and MP_PROJECT (service account) or MP_TOKEN (project token), or pass --connection NAME for a connection saved in the app".to_owned())
}

pub(super) fn connection_target(
    name: &str,
    region_arg: Option<Region>,
    project_arg: Option<&str>,
) -> Result<Target, String> {
    let secrets =
        crate::credentials::SecretStore::os().map_err(|e| format!("--connection {name}: {e}"))?;
    let config =
        crate::config::ConfigStore::locate().map_err(|e| format!("--connection {name}: {e}"))?;
    connection_target_in(name, region_arg, project_arg, &config, &secrets)
}

/// [`connection_target`] with the config folder and keychain given (tests use a mock store).
fn connection_target_in(
    name: &str,
    region_arg: Option<Region>,
    project_arg: Option<&str>,
    config: &crate::config::ConfigStore,
    secrets: &crate::credentials::SecretStore,
) -> Result<Target, String> {
    let (connection, secret) = config
        .load_connection(name, secrets)
        .map_err(|e| format!("--connection {name}: {e}"))?;
    let saved_region: Region = connection.region;
    if let Some(region) = region_arg
        && region != saved_region
    {
        return Err(format!(
            "--region {} disagrees with connection '{name}', which is in the {} region; a project's region cannot change",
            region.code(),
            saved_region.label()
        ));
    }
    let credentials = crate::session::connection::credentials(&connection, secret, project_arg)
        .map_err(|e| format!("--connection {name}: {e}"))?;
    // The project token saved beside the connection (for user profiles); the token itself
    // when the connection is a project token.
    let project_token = secrets
        .get(&crate::session::connection::project_token_entry(name))
        .ok()
        .flatten();
    Ok(Target {
        credentials,
        region: saved_region,
        project_token,
    })
}

fn prepare_and_run(args: ImportArgs) -> Result<ExitCode, String> {
    if args.workers == 0 || args.workers > MAX_WORKERS {
        return Err(format!(
            "--workers {} is out of range: use 1 to {MAX_WORKERS} (Mixpanel recommends 10 to 20)",
            args.workers
        ));
    }
    super::guard_outputs(
        &args.file,
        args.mapping.as_deref(),
        &[
            ("--failed-out", args.failed_out.as_deref()),
            ("--report", args.report.as_deref()),
        ],
    )?;
    let target = resolve_target(&args)?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes && !interactive {
        return Err("refusing to import without a terminal to confirm on: check the file with `mixport check` first, then pass --yes to import".to_owned());
    }

    let mut config = ClientConfig::new(target.region);
    config.api_base = args.api_base.clone();
    if let Some(ms) = args.retry_base_ms {
        config.backoff = BackoffPolicy::scaled_ms(ms.max(1));
    }
    if let Some(tries) = args.max_tries {
        config.backoff.max_tries = tries.max(1);
    }
    if let Some(secs) = args.timeout_secs {
        config.timeout = Duration::from_secs(secs.max(1));
    }
    let client = MixpanelClient::new(target.credentials.clone(), config).map_err(|e| match e {
        ClientError::ApiBase(e) => format!("--api-base: {e}"),
        other => other.to_string(),
    })?;

    let opened = super::input::read_head(&args.file, &args.source)?;
    let mut mapping = super::input::resolve_mapping(
        &args.file,
        args.mapping.as_deref(),
        args.kind.kind(),
        &opened,
    )?;
    let client = crate::session::connection::client_for(
        mapping.kind,
        client,
        target.project_token.clone(),
        args.connection.as_deref().unwrap_or("MP_ACCT"),
    )
    .map_err(|e| match (e, &args.connection) {
        (crate::session::connection::ConnectionError::MissingProjectToken { .. }, None) => {
            "user profiles carry the project's token in every record: set MP_TOKEN to the project token (Mixpanel → Project Settings → Access Keys) beside MP_ACCT and MP_PASS".to_owned()
        }
        (e, _) => e.to_string(),
    })?;
    let sniff = opened.sniff.clone();
    let options = opened.options.clone();
    drop(opened);
    if let Some(generation) = args.insert_id_generation {
        mapping.insert_id_generation = generation;
    }
    if let Some(label) = &args.label {
        mapping.constants.insert(
            crate::mapping::IMPORT_LABEL_PROPERTY.to_owned(),
            serde_json::Value::String(label.clone()),
        );
    }
    if mapping.insert_id_generation > 0 {
        for line in correction_warning(&args.file, &mapping) {
            eprintln!("mixport: {line}");
        }
    }

    if !args.yes && !confirm(&args, &sniff, &mapping, &target)? {
        eprintln!("mixport: import cancelled; nothing was sent");
        return Ok(ExitCode::from(super::EXIT_FAILED));
    }

    let control = RunControl::new();
    watch_ctrl_c(control.clone());
    let runs_dir = journal::data_dir();
    if runs_dir.is_none() {
        eprintln!(
            "mixport: no data folder found (set {}): this run keeps no resume journal",
            journal::DATA_DIR_ENV
        );
    }
    let identity = match &args.connection {
        Some(name) => format!("connection {name}"),
        None => client.target_label(),
    };
    let request = ImportRequest {
        sniff,
        options,
        mapping,
        destination: Destination {
            client,
            connection: args.connection.clone(),
            identity,
        },
        runs_dir,
        resume: args.resume,
        rejected_out: args.failed_out.clone(),
        workers: args.workers,
    };
    let bar = interactive.then(|| {
        let bar = indicatif::ProgressBar::new(PROGRESS_STEPS);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut on_progress = |p: &Progress| {
        if let Some(bar) = &bar {
            bar.set_position((f64::from(p.delivered_fraction()) * PROGRESS_STEPS as f64) as u64);
            bar.set_message(progress_line(p));
        }
    };
    let result = crate::session::run::import(&request, &control, &mut on_progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(imported) => imported.report,
        Err(SessionError::Pipeline(PipelineError::Mapping(e))) => {
            return Err(super::words::mapping_error(&args.file, &e));
        }
        Err(e) => return Err(e.to_string()),
    };
    finish(&args, &report)
}

fn progress_line(p: &Progress) -> String {
    let mut line = format!(
        "{} rows, {} imported, {} rejected",
        p.rows_read,
        p.accepted,
        p.invalid + p.rejected_by_server
    );
    if p.retrying > 0 {
        line.push_str(&format!(", {} retrying", p.retrying));
    }
    line.push_str(&format!(", {:.0} events/s", p.settled_per_sec()));
    match p.delivered_eta_secs() {
        Some(secs) => line.push_str(&format!(" (about {secs:.0} s left)")),
        None => line.push_str(" (estimating…)"),
    }
    line
}

/// Resolution of the terminal progress bar.
const PROGRESS_STEPS: u64 = 10_000;

fn finish(args: &ImportArgs, report: &RunReport) -> Result<ExitCode, String> {
    // The report goes to stdout first, so that it is never lost to an output that fails.
    println!("{}", report.to_json());
    if let Some(path) = &args.report
        && let Err(e) = report.save(path)
    {
        let outcome = if report.error.is_none() && !report.cancelled {
            "the import itself finished"
        } else {
            "the import stopped"
        };
        return Err(format!(
            "{outcome} ({} imported, {} rejected, {} not sent; the report is printed above), but {e}",
            report.imported, report.rejected, report.not_sent
        ));
    }
    if let Some(error) = &report.error {
        eprintln!("mixport: {error}");
    } else if report.cancelled {
        eprintln!(
            "mixport: cancelled: {} imported, {} not sent; run the same command with --resume to continue",
            report.imported, report.not_sent
        );
    } else if report.failed > 0 {
        eprintln!(
            "mixport: {} {} could not be delivered after all retries; run the same command with --resume to send them again",
            report.failed,
            report.kind.noun()
        );
    }
    if report.rejected > 0 {
        match &report.rejected_file {
            Some(file) => eprintln!(
                "mixport: {} rows rejected ({} locally, {} by Mixpanel): see {file}",
                report.rejected, report.rejected_local, report.rejected_server
            ),
            None => eprintln!(
                "mixport: {} rows rejected ({} locally, {} by Mixpanel); pass --failed-out REJECTED.csv to get them with their reasons",
                report.rejected, report.rejected_local, report.rejected_server
            ),
        }
    }
    Ok(ExitCode::from(exit_code(report)))
}

/// The exit code of an import: 0 all imported, 1 some rejected, failed or not sent, 2 the run
/// was stopped (refused credentials, a broken file).
pub fn exit_code(report: &RunReport) -> u8 {
    if report.error.is_some() {
        super::EXIT_FAILED
    } else if report.rejected > 0 || report.failed > 0 || report.not_sent > 0 || report.cancelled {
        super::EXIT_SOME_REJECTED
    } else {
        super::EXIT_OK
    }
}

/// Check the file, then ask on the terminal. `Ok(false)` when the user says no.
fn confirm(
    args: &ImportArgs,
    sniff: &crate::source::Sniff,
    mapping: &crate::mapping::Mapping,
    target: &Target,
) -> Result<bool, String> {
    use crate::pipeline::check::{CheckOptions, run_check};
    let bar = indicatif::ProgressBar::new(sniff.file_size.max(1));
    bar.set_message("checking the file…");
    let control = RunControl::new();
    let check = run_check(
        sniff,
        mapping,
        &CheckOptions::default(),
        &control,
        &mut |p| bar.set_position(p.bytes_read),
    );
    bar.finish_and_clear();
    let check = check.map_err(|e| e.to_string())?;
    let project = match target.credentials.project_id() {
        Some(id) => format!("project {id}"),
        None => "the project of the token in MP_TOKEN".to_owned(),
    };
    let host = args
        .api_base
        .clone()
        .unwrap_or_else(|| target.region.import_base());
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "\nReady to import {valid} {noun} from {file} into Mixpanel {project} ({region} region, {host}) with the {kind}.",
        valid = check.valid,
        noun = mapping.kind.noun(),
        file = args.file.display(),
        region = target.region.label(),
        kind = target.credentials.kind_label(),
    );
    if mapping.kind == crate::mapping::ImportKind::Profiles {
        let _ = writeln!(stderr, "{}", mapping.profile.confirmation(check.valid));
        if check.duplicate_user_ids > 0 {
            let _ = writeln!(
                stderr,
                "{} rows repeat the user ID of an earlier row: the later row is applied last.",
                check.duplicate_user_ids
            );
        }
    }
    if check.invalid > 0 {
        let _ = writeln!(
            stderr,
            "{} of {} rows are invalid and will not be sent (see `mixport check`).",
            check.invalid, check.rows
        );
    }
    let undo = match mapping.kind {
        crate::mapping::ImportKind::Events => {
            "An import cannot be undone: Mixpanel cannot delete imported events by run. Try a test project first."
        }
        crate::mapping::ImportKind::Profiles => {
            "Profile updates cannot be undone: Mixpanel keeps no earlier values. Try a test project first."
        }
    };
    let _ = writeln!(stderr, "{undo}");
    let _ = write!(stderr, "Type yes to import: ");
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "yes" | "y"
    ))
}

/// Before a corrected re-import (insert-id generation > 0): what will exist twice if the earlier
/// runs of this file were not deleted in Mixpanel first.
fn correction_warning(file: &std::path::Path, mapping: &crate::mapping::Mapping) -> Vec<String> {
    use crate::session::verify as session;
    let mut lines = vec![format!(
        "insert-ID generation {}: every event gets a new insert ID, so Mixpanel will not treat it as a duplicate of an earlier import",
        mapping.insert_id_generation
    )];
    let Some(dir) = journal::data_dir() else {
        return lines;
    };
    let records = crate::session::history::list(&dir);
    // The newest earlier run of this file with an older generation that delivered events.
    let earlier = records
        .iter()
        .filter(|r| r.file == file && r.mapping.insert_id_generation < mapping.insert_id_generation)
        .filter(|r| r.counts.imported > 0)
        .find_map(|r| session::find(Some(&dir), &r.id).ok());
    if let Some(run) = earlier {
        lines.push(session::correction(&run, &records).duplicate_warning());
    }
    lines
}

/// Ctrl-C (SIGINT) and SIGTERM (what `kill`, service managers and CI timeouts send) cancel the
/// run cleanly: in-flight requests finish and are journaled, and the report is printed. A
/// second signal quits at once.
fn watch_ctrl_c(control: RunControl) {
    let _ = std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                #[cfg(unix)]
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                let stop_signal = async {
                    #[cfg(unix)]
                    if let Some(term) = term.as_mut() {
                        tokio::select! {
                            r = tokio::signal::ctrl_c() => return r.is_ok(),
                            r = term.recv() => return r.is_some(),
                        }
                    }
                    tokio::signal::ctrl_c().await.is_ok()
                };
                if stop_signal.await {
                    eprintln!("\nmixport: cancelling: waiting for requests in flight (Ctrl-C again to quit now)");
                    control.cancel();
                }
                #[cfg(unix)]
                if let Some(term) = term.as_mut() {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                    std::process::exit(130);
                }
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> ImportArgs {
        let mut argv = vec!["mixport", "import"];
        argv.extend_from_slice(args);
        match crate::cli::Cli::parse_from(argv).command {
            Some(crate::cli::Command::Import(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hidden_test_flags_parse() {
        let a = parse(&[
            "f.csv",
            "--api-base",
            "http://127.0.0.1:1",
            "--yes",
            "--retry-base-ms",
            "5",
            "--workers",
            "2",
        ]);
        assert_eq!(a.retry_base_ms, Some(5));
        assert_eq!(a.workers, 2);
        assert!(a.yes);
        assert_eq!(a.region, None);
    }

    use crate::cli::test_env as env;

    #[test]
    fn credentials_from_the_environment() {
        let a = parse(&["f.csv", "--region", "india"]);
        let t = resolve_target_with(
            &a,
            &env(&[("MP_ACCT", "svc"), ("MP_PASS", "pw"), ("MP_PROJECT", "42")]),
        )
        .unwrap();
        assert_eq!(t.region, Region::In);
        assert_eq!(t.credentials.project_id(), Some("42"));
        assert_eq!(t.credentials.basic_auth(), ("svc", "pw"));

        let a = parse(&["f.csv", "--project-id", "7"]);
        let t = resolve_target_with(&a, &env(&[("MP_ACCT", "svc"), ("MP_PASS", "pw")])).unwrap();
        assert_eq!(t.credentials.project_id(), Some("7"));
        assert_eq!(t.region, Region::Us);

        let a = parse(&["f.csv"]);
        let t = resolve_target_with(&a, &env(&[("MP_TOKEN", "tok")])).unwrap();
        assert_eq!(t.credentials.basic_auth(), ("tok", ""));

        let err = resolve_target_with(&a, &env(&[("MP_ACCT", "svc"), ("MP_PASS", "pw")]))
            .err()
            .unwrap();
        assert!(err.contains("MP_PROJECT"), "{err}");
        let err = resolve_target_with(&a, &env(&[])).err().unwrap();
        assert!(
            err.contains("MP_TOKEN") && err.contains("--connection"),
            "{err}"
        );
        let bad = parse(&["f.csv", "--region", "mars"]);
        let err = resolve_target_with(&bad, &env(&[("MP_TOKEN", "t")]))
            .err()
            .unwrap();
        assert!(err.contains("us, eu or in"), "{err}");
    }

    #[test]
    fn saved_connection_from_the_keychain() {
        use crate::config::{ConfigStore, Connection, ConnectionKind};
        use crate::credentials::{SecretStore, SecretString};
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigStore::at(dir.path());
        let secrets = SecretStore::mock();
        let connection = Connection {
            name: "prod".into(),
            region: crate::config::Region::Eu,
            project_id: Some("99".into()),
            kind: ConnectionKind::ServiceAccount,
            username: Some("svc".into()),
        };
        config
            .save_connection(connection, &SecretString::new("pw"), &secrets)
            .unwrap();
        let t = connection_target_in("prod", None, None, &config, &secrets).unwrap();
        assert_eq!(t.region, Region::Eu);
        assert_eq!(t.credentials.project_id(), Some("99"));
        assert_eq!(t.credentials.basic_auth(), ("svc", "pw"));
        let err = connection_target_in("prod", Some(Region::Us), None, &config, &secrets)
            .err()
            .unwrap();
        assert!(err.contains("region"), "{err}");
        let err = connection_target_in("nope", None, None, &config, &secrets)
            .err()
            .unwrap();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn progress_line_names_the_counts() {
        let p = Progress {
            rows_read: 10,
            accepted: 7,
            invalid: 1,
            rejected_by_server: 1,
            retrying: 2,
            rate_per_sec: 1234.4,
            ..Progress::default()
        };
        assert_eq!(
            progress_line(&p),
            "10 rows, 7 imported, 2 rejected, 2 retrying, 1234 events/s (estimating…)"
        );
        let halfway = Progress {
            rows_read: 100,
            valid: 100,
            accepted: 50,
            bytes_read: 100,
            total_bytes: 100,
            elapsed_secs: 10.0,
            ..Progress::default()
        };
        assert_eq!(
            progress_line(&halfway),
            "100 rows, 50 imported, 0 rejected, 5 events/s (about 10 s left)"
        );
    }
}
